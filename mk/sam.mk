# AWS SAM: validate, build without Docker, invoke the build through the Lambda RIE, deploy.
# ARCH picks the function's architecture and the dependency layer's wheels together.
# USE_CONTAINER=1 builds in SAM's build containers (needs Docker): sam does not pass the host
# environment into them, so the layer settings go in with --container-env-var.
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
SAM_CACHE  = build/sam-cache/$(ARCH)-$(LAYER_BYTECODE)-$(FUNCTION_BYTECODE)-$(if $(CONTAINER_BUILD),container,$(RUNTIME_PYTHON_FOUND))
SAM_BUILD_DIR := .aws-sam/build
USE_CONTAINER ?=
CONTAINER_BUILD := $(filter 1 yes true,$(USE_CONTAINER))
SAM_CONTAINER_ARGS = $(if $(CONTAINER_BUILD),--use-container $(foreach var,LAYER_ARCH=$(ARCH) \
                     LAYER_BYTECODE=$(LAYER_BYTECODE) FUNCTION_BYTECODE=$(FUNCTION_BYTECODE),--container-env-var $(var)))
EVENT      ?= events/predict_ok.json

.PHONY: sam-validate
sam-validate: $(STAMP) ## sam validate --lint (offline)
	$(SAM_ENV) $(SAM) validate --lint --region $(SAM_REGION)

.PHONY: sam-build
sam-build: $(STAMP) $(MODEL) ## sam build into .aws-sam/build, no containers (ARCH=x86_64|arm64, USE_CONTAINER=1 for SAM's build images)
	@case "$(ARCH)" in x86_64|arm64) ;; *) echo "error: ARCH=$(ARCH) is not a Lambda architecture: use ARCH=x86_64 or ARCH=arm64" >&2; exit 2;; esac
	$(SAM_ENV) $(SAM) build --cached --cache-dir $(SAM_CACHE) --build-dir $(SAM_BUILD_DIR) \
	  --parameter-overrides Architecture=$(ARCH) $(SAM_CONTAINER_ARGS)
	@grep -qx "arch=$(ARCH)" $(SAM_BUILD_DIR)/DependenciesLayer/python/.fraud-scoring-layer || { \
	  echo "error: the dependency layer in $(SAM_BUILD_DIR) was not built for $(ARCH): LAYER_ARCH did not reach its build" >&2; exit 1; }

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
sam-invoke: $(STAMP) ## invoke the build through the Lambda RIE, no Docker (EVENT=events/...json); logs + REPORT, then the response
	@$(PY) scripts/lambda_rie.py --build-dir $(SAM_BUILD_DIR) $(EVENT)

.PHONY: events
events: $(STAMP) $(MODEL) ## regenerate events/*.json from sam local generate-event
	$(PY) scripts/generate_events.py

# No ENV: `sam deploy --guided` (first time; answers saved in samconfig.toml's [default]).
# ENV=default|dev|prod: that samconfig.toml environment, no prompts. ARCH is kept for the deploy too.
# CHALLENGER_MODE=off|shadow|ab and CHALLENGER_SHARE=0..1 set the challenger (docs/rollout.md).
.PHONY: deploy sam-deploy
deploy: sam-build ## build, then sam deploy: guided without ENV (first time), else ENV=default|dev|prod (ARCH=...)
	@$(SAM_ENV) $(PY) scripts/sam_deploy.py --build-dir $(SAM_BUILD_DIR) --arch $(ARCH) $(if $(ENV),--env $(ENV)) \
	  $(if $(CHALLENGER_MODE),--parameter ChallengerMode=$(CHALLENGER_MODE)) \
	  $(if $(CHALLENGER_SHARE),--parameter ChallengerShare=$(CHALLENGER_SHARE)) \
	  $(if $(DEPLOY_ARGS),-- $(DEPLOY_ARGS))
sam-deploy: deploy
