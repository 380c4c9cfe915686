# LocalStack in host mode: no Docker, no account, 127.0.0.1 only, state in .localstack/ (see
# docs/localstack.md). Its own venv on Python >= 3.13: scripts/localstack.sh finds the interpreter.
LOCALSTACK := scripts/localstack.sh

.PHONY: localstack-venv
localstack-venv: ## create .venv-localstack from localstack/requirements.txt (Python >= 3.13)
	@$(LOCALSTACK) venv

.PHONY: localstack-up
localstack-up: ## start LocalStack on 127.0.0.1:4566 and wait until healthy (pid in .localstack/)
	@$(LOCALSTACK) up

.PHONY: localstack-down
localstack-down: ## stop the LocalStack started by localstack-up
	@$(LOCALSTACK) down

.PHONY: localstack-status
localstack-status: ## is our LocalStack running and healthy?
	@$(LOCALSTACK) status

.PHONY: localstack-deploy
localstack-deploy: sam-build ## sam build + sam deploy --config-env localstack into the running LocalStack
	@$(LOCALSTACK) deploy
