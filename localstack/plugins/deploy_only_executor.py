"""A LocalStack Lambda runtime executor that deploys functions but cannot run them.

LocalStack's only community executor ("docker") prepares every function version by downloading
its runtime-init binary and pulling the runtime image. Without a Docker engine (or without the
internet) that preparation fails, the function goes to state Failed and a CloudFormation stack
that contains a function never completes. This executor skips the preparation, so the function
becomes Active and its configuration, layers, aliases and permissions can be deployed and
inspected; an invocation fails at once with the reason instead of hanging.

Runs inside LocalStack's own virtual environment (Python 3.13), never in the project's .venv.
"""

from __future__ import annotations

from typing import Any, NoReturn

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

NO_EXECUTION_REASON = (
    "this LocalStack runs in host mode without a Docker engine "
    "(LAMBDA_RUNTIME_EXECUTOR=deploy-only): functions deploy but cannot be invoked"
)


def _refuse() -> NoReturn:
    raise LambdaRuntimeException(NO_EXECUTION_REASON)


class DeployOnlyRuntimeExecutor(RuntimeExecutor):
    def start(self, env_vars: dict[str, str]) -> None:
        _refuse()

    def stop(self) -> None:
        # Nothing was started.
        return None

    def get_address(self) -> str:
        _refuse()

    def get_endpoint_from_executor(self) -> str:
        _refuse()

    def get_runtime_endpoint(self) -> str:
        _refuse()

    def invoke(self, payload: dict[str, str]) -> Any:
        _refuse()

    def get_logs(self) -> str:
        return NO_EXECUTION_REASON

    @classmethod
    def prepare_version(cls, function_version: Any) -> None:
        # The code is already stored by LocalStack; there is no image to pull.
        return None

    @classmethod
    def cleanup_version(cls, function_version: Any) -> None:
        return None


class DeployOnlyExecutorPlugin(RuntimeExecutorPlugin):
    name = "deploy-only"

    def load(self, *args: Any, **kwargs: Any) -> type[RuntimeExecutor]:
        return DeployOnlyRuntimeExecutor
