"""Deploy template.yaml to LocalStack with the SAM CLI and check the stack through the AWS APIs.

LocalStack runs in host mode (scripts/localstack.sh: its own Python 3.13 venv, 127.0.0.1 only). The
test starts it when it is not running (installing its venv if needed) and stops it afterwards; a
LocalStack that was already running is left running, with the test's stacks deleted.

The stack is deployed the way `make localstack-deploy` does it: `sam build`, then `sam deploy
--config-env localstack` with AWS_ENDPOINT_URL pointing at LocalStack, here with ApiKeyRequired=true
so the usage plan and the API key exist too; a second stack with ApiKeyRequired=false checks that they
do not (LocalStack's legacy engine lists condition-false resources as CREATE_COMPLETE in the deploy
output and the stack's resources, without a physical id; nothing is created). Expected values come
from template.yaml's parameter defaults and samconfig.toml's localstack overrides, never from copies
in this file.

Without a Docker engine holding the Lambda runtime image, LocalStack cannot run the function: the
call through the API is then skipped with the reason printed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "localstack.sh"
STATE_DIR = REPO_ROOT / ".localstack"
BUILD_DIR = REPO_ROOT / "build" / "localstack" / "sam-build"
SAM_CACHE_DIR = REPO_ROOT / "build" / "sam-cache" / "x86_64"
ENDPOINT = f"http://127.0.0.1:{os.environ.get('LOCALSTACK_PORT', '4566')}"
REGION = "us-east-1"
SAM = str(Path(sys.executable).with_name("sam"))
ROUTES = {
    ("/predict", "POST"),
    ("/predict/batch", "POST"),
    ("/health", "GET"),
    ("/model", "GET"),
    ("/docs", "GET"),
    ("/openapi.json", "GET"),
}

# venv install on a cold machine (~4 min) + start + build + two deploys; normally well under 3 min.
pytestmark = pytest.mark.timeout(900)


def log(message: str) -> None:
    # -ra shows skips; the timings go to stderr so `pytest -s` and CI logs show them.
    print(f"[localstack] {message}", file=sys.stderr, flush=True)


def aws_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update(
        AWS_ENDPOINT_URL=ENDPOINT,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=REGION,
        SAM_CLI_TELEMETRY="0",
        LAYER_ARCH="x86_64",
        # the layer makefiles run `python3 -m pip`: use this venv's
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def client(service: str) -> Any:
    make_client: Any = boto3.client  # typed per service name in the stubs; the name is a variable here
    return make_client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=REPO_ROOT, env=aws_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def template_defaults() -> dict[str, str]:
    template = yaml_parse((REPO_ROOT / "template.yaml").read_text(encoding="utf-8"))
    return {name: str(spec["Default"]) for name, spec in template["Parameters"].items() if "Default" in spec}


def sam_resource(logical_id: str) -> dict[str, Any]:
    template = yaml_parse((REPO_ROOT / "template.yaml").read_text(encoding="utf-8"))
    resource: dict[str, Any] = template["Resources"][logical_id]
    return resource


def with_parameters(value: Any, parameters: dict[str, str]) -> str:
    """A template value as deployed: a plain scalar, or a Ref to a parameter."""
    if isinstance(value, dict):
        (function, argument), *rest = value.items()
        assert function == "Ref", f"only plain values and parameter Refs are expected: {value}"
        assert not rest, value
        return parameters[argument]
    return str(value)


def localstack_overrides() -> dict[str, str]:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    raw: str = config["localstack"]["deploy"]["parameters"]["parameter_overrides"]
    return dict(pair.split("=", 1) for pair in raw.split())


@dataclass(frozen=True)
class LocalStack:
    executor: str


@dataclass(frozen=True)
class Deployed:
    stack_name: str
    parameters: dict[str, str]
    outputs: dict[str, str]
    deploy_seconds: float


@pytest.fixture(scope="module")
def localstack() -> Iterator[LocalStack]:
    already_running = subprocess.run([str(SCRIPT), "status"], capture_output=True, check=False).returncode == 0
    if not already_running:
        started = time.perf_counter()
        result = subprocess.run([str(SCRIPT), "up"], capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0, f"localstack up failed:\n{result.stdout}\n{result.stderr}"
        log(f"started LocalStack (venv included) in {time.perf_counter() - started:.1f} s")
    executor = (STATE_DIR / "lambda-executor").read_text(encoding="utf-8").strip()
    try:
        yield LocalStack(executor=executor)
    finally:
        if not already_running:
            result = subprocess.run([str(SCRIPT), "down"], capture_output=True, text=True, timeout=60, check=False)
            assert result.returncode == 0, f"localstack down failed:\n{result.stderr}"


@pytest.fixture(scope="module")
def built_template() -> Path:
    started = time.perf_counter()
    result = run(
        [
            SAM,
            "build",
            "--build-dir",
            str(BUILD_DIR),
            "--cached",
            "--cache-dir",
            str(SAM_CACHE_DIR),
            "--parameter-overrides",
            "Architecture=x86_64",
        ],
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    log(f"sam build in {time.perf_counter() - started:.1f} s")
    return BUILD_DIR / "template.yaml"


def sam_deploy(
    template: Path, stack_name: str, parameters: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    result = run(
        [
            SAM,
            "deploy",
            "--config-file",
            str(REPO_ROOT / "samconfig.toml"),
            "--config-env",
            "localstack",
            "--template-file",
            str(template),
            "--stack-name",
            stack_name,
            "--s3-prefix",
            stack_name,
            "--parameter-overrides",
            " ".join(f"{key}={value}" for key, value in parameters.items()),
            "--no-progressbar",
        ],
        timeout=420,
    )
    return result, time.perf_counter() - started


def delete_stack(stack_name: str) -> None:
    cfn = client("cloudformation")
    cfn.delete_stack(StackName=stack_name)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


@pytest.fixture(scope="module")
def deployed(localstack: LocalStack, built_template: Path) -> Iterator[Deployed]:
    stack_name = f"fraud-scoring-it-{uuid.uuid4().hex[:8]}"
    parameters = {**localstack_overrides(), "ApiKeyRequired": "true"}
    result, seconds = sam_deploy(built_template, stack_name, parameters)
    try:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        log(f"sam deploy of {stack_name} in {seconds:.1f} s")
        stack = client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        yield Deployed(stack_name, {**template_defaults(), **parameters}, outputs, seconds)
    finally:
        delete_stack(stack_name)


@pytest.fixture(scope="module")
def deployed_without_api_key(localstack: LocalStack, built_template: Path) -> Iterator[Deployed]:
    stack_name = f"fraud-scoring-it-nokey-{uuid.uuid4().hex[:8]}"
    parameters = {**localstack_overrides(), "ApiKeyRequired": "false"}
    result, seconds = sam_deploy(built_template, stack_name, parameters)
    try:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        log(f"sam deploy of {stack_name} (ApiKeyRequired=false) in {seconds:.1f} s")
        stack = client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        yield Deployed(stack_name, {**template_defaults(), **parameters}, outputs, seconds)
    finally:
        delete_stack(stack_name)


def stack_resources(stack_name: str) -> dict[str, dict[str, Any]]:
    summaries = client("cloudformation").list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r for r in summaries}


def physical_id(deployed: Deployed, logical_id: str) -> str:
    return str(stack_resources(deployed.stack_name)[logical_id]["PhysicalResourceId"])


def test_stack_is_create_complete_with_every_resource(deployed: Deployed) -> None:
    stack = client("cloudformation").describe_stacks(StackName=deployed.stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    resources = stack_resources(deployed.stack_name)
    not_complete = {
        key: r["ResourceStatus"] for key, r in resources.items() if r["ResourceStatus"] != "CREATE_COMPLETE"
    }
    assert not not_complete
    types = {r["ResourceType"] for r in resources.values()}
    assert {
        "AWS::Lambda::Function",
        "AWS::Lambda::Version",
        "AWS::Lambda::Alias",
        "AWS::Lambda::LayerVersion",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::UsagePlan",
        "AWS::ApiGateway::ApiKey",
        "AWS::ApiGateway::UsagePlanKey",
        "AWS::IAM::Role",
        "AWS::CloudWatch::Alarm",
        "AWS::Logs::LogGroup",
    } <= types
    # ConfigureApiGatewayAccount=false in the localstack environment: nothing may be created.
    # (LocalStack lists a resource whose condition is false, but without a physical id.)
    assert not resources["ApiGatewayAccount"].get("PhysicalResourceId")
    assert set(deployed.outputs) >= {"ApiUrl", "PredictUrl", "FunctionAliasArn", "FunctionName", "ApiKeyId"}


HEALTH_ALARMS = {
    "ScoreDriftAlarm": "ScoreDriftAlarmPsi",
    "FeatureDriftAlarm": "FeatureDriftAlarmPsi",
    "FlaggedRateAlarm": "FlaggedRateAlarmPercent",
}


def test_model_health_alarms_are_created_with_their_thresholds(deployed: Deployed) -> None:
    """LocalStack stores alarms on metric math and Metrics Insights queries (it does not evaluate them)."""
    names = {physical_id(deployed, alarm_id): alarm_id for alarm_id in HEALTH_ALARMS}
    described = client("cloudwatch").describe_alarms(AlarmNames=sorted(names))["MetricAlarms"]
    assert {alarm["AlarmName"] for alarm in described} == set(names)
    for alarm in described:
        alarm_id = names[alarm["AlarmName"]]
        assert alarm["Threshold"] == float(deployed.parameters[HEALTH_ALARMS[alarm_id]])
        assert sum(query.get("ReturnData", True) for query in alarm["Metrics"]) == 1


def test_dashboard_body_is_accepted_by_cloudwatch(deployed: Deployed) -> None:
    """The stack lists the dashboard; LocalStack's community edition has no CloudFormation provider
    for AWS::CloudWatch::Dashboard (its legacy engine logs "No resource provider found" and creates
    nothing), so the template's body, substituted with this stack's values, is put through
    LocalStack's CloudWatch API instead, and read back."""
    from botocore.exceptions import ClientError

    assert stack_resources(deployed.stack_name)["Dashboard"]["ResourceType"] == "AWS::CloudWatch::Dashboard"
    cloudwatch = client("cloudwatch")
    dashboard_name = f"{deployed.stack_name}-fraud-scoring"
    template = yaml_parse((REPO_ROOT / "template.yaml").read_text(encoding="utf-8"))
    alarm_arns = {alarm["AlarmName"]: alarm["AlarmArn"] for alarm in cloudwatch.describe_alarms()["MetricAlarms"]}
    values = {"AWS::Region": REGION, "AWS::StackName": deployed.stack_name, **deployed.parameters}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if name.endswith(".Arn"):
            return str(alarm_arns[physical_id(deployed, name.removesuffix(".Arn"))])
        return physical_id(deployed, name)

    body = re.sub(
        r"\$\{([\w:.]+)\}", fill, template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    )
    try:
        found = cloudwatch.get_dashboard(DashboardName=dashboard_name)["DashboardBody"]
        log("LocalStack created the dashboard through CloudFormation")
        assert json.loads(found) == json.loads(body)
        return
    except ClientError as error:
        log(f"no dashboard from CloudFormation ({error.response['Error']['Code']}): putting its body directly")
    answer = cloudwatch.put_dashboard(DashboardName=dashboard_name, DashboardBody=body)
    try:
        assert answer.get("DashboardValidationMessages", []) == []
        stored = json.loads(cloudwatch.get_dashboard(DashboardName=dashboard_name)["DashboardBody"])
        assert stored == json.loads(body)
        assert deployed.stack_name in json.dumps(stored["widgets"])
    finally:
        cloudwatch.delete_dashboards(DashboardNames=[dashboard_name])


def test_function_configuration_and_its_layers(deployed: Deployed) -> None:
    p = deployed.parameters
    config = client("lambda").get_function_configuration(FunctionName=deployed.outputs["FunctionName"])
    assert config["Runtime"] == "python3.13"
    assert config["Handler"] == "fraud_api.lambda_handler.handler"
    assert config["MemorySize"] == int(p["MemorySize"])
    assert config["Timeout"] == int(p["Timeout"])
    assert config["Architectures"] == [p["Architecture"]]
    assert config["State"] == "Active"
    declared = sam_resource("ScoringFunction")["Properties"]["Environment"]["Variables"]
    expected_env = {name: with_parameters(value, p) for name, value in declared.items()}
    assert expected_env["MODEL_DIR"] == "/opt/model"
    env = config["Environment"]["Variables"]
    assert {name: env.get(name) for name in expected_env} == expected_env
    layer_arns = [layer["Arn"] for layer in config["Layers"]]
    assert layer_arns == [
        deployed.outputs[name]
        for name in ("DependenciesLayerArn", "ModelLayerArn", "PolicyLayerArn", "ChallengerModelLayerArn")
    ]
    # the layers hold what sam build produced: the model layer carries model/model.onnx
    model_layer = client("lambda").get_layer_version_by_arn(Arn=deployed.outputs["ModelLayerArn"])
    assert model_layer["Content"]["CodeSize"] > 0


def test_live_alias_points_at_a_published_version(deployed: Deployed) -> None:
    function_name = deployed.outputs["FunctionName"]
    alias = client("lambda").get_alias(FunctionName=function_name, Name="live")
    assert alias["AliasArn"] == deployed.outputs["FunctionAliasArn"]
    assert alias["FunctionVersion"] not in ("$LATEST", "")
    assert int(alias["FunctionVersion"]) >= 1


def test_rest_api_routes_proxy_to_the_alias_with_api_key(deployed: Deployed) -> None:
    apigw = client("apigateway")
    api_id = physical_id(deployed, "Api")
    resources = apigw.get_resources(restApiId=api_id, limit=500)["items"]
    routes = {(r["path"], method) for r in resources for method in r.get("resourceMethods", {})}
    assert routes == ROUTES
    by_path = {r["path"]: r for r in resources}
    for path, method in ROUTES:
        integration = apigw.get_integration(restApiId=api_id, resourceId=by_path[path]["id"], httpMethod=method)
        assert integration["type"] == "AWS_PROXY"
        assert integration["httpMethod"] == "POST"
        assert deployed.outputs["FunctionAliasArn"] in integration["uri"]
        method_info = apigw.get_method(restApiId=api_id, resourceId=by_path[path]["id"], httpMethod=method)
        assert method_info["apiKeyRequired"] is True, (path, method)


def test_stage_throttling_values(deployed: Deployed) -> None:
    p = deployed.parameters
    stage = client("apigateway").get_stage(restApiId=physical_id(deployed, "Api"), stageName=p["StageName"])
    settings = stage["methodSettings"]
    expected = {
        "*/*": (p["ThrottleRateLimit"], p["ThrottleBurstLimit"]),
        "~1predict~1batch/POST": (p["BatchThrottleRateLimit"], p["BatchThrottleBurstLimit"]),
        "~1docs/GET": (p["DocsThrottleRateLimit"], p["DocsThrottleBurstLimit"]),
        "~1openapi.json/GET": (p["DocsThrottleRateLimit"], p["DocsThrottleBurstLimit"]),
    }
    for key, (rate, burst) in expected.items():
        assert key in settings, (key, sorted(settings))
        assert settings[key]["throttlingRateLimit"] == float(rate), key
        assert settings[key]["throttlingBurstLimit"] == int(burst), key


def test_usage_plan_and_api_key(deployed: Deployed) -> None:
    p = deployed.parameters
    apigw = client("apigateway")
    plan = apigw.get_usage_plan(usagePlanId=physical_id(deployed, "UsagePlan"))
    assert plan["throttle"] == {"rateLimit": float(p["ThrottleRateLimit"]), "burstLimit": int(p["ThrottleBurstLimit"])}
    assert plan["quota"]["limit"] == int(p["UsagePlanQuotaPerDay"])
    assert plan["quota"]["period"] == "DAY"
    assert {"apiId": physical_id(deployed, "Api"), "stage": p["StageName"]} in [
        {"apiId": s["apiId"], "stage": s["stage"]} for s in plan["apiStages"]
    ]
    key_id = deployed.outputs["ApiKeyId"]
    key = apigw.get_api_key(apiKey=key_id, includeValue=True)
    assert key["enabled"] is True
    assert len(key["value"]) >= 20
    plan_keys = apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [k["id"] for k in plan_keys] == [key_id]


def test_without_api_keys_no_usage_plan_or_key_exists(deployed_without_api_key: Deployed) -> None:
    """ApiKeyRequired=false: the usage plan, the key and their link are not created (condition UseApiKey).
    LocalStack still reports them: `sam deploy` shows them as CREATE_COMPLETE and list_stack_resources
    lists them, but without a physical id; the API Gateway APIs are what is true."""
    deployed = deployed_without_api_key
    apigw = client("apigateway")
    plans = [p["name"] for p in apigw.get_usage_plans()["items"] if p["name"].startswith(deployed.stack_name)]
    keys = [k["name"] for k in apigw.get_api_keys()["items"] if k["name"].startswith(deployed.stack_name)]
    assert (plans, keys) == ([], [])
    assert "ApiKeyId" not in deployed.outputs
    resources = stack_resources(deployed.stack_name)
    for logical_id in ("UsagePlan", "ApiKey", "UsagePlanKey"):
        assert not resources.get(logical_id, {}).get("PhysicalResourceId"), logical_id
    api_id = physical_id(deployed, "Api")
    for resource in apigw.get_resources(restApiId=api_id, limit=500)["items"]:
        for method in resource.get("resourceMethods", {}):
            info = apigw.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=method)
            assert info["apiKeyRequired"] is False, (resource["path"], method)


def test_function_role_is_least_privilege(deployed: Deployed) -> None:
    iam = client("iam")
    config = client("lambda").get_function_configuration(FunctionName=deployed.outputs["FunctionName"])
    role_name = config["Role"].rsplit("/", 1)[-1]
    assert role_name == physical_id(deployed, "ScoringFunctionRole")
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    if isinstance(trust, str):
        trust = json.loads(trust)
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]
    # Tracing=PassThrough: no X-Ray policy; no managed policies at all.
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == ["write-own-logs"]
    assert iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == []
    document = iam.get_role_policy(RoleName=role_name, PolicyName="write-own-logs")["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    log_group = client("logs").describe_log_groups(logGroupNamePrefix=physical_id(deployed, "FunctionLogGroup"))
    assert statement["Resource"] == log_group["logGroups"][0]["arn"]


def test_predict_through_the_api(localstack: LocalStack, deployed: Deployed) -> None:
    if localstack.executor != "docker":
        reason = (
            f"LocalStack's Lambda executor here is '{localstack.executor}': no Docker engine with the "
            "python3.13 Lambda image, so LocalStack cannot run the function (see docs/localstack.md)"
        )
        log(f"skipping the API call: {reason}")
        pytest.skip(reason)
    api_id = physical_id(deployed, "Api")
    stage = deployed.parameters["StageName"]
    key = client("apigateway").get_api_key(apiKey=deployed.outputs["ApiKeyId"], includeValue=True)["value"]
    event = json.loads((REPO_ROOT / "events" / "predict_ok.json").read_text(encoding="utf-8"))
    request = urllib.request.Request(
        f"{ENDPOINT}/_aws/execute-api/{api_id}/{stage}/predict",
        data=event["body"].encode(),
        headers={"content-type": "application/json", "x-api-key": key},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 200
        body = json.loads(response.read())
    assert 0.0 <= body["score"] <= 1.0


def test_without_docker_an_invocation_fails_at_once_with_the_reason(localstack: LocalStack, deployed: Deployed) -> None:
    """The deploy-only executor (localstack/plugins/) must refuse invocations immediately, not hang."""
    if localstack.executor != "deploy-only":
        pytest.skip(f"LocalStack runs functions here (executor '{localstack.executor}')")
    from botocore.config import Config
    from botocore.exceptions import ClientError

    make_client: Any = boto3.client
    lambda_client = make_client(
        "lambda",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(read_timeout=30, retries={"max_attempts": 0}),
    )
    started = time.perf_counter()
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName=deployed.outputs["FunctionAliasArn"], Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ServiceException"
    assert "without a Docker engine" in str(raised.value)
    assert time.perf_counter() - started < 10


def test_template_cloudformation_rejects_fails_the_deploy(localstack: LocalStack, built_template: Path) -> None:
    """A resource that depends on a resource the template does not have: CloudFormation refuses it
    ("Unresolved resource dependencies"), so `sam deploy` must fail and no stack may complete."""
    template = yaml_parse(built_template.read_text(encoding="utf-8"))
    template["Resources"]["ScoringFunctionRole"]["DependsOn"] = "NoSuchResource"
    broken = built_template.with_name("template-broken.json")
    broken.write_text(json.dumps(template), encoding="utf-8")
    stack_name = f"fraud-scoring-broken-{uuid.uuid4().hex[:8]}"
    try:
        result, seconds = sam_deploy(broken, stack_name, localstack_overrides())
        log(f"broken deploy failed as expected in {seconds:.1f} s")
        assert result.returncode != 0, result.stdout[-3000:]
        # rejected when the change set is created, with CloudFormation's own message
        output = result.stdout + result.stderr
        assert "Unresolved resource dependencies [NoSuchResource]" in output, output[-3000:]
        stacks = client("cloudformation").list_stacks()["StackSummaries"]
        assert "CREATE_COMPLETE" not in [s["StackStatus"] for s in stacks if s["StackName"] == stack_name]
    finally:
        broken.unlink(missing_ok=True)
        if any(
            s["StackName"] == stack_name and s["StackStatus"] != "DELETE_COMPLETE"
            for s in client("cloudformation").list_stacks()["StackSummaries"]
        ):
            delete_stack(stack_name)
