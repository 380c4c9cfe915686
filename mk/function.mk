# The scoring function (function/fraud_scoring, function/fraud_api): benchmark.
BENCH_ARGS ?=
BENCH_LAYER := build/bench-layer

# The packages of the dependency layer alone, for a Lambda-like cold start (/opt/python only).
$(BENCH_LAYER)/.installed: layers/dependencies/requirements.txt | $(STAMP)
	$(PY) -m pip install --quiet --no-deps --target $(BENCH_LAYER) -r layers/dependencies/requirements.txt
	@touch $@

.PHONY: bench-function
bench-function: $(STAMP) $(MODEL) $(BENCH_LAYER)/.installed ## benchmark score / invocation / cold start vs the naive baseline; updates BENCHMARKS.md
	$(PY) benchmarks/bench_function.py --update-md $(BENCH_ARGS)
