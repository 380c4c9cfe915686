# Training: synthetic data by default, or CSV=path/to/creditcard.csv
TRAIN_ARGS ?=
CSV ?=

.PHONY: train
train: $(STAMP) ## train the model and write layers/model (+ training/report); CSV=file to use real data
	$(PY) -m training $(if $(CSV),--csv $(CSV)) $(TRAIN_ARGS)

# `make serve` and friends depend on this: train only when no model exists.
$(MODEL): | $(STAMP)
	$(MAKE) train
