"""template.yaml as CloudFormation receives it (samtranslator's output, parameters applied)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.pins import read_pins
from tests.unit.template.cfn import REPO_ROOT, deployed, of_type, only, sam_template, transformed

ROUTES = {
    ("/predict", "post"),
    ("/predict/batch", "post"),
    ("/health", "get"),
    ("/model", "get"),
    ("/docs", "get"),
    ("/openapi.json", "get"),
}


def api_paths(resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    _, api = only(resources, "AWS::ApiGateway::RestApi")
    paths: dict[str, dict[str, Any]] = api["Properties"]["Body"]["paths"]
    return paths


def stage(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    _, found = only(resources, "AWS::ApiGateway::Stage")
    props: dict[str, Any] = found["Properties"]
    return props


def function(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    _, found = only(resources, "AWS::Lambda::Function")
    props: dict[str, Any] = found["Properties"]
    return props


# -- routes ---------------------------------------------------------------------------------------


def test_the_api_has_exactly_the_six_routes_and_no_catch_all() -> None:
    paths = api_paths(deployed())
    declared = {(path, method) for path, methods in paths.items() for method in methods}
    assert declared == ROUTES
    assert not any("{" in path for path in paths), "a {proxy+} route would send unknown paths to Lambda"


def test_every_route_is_a_lambda_proxy_integration_of_the_live_alias() -> None:
    for path, methods in api_paths(deployed()).items():
        for method, operation in methods.items():
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy", (path, method)
            assert integration["httpMethod"] == "POST", (path, method)
            uri = integration["uri"]["Fn::Sub"]
            assert uri.endswith("/functions/${ScoringFunctionAliaslive}/invocations"), (path, method)


def test_api_gateway_may_invoke_the_function_on_every_route_and_nothing_else() -> None:
    permissions = of_type(deployed(), "AWS::Lambda::Permission")
    granted = set()
    for permission in permissions.values():
        props = permission["Properties"]
        assert props["Action"] == "lambda:InvokeFunction"
        assert props["Principal"] == "apigateway.amazonaws.com"
        assert props["FunctionName"] == {"Ref": "ScoringFunctionAliaslive"}
        arn_template, variables = props["SourceArn"]["Fn::Sub"]
        assert variables["__ApiId__"] == {"Ref": "Api"}
        method, path = arn_template.split("${__Stage__}/", 1)[1].split("/", 1)
        granted.add((f"/{path}", method.lower()))
    assert granted == ROUTES


def test_no_implicit_api_or_extra_stage_is_created() -> None:
    resources = deployed()
    assert "ServerlessRestApi" not in resources
    assert len(of_type(resources, "AWS::ApiGateway::Stage")) == 1


# -- throttling, access logs, API key -------------------------------------------------------------


def method_settings(resources: dict[str, dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["ResourcePath"], s["HttpMethod"]): s for s in stage(resources)["MethodSettings"]}


def test_stage_throttling_defaults_to_the_old_nginx_limits() -> None:
    everything = method_settings(deployed())[("/*", "*")]
    assert everything["ThrottlingRateLimit"] == "5000"
    assert everything["ThrottlingBurstLimit"] == "1000"


def test_throttling_follows_the_parameters() -> None:
    settings = method_settings(
        deployed({"ThrottleRateLimit": "1200", "ThrottleBurstLimit": "300", "BatchThrottleRateLimit": "40"})
    )
    assert settings[("/*", "*")]["ThrottlingRateLimit"] == "1200"
    assert settings[("/*", "*")]["ThrottlingBurstLimit"] == "300"
    assert settings[("/~1predict~1batch", "POST")]["ThrottlingRateLimit"] == "40"


def test_per_route_settings_point_at_real_routes_with_tighter_limits() -> None:
    resources = deployed()
    settings = method_settings(resources)
    stage_wide = settings.pop(("/*", "*"))
    assert settings, "expected per-route settings for the heavy and the human routes"
    for (encoded_path, method), setting in settings.items():
        # AWS encodes /a/b as /~1a~1b: the leading slash stays, the inner ones become ~1
        assert encoded_path.startswith("/~1"), encoded_path
        path = encoded_path[1:].replace("~1", "/")
        assert (path, method.lower()) in ROUTES, encoded_path
        assert int(setting["ThrottlingRateLimit"]) < int(stage_wide["ThrottlingRateLimit"])
        assert int(setting["ThrottlingBurstLimit"]) <= int(stage_wide["ThrottlingBurstLimit"])


def test_access_logs_go_to_the_stacks_log_group_as_json() -> None:
    import json

    resources = deployed()
    access = stage(resources)["AccessLogSetting"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(access["Format"])
    assert {"requestId", "status", "latencyMs", "integrationLatencyMs", "apiKeyId"} <= set(fields)
    assert "RetentionInDays" in resources["ApiAccessLogGroup"]["Properties"]


def test_access_logging_waits_for_the_account_cloudwatch_role_when_the_stack_sets_it() -> None:
    with_account = deployed()
    assert "ApiGatewayAccount" in with_account
    tags = with_account["ApiAccessLogGroup"]["Properties"]["Tags"]
    assert {"Key": "api-gateway-account", "Value": {"Ref": "ApiGatewayAccount"}} in tags
    assert with_account["ApiGatewayAccount"]["DeletionPolicy"] == "Retain"
    without = deployed({"ConfigureApiGatewayAccount": "false"})
    assert "ApiGatewayAccount" not in without
    assert "ApiGatewayCloudWatchRole" not in without


def test_no_api_key_by_default() -> None:
    resources = deployed()
    for methods in api_paths(resources).values():
        for operation in methods.values():
            assert operation["security"] == []
    assert not of_type(resources, "AWS::ApiGateway::UsagePlan")
    assert not of_type(resources, "AWS::ApiGateway::ApiKey")


def test_api_key_required_adds_a_usage_plan_with_one_key_on_every_route() -> None:
    resources = deployed({"ApiKeyRequired": "true", "UsagePlanQuotaPerDay": "123"})
    for methods in api_paths(resources).values():
        for operation in methods.values():
            assert operation["security"] == [{"api_key": []}]
    _, plan = only(resources, "AWS::ApiGateway::UsagePlan")
    assert plan["Properties"]["Throttle"] == {"RateLimit": "5000", "BurstLimit": "1000"}
    assert plan["Properties"]["Quota"] == {"Limit": "123", "Period": "DAY"}
    assert plan["Properties"]["ApiStages"] == [{"ApiId": {"Ref": "Api"}, "Stage": {"Ref": "ApiStage"}}]
    _, key = only(resources, "AWS::ApiGateway::ApiKey")
    assert key["Properties"]["Enabled"] is True
    _, link = only(resources, "AWS::ApiGateway::UsagePlanKey")
    assert link["Properties"]["KeyId"] == {"Ref": "ApiKey"}


# -- the function, layers, alias, deployment ------------------------------------------------------


def test_function_runtime_handler_and_architecture() -> None:
    props = function(deployed())
    assert props["Runtime"] in {"python3.12", "python3.13"}
    assert props["Handler"] == "fraud_api.lambda_handler.handler"
    assert props["Architectures"] == ["x86_64"]
    assert function(deployed({"Architecture": "arm64"}))["Architectures"] == ["arm64"]
    assert props["MemorySize"] == "1024"
    assert props["Timeout"] == "10"


def test_every_layer_is_attached_and_built_by_its_makefile() -> None:
    resources = deployed()
    layers = of_type(resources, "AWS::Lambda::LayerVersion")
    assert len(layers) == 4
    assert sorted(function(resources)["Layers"], key=str) == sorted(({"Ref": key} for key in layers), key=str)
    sam = sam_template()["Resources"]
    for logical_id, folder in (
        ("ModelLayer", "layers/model"),
        ("DependenciesLayer", "layers/dependencies"),
        ("PolicyLayer", "layers/policy"),
        ("ChallengerModelLayer", "layers/challenger"),
    ):
        assert sam[logical_id]["Properties"]["ContentUri"].rstrip("/") == folder
        assert sam[logical_id]["Metadata"]["BuildMethod"] == "makefile"
        makefile = (REPO_ROOT / folder / "Makefile").read_text(encoding="utf-8")
        assert re.search(rf"^build-{logical_id}:", makefile, re.MULTILINE), f"{folder}/Makefile"
    assert sam["ScoringFunction"]["Properties"]["CodeUri"].rstrip("/") == "function"
    assert re.search(r"^build-ScoringFunction:", (REPO_ROOT / "function" / "Makefile").read_text(), re.MULTILINE)


def test_every_layer_names_the_functions_runtime_first() -> None:
    """`sam build --use-container` builds a makefile layer in the image of its first compatible runtime:
    with the function's runtime first, one build image serves the function and both layers."""
    runtime = function(deployed())["Runtime"]
    for logical_id in ("ModelLayer", "DependenciesLayer"):
        assert sam_template()["Resources"][logical_id]["Properties"]["CompatibleRuntimes"][0] == runtime, logical_id


def test_the_dependency_layer_is_declared_for_the_functions_runtime_and_architecture() -> None:
    resources = deployed({"Architecture": "arm64"})
    runtime = function(resources)["Runtime"]
    for layer in of_type(resources, "AWS::Lambda::LayerVersion").values():
        assert runtime in layer["Properties"]["CompatibleRuntimes"]
        assert "arm64" in layer["Properties"]["CompatibleArchitectures"]
    deps_makefile = (REPO_ROOT / "layers" / "dependencies" / "Makefile").read_text(encoding="utf-8")
    version = runtime.removeprefix("python")
    assert f"LAYER_PYTHON_VERSION ?= {version}" in deps_makefile


def test_environment_names_are_the_ones_the_code_reads() -> None:
    env = function(deployed())["Environment"]["Variables"]
    assert env["MODEL_DIR"] == "/opt/model"
    assert env["DECISION_LOG_FEATURES"] == "false"
    assert env["ORT_INTRA_OP_THREADS"] == "1"
    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "function").rglob("*.py"))
    read_by_powertools = {"POWERTOOLS_LOG_LEVEL"}
    for name in set(env) - read_by_powertools:
        assert f'"{name}"' in source, f"{name} is set in template.yaml but function/ never reads it"


def test_alias_live_points_at_the_published_version() -> None:
    resources = deployed()
    alias_id, alias = only(resources, "AWS::Lambda::Alias")
    assert alias_id == "ScoringFunctionAliaslive"
    assert alias["Properties"]["Name"] == "live"
    version_id, _ = only(resources, "AWS::Lambda::Version")
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    hook = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert hook["DeploymentGroupName"] == {"Ref": "ScoringFunctionDeploymentGroup"}


ALARMS = {
    "Api5xxAlarm": ("AWS/ApiGateway", "5XXError"),
    "FunctionErrorsAlarm": ("AWS/Lambda", "Errors"),
    "FunctionThrottlesAlarm": ("AWS/Lambda", "Throttles"),
    "ApiLatencyAlarm": ("AWS/ApiGateway", "Latency"),
}


@pytest.mark.parametrize(
    ("overrides", "config"),
    [
        ({}, "AllAtOnce"),
        ({"DeploymentType": "Canary10Percent5Minutes"}, "Canary10Percent5Minutes"),
    ],
)
def test_deployment_shifts_traffic_and_rolls_back_on_the_four_alarms(overrides: dict[str, str], config: str) -> None:
    resources = deployed(overrides)
    _, group = only(resources, "AWS::CodeDeploy::DeploymentGroup")
    props = group["Properties"]
    assert props["DeploymentConfigName"]["Fn::Sub"][1]["ConfigName"] == config
    assert props["AutoRollbackConfiguration"]["Enabled"] is True
    assert "DEPLOYMENT_STOP_ON_ALARM" in props["AutoRollbackConfiguration"]["Events"]
    assert props["AlarmConfiguration"]["Enabled"] is True
    assert {alarm["Name"]["Ref"] for alarm in props["AlarmConfiguration"]["Alarms"]} == set(ALARMS)


@pytest.mark.parametrize(("alarm_id", "metric"), ALARMS.items())
def test_each_alarm_watches_this_stacks_api_or_live_alias(alarm_id: str, metric: tuple[str, str]) -> None:
    props = deployed()[alarm_id]["Properties"]
    assert (props["Namespace"], props["MetricName"]) == metric
    dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
    if metric[0] == "AWS/Lambda":
        assert dimensions == {
            "FunctionName": {"Ref": "ScoringFunction"},
            "Resource": {"Fn::Sub": "${ScoringFunction}:live"},
        }
    else:
        assert dimensions == {"ApiName": {"Fn::Sub": "${AWS::StackName}-api"}, "Stage": "v1"}
        _, api = only(deployed(), "AWS::ApiGateway::RestApi")
        assert api["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-api"}


def test_prod_samconfig_is_canary_and_dev_is_all_at_once() -> None:
    import tomllib

    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert "DeploymentType=Canary" in config["prod"]["deploy"]["parameters"]["parameter_overrides"]
    assert "DeploymentType=AllAtOnce" in config["dev"]["deploy"]["parameters"]["parameter_overrides"]


# -- concurrency, SnapStart ------------------------------------------------------------------------


def test_reserved_concurrency_is_a_parameter_and_zero_means_unreserved() -> None:
    assert "ReservedConcurrentExecutions" not in function(deployed())
    assert function(deployed({"ReservedConcurrency": "250"}))["ReservedConcurrentExecutions"] == "250"


def test_snapstart_and_provisioned_concurrency_are_optional() -> None:
    resources = deployed()
    assert "SnapStart" not in function(resources)
    _, alias = only(resources, "AWS::Lambda::Alias")
    assert "ProvisionedConcurrencyConfig" not in alias["Properties"]
    assert function(deployed({"SnapStart": "true"}))["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    _, alias = only(deployed({"ProvisionedConcurrency": "5"}), "AWS::Lambda::Alias")
    assert alias["Properties"]["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": "5"}


def test_a_rule_refuses_snapstart_together_with_provisioned_concurrency() -> None:
    rules = transformed()["Rules"]
    (rule,) = [r for r in rules.values() if r["RuleCondition"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "true"]}]
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "ProvisionedConcurrency"}, "0"]}


# -- least privilege --------------------------------------------------------------------------------


def role_statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def actions(statement: dict[str, Any]) -> set[str]:
    value = statement["Action"]
    return {value} if isinstance(value, str) else set(value)


def test_function_role_may_only_write_its_own_logs() -> None:
    resources = deployed()
    role_ref = function(resources)["Role"]
    assert role_ref == {"Fn::GetAtt": ["ScoringFunctionRole", "Arn"]}
    role = resources["ScoringFunctionRole"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert "ManagedPolicyArns" not in role["Properties"]
    statements = role_statements(role)
    assert [actions(s) for s in statements] == [{"logs:CreateLogStream", "logs:PutLogEvents"}]
    assert statements[0]["Resource"] == {"Fn::GetAtt": ["FunctionLogGroup", "Arn"]}
    assert function(resources)["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}
    # nothing else grants the role anything
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        assert {"Ref": "ScoringFunctionRole"} not in policy["Properties"].get("Roles", [])


def test_xray_permissions_only_when_tracing_is_active() -> None:
    resources = deployed({"Tracing": "Active"})
    granted = set().union(*(actions(s) for s in role_statements(resources["ScoringFunctionRole"])))
    assert granted == {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    assert function(resources)["TracingConfig"] == {"Mode": "Active"}
    assert stage(resources)["TracingEnabled"] is True


def test_no_statement_in_the_stack_allows_every_action() -> None:
    for logical_id, role in of_type(deployed({"Tracing": "Active"}), "AWS::IAM::Role").items():
        for statement in role_statements(role):
            assert not any(a == "*" or a.endswith(":*") for a in actions(statement)), logical_id


# -- outputs -----------------------------------------------------------------------------------------


def test_outputs_give_the_api_url_alias_arn_and_api_key_id() -> None:
    outputs = transformed()["Outputs"]
    assert "/predict" in outputs["PredictUrl"]["Value"]["Fn::Sub"]
    assert outputs["ApiUrl"]["Value"]["Fn::Sub"].startswith("https://${Api}.execute-api.")
    assert outputs["FunctionAliasArn"]["Value"] == {"Ref": "ScoringFunctionAliaslive"}
    assert outputs["ApiKeyId"]["Condition"] == "UseApiKey"
    assert outputs["ApiKeyId"]["Value"] == {"Ref": "ApiKey"}


def test_samconfig_overrides_name_real_parameters() -> None:
    import shlex
    import tomllib

    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    parameters = sam_template()["Parameters"]
    assert {"default", "dev", "prod", "localstack"} <= set(config)
    for env_name in ("default", "dev", "prod", "localstack"):
        deploy = config[env_name]["deploy"]["parameters"]
        assert "CAPABILITY_IAM" in deploy["capabilities"]
        for pair in shlex.split(deploy["parameter_overrides"]):
            name, value = pair.split("=", 1)
            assert name in parameters, f"[{env_name}] overrides unknown parameter {name}"
            allowed = parameters[name].get("AllowedValues")
            if allowed:
                assert value in [str(v) for v in allowed], f"[{env_name}] {name}={value}"
        # each override must also transform: a bad value would fail here, not at deploy time
        transformed(dict(pair.split("=", 1) for pair in shlex.split(deploy["parameter_overrides"])))
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True


def test_dependency_layer_pins_match_the_development_lock() -> None:
    layer = read_pins(REPO_ROOT / "layers" / "dependencies" / "requirements.txt")
    lock = read_pins(REPO_ROOT / "requirements.lock")
    assert {name: lock.get(name) for name in layer} == layer


@pytest.mark.parametrize("env_name", ["default", "dev", "prod", "localstack"])
def test_each_environment_transforms_to_a_template_cfn_lint_accepts(env_name: str) -> None:
    """`sam validate --lint` checks the defaults; this checks what each samconfig environment deploys."""
    import json
    import shlex
    import tomllib

    from cfnlint.api import ManualArgs, lint

    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    overrides = dict(
        pair.split("=", 1) for pair in shlex.split(config[env_name]["deploy"]["parameters"]["parameter_overrides"])
    )
    # SAM resolves DeploymentType while transforming, so the parameter looks unused afterwards (W2001).
    matches = lint(
        json.dumps(transformed(overrides)), config=ManualArgs(regions=["us-east-1"], ignore_checks=["W2001"])
    )
    assert [str(match) for match in matches] == []
