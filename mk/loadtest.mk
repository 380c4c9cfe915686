# k6 load tests (loadtest/, docs/loadtest.md). Scenario knobs (DURATION, RATE, PEAK_RATE, API_KEY,
# P99_MS, ...) given on the make command line reach k6 through the environment.
SCENARIO ?= smoke
TARGET   ?= local
LOADTEST_ARGS ?=
TARGET_ARGS ?=
LOADTEST_PAYLOADS := loadtest/payloads.json

# Payloads follow the model: regenerated when the manifest or the generator changes.
$(LOADTEST_PAYLOADS): $(MODEL_DIR)/manifest.json training/data.py loadtest/payloads.py | $(STAMP)
	$(PY) -m loadtest.payloads --out $@

.PHONY: loadtest-payloads
loadtest-payloads: $(STAMP) $(MODEL) $(LOADTEST_PAYLOADS) ## write loadtest/payloads.json from the synthetic data + the model manifest

.PHONY: loadtest
loadtest: $(STAMP) $(MODEL) $(LOADTEST_PAYLOADS) ## k6: SCENARIO=smoke|load|stress|spike|soak TARGET=local|server|url [BASE_URL=...]
	$(PY) -m loadtest.run --scenario $(SCENARIO) --target $(TARGET) $(if $(BASE_URL),--base-url $(BASE_URL)) \
		$(if $(TARGET_ARGS),--target-args '$(TARGET_ARGS)') $(LOADTEST_ARGS)

.PHONY: loadtest-report
loadtest-report: $(STAMP) ## rebuild the markdown + PNG report of one run: RUN=loadtest/results/<dir>
	$(if $(RUN),,$(error RUN=loadtest/results/<dir> is required))
	$(PY) -m loadtest.report $(RUN)

.PHONY: loadtest-figures
loadtest-figures: $(STAMP) $(MODEL) $(LOADTEST_PAYLOADS) ## BENCHMARKS.md's k6 figures: the load scenario on each local target (+ the emulator with 4 warm environments), plots to docs/loadtest/
	@dir="loadtest/results/figures-$$(date -u +%Y%m%dT%H%M%SZ)"; \
	for target in local server; do \
		$(PY) -m loadtest.run --scenario load --target $$target --results "$$dir" $(LOADTEST_ARGS) || echo "($$target: thresholds failed; figures kept)"; \
	done; \
	$(PY) -m loadtest.run --scenario load --target local --target-args '--warm-pool 4' --results "$$dir" $(LOADTEST_ARGS) \
		|| echo "(local, warm pool: thresholds failed; figures kept)"; \
	$(PY) -m loadtest.collect "$$dir"/* --plots docs/loadtest
