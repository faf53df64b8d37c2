# humanclap: two commands on a fresh machine.
#   make book  -- create .venv if missing, install, run every notebook with papermill, build _build/html
#   make test  -- create .venv if missing, run the test suite
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
ifneq ($(wildcard $(SHARED)/xacle-baseline/inference_results.csv),)
export HUMANCLAP_XACLE_PREDICTIONS ?= $(abspath $(SHARED)/xacle-baseline/inference_results.csv)
endif
# laion_clap loads tokenizers from the Hugging Face hub at import time; offline that retries for
# minutes. Set HF_HUB_OFFLINE=0 on a machine that is online and wants downloads.
export HF_HUB_OFFLINE ?= 1

.PHONY: book test notebooks html lint format clean install relate

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[all,dev]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

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
# results/relate/ (and the non-fusion LAION row to results/relate-laion/), which `make book`
# reads afterwards. Re-running resumes: finished tables and fine-tuning runs are not redone.
# Downloads (models, tokenizer) need `make relate HF_HUB_OFFLINE=0`.
RELATE_PARAMS ?= params/relate-gpu.yaml
RELATE_CHAPTERS ?= 02_clapscore_vs_humans 03_human_clap 04_loss_study
relate: $(STAMP)
	$(VENV)/bin/humanclap relate-audio "$${HUMANCLAP_RELATE_AUDIO:?set HUMANCLAP_RELATE_AUDIO to the unpacked RELATE_wave folder}"
	$(VENV)/bin/humanclap relate-plan --params $(RELATE_PARAMS)
	$(VENV)/bin/humanclap run-notebooks --params $(RELATE_PARAMS) --only $(RELATE_CHAPTERS) --output-dir book/relate
	$(VENV)/bin/humanclap run-notebooks --params params/relate-laion.yaml --only 02_clapscore_vs_humans --output-dir book/relate-laion

# The README's numbers (the block between its headline-numbers markers), generated from the
# headline numbers of the executed chapters (tools/readme_numbers.py; `--check` only compares).
.PHONY: readme-numbers
readme-numbers: $(STAMP)
	$(PY) tools/readme_numbers.py

clean:
	rm -rf _build book/chapters/*.ipynb
