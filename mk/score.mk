# Decision policy and offline scoring (docs/policy.md).
#   make policy                       check layers/policy/policy.yaml and refresh policy.json
#   make score                        score the default synthetic data set, decide, backtest
#   make score CSV=in.csv OUT=out.csv score a file (.csv or .parquet in and out)
# LABEL=Class backtests (the default data set has it), COMPARE=other.yaml adds a policy to compare,
# POLICY=file-or-folder scores with another policy, SCORE_ARGS passes anything else.
SCORE_DIR ?= build/score
SCORE_DATA := $(SCORE_DIR)/synthetic.csv
OUT ?= $(SCORE_DIR)/scored.csv
LABEL ?= $(if $(CSV),,Class)
COMPARE ?=
SCORE_ARGS ?=
FRAUD_SCORE := $(VENV)/bin/fraud-score

# The console command in the venv (pyproject's [project.scripts] for an installed copy); the
# project is on the venv's path through bootstrap's .pth, so the script only calls main().
$(FRAUD_SCORE): | $(STAMP)
	@printf '#!%s\nimport sys\nfrom scoring_cli.__main__ import main\nsys.exit(main())\n' "$(abspath $(PY))" > $@
	@chmod +x $@

# The default data set (training/data.py, seed 7) as CSV, with its label, for `make score`.
$(SCORE_DATA): | $(STAMP)
	@mkdir -p $(dir $@)
	$(PY) -m scoring_cli export-synthetic $@

.PHONY: policy
policy: $(STAMP) $(MODEL) ## check layers/policy/policy.yaml against the model and write policy.json
	$(PY) -m scoring_cli policy-stamp layers/policy

.PHONY: score
score: $(STAMP) $(MODEL) $(FRAUD_SCORE) $(if $(CSV),,$(SCORE_DATA)) ## score a file offline: CSV=in.csv OUT=out.csv (default: the synthetic data set, with a backtest)
	$(FRAUD_SCORE) score "$(if $(CSV),$(CSV),$(SCORE_DATA))" "$(OUT)" $(if $(LABEL),--label $(LABEL)) \
	  $(if $(POLICY),--policy "$(POLICY)") $(foreach c,$(COMPARE),--compare "$(c)") $(SCORE_ARGS)

.PHONY: bench-policy
bench-policy: $(STAMP) $(MODEL) ## benchmark policy decisions (20 rules) and offline scoring against ONNX Runtime alone and the minimal pyarrow pipeline
	$(PY) benchmarks/bench_policy.py $(BENCH_ARGS)

.PHONY: policy-schema
policy-schema: $(STAMP) ## regenerate fraud_scoring/policy_schema_validator.py from policy.schema.json
	$(PY) -m scoring_cli.schema_codegen
