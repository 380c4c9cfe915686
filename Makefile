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

# The venv is refreshed only when the lock or the project file changes. bootstrap.sh writes the stamp
# itself, and only after the install and `pip check` succeeded: a failed install is retried next time.
$(STAMP): requirements.lock pyproject.toml scripts/bootstrap.sh
	@PYTHON="$(PYTHON)" VENV="$(VENV)" PYTHON_GIVEN="$(PYTHON_GIVEN)" scripts/bootstrap.sh

# PYTHON=... given on the command line (or in the environment) must be the Python .venv was made
# with; otherwise one line says so and what to type, instead of silently using the old venv.
PYTHON_GIVEN := $(if $(filter command line environment,$(origin PYTHON)),1)
ifeq ($(PYTHON_GIVEN),1)
$(STAMP): | check-venv-python
endif
.PHONY: check-venv-python
check-venv-python:
	@PYTHON="$(PYTHON)" VENV="$(VENV)" scripts/bootstrap.sh check-python

.PHONY: setup
setup: $(STAMP) ## create .venv and install the locked dependencies (idempotent)

# What make, the tests and the tools write. `clean` keeps the venvs (minutes to rebuild);
# `distclean` also removes them, leaving what a fresh clone has.
LOCALSTACK_VENV ?= .venv-localstack
CLEAN_PATHS := .aws-sam build dist loadtest/results loadtest/payloads.json benchmarks/results training/runs monitoring/reports \
               .mypy_cache .ruff_cache .pytest_cache .hypothesis

.PHONY: clean
clean: ## remove build outputs, caches and run results (keeps .venv and .venv-localstack)
	rm -rf $(CLEAN_PATHS)
	find . -path ./$(VENV) -prune -o -path ./$(LOCALSTACK_VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	@if [ -d .localstack ]; then \
	  if scripts/localstack.sh status >/dev/null 2>&1; then echo "kept .localstack/: LocalStack is running (make localstack-down first)"; \
	  else rm -rf .localstack; fi; \
	fi

.PHONY: distclean
distclean: clean ## clean, and remove .venv and .venv-localstack (~1.7 GB; the next make reinstalls them)
	rm -rf $(VENV) $(LOCALSTACK_VENV)

.PHONY: lock
lock: ## re-resolve pyproject.toml's pins into requirements.lock (needs the registry)
	@PYTHON="$(PYTHON)" scripts/lock.sh

.PHONY: help
help: ## list the commands
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | sort -u | awk -F':.*## ' '{printf "  \033[1m%-22s\033[0m %s\n", $$1, $$2}'

include $(sort $(wildcard mk/*.mk))
