# humanclap: two commands on a fresh machine.
#   make book  -- create .venv if missing, install, run every notebook with papermill, build _build/html
#   make test  -- create .venv if missing, run the fast tests (make test-all: every test;
#                 make test-compat: the model tests under the transformers 4 line)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PARAMS ?= params/book.yaml

# In CI and on developers' machines the RELATE ratings, the category table, the AudioSet ontology
# and the XACLE baseline's predictions sit in ../shared; on a user's machine the library downloads
# them (pinned, checksummed) into its cache instead.
SHARED ?= ../shared
ifneq ($(wildcard $(SHARED)/relate/scores/REL.csv),)
export HUMANCLAP_RELATE_DIR ?= $(abspath $(SHARED)/relate)
endif
ifneq ($(wildcard $(SHARED)/audiocaps-categories/tempo_notempo_2_2024-12-11.csv),)
export HUMANCLAP_CATEGORIES ?= $(abspath $(SHARED)/audiocaps-categories/tempo_notempo_2_2024-12-11.csv)
endif
ifneq ($(wildcard $(SHARED)/audioset-ontology/ontology.json),)
export HUMANCLAP_ONTOLOGY ?= $(abspath $(SHARED)/audioset-ontology/ontology.json)
endif
ifneq ($(wildcard $(SHARED)/audioset-labels/class_labels_indices.csv),)
export HUMANCLAP_AUDIOSET_LABELS ?= $(abspath $(SHARED)/audioset-labels)
endif
ifneq ($(wildcard $(SHARED)/xacle-baseline/inference_results.csv),)
export HUMANCLAP_XACLE_PREDICTIONS ?= $(abspath $(SHARED)/xacle-baseline/inference_results.csv)
endif
# No Hugging Face Hub requests by default (CI and the book's runs have no Hub access): models and
# tokenizers come from the Hugging Face cache. Set HF_HUB_OFFLINE=0 on a machine that is online
# to let humanclap download them (pinned and verified, see humanclap/models/hub_pins.py).
export HF_HUB_OFFLINE ?= 1

.PHONY: book test notebooks html lint format clean install relate

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[all,dev]"
	touch $(STAMP)

# make test: the fast suite, in TEST_WORKERS processes (pytest-xdist; default: one per CPU this
# process may run on, each computing on one thread, humanclap.runtime); tests marked slow (the
# notebooks' papermill smoke runs, training runs to convergence, the core-only wheel install) are
# left to test-all. make test-all: every test (CI runs it). TEST_WORKERS=0: no worker processes.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())')
.PHONY: test-all
test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not slow"

test-all: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff check humanclap tests notebooks bench tools
	$(VENV)/bin/ruff format --check humanclap tests notebooks bench tools
	$(VENV)/bin/lint-imports
	$(VENV)/bin/actionlint

format: $(STAMP)
	$(VENV)/bin/ruff check --fix humanclap tests notebooks bench tools
	$(VENV)/bin/ruff format humanclap tests notebooks bench tools

notebooks: $(STAMP)
	$(VENV)/bin/humanclap run-notebooks --params $(PARAMS)

html: $(STAMP)
	$(VENV)/bin/jupyter-book build . --warningiserror --keep-going

book: notebooks html

# The built book in headless Chromium (tests/browser/check_book.py): console errors, broken images
# and audio, tables wider than the content column, missing titles. Needs a Chromium (Debian's
# `apt-get install chromium`; .ci/run installs it); the `browser` extra (Playwright, which drives
# that Chromium; no browser download) is installed into the venv first. The fixture-site tests of
# the check itself run first. BOOK_HTML=folder checks another build.
.PHONY: check-book
BOOK_HTML ?= _build/html
BROWSER_STAMP := $(VENV)/.installed-browser

$(BROWSER_STAMP): $(STAMP)
	$(PY) -m pip install -q -c constraints.txt -e ".[browser]"
	touch $(BROWSER_STAMP)

check-book: $(BROWSER_STAMP)
	$(PY) -m pytest -q tests/test_browser_check.py
	$(PY) tests/browser/check_book.py $(BOOK_HTML)

# The real run on RELATE with a GPU (README, "The real run"): check the audio, print the plan and
# its GPU-time estimate, then run chapters 2-4 on RELATE; each writes its result tables to
# results/relate/ (chapter 2 with the non-fusion LAION-CLAP to results/relate-laion/, with the
# released Human-CLAP to results/relate-human-clap/), which `make book`
# reads afterwards. Re-running resumes: finished tables and fine-tuning runs are not redone.
# Downloads (models, tokenizer) need `make relate HF_HUB_OFFLINE=0`. The GPU computes there, so
# the CPU pin of the book's simulated chapters (AVX2 kernels, one thread; humanclap.runtime) is
# off: it would only slow the CPU side (decoding, batching) and cannot make a GPU's sums agree.
relate: export HUMANCLAP_PIN_CPU = 0
# Where chapters 3-4's fine-tuning runs train (humanclap.train.executor): EXECUTOR=process (the
# default: in this process's machine), local (submitit's local jobs) or slurm (one SLURM job per
# run, submitted as a job array; preempted jobs are requeued and resume from their run folder).
# submitit's options as SLURM_<OPTION>=value on make's command line, and EXECUTOR_FOLDER for its
# job files and logs (default <cache>/submitit; jobs must see it and the cache), e.g.
#   make relate EXECUTOR=slurm SLURM_PARTITION=gpu SLURM_GPUS_PER_NODE=1 SLURM_TIMEOUT_MIN=600 \
#     SLURM_ARRAY_PARALLELISM=8
# The chapters read them as HUMANCLAP_EXECUTOR, HUMANCLAP_SLURM_<OPTION> and
# HUMANCLAP_EXECUTOR_FOLDER. Only SLURM_* variables given on the command line are options (the
# SLURM_JOB_ID ... of an allocation make runs in are not).
ifdef EXECUTOR
relate: export HUMANCLAP_EXECUTOR = $(EXECUTOR)
endif
ifdef EXECUTOR_FOLDER
relate: export HUMANCLAP_EXECUTOR_FOLDER = $(EXECUTOR_FOLDER)
endif
$(foreach v,$(filter SLURM_%,$(.VARIABLES)),$(if $(filter command line,$(origin $(v))),$(eval relate: export HUMANCLAP_$(v) = $($(v)))))
RELATE_PARAMS ?= params/relate-gpu.yaml
RELATE_CHAPTERS ?= 02_clapscore_vs_humans 03_human_clap 04_loss_study
relate: $(STAMP)
	$(VENV)/bin/humanclap relate-audio "$${HUMANCLAP_RELATE_AUDIO:?set HUMANCLAP_RELATE_AUDIO to the unpacked RELATE_wave folder}"
	$(VENV)/bin/humanclap relate-plan --params $(RELATE_PARAMS)
	$(VENV)/bin/humanclap run-notebooks --params $(RELATE_PARAMS) --only $(RELATE_CHAPTERS) --output-dir book/relate
	$(VENV)/bin/humanclap run-notebooks --params params/relate-laion.yaml --only 02_clapscore_vs_humans --output-dir book/relate-laion
	$(VENV)/bin/humanclap run-notebooks --params params/relate-human-clap.yaml --only 02_clapscore_vs_humans --output-dir book/relate-human-clap

# The README's numbers (the block between its headline-numbers markers), generated from the
# headline numbers of the executed chapters (tools/readme_numbers.py; `--check` only compares).
.PHONY: readme-numbers
readme-numbers: $(STAMP)
	$(PY) tools/readme_numbers.py

# The same numbers on every x86-64 CPU (README): the chapters whose numbers depend on torch's
# arithmetic, built three times with the CPU settings of three kinds of machine (this one's best
# kernels, an AVX2-only CPU's, torch's "default"), each with its own cache under _build/cpu/, and
# compared with tools/compare_book.py (exit 1 when they differ). The runner pins its kernels to
# AVX2 and one thread (humanclap.runtime), so they must agree; CPU_PIN=0 shows what differs
# without the pin. About three times chapters 2, 3 and 5.
.PHONY: compare-cpu
CPU_CHAPTERS ?= 02_clapscore_vs_humans 03_human_clap 05_score_your_audio 90_embedded_world
CPU_PIN ?= 1
CPU_BUILDS := best:X=1 avx2:ATEN_CPU_CAPABILITY=avx2,ONEDNN_MAX_CPU_ISA=AVX2,MKL_CBWR=AVX2 default:ATEN_CPU_CAPABILITY=default,ONEDNN_MAX_CPU_ISA=SSE41
compare-cpu: $(STAMP)
	set -e; for build in $(CPU_BUILDS); do name=$${build%%:*}; settings=$${build#*:}; \
	  rm -rf _build/cpu/$$name; mkdir -p _build/cpu/$$name/chapters; \
	  env $${settings//,/ } HUMANCLAP_PIN_CPU=$(CPU_PIN) HUMANCLAP_CACHE=$(abspath _build/cpu)/$$name/cache \
	    $(VENV)/bin/humanclap run-notebooks --params $(PARAMS) --only $(CPU_CHAPTERS) --output-dir _build/cpu/$$name/chapters; \
	done
	status=0; for name in avx2 default; do \
	  $(PY) tools/compare_book.py _build/cpu/best/chapters _build/cpu/$$name/chapters \
	    --cache $(abspath _build/cpu)/best/cache $(abspath _build/cpu)/$$name/cache || status=1; \
	done; exit $$status

clean:
	rm -rf _build book/chapters/*.ipynb

# The transformers 4 line that many text-to-audio repositories pin (constraints-compat.txt:
# transformers 4.46.3, tokenizers 0.20.3, huggingface-hub 0.26.5, pandas 2.2.3), installed once
# with `pip install --no-deps --target` into COMPAT (an overlay, not a venv: every other package
# is .venv's) and put in front of .venv on PYTHONPATH, so these versions shadow the reference
# ones. make test-compat runs the model, score, agree, train, stats and hub tests under it, in
# COMPAT_WORKERS processes, without the slow ones (COMPAT_MARKS= runs them too);
# tests/test_compat_env.py (HUMANCLAP_COMPAT=1) checks that the overlay took effect and that a
# model saved by either line embeds alike on the other.
.PHONY: test-compat
COMPAT ?= .venv-compat
COMPAT_STAMP := $(COMPAT)/.installed
COMPAT_WORKERS ?= $(or $(TEST_WORKERS),auto)
COMPAT_MARKS ?= not slow
COMPAT_TESTS ?= tests/test_compat_env.py tests/test_transformers_compat.py tests/test_models.py \
	tests/test_hf.py tests/test_laion.py tests/test_laion_fusion.py tests/test_tokenizer.py \
	tests/test_score_cli.py tests/test_agree.py tests/test_train.py tests/test_stats.py \
	tests/test_hub_loopback.py

$(COMPAT_STAMP): constraints-compat.txt | $(STAMP)
	rm -rf $(COMPAT)
	$(PY) -m pip install -q --no-deps --target $(COMPAT) -r constraints-compat.txt
	touch $(COMPAT_STAMP)

test-compat: $(STAMP) $(COMPAT_STAMP)
	PYTHONPATH=$(abspath $(COMPAT))$${PYTHONPATH:+:$$PYTHONPATH} HUMANCLAP_COMPAT=1 \
	  $(PY) -m pytest -q -n $(COMPAT_WORKERS) --dist loadgroup -m "$(COMPAT_MARKS)" $(COMPAT_TESTS)
