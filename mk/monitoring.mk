# Prometheus alerting rules and the Grafana dashboard of the self-hosted server (monitoring/).
PROMETHEUS_DIR := monitoring/prometheus

.PHONY: prometheus
prometheus: ## Debian's prometheus package (prometheus + promtool) for the rules tests (apt-get when missing)
	@{ command -v promtool && command -v prometheus; } >/dev/null || { \
	  echo "Prometheus is missing: apt-get install prometheus"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

.PHONY: monitoring-check
monitoring-check: prometheus ## promtool: check the example config and the alerting rules, run their unit tests
	cd $(PROMETHEUS_DIR) && promtool check config prometheus.yml && promtool test rules alerts_test.yml
