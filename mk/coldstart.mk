# Cold start as deployed: our `sam build` output vs the naive baseline's plain `sam build` output,
# each started cold through the Lambda RIE under python3.13 (PyPI is needed the first time, for the
# naive build). COLDSTART_RUNS cold starts per variant; BENCH_ARGS passes more (e.g. --rebuild-naive).
NAIVE_SAM_BUILD ?= build/naive-sam
COLDSTART_RUNS ?= 9

.PHONY: bench-coldstart
bench-coldstart: sam-build ## cold start as deployed: ours vs the naive sam build, wall + CPU (COLDSTART_RUNS=9)
	SAM_CLI_TELEMETRY=0 $(PY) benchmarks/lambda_cold_start.py --ours .aws-sam/build \
	  --naive $(NAIVE_SAM_BUILD) --runs $(COLDSTART_RUNS) $(BENCH_ARGS)
