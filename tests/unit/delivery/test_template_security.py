"""template.yaml's security settings: optional KMS encryption of the log groups (checkov CKV_AWS_158)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.template.cfn import deployed, of_type, transformed

EXISTING_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def log_groups(overrides: dict[str, str]) -> dict[str, dict[str, Any]]:
    return of_type(deployed(overrides), "AWS::Logs::LogGroup")


def test_log_groups_use_cloudwatchs_own_encryption_by_default() -> None:
    resources = deployed()
    assert of_type(resources, "AWS::KMS::Key") == {}
    groups = log_groups({})
    assert set(groups) == {"FunctionLogGroup", "ApiAccessLogGroup"}
    assert all("KmsKeyId" not in group["Properties"] for group in groups.values())


def test_create_makes_one_rotated_key_and_both_log_groups_use_it() -> None:
    resources = deployed({"LogsKmsKey": "create"})
    keys = of_type(resources, "AWS::KMS::Key")
    assert list(keys) == ["LogsKey"]
    key = keys["LogsKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    for group in log_groups({"LogsKmsKey": "create"}).values():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["LogsKey", "Arn"]}
    # CloudWatch Logs may use the key for this stack's two log groups and nothing else.
    (logs_statement,) = [s for s in key["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    contexts = logs_statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert len(contexts) == 2
    assert [c["Fn::Sub"].rsplit(":log-group:", 1)[1] for c in contexts] == [
        "/aws/lambda/${AWS::StackName}-scoring",
        "/aws/apigateway/${AWS::StackName}-access",
    ]
    assert not any(action in {"kms:*", "*"} for action in logs_statement["Action"])


def test_an_existing_key_arn_is_used_as_given_and_no_key_is_created() -> None:
    resources = deployed({"LogsKmsKey": EXISTING_KEY})
    assert of_type(resources, "AWS::KMS::Key") == {}
    for group in log_groups({"LogsKmsKey": EXISTING_KEY}).values():
        assert group["Properties"]["KmsKeyId"] == EXISTING_KEY


@pytest.mark.parametrize("value", ["create", EXISTING_KEY])
def test_each_encryption_choice_transforms_to_a_template_cfn_lint_accepts(value: str) -> None:
    from cfnlint.api import ManualArgs, lint

    matches = lint(
        json.dumps(transformed({"LogsKmsKey": value})),
        config=ManualArgs(regions=["us-east-1"], ignore_checks=["W2001"]),
    )
    assert [str(match) for match in matches] == []


@pytest.mark.parametrize("value", ["arn:aws:kms:eu-west-1:123:key/x", "alias/logs", "yes", ""])
def test_the_parameter_refuses_anything_but_none_create_or_a_key_arn(value: str) -> None:
    import re

    from tests.unit.template.cfn import sam_template

    pattern = sam_template()["Parameters"]["LogsKmsKey"]["AllowedPattern"]
    assert re.fullmatch(pattern, value) is None
    assert all(re.fullmatch(pattern, ok) for ok in ("none", "create", EXISTING_KEY))
