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
pytest: $(STAMP) $(MODEL) node prometheus chromium ## the test suite without the long runs
	$(VENV)/bin/pytest -m "not slow" $(PYTEST_ARGS)

.PHONY: test
test: lint typecheck pytest ## everything CI checks: lint, types, tests

.PHONY: test-long
test-long: $(STAMP) $(MODEL) ## the long checks only (fuzzing, overload)
	$(VENV)/bin/pytest -m slow $(PYTEST_ARGS)

.PHONY: chromium
# Headless Chromium renders /docs in tests/integration/test_front_door.py: Debian's package, or any
# Chromium or Chrome already on the PATH.
chromium: ## Chromium for the docs-page browser test (apt-get install chromium when missing)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null || { \
	  echo "Chromium is missing: apt-get install chromium (a minute or two)"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
