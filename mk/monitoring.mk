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

# Prometheus alerting rules and the Grafana dashboard of the self-hosted server (monitoring/).
PROMETHEUS_DIR := monitoring/prometheus

.PHONY: prometheus
prometheus: ## Debian's prometheus package (prometheus + promtool) for the rules tests (apt-get when missing)
	@{ command -v promtool && command -v prometheus; } >/dev/null || { \
	  echo "Prometheus is missing: apt-get install prometheus"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	  : "the package enables a system service on :9090; the tests start their own on 127.0.0.1"; \
	  $$sudo systemctl disable --now prometheus >/dev/null 2>&1 || true; }

.PHONY: monitoring-check
monitoring-check: prometheus ## promtool: check the example config and the alerting rules, run their unit tests
	cd $(PROMETHEUS_DIR) && promtool check config prometheus.yml && promtool test rules alerts_test.yml
