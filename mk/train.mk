# Training (docs/training.md). `make train` alone rebuilds the committed default model in layers/model;
# any other data goes to training/runs/<name>/ unless OUT=dir or REPLACE_DEFAULT=1.
#   make train DATA=named                                   the built-in data set with named features
#   make train CSV=creditcard.csv                           the public data set's layout
#   make train CSV=tx.csv LABEL=is_fraud TIME=ts IGNORE=id,card_id [DELIMITER=';']
#   make train CSV=tx.csv SCHEMA=schema.yaml                the same, from a JSON or YAML file
TRAIN_ARGS ?=
CSV ?=
DATA ?=
SCHEMA ?=
LABEL ?=
TIME ?=
IGNORE ?=
DELIMITER ?=
OUT ?=
REPLACE_DEFAULT ?=

.PHONY: train
train: $(STAMP) ## train a model: DATA=named, or CSV=file [SCHEMA=f | LABEL= TIME= IGNORE=]; OUT=dir, REPLACE_DEFAULT=1
	$(PY) -m training $(if $(DATA),--data '$(DATA)') $(if $(CSV),--csv '$(CSV)') $(if $(SCHEMA),--schema '$(SCHEMA)') \
		$(if $(LABEL),--label '$(LABEL)') $(if $(TIME),--time '$(TIME)') $(if $(IGNORE),--ignore '$(IGNORE)') \
		$(if $(DELIMITER),--delimiter '$(DELIMITER)') $(if $(OUT),--out '$(OUT)') \
		$(if $(REPLACE_DEFAULT),--replace-default) $(TRAIN_ARGS)

# `make serve` and friends depend on this: train the default model only when it is missing.
$(MODEL): | $(STAMP)
	$(MAKE) train CSV= DATA= SCHEMA= LABEL= TIME= IGNORE= DELIMITER= OUT= REPLACE_DEFAULT= TRAIN_ARGS=
