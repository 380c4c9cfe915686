# Container variant: the Lambda image, the self-hosted server image, and the same server on the host.
DOCKER            ?= docker
LAMBDA_BASE_IMAGE ?= public.ecr.aws/lambda/python:3.13
SERVER_BASE_IMAGE ?= python:3.13-slim-bookworm
IMAGE_NAME        ?= fraud-scoring
SELFHOSTED_HOST   ?= 127.0.0.1
SELFHOSTED_PORT   ?= 8080
.PHONY: serve-selfhosted
serve-selfhosted: $(STAMP) $(MODEL) ## the self-hosted server (gunicorn + uvicorn workers) on the host, 127.0.0.1:8080
	MODEL_DIR="$(CURDIR)/$(MODEL_DIR)" POLICY_DIR="$(CURDIR)/layers/policy" HOST=$(SELFHOSTED_HOST) PORT=$(SELFHOSTED_PORT) $(PY) -m selfhosted

.PHONY: bench-selfhosted
bench-selfhosted: $(STAMP) $(MODEL) ## self-hosted server vs a naive FastAPI+gunicorn build (wrk + k6, loopback)
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
	$(PY) benchmarks/bench_selfhosted.py $(BENCH_ARGS)

.PHONY: container-template
container-template: $(STAMP) ## regenerate container/template.yaml (image variant) from template.yaml
	$(PY) container/derive_image_template.py

.PHONY: container-build
container-build: $(MODEL) ## docker build both images (needs an engine and the base images; .dockerignore keeps the context small)
	$(DOCKER) build -f container/Dockerfile --target lambda \
	  --build-arg LAMBDA_BASE_IMAGE=$(LAMBDA_BASE_IMAGE) -t $(IMAGE_NAME):lambda .
	$(DOCKER) build -f container/Dockerfile --target server \
	  --build-arg LAMBDA_BASE_IMAGE=$(LAMBDA_BASE_IMAGE) --build-arg SERVER_BASE_IMAGE=$(SERVER_BASE_IMAGE) \
	  -t $(IMAGE_NAME):server .

# Its own build directory: in .aws-sam/build it would replace the zip build, and later `sam local`,
# `make sam-invoke` and `make deploy` would silently use the image variant.
IMAGE_SAM_BUILD_DIR ?= build/sam-image/build

.PHONY: container-sam-build
container-sam-build: $(STAMP) $(MODEL) ## sam build of the image variant (container/template.yaml; needs Docker) into build/sam-image/build
	SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam build -t container/template.yaml --build-dir $(IMAGE_SAM_BUILD_DIR)
