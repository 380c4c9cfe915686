"""The naive baseline as `sam build` really builds it (SAM's plain python builder, no containers):
it validates, it ships no bytecode, and it cold-starts and scores through the Lambda RIE under the
runtime's Python. This is what benchmarks/lambda_cold_start.py compares our build against.

The build needs python3.13 (SAM's python builder runs it; PATH, pyenv or $LAMBDA_PYTHON) and PyPI
(pip downloads the wheels; a rerun is served from sam's cache under build/)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from fraud_scoring.manifest import load_manifest
from scripts.lambda_rie import (
    BuiltFunction,
    LambdaEmulator,
    find_python,
    locked_requirement,
    python_with_runtime_client,
)
from tests.integration.sam_cli import SAM, assert_valid_template
from tests.pins import canonical, read_pins

REPO_ROOT = Path(__file__).resolve().parents[2]
NAIVE_TEMPLATE = REPO_ROOT / "benchmarks" / "naive_baseline" / "template.yaml"
MODEL_DIR = REPO_ROOT / "layers" / "model"

pytestmark = pytest.mark.timeout(600)


def sam_env(*extra_path: str) -> dict[str, str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), *extra_path, os.environ.get("PATH", "")])
    return {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": path}


def test_naive_template_passes_sam_validate_lint() -> None:
    assert_valid_template(NAIVE_TEMPLATE, sam_env(), timeout_s=120)


@pytest.fixture(scope="module")
def runtime_python() -> str:
    python = find_python("3.13")
    if python is None:
        pytest.skip("python3.13 not found (PATH, pyenv, $LAMBDA_PYTHON): SAM's python builder and the runtime need it")
    return python


@pytest.fixture(scope="module")
def naive_build(runtime_python: str) -> Path:
    work = REPO_ROOT / "build" / "sam-test" / "naive"
    out = work / "build"
    shutil.rmtree(out, ignore_errors=True)
    command = [SAM, "build", "-t", str(NAIVE_TEMPLATE), "--build-dir", str(out)]
    command += ["--cached", "--cache-dir", str(work / "cache")]
    result = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=sam_env(str(Path(runtime_python).parent)),  # SAM looks for python3.13 on PATH
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_sam_build_ships_the_pinned_wheels_unpacked_without_bytecode(naive_build: Path) -> None:
    task_root = naive_build / "NaiveFunction"
    assert (task_root / "naive_app.py").is_file()
    assert not list(task_root.rglob("__pycache__"))
    assert not list(task_root.rglob("*.pyc"))
    installed = {}
    for info in task_root.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[canonical(name)] = version
    assert installed == read_pins(NAIVE_TEMPLATE.parent / "requirements.txt")


def test_naive_build_cold_starts_and_scores_with_the_model(naive_build: Path, runtime_python: str) -> None:
    function = BuiltFunction.from_build_dir(naive_build, function_id="NaiveFunction")
    assert (function.handler, function.memory_mb, function.runtime_version) == ("naive_app.handler", 1024, "3.13")
    function.model_dir = MODEL_DIR  # the naive template does not package the model
    venv = REPO_ROOT / "build" / ".venv-lambda-py3.13"
    python = python_with_runtime_client(runtime_python, venv, locked_requirement("awslambdaric"))
    event = json.loads((REPO_ROOT / "events" / "predict_ok.json").read_text(encoding="utf-8"))
    with LambdaEmulator(function, python, use_dependency_layer=False, timeout_s=60) as emulator:
        result = emulator.invoke(event)
    assert result.status_code == 200, result.body
    features = json.loads(event["body"])["features"]
    manifest = load_manifest(MODEL_DIR)
    session = ort.InferenceSession(str(MODEL_DIR / manifest.onnx_file))
    outputs = session.run([manifest.probability_output], {manifest.input_name: np.asarray([features], np.float32)})
    expected = float(np.asarray(outputs[0])[0, manifest.positive_class_index])
    assert result.body["fraud_score"] == pytest.approx(expected, abs=1e-6)
    assert not list((naive_build / "NaiveFunction").rglob("__pycache__")), "the runtime wrote bytecode into /var/task"
