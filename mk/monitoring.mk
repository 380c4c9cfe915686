# Live performance from late labels (docs/monitoring.md).
#   make performance LOGS=serve.log LABELS=labels.csv          report in build/performance
#   make performance LOGS="a.log b.log" LABELS=... PERFORMANCE_OUT=dir PERFORMANCE_ARGS="--unlabelled legit"
LOGS ?=
LABELS ?=
PERFORMANCE_OUT ?= build/performance
PERFORMANCE_ARGS ?=

.PHONY: performance
performance: $(STAMP) ## precision, recall and amounts caught per outcome and day: LOGS=decision logs LABELS=labels.csv
	@if [ -z "$(LOGS)" ] || [ -z "$(LABELS)" ]; then \
	  echo "make performance needs LOGS=<decision log files> and LABELS=<transaction_id,label[,label_time][,amount] CSV>" >&2; \
	  exit 2; \
	fi
	$(PY) -m monitoring.performance --logs $(LOGS) --labels $(LABELS) --out $(PERFORMANCE_OUT) $(PERFORMANCE_ARGS)

.PHONY: bench-drift
bench-drift: $(STAMP) $(MODEL) ## cost of drift signals: in-process POST /predict with drift on vs off (BENCH_ARGS=--quick)
	$(PY) benchmarks/bench_drift.py $(BENCH_ARGS)
