# Reliability and security proof (docs/reliability.md): fuzzing, hostile inputs, faults, overload,
# security checks. `make test` runs the quick subset (tests not marked slow); `make reliability`
# runs everything, the long fuzz and the overload included, and writes the figures to
# $(RELIABILITY_REPORT_DIR) (fuzz.json, overload-30s.json, junit.xml).
RELIABILITY_REPORT_DIR ?= build/reliability
# Cases per POST operation and generation mode (x2 routes x2 modes), each sent through the local
# API and the in-process handler: 1300 -> 5,200 cases, 10,400+ requests.
FUZZ_EXAMPLES ?= 1300
# The stage rate set on the emulator for the overload run; the offered load is 5x this.
OVERLOAD_RATE ?= 20
RELIABILITY_TESTS := tests/unit/reliability tests/integration/reliability

.PHONY: reliability
reliability: $(STAMP) $(MODEL) ## long reliability run: 10k+ fuzzed requests, faults, 5x overload; figures in build/reliability
	@mkdir -p "$(RELIABILITY_REPORT_DIR)"
	RELIABILITY_REPORT_DIR="$(RELIABILITY_REPORT_DIR)" FUZZ_EXAMPLES="$(FUZZ_EXAMPLES)" OVERLOAD_RATE="$(OVERLOAD_RATE)" \
	  $(VENV)/bin/pytest $(RELIABILITY_TESTS) -m "slow or not slow" -p no:cacheprovider -q \
	  --junitxml="$(RELIABILITY_REPORT_DIR)/junit.xml" $(PYTEST_ARGS)
	@$(PY) -c 'import json, pathlib, sys; d = pathlib.Path(sys.argv[1]); [print(f"== {p.name}\n{p.read_text()}") for p in sorted(d.glob("*.json"))]' "$(RELIABILITY_REPORT_DIR)"

.PHONY: reliability-quick
reliability-quick: $(STAMP) $(MODEL) ## the reliability checks that `make test` runs (no long fuzz, no overload)
	$(VENV)/bin/pytest $(RELIABILITY_TESTS) -m "not slow" -p no:cacheprovider -q $(PYTEST_ARGS)

.PHONY: overload
overload: $(STAMP) $(MODEL) ## only the 5x overload run against the local API (k6, bounded to 30 s)
	@mkdir -p "$(RELIABILITY_REPORT_DIR)"
	RELIABILITY_REPORT_DIR="$(RELIABILITY_REPORT_DIR)" OVERLOAD_RATE="$(OVERLOAD_RATE)" \
	  $(VENV)/bin/pytest tests/integration/reliability/test_overload.py -m slow -p no:cacheprovider -q $(PYTEST_ARGS)
	@cat "$(RELIABILITY_REPORT_DIR)"/overload-*.json
