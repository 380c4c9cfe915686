"""Security properties that can be proven without an AWS account.

- least privilege on the CloudFormation that samtranslator makes of template.yaml, for every
  combination of the parameters that change IAM (tracing, API key, deployment, account role);
- no raw transaction features in the function's logs unless DECISION_LOG_FEATURES=true, and log
  lines that stay one JSON object each whatever the caller sends;
- the self-hosted image runs as a numeric non-root user;
- every dependency pinned exactly (``make setup`` also runs ``pip check`` on the environment).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.unit.template.cfn import deployed, of_type

# -- least privilege ------------------------------------------------------------------------------

# Every IAM grant the stack may make, by role. Anything else is a finding.
ALLOWED_ACTIONS = {
    "ScoringFunctionRole": {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    },
}
# X-Ray's write actions support no resource-level permissions: "*" is the only possible resource.
ACTIONS_WITHOUT_RESOURCES = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# AWS managed policies a role may carry, by the service that assumes it.
ALLOWED_MANAGED = {
    "apigateway.amazonaws.com": {"service-role/AmazonAPIGatewayPushToCloudWatchLogs"},
    "codedeploy.amazonaws.com": {
        "service-role/AWSCodeDeployRoleForLambda",
        "service-role/AWSCodeDeployRoleForLambdaLimited",
    },
}
# Each value of every parameter that changes IAM, in four transforms (a pairwise cover).
IAM_PARAMETERS = ("Tracing", "ApiKeyRequired", "DeploymentType", "ConfigureApiGatewayAccount")
MATRIX = [
    dict(zip(IAM_PARAMETERS, values, strict=True))
    for values in (
        ("Active", "true", "Canary10Percent5Minutes", "true"),
        ("PassThrough", "false", "AllAtOnce", "false"),
        ("Active", "false", "AllAtOnce", "false"),
        ("PassThrough", "true", "Canary10Percent5Minutes", "true"),
    )
]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def managed_name(arn: Any) -> str:
    text = json.dumps(arn)
    found = re.search(r"policy/([A-Za-z0-9/_-]+)", text)
    return found.group(1) if found else text


@pytest.mark.parametrize("overrides", MATRIX, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_every_role_in_the_stack_is_least_privilege(overrides: dict[str, str]) -> None:
    resources = deployed(overrides)
    roles = of_type(resources, "AWS::IAM::Role")
    assert "ScoringFunctionRole" in roles
    for logical_id, role in roles.items():
        props = role["Properties"]
        trust = props["AssumeRolePolicyDocument"]["Statement"]
        principals = [service for statement in trust for service in as_list(statement["Principal"].get("Service"))]
        assert principals, f"{logical_id}: trusted by something other than an AWS service"
        assert all(set(statement["Principal"]) == {"Service"} for statement in trust), logical_id
        assert all(statement["Action"] in ("sts:AssumeRole", ["sts:AssumeRole"]) for statement in trust)
        for arn in props.get("ManagedPolicyArns", []):
            allowed = set().union(*(ALLOWED_MANAGED.get(service, set()) for service in principals))
            assert managed_name(arn) in allowed, f"{logical_id}: managed policy {arn}"
        statements = [s for policy in props.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
        if statements:
            assert logical_id in ALLOWED_ACTIONS, f"{logical_id}: inline grants on an unexpected role"
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert "NotAction" not in statement
            assert "NotResource" not in statement
            actions = set(as_list(statement["Action"]))
            assert actions <= ALLOWED_ACTIONS[logical_id], f"{logical_id}: {actions}"
            assert not any("*" in action for action in actions)
            if "*" in as_list(statement["Resource"]):
                assert actions <= ACTIONS_WITHOUT_RESOURCES, f"{logical_id}: {actions} on every resource"
        xray = any(a.startswith("xray:") for s in statements for a in as_list(s["Action"]))
        if logical_id == "ScoringFunctionRole":
            assert xray == (overrides["Tracing"] == "Active")
    for policy_id in of_type(resources, "AWS::IAM::Policy"):
        pytest.fail(f"stand-alone IAM policy {policy_id} escapes the per-role allowlist")
    for logical_id, permission in of_type(resources, "AWS::Lambda::Permission").items():
        props = permission["Properties"]
        assert props["Action"] == "lambda:InvokeFunction", logical_id
        assert props["Principal"] == "apigateway.amazonaws.com", logical_id
        assert "SourceArn" in props, f"{logical_id}: any API in any account could invoke the function"
        assert "Api" in json.dumps(props["SourceArn"]), logical_id


# -- logs -----------------------------------------------------------------------------------------

# Distinctive values that cannot appear in a log line by chance.
MARKERS = [1234.5678 + position / 1000.0 for position in range(30)]
LOG_PROBE = """
import json, sys
from fraud_api.lambda_handler import handler
from tests.unit.api.lambda_events import FakeLambdaContext, rest_event
markers = json.loads(sys.argv[1])
bodies = [
    {"features": markers, "transaction_id": "tx-log\\r\\n{\\"level\\":\\"CRITICAL\\",\\"forged\\":true}"},
    {"transactions": [{"features": markers}, {"features": markers}]},
    {"features": markers[:-1] + [1e308]},
]
for path, body in (("/predict", bodies[0]), ("/predict/batch", bodies[1]), ("/predict", bodies[2])):
    event = rest_event("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    print("STATUS", handler(event, FakeLambdaContext())["statusCode"], file=sys.stderr)
"""


def run_logged(extra_env: dict[str, str]) -> tuple[str, list[int]]:
    env = {key: value for key, value in os.environ.items() if key != "DECISION_LOG_FEATURES"}
    env.update({"MODEL_DIR": str(REPO_ROOT / "layers" / "model"), **extra_env})
    env["PYTHONPATH"] = f"{REPO_ROOT / 'function'}{os.pathsep}{REPO_ROOT}"
    done = subprocess.run(
        [sys.executable, "-c", LOG_PROBE, json.dumps(MARKERS)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    statuses = [int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("STATUS")]
    logs = done.stdout + "\n".join(line for line in done.stderr.splitlines() if not line.startswith("STATUS"))
    return logs, statuses


def marker_hits(logs: str) -> list[float]:
    return [value for value in MARKERS if str(value)[:8] in logs]


def test_no_raw_features_in_logs_by_default() -> None:
    logs, statuses = run_logged({})
    assert statuses == [200, 200, 422]
    assert '"message":"decision"' in logs  # the decisions were logged, just without the features
    assert marker_hits(logs) == []
    # every line is one JSON object: a CRLF in a transaction id cannot forge a log line
    lines = [line for line in logs.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert not any(record.get("forged") for record in records)


def test_features_are_logged_only_when_asked_for() -> None:
    """The control for the test above: the same probe with the switch on does show them."""
    logs, _ = run_logged({"DECISION_LOG_FEATURES": "true"})
    assert len(marker_hits(logs)) == len(MARKERS)


def test_the_template_keeps_feature_logging_off_by_default() -> None:
    from tests.unit.template.cfn import sam_template

    template = sam_template()
    assert template["Parameters"]["LogFeatures"]["Default"] == "false"
    variables = template["Resources"]["ScoringFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["DECISION_LOG_FEATURES"] == {"Ref": "LogFeatures"}


# -- container image ------------------------------------------------------------------------------


def dockerfile_stages(text: str) -> dict[str, list[tuple[str, str]]]:
    """Instructions per named stage (continuation lines joined), plus the global ARG defaults."""
    joined = re.sub(r"\\\n", " ", text)
    stages: dict[str, list[tuple[str, str]]] = {"": []}
    current = ""
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            found = re.search(r"\bAS\s+(\S+)", rest, re.IGNORECASE)
            current = found.group(1) if found else f"stage{len(stages)}"
            stages[current] = []
        stages[current].append((keyword, rest.strip()))
    return stages


def resolve(value: str, instructions: list[tuple[str, str]]) -> str:
    defaults = {}
    for keyword, rest in instructions:
        if keyword == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            defaults[name.strip()] = default.strip().strip('"')
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults.get(m.group(1) or m.group(2), m.group(0)), value)


def test_the_self_hosted_image_runs_as_a_numeric_non_root_user() -> None:
    dockerfile = REPO_ROOT / "container" / "Dockerfile"
    stages = dockerfile_stages(dockerfile.read_text())
    assert "server" in stages, sorted(stages)
    server = stages["server"]
    users = [resolve(rest, server) for keyword, rest in server if keyword == "USER"]
    assert users, "the server stage never leaves root"
    user, _, group = users[-1].partition(":")
    assert user.isdigit(), f"USER {users[-1]!r}: a name cannot be checked by runAsNonRoot; use the uid"
    assert int(user) != 0
    assert not group or (group.isdigit() and int(group) != 0)
    # the code and the model stay root-owned: the service user cannot rewrite what it runs
    after_user = server[[keyword for keyword, _ in server].index("USER") :]
    assert not any(keyword in ("RUN", "COPY", "ADD") for keyword, _ in after_user)
    assert not any("--chown" in rest for keyword, rest in server if keyword in ("COPY", "ADD"))


# -- dependencies ---------------------------------------------------------------------------------

PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+(\s*;.*)?$")


@pytest.mark.parametrize(
    "requirements",
    ["requirements.lock", "layers/dependencies/requirements.txt", "container/requirements-server.txt"],
)
def test_every_dependency_is_pinned_exactly(requirements: str) -> None:
    path = REPO_ROOT / requirements
    if not path.exists():
        pytest.fail(f"{requirements} is missing")
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    entries = [line for line in lines if line and not line.startswith(("-", "--"))]
    assert entries
    loose = [line for line in entries if not PIN.match(line)]
    assert loose == [], f"not pinned with ==: {loose}"


def test_the_repository_holds_no_obvious_secrets() -> None:
    """No AWS access key ids or private keys committed (tracked files only)."""
    listed = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    patterns = [re.compile(rb"AKIA[0-9A-Z]{16}"), re.compile(rb"-----BEGIN (RSA |EC |OPENSSH )?PRIVATE KEY-----")]
    hits = []
    for name in listed.stdout.splitlines():
        path = REPO_ROOT / name
        if not path.is_file() or path.suffix in (".onnx", ".png"):
            continue
        data = path.read_bytes()
        hits += [name for pattern in patterns if pattern.search(data)]
    assert hits == []
