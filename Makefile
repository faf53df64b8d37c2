# humanclap: two commands on a fresh machine.
#   make book  -- create .venv if missing, install, run every notebook with papermill, build _build/html
#   make test  -- create .venv if missing, run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PARAMS ?= params/book.yaml

# In CI and on developers' machines the RELATE ratings and the category table sit in ../shared;
# on a user's machine the library downloads them (checksummed) into its cache instead.
SHARED ?= ../shared
ifneq ($(wildcard $(SHARED)/relate/scores/REL.csv),)
export HUMANCLAP_RELATE_DIR ?= $(abspath $(SHARED)/relate)
endif
ifneq ($(wildcard $(SHARED)/audiocaps-categories/tempo_notempo_2_2024-12-11.csv),)
export HUMANCLAP_CATEGORIES ?= $(abspath $(SHARED)/audiocaps-categories/tempo_notempo_2_2024-12-11.csv)
endif
# laion_clap loads tokenizers from the Hugging Face hub at import time; offline that retries for
# minutes. Set HF_HUB_OFFLINE=0 on a machine that is online and wants downloads.
export HF_HUB_OFFLINE ?= 1

.PHONY: book test notebooks html lint format clean install

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

format: $(STAMP)
	$(VENV)/bin/ruff check --fix humanclap tests notebooks bench tools
	$(VENV)/bin/ruff format humanclap tests notebooks bench tools

notebooks: $(STAMP)
	$(VENV)/bin/humanclap run-notebooks --params $(PARAMS)

html: $(STAMP)
	$(VENV)/bin/jupyter-book build . --warningiserror --keep-going

book: notebooks html

clean:
	rm -rf _build book/chapters/*.ipynb
