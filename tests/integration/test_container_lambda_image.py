"""The Lambda image's handler, laid out as container/Dockerfile's ``lambda`` stage lays it out
(function packages in the task root, the model at /opt/model), answers API Gateway events through
the Lambda Runtime Interface Emulator from the aws-sam-cli wheel + awslambdaric. No Docker engine
is needed: the stage's COPY instructions are replayed into a temporary root.

The image runs Python 3.13 with the packages of layers/dependencies/requirements.txt; here the
runtime client runs on this venv's Python with the same pins (requirements.lock). Building the
image itself is tested in test_container_docker.py where an engine runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fraud_scoring.model import FraudModel, load_model
from scripts.lambda_rie import BuiltFunction, LambdaEmulator, load_template, resolve
from tests.container_recipe import REPO_ROOT, materialise, parse

EVENTS_DIR = REPO_ROOT / "events"
IMAGE_TEMPLATE = REPO_ROOT / "container" / "template.yaml"
TASK_ROOT = "/var/task"  # LAMBDA_TASK_ROOT in the AWS base images

pytestmark = pytest.mark.timeout(180)


def image_function(root: Path) -> BuiltFunction:
    _, stages = parse()
    stage = stages["lambda"]
    materialise(stage, root, {"LAMBDA_TASK_ROOT": TASK_ROOT})
    template = load_template(IMAGE_TEMPLATE)
    parameters = {name: str(spec["Default"]) for name, spec in template["Parameters"].items() if "Default" in spec}
    props = {**template["Globals"]["Function"], **template["Resources"]["ScoringFunction"]["Properties"]}
    assert props["PackageType"] == "Image"
    environment = {key: str(resolve(value, parameters)) for key, value in props["Environment"]["Variables"].items()}
    assert environment["MODEL_DIR"] == stage.env["MODEL_DIR"] == "/opt/model"
    function = BuiltFunction(
        build_dir=root,
        handler=stage.cmd[0],
        timeout_s=int(resolve(props["Timeout"], parameters)),
        memory_mb=int(resolve(props["MemorySize"], parameters)),
        environment=environment,
        runtime_version="3.13",
    )
    function.task_root = root / TASK_ROOT.lstrip("/")
    function.model_dir = root / "opt" / "model"
    function.opt_dirs = {f"/opt/{folder.name}": folder for folder in (root / "opt").iterdir() if folder.is_dir()}
    return function


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LambdaEmulator]:
    import sys

    function = image_function(tmp_path_factory.mktemp("lambda-image"))
    with LambdaEmulator(function, sys.executable, use_dependency_layer=False) as running:
        yield running


@pytest.fixture(scope="module")
def model(model_dir: Path) -> FraudModel:
    return load_model(model_dir)


def event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return data


def test_the_image_layout_holds_the_handler_and_the_model(tmp_path: Path) -> None:
    function = image_function(tmp_path)
    module, _, attribute = function.handler.rpartition(".")
    assert (function.task_root / (module.replace(".", "/") + ".py")).is_file()
    assert attribute == "handler"
    assert {p.name for p in function.model_dir.iterdir()} == {"model.onnx", "explainer.npz", "manifest.json"}
    assert {p.name for p in function.opt_dirs["/opt/policy"].iterdir()} == {"policy.json", "policy.yaml"}


def test_predict_event_is_scored_by_the_model(emulator: LambdaEmulator, model: FraudModel) -> None:
    request = event("predict_ok")
    answer = emulator.invoke(request)
    assert answer.status_code == 200, answer.body
    features = json.loads(request["body"])["features"]
    assert answer.body["fraud_score"] == pytest.approx(model.score_one(features), abs=1e-6)
    assert answer.body["model_version"] == model.model_version


@pytest.mark.parametrize(
    ("name", "status"),
    [("health_ok", 200), ("model_ok", 200), ("predict_not_json", 400), ("predict_wrong_length", 422)],
)
def test_other_events_get_the_apps_answers(emulator: LambdaEmulator, name: str, status: int) -> None:
    answer = emulator.invoke(event(name))
    assert answer.status_code == status, answer.body
