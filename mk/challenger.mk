# Challenger models: stage one, compare it with the champion on logged traffic, promote it (docs/rollout.md).
CHALLENGER_LAYER := layers/challenger
CHALLENGER ?= $(CHALLENGER_LAYER)
LOGS ?=
LABELS ?=
COMPARE_OUT ?= monitoring/reports/compare

.PHONY: challenger
challenger: $(STAMP) ## check a model layer (FROM=training/runs/<name>), copy it into layers/challenger, pair it with the champion
	@test -n "$(FROM)" || { echo "usage: make challenger FROM=<model layer folder>" >&2; exit 2; }
	$(PY) -m monitoring.promote stage "$(FROM)"

.PHONY: challenger-clear
challenger-clear: ## remove the challenger model from layers/challenger (its README stays)
	rm -f $(addprefix $(CHALLENGER_LAYER)/,model.onnx manifest.json explainer.npz paired.onnx paired.json)

.PHONY: compare
compare: $(STAMP) ## champion vs challenger from decision logs: LOGS="file ..." [LABELS=labels.csv] [COMPARE_OUT=dir]
	@test -n "$(LOGS)" || { echo "usage: make compare LOGS=\"<decision log files>\" [LABELS=<csv>]" >&2; exit 2; }
	$(PY) -m monitoring.compare --logs $(LOGS) $(if $(LABELS),--labels "$(LABELS)") --out "$(COMPARE_OUT)"

.PHONY: promote
promote: $(STAMP) ## check the challenger (CHALLENGER=dir, default layers/challenger) and make it the champion in layers/model
	$(PY) -m monitoring.promote promote "$(CHALLENGER)"

.PHONY: bench-challenger
bench-challenger: $(STAMP) $(MODEL) ## what a shadow / A/B challenger adds to an in-process POST /predict (vs none, same run)
	$(PY) benchmarks/bench_challenger.py $(BENCH_ARGS)
