# Quality gates. `make test` is what CI runs (.ci/run) and what README.md promises.
PYTEST_ARGS ?=

.PHONY: lint
lint: $(STAMP) ## ruff (lint + format check)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: format
format: $(STAMP) ## apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: typecheck
typecheck: $(STAMP) ## mypy (strict on the shipped code)
	$(VENV)/bin/mypy

.PHONY: pytest
pytest: $(STAMP) $(MODEL) node prometheus ## the test suite without the long runs
	$(VENV)/bin/pytest -m "not slow" $(PYTEST_ARGS)

.PHONY: test
test: lint typecheck pytest ## everything CI checks: lint, types, tests

.PHONY: test-long
test-long: $(STAMP) $(MODEL) ## the long checks only (fuzzing, overload)
	$(VENV)/bin/pytest -m slow $(PYTEST_ARGS)
