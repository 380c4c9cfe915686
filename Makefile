# The command surface. `make serve` and `make test` are the two front-door commands;
# both set up the virtual environment themselves. Each concern keeps its targets in mk/*.mk.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
MODEL_DIR := layers/model
MODEL  := $(MODEL_DIR)/model.onnx

# The venv is rebuilt only when the lock or the project file changes.
$(STAMP): requirements.lock pyproject.toml scripts/bootstrap.sh
	@PYTHON="$(PYTHON)" VENV="$(VENV)" scripts/bootstrap.sh
	@touch $@

.PHONY: setup
setup: $(STAMP) ## create .venv and install the locked dependencies (idempotent)

.PHONY: lock
lock: ## re-resolve pyproject.toml's pins into requirements.lock (needs the registry)
	@PYTHON="$(PYTHON)" scripts/lock.sh

.PHONY: help
help: ## list the commands
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | sort -u | awk -F':.*## ' '{printf "  \033[1m%-22s\033[0m %s\n", $$1, $$2}'

include $(sort $(wildcard mk/*.mk))
