"""Apply an API Gateway stage's MethodSettings when LocalStack creates it from CloudFormation.

LocalStack 2026.3's AWS::ApiGateway::Stage resource provider creates the stage and its access-log
settings but drops MethodSettings (a TODO in its code), so the per-route throttling the template
declares never reaches the stage. This hook patches the provider to send them with UpdateStage,
the same patch paths the API Gateway console and CLI use. LocalStack still does not enforce them.
"""

from __future__ import annotations

from typing import Any

from localstack.runtime import hooks

# CloudFormation MethodSetting property -> UpdateStage patch path suffix
SETTING_PATHS = {
    "ThrottlingRateLimit": "throttling/rateLimit",
    "ThrottlingBurstLimit": "throttling/burstLimit",
    "MetricsEnabled": "metrics/enabled",
    "LoggingLevel": "logging/loglevel",
    "DataTraceEnabled": "logging/dataTrace",
    "CachingEnabled": "caching/enabled",
    "CacheTtlInSeconds": "caching/ttlInSeconds",
}


def method_settings_patch(method_settings: list[dict[str, Any]]) -> list[dict[str, str]]:
    operations = []
    for setting in method_settings:
        prefix = f"{setting.get('ResourcePath', '/*')}/{setting.get('HttpMethod', '*')}"
        for key, suffix in SETTING_PATHS.items():
            if key in setting:
                value = setting[key]
                text = str(value).lower() if isinstance(value, bool) else str(value)
                operations.append({"op": "replace", "path": f"{prefix}/{suffix}", "value": text})
    return operations


@hooks.on_infra_start()
def apply_stage_method_settings() -> None:
    from localstack.services.apigateway.resource_providers.aws_apigateway_stage import (
        ApiGatewayStageProvider,
    )

    original = ApiGatewayStageProvider.create
    if getattr(original, "applies_method_settings", False):
        return

    def create(self: Any, request: Any) -> Any:
        event = original(self, request)
        model = request.desired_state
        operations = method_settings_patch(model.get("MethodSettings") or [])
        if operations:
            request.aws_client_factory.apigateway.update_stage(
                restApiId=model["RestApiId"],
                stageName=model["StageName"],
                patchOperations=operations,
            )
        return event

    create.applies_method_settings = True  # type: ignore[attr-defined]
    ApiGatewayStageProvider.create = create  # type: ignore[method-assign]
