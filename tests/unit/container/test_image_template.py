"""container/template.yaml (the Lambda image variant) mirrors template.yaml (the zip variant), and
the container recipe agrees with the project's other sources of truth."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

from selfhosted import settings
from tests.container_recipe import DOCKERFILE, REPO_ROOT, parse
from tests.pins import read_pins

ZIP_TEMPLATE = REPO_ROOT / "template.yaml"
IMAGE_TEMPLATE = REPO_ROOT / "container" / "template.yaml"
FUNCTION = "ScoringFunction"
# What the image variant leaves out, and why (Lambda: SnapStart is for zip functions only).
ZIP_ONLY_RESOURCES = {"ModelLayer", "PolicyLayer", "DependenciesLayer"}
ZIP_ONLY_FUNCTION_PROPERTIES = {"CodeUri", "Handler", "Layers", "SnapStart"}
ZIP_ONLY_PARAMETERS = {"SnapStart"}
ZIP_ONLY_CONDITIONS = {"UseSnapStart"}
ZIP_ONLY_OUTPUTS = {"ModelLayerArn", "PolicyLayerArn", "DependenciesLayerArn"}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def zip_template() -> dict[str, Any]:
    return load(ZIP_TEMPLATE)


@pytest.fixture(scope="module")
def image_template() -> dict[str, Any]:
    return load(IMAGE_TEMPLATE)


def without(mapping: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if key not in keys}


def undescribed(parameters: dict[str, Any]) -> dict[str, Any]:
    return {name: without(spec, {"Description"}) for name, spec in parameters.items()}


def test_api_throttling_alarms_and_usage_plan_are_the_zip_variants(
    zip_template: dict[str, Any], image_template: dict[str, Any]
) -> None:
    zip_resources = without(zip_template["Resources"], ZIP_ONLY_RESOURCES | {FUNCTION})
    image_resources = without(image_template["Resources"], {FUNCTION})
    assert image_resources == zip_resources
    # the same parameters with the same types, defaults and limits (descriptions may name the image)
    assert undescribed(image_template["Parameters"]) == undescribed(
        without(zip_template["Parameters"], ZIP_ONLY_PARAMETERS)
    )
    assert image_template["Conditions"] == without(zip_template["Conditions"], ZIP_ONLY_CONDITIONS)
    assert image_template["Outputs"] == without(zip_template["Outputs"], ZIP_ONLY_OUTPUTS)
    assert image_template["Globals"]["Function"] == without(zip_template["Globals"]["Function"], {"Runtime"})


def test_the_function_is_the_zip_function_packaged_as_an_image(
    zip_template: dict[str, Any], image_template: dict[str, Any]
) -> None:
    zip_function = zip_template["Resources"][FUNCTION]["Properties"]
    image_function = dict(image_template["Resources"][FUNCTION]["Properties"])
    assert image_function.pop("PackageType") == "Image"
    assert image_function == without(zip_function, ZIP_ONLY_FUNCTION_PROPERTIES)
    metadata = image_template["Resources"][FUNCTION]["Metadata"]
    assert (IMAGE_TEMPLATE.parent / metadata["DockerContext"] / metadata["Dockerfile"]).resolve() == DOCKERFILE
    _, stages = parse()
    assert metadata["DockerBuildTarget"] in stages
    # the image's CMD is the zip function's handler
    assert stages[metadata["DockerBuildTarget"]].cmd == [zip_function["Handler"]]


def test_the_image_runs_the_zip_functions_python(zip_template: dict[str, Any]) -> None:
    runtime = zip_template["Globals"]["Function"]["Runtime"]  # e.g. python3.13
    version = runtime.removeprefix("python")
    args, _ = parse()
    assert args["LAMBDA_BASE_IMAGE"].endswith(f"/lambda/python:{version}")
    assert re.search(rf"python:{re.escape(version)}-slim", args["SERVER_BASE_IMAGE"])


def test_the_image_template_translates_to_an_image_function_with_canary_deployments(
    image_template: dict[str, Any],
) -> None:
    template = copy.deepcopy(image_template)
    # what `sam deploy` fills in after pushing the image
    template["Resources"][FUNCTION]["Properties"]["ImageUri"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/f:1"
    parameters = {name: str(spec["Default"]) for name, spec in template["Parameters"].items() if "Default" in spec}
    translator = Translator({}, Parser(), boto_session=boto3.Session(region_name="us-east-1"))
    output = translator.translate(template, parameters, get_managed_policy_map=lambda: {})
    resources = output["Resources"]
    function = resources[FUNCTION]["Properties"]
    assert function["PackageType"] == "Image"
    assert function["Code"] == {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/f:1"}
    assert "Runtime" not in function
    assert "Handler" not in function
    assert "Layers" not in function
    types = {resource["Type"] for resource in resources.values()}
    assert {"AWS::Lambda::Alias", "AWS::CodeDeploy::DeploymentGroup", "AWS::ApiGateway::Stage"} <= types
    stage = next(r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Stage")
    assert json.dumps(stage["Properties"]["MethodSettings"])  # the same throttling settings are there


def test_selfhosted_throttling_defaults_are_the_api_stages(zip_template: dict[str, Any]) -> None:
    defaults = {name: spec.get("Default") for name, spec in zip_template["Parameters"].items()}
    assert (defaults["ThrottleRateLimit"], defaults["ThrottleBurstLimit"]) == settings.DEFAULT_THROTTLE
    assert (defaults["BatchThrottleRateLimit"], defaults["BatchThrottleBurstLimit"]) == settings.DEFAULT_BATCH_THROTTLE
    assert (defaults["DocsThrottleRateLimit"], defaults["DocsThrottleBurstLimit"]) == settings.DEFAULT_DOCS_THROTTLE


def test_server_image_pins_agree_with_the_lock_file() -> None:
    server = read_pins(REPO_ROOT / "container" / "requirements-server.txt")
    lock = read_pins(REPO_ROOT / "requirements.lock")
    layer = read_pins(REPO_ROOT / "layers" / "dependencies" / "requirements.txt")
    assert not set(server) & set(layer), "the layer's packages are pinned once, in the layer file"
    disagree = {
        name: (version, lock[name]) for name, version in server.items() if name in lock and lock[name] != version
    }
    assert not disagree


def test_the_server_stage_is_unprivileged_with_a_healthcheck() -> None:
    _, stages = parse()
    server = stages["server"]
    assert server.user
    assert server.user not in {"root", "0"}
    assert "selfhosted.healthcheck" in server.healthcheck
    assert server.cmd == ["python", "-m", "selfhosted"]
    assert server.env["MODEL_DIR"] == "/opt/model"
    copied = {source for sources, _, flags in server.copies if not flags for source in sources}
    assert "gateway_emulator/throttling.py" in copied  # the one token bucket, shared with the emulator


def test_the_image_template_is_derived_from_the_current_zip_template() -> None:
    from container.derive_image_template import derive

    expected = derive(ZIP_TEMPLATE.read_text(encoding="utf-8"))
    assert IMAGE_TEMPLATE.read_text(encoding="utf-8") == expected, "run `make container-template`"
