# Local API Gateway + Lambda emulator (gateway_emulator/, docs/emulator.md).
SERVE_HOST ?= 127.0.0.1
SERVE_PORT ?= 3000
SERVE_TEMPLATE ?= template.yaml
# Environments started and initialised (one warm-up GET /health each) before the port opens, like
# provisioned concurrency: the first requests need no cold start. Further ones start on demand.
SERVE_WARM_POOL ?= 2
# 1: edits of function/, the layers or the template reach new execution environments without a
# restart (--watch). The CLI's default is off, so benchmarks and load tests never see it.
SERVE_WATCH ?= 1
SERVE_ARGS ?=
# Serve another model layer or decision policy than template.yaml's layers (paths on this machine):
# make serve SERVE_MODEL_DIR=training/runs/tx/model POLICY=my-policy.yaml
SERVE_MODEL_DIR ?=
POLICY ?=
SERVE_ENV = $(strip $(if $(SERVE_MODEL_DIR),MODEL_DIR=$(abspath $(SERVE_MODEL_DIR))) $(if $(POLICY),POLICY_DIR=$(abspath $(POLICY))))

.PHONY: serve
# $(MODEL) is made by `make train` (mk/train.mk) only when no model exists yet.
serve: $(STAMP) $(MODEL) ## run the API locally like API Gateway + Lambda, no Docker (127.0.0.1:3000)
	$(PY) -m gateway_emulator --template "$(SERVE_TEMPLATE)" --host "$(SERVE_HOST)" --port "$(SERVE_PORT)" --warm-pool "$(SERVE_WARM_POOL)" $(if $(filter 1,$(SERVE_WATCH)),--watch) $(if $(SERVE_ENV),--env $(SERVE_ENV)) $(SERVE_ARGS)

.PHONY: bench-emulator
bench-emulator: $(STAMP) $(MODEL) ## benchmark the emulator (throttling off): req/s and latency percentiles
	$(PY) benchmarks/bench_emulator.py $(BENCH_ARGS)

.PHONY: node
# Node.js is the strict HTTP client of tests/integration/test_emulator_strict_client.py: it refuses
# answers with a doubled header that curl and httpx accept. Debian's package is enough; nothing
# happens when `node` is already on the PATH.
node: ## Node.js for the emulator's strict-client test (apt-get install nodejs when missing)
	@command -v node >/dev/null || { \
	  echo "Node.js is missing: apt-get install nodejs"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs; }
