# Relay — developer entry points. `make local` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
TRAIN_VENV := .venv-train
HOST ?= 127.0.0.1
PORT ?= 8000
# `make test`, `functional` and `e2e` run pytest on PYTEST_WORKERS pytest-xdist workers (`auto`: one
# per core; `0`: in-process, one test at a time), each with its own local stack. --dist loadgroup
# keeps each xdist_group on one worker: the tests that train or serve tiny-local (group "tiny-models")
# run one after another there, so two never compete for CPU and memory, and they are the longest
# part, so more than two workers hardly helps. `unit` and `infra` alone finish sooner in one process.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

.PHONY: local python-version test lint typecheck unit functional e2e infra training bench bench-quick build clean

$(BIN)/.installed: requirements-dev.txt requirements-dev-nodeps.txt constraints-dev.txt layers/relay/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints-dev.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -r requirements-dev-nodeps.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

# aws-sam-cli pins its own boto3/pydantic ranges, so it lives in its own environment.
$(SAM_VENV)/.installed: requirements-sam.txt constraints-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --disable-pip-version-check -r requirements-sam.txt -c constraints-sam.txt
	touch $@

# Training code (TRL, PEFT, torch CPU build) never enters the Lambda layer: its own environment.
$(TRAIN_VENV)/.installed: training/requirements.txt constraints-train.txt pyproject.toml
	test -x $(TRAIN_VENV)/bin/python || python3.11 -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/pip install -q --disable-pip-version-check -r training/requirements.txt -c constraints-train.txt
	$(TRAIN_VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

training: $(TRAIN_VENV)/.installed
	$(TRAIN_VENV)/bin/python -m pytest -m training -q tests/training

# The training environment is not a prerequisite: the first training job builds it
# (local/training_env.py), so trying the API does not start with a 1.5 GB install.
local: python-version $(BIN)/.installed
	$(BIN)/python -m local --host $(HOST) --port $(PORT)

python-version:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "make local needs Python 3.11 or newer: PYTHON=$(PYTHON) is $$($(PYTHON) --version 2>&1)." \
			"Install one and run e.g. make local PYTHON=python3.12"; exit 1; }

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

unit: $(BIN)/.installed
	$(BIN)/pytest -m unit -q

functional: $(BIN)/.installed
	$(PYTEST) -m functional -q

e2e: $(BIN)/.installed
	$(PYTEST) -m e2e -q

infra: $(BIN)/.installed $(SAM_VENV)/.installed
	SAM_CLI=$(abspath $(SAM_VENV))/bin/sam $(BIN)/pytest -m infra -q

test: lint typecheck $(SAM_VENV)/.installed $(TRAIN_VENV)/.installed
	SAM_CLI=$(abspath $(SAM_VENV))/bin/sam $(PYTEST) -q -m "unit or functional or e2e or infra"
	$(TRAIN_VENV)/bin/python -m pytest -m training -q tests/training

# Not part of `make test`: gateway overhead against the emulator, side by side with LiteLLM's
# proxy (installed on first run into bench/.work/). BENCH_ARGS passes flags, e.g. --delay-ms 50.
bench: $(BIN)/.installed
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: $(BIN)/.installed
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)

build: $(SAM_VENV)/.installed
	PATH=$$(pyenv root 2>/dev/null)/versions/3.13.0/bin:$$PATH $(SAM_VENV)/bin/sam build

clean:
	rm -rf .aws-sam .mypy_cache .ruff_cache
