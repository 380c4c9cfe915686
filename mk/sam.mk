# AWS SAM: validate, build without Docker, invoke the build through the Lambda RIE, deploy.
# ARCH picks the function's architecture and the dependency layer's wheels together.
ARCH       ?= x86_64
SAM_REGION ?= us-east-1
SAM        := $(VENV)/bin/sam
LAYER_BYTECODE ?= init
FUNCTION_BYTECODE ?= yes
SAM_ENV    := SAM_CLI_TELEMETRY=0 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" LAYER_ARCH=$(ARCH) \
              LAYER_BYTECODE=$(LAYER_BYTECODE) FUNCTION_BYTECODE=$(FUNCTION_BYTECODE)
# One build cache per architecture, bytecode modes and whether the runtime's Python is here (sam's
# cache key is the source only): a build made without python3.13 is not reused once it is found.
# Expanded only by the targets that build (finding python3.13 takes ~0.2 s).
RUNTIME_PYTHON_FOUND = $(if $(shell sh layers/dependencies/runtime-python.sh 3.13),py313,nopy)
SAM_CACHE  = build/sam-cache/$(ARCH)-$(LAYER_BYTECODE)-$(FUNCTION_BYTECODE)-$(RUNTIME_PYTHON_FOUND)
EVENT      ?= events/predict_ok.json

.PHONY: sam-validate
sam-validate: $(STAMP) ## sam validate --lint (offline)
	$(SAM_ENV) $(SAM) validate --lint --region $(SAM_REGION)

.PHONY: sam-build
sam-build: $(STAMP) $(MODEL) ## sam build without containers into .aws-sam/build (ARCH=x86_64|arm64)
	$(SAM_ENV) $(SAM) build --cached --cache-dir $(SAM_CACHE) --parameter-overrides Architecture=$(ARCH)

.PHONY: layer-init-modules
layer-init-modules: $(STAMP) $(MODEL) ## regenerate layers/dependencies/init-modules.txt: what init loads, shipped as bytecode
	$(SAM_ENV) LAYER_BYTECODE=none $(SAM) build --cached --cache-dir build/sam-cache/$(ARCH)-none-$(FUNCTION_BYTECODE)-$(RUNTIME_PYTHON_FOUND) \
	  --build-dir build/init-modules --parameter-overrides Architecture=$(ARCH)
	$(PY) scripts/layer_init_modules.py --build-dir build/init-modules

.PHONY: sam-size
sam-size: $(STAMP) ## unzipped size of the built function and layers (after make sam-build)
	$(PY) benchmarks/lambda_package_size.py --build-dir .aws-sam/build

.PHONY: sam-size-report
sam-size-report: $(STAMP) ## the size report for BENCHMARKS.md: built vs a naive install of the same pins
	$(PY) benchmarks/lambda_package_size.py --build-dir .aws-sam/build --naive

.PHONY: sam-invoke
sam-invoke: $(STAMP) ## invoke the build through the Lambda RIE, no Docker (EVENT=events/...json)
	$(PY) scripts/lambda_rie.py --build-dir .aws-sam/build $(EVENT)

.PHONY: events
events: $(STAMP) $(MODEL) ## regenerate events/*.json from sam local generate-event
	$(PY) scripts/generate_events.py

.PHONY: sam-deploy
sam-deploy: sam-build ## sam deploy with samconfig.toml's ENV environment (ENV=default|dev|prod)
	$(SAM_ENV) $(SAM) deploy --config-env $(or $(ENV),default)
