"""`sam validate --lint`, `sam build` without containers from a clean copy, and the built artifact run
for real through the Lambda Runtime Interface Emulator (from the aws-sam-cli wheel) + awslambdaric.

The dependency layer is built for the function's runtime (python3.13 wheels). Invoking it exactly as
built needs that interpreter: it is found on PATH or through pyenv (or $LAMBDA_PYTHON) and given a
small venv holding only awslambdaric, like Lambda's runtime. Where it is missing the emulator tests
fall back to this venv's Python with its own (identically pinned) packages instead of the layer;
the test that imports the layer itself is then skipped, with the reason printed.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from fraud_scoring.manifest import load_manifest
from layers.dependencies.bytecode import read_module_list
from scripts.lambda_rie import (
    BuiltFunction,
    Invocation,
    LambdaEmulator,
    find_python,
    locked_requirement,
    python_with_runtime_client,
)
from scripts.layer_init_modules import MODULE_LIST as INIT_MODULES
from scripts.layer_init_modules import loaded_modules
from tests.integration.sam_cli import SAM, assert_valid_template
from tests.pins import canonical, read_pins

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO_ROOT / "events"
ARCH = "x86_64"
# Lambda's unzipped limit is 250 MB for function + layers; the project's budget is 100 MB (10**6 bytes):
# 90 MB until the docs page kept Swagger UI (+1.7 MB) and explanations came (issue 14 raised it).
SIZE_BUDGET_BYTES = 100 * 1000 * 1000

pytestmark = pytest.mark.timeout(600)


def sam_env() -> dict[str, str]:
    return {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "LAYER_ARCH": ARCH,
        # the layer makefiles run `python3 -m pip`: use this venv's
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def tracked_files() -> list[str]:
    """What a fresh clone holds: tracked files plus new ones git would not ignore."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return [name for name in out.decode().split("\0") if name and (REPO_ROOT / name).is_file()]


def test_sam_validate_lint() -> None:
    assert_valid_template(REPO_ROOT / "template.yaml", sam_env())


@pytest.fixture(scope="module")
def build_dir() -> Path:
    """`sam build` of a clean copy of the repository, no containers.

    The copy, the build directory and sam's cache live under build/ (ignored by git) at fixed
    paths, because sam's cache is keyed by the absolute source path: a re-run only rebuilds what
    changed; a fresh clone builds everything (pip downloads about 70 MB once).
    """
    work = REPO_ROOT / "build" / "sam-test" / ARCH
    clean = work / "clean-copy"
    shutil.rmtree(clean, ignore_errors=True)
    for name in tracked_files():
        target = clean / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)
    out = work / "build"
    shutil.rmtree(out, ignore_errors=True)
    result = subprocess.run(
        [
            SAM,
            "build",
            "--cached",
            "--cache-dir",
            str(work / "cache"),
            "--build-dir",
            str(out),
            "--parameter-overrides",
            f"Architecture={ARCH}",
        ],
        cwd=clean,
        env=sam_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def layer_marker(site: Path) -> dict[str, str]:
    lines = (site / ".fraud-scoring-layer").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def layer_pins() -> dict[str, str]:
    return read_pins(REPO_ROOT / "layers" / "dependencies" / "requirements.txt")


# -- the build ------------------------------------------------------------------------------------


def test_build_puts_the_model_where_lambda_mounts_it(build_dir: Path) -> None:
    model_dir = build_dir / "ModelLayer" / "model"  # the layer zip's model/ -> /opt/model
    manifest = load_manifest(model_dir)
    onnx = model_dir / manifest.onnx_file
    assert hashlib.sha256(onnx.read_bytes()).hexdigest() == manifest.onnx_sha256
    assert onnx.read_bytes() == (REPO_ROOT / "layers" / "model" / "model.onnx").read_bytes()
    assert sorted(p.name for p in (build_dir / "ModelLayer").iterdir()) == ["model"]


def test_build_copies_the_function_packages_only(build_dir: Path) -> None:
    task_root = build_dir / "ScoringFunction"
    assert (task_root / "fraud_api" / "lambda_handler.py").is_file()
    assert (task_root / "fraud_scoring" / "manifest.py").is_file()
    assert sorted(p.name for p in task_root.iterdir()) == ["fraud_api", "fraud_scoring"]
    sources = sorted(task_root.rglob("*.py"))
    bytecode = list(task_root.rglob("*.pyc"))
    python = find_python("3.13")
    if python is None:
        assert not bytecode  # no runtime Python, no bytecode: the build warns and ships sources
        return
    # sources kept, bytecode for the runtime's Python beside them, naming /var/task, not the build dir
    assert sorted(p.parent.parent / (p.name.split(".")[0] + ".py") for p in bytecode) == sources
    assert all(p.name.endswith(".cpython-313.pyc") for p in bytecode)
    app_pyc = task_root / "fraud_api" / "__pycache__" / "app.cpython-313.pyc"
    assert pyc_filename(python, app_pyc) == "/var/task/fraud_api/app.py"


def pyc_filename(python: str, pyc: Path) -> str:
    """The source file name recorded in a .pyc (read by the Python that wrote it)."""
    read_code = "import marshal, sys; print(marshal.loads(open(sys.argv[1], 'rb').read()[16:]).co_filename)"
    out = subprocess.run([python, "-I", "-c", read_code, str(pyc)], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def trim_rules() -> Any:
    spec = importlib.util.spec_from_file_location("layer_trim", REPO_ROOT / "layers" / "dependencies" / "trim.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dependency_layer_holds_exactly_the_pinned_distributions(build_dir: Path) -> None:
    site = build_dir / "DependenciesLayer" / "python"
    installed = {}
    for info in site.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[canonical(name)] = version
    dropped = {canonical(name) for name in trim_rules().DEAD_DISTRIBUTIONS}
    expected = {name: version for name, version in layer_pins().items() if name not in dropped}
    assert installed == expected
    assert dropped <= set(layer_pins()), "trim.py drops a distribution the layer does not pin"


def test_dependency_layer_wheels_fit_the_runtime_and_architecture(build_dir: Path) -> None:
    site = build_dir / "DependenciesLayer" / "python"
    marker = layer_marker(site)
    assert marker["arch"] == ARCH
    assert marker["python"] == "3.13"
    # bytecode ships wherever the runtime's Python is found; "none" is allowed only where it is not
    assert marker["bytecode"] == ("init" if find_python("3.13") else "none")
    for wheel_file in site.glob("*.dist-info/WHEEL"):
        tags = [line.split(": ", 1)[1] for line in wheel_file.read_text().splitlines() if line.startswith("Tag: ")]
        for tag in tags:
            python_tag, abi, platform = tag.split("-")
            if platform == "any":
                continue
            assert python_tag in {"cp313", "cp32", "cp38", "cp39", "cp310", "cp311", "cp312"}, tag
            assert abi in {"cp313", "abi3"}, tag
            assert re.fullmatch(r"manylinux(_2_\d+|2014)_x86_64", platform), tag


def test_dependency_layer_is_trimmed(build_dir: Path) -> None:
    site = build_dir / "DependenciesLayer" / "python"
    assert not list(site.rglob("__pycache__"))
    assert not [p for p in site.rglob("tests") if p.is_dir()]
    assert not list(site.rglob("*.pyi"))
    assert not list(site.glob("onnxruntime/capi/libonnxruntime.so*"))
    assert not (site / "onnxruntime" / "transformers").exists()
    assert (site / "onnxruntime" / "capi").is_dir()


def test_function_and_layers_fit_the_size_budget(build_dir: Path) -> None:
    total = sum(tree_bytes(build_dir / part) for part in ("ScoringFunction", "ModelLayer", "DependenciesLayer"))
    assert total <= SIZE_BUDGET_BYTES, f"{total / 1e6:.1f} MB unzipped > {SIZE_BUDGET_BYTES / 1e6:.0f} MB"


def test_dependency_layer_ships_bytecode_for_exactly_what_init_loads(build_dir: Path) -> None:
    site = build_dir / "DependenciesLayer" / "python"
    if find_python("3.13") is None:
        pytest.skip("no Python 3.13 on this machine: the layer is built without bytecode")
    listed = set(read_module_list(INIT_MODULES))
    assert len(listed) > 200
    for module in listed:
        assert (site / module).with_suffix(".pyc").is_file(), module
        assert not (site / module).exists(), f"{module}: the source should be replaced by its bytecode"
    compiled = {p.relative_to(site).with_suffix(".py").as_posix() for p in site.rglob("*.pyc")}
    assert compiled == listed  # nothing else compiled, and no __pycache__


def test_layer_bytecode_names_the_lambda_path_in_tracebacks(build_dir: Path) -> None:
    site = build_dir / "DependenciesLayer" / "python"
    python = find_python(BuiltFunction.from_build_dir(build_dir).runtime_version)
    if python is None:
        pytest.skip("no Python 3.13 on this machine: the layer is built without bytecode")
    assert pyc_filename(python, site / "fastapi" / "routing.pyc") == "/opt/python/fastapi/routing.py"


def test_init_module_list_matches_what_the_built_function_loads(build_dir: Path) -> None:
    function = BuiltFunction.from_build_dir(build_dir)
    python = find_python(function.runtime_version)
    if python is None:
        pytest.skip(f"python{function.runtime_version} not found (PATH, pyenv, $LAMBDA_PYTHON)")
    assert loaded_modules(function, python) == read_module_list(INIT_MODULES), (
        "layers/dependencies/init-modules.txt is stale: run `make layer-init-modules` and commit it"
    )


def test_built_template_points_at_the_built_artifacts(build_dir: Path) -> None:
    function = BuiltFunction.from_build_dir(build_dir)
    assert function.handler == "fraud_api.lambda_handler.handler"
    assert function.environment["MODEL_DIR"] == "/opt/model"
    built = (build_dir / "template.yaml").read_text()
    for artifact in ("ScoringFunction", "ModelLayer", "DependenciesLayer"):
        assert re.search(rf"(CodeUri|ContentUri): {artifact}\b", built), artifact


# -- the built artifact through the Lambda RIE --------------------------------------------------


class RuntimeChoice:
    def __init__(self, python: str, exact: bool, note: str) -> None:
        self.python, self.exact, self.note = python, exact, note


@pytest.fixture(scope="module")
def runtime(build_dir: Path) -> RuntimeChoice:
    version = BuiltFunction.from_build_dir(build_dir).runtime_version
    python = find_python(version)
    if python is None:
        note = (
            f"python{version} not found (PATH, pyenv, $LAMBDA_PYTHON): the emulator runs the built function and "
            f"model layer on {sys.version.split()[0]} with this venv's packages instead of the dependency layer"
        )
        print(f"\nNOTE: {note}", file=sys.stderr)
        return RuntimeChoice(sys.executable, exact=False, note=note)
    venv = REPO_ROOT / "build" / f".venv-lambda-py{version}"
    return RuntimeChoice(
        python_with_runtime_client(python, venv, locked_requirement("awslambdaric")), exact=True, note=""
    )


@pytest.fixture(scope="module")
def emulator(build_dir: Path, runtime: RuntimeChoice) -> Iterator[LambdaEmulator]:
    function = BuiltFunction.from_build_dir(build_dir)
    # The init phase on a busy 2-core CI box can take several seconds; Lambda's own init limit is 10 s.
    with LambdaEmulator(function, runtime.python, use_dependency_layer=runtime.exact, timeout_s=60) as running:
        yield running


@pytest.fixture(scope="module")
def responses(emulator: LambdaEmulator) -> dict[str, Invocation]:
    """Every event, invoked in one execution environment (the first call is the cold start)."""
    return {
        path.stem: emulator.invoke(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(EVENTS_DIR.glob("*.json"))
    }


def event_body(name: str) -> Any:
    event = json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    body = base64.b64decode(event["body"]).decode() if event["isBase64Encoded"] else event["body"]
    return json.loads(body)


def reference_scores(rows: list[list[float]]) -> np.ndarray:
    """The same model scored in this process with the host's ONNX Runtime."""
    manifest = load_manifest(REPO_ROOT / "layers" / "model")
    session = ort.InferenceSession(str(REPO_ROOT / "layers" / "model" / manifest.onnx_file))
    outputs = session.run([manifest.probability_output], {manifest.input_name: np.asarray(rows, np.float32)})
    probabilities = np.asarray(outputs[0])
    return probabilities[:, manifest.positive_class_index]


def as_row(features: list[float] | dict[str, float]) -> list[float]:
    if isinstance(features, dict):
        names = load_manifest(REPO_ROOT / "layers" / "model").feature_names
        return [features[name] for name in names]
    return features


def test_dependency_layer_loads_under_the_runtime_python(
    runtime: RuntimeChoice, responses: dict[str, Invocation]
) -> None:
    if not runtime.exact:
        pytest.skip(runtime.note)
    assert responses["health_ok"].status_code == 200


@pytest.mark.parametrize("name", ["predict_ok", "predict_ok_named", "predict_ok_base64", "predict_ok_explained"])
def test_predict_returns_the_models_score(responses: dict[str, Invocation], name: str) -> None:
    result = responses[name]
    assert result.status_code == 200, result.body
    manifest = load_manifest(REPO_ROOT / "layers" / "model")
    request = event_body(name)
    expected = float(reference_scores([as_row(request["features"])])[0])
    assert result.body["fraud_score"] == pytest.approx(expected, abs=1e-6)
    assert result.body["is_fraud"] == (result.body["fraud_score"] >= manifest.threshold)
    assert result.body["model_version"] == manifest.model_version
    assert result.body.get("transaction_id") == request.get("transaction_id")
    assert result.headers["content-type"].startswith("application/json")


def test_the_built_function_decides_with_the_policy_layer_and_explains(responses: dict[str, Invocation]) -> None:
    """The policy layer is mounted at /opt/policy and the explainer ships in the model layer."""
    policy = json.loads((REPO_ROOT / "layers" / "policy" / "policy.json").read_text(encoding="utf-8"))
    result = responses["predict_ok_explained"].body
    assert result["policy_version"] == policy["policy_version"]
    assert result["decision"] in policy["document"]["outcomes"]
    asked = event_body("predict_ok_explained")["explain"]
    assert 3 <= len(result["reasons"]) <= asked
    for reason in result["reasons"]:
        assert reason["direction"] == ("raises" if reason["contribution"] > 0 else "lowers")
    assert isinstance(result["base_value"], float)
    plain = responses["predict_ok"].body
    assert "reasons" not in plain or plain["decision"] != policy["document"]["outcomes"][0]


def test_batch_returns_every_score_in_order(responses: dict[str, Invocation]) -> None:
    result = responses["predict_batch_ok"]
    assert result.status_code == 200, result.body
    transactions = event_body("predict_batch_ok")["transactions"]
    expected = reference_scores([as_row(t["features"]) for t in transactions])
    assert result.body["count"] == len(transactions)
    assert [r["transaction_id"] for r in result.body["results"]] == [t["transaction_id"] for t in transactions]
    scores = [r["fraud_score"] for r in result.body["results"]]
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    assert len(set(np.round(scores, 6))) > 1, "the events should hold varied rows"


def test_service_routes(responses: dict[str, Invocation]) -> None:
    manifest = load_manifest(REPO_ROOT / "layers" / "model")
    assert responses["health_ok"].body == {"status": "ok", "model_version": manifest.model_version}
    assert responses["model_ok"].status_code == 200
    assert responses["model_ok"].body["feature_names"] == list(manifest.feature_names)
    assert responses["docs_ok"].status_code == 200
    assert responses["docs_ok"].headers["content-type"].startswith("text/html")
    spec = responses["openapi_ok"].body
    assert {"/predict", "/predict/batch"} <= set(spec["paths"])


REFUSALS = {
    "predict_wrong_length": (422, "validation_error"),
    "predict_unknown_feature": (422, "validation_error"),
    "predict_missing_feature": (422, "validation_error"),
    "predict_nan": (422, "validation_error"),
    "predict_string_feature": (422, "validation_error"),
    "predict_not_json": (400, "invalid_json"),
    "predict_wrong_content_type": (415, "unsupported_media_type"),
    "predict_empty_body": (400, "empty_body"),
    "predict_batch_oversized": (413, "batch_too_large"),
    "predict_batch_empty": (422, "validation_error"),
    "unknown_route": (404, "not_found"),
    "predict_wrong_method": (405, "method_not_allowed"),
}


@pytest.mark.parametrize(("name", "expected"), REFUSALS.items())
def test_bad_requests_get_a_clear_error(responses: dict[str, Invocation], name: str, expected: tuple[int, str]) -> None:
    result = responses[name]
    assert (result.status_code, result.body["error"]) == expected
    assert result.body["message"]
    event = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    assert result.body["request_id"] == event["requestContext"]["requestId"]


def test_every_event_was_answered(responses: dict[str, Invocation]) -> None:
    assert set(responses) == {p.stem for p in EVENTS_DIR.glob("*.json")}
    unexpected = {name: r.status_code for name, r in responses.items() if r.status_code >= 500}
    assert not unexpected


def test_the_model_loads_once_per_execution_environment(
    emulator: LambdaEmulator, responses: dict[str, Invocation]
) -> None:
    assert len(responses) > 10
    log = emulator.log(tail_chars=None)
    assert log.count('"model loaded"') == 1, log[-2000:]
    assert log.count("START RequestId") == len(responses)


def test_sam_invoke_prints_the_logs_the_report_and_the_whole_response(build_dir: Path) -> None:
    """`make sam-invoke`, like `sam local invoke`: log lines and REPORT on stderr, each payload whole on stdout."""
    if find_python(BuiltFunction.from_build_dir(build_dir).runtime_version) is None:
        pytest.skip("python3.13 not found (PATH, pyenv, $LAMBDA_PYTHON): the command refuses to run")
    events = [EVENTS_DIR / "predict_ok.json", EVENTS_DIR / "predict_batch_ok.json"]
    result = subprocess.run(
        [sys.executable, "scripts/lambda_rie.py", "--build-dir", str(build_dir), *map(str, events)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'function'}{os.pathsep}{REPO_ROOT}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    payloads = [json.loads(line) for line in result.stdout.splitlines()]
    assert [payload["statusCode"] for payload in payloads] == [200, 200]
    batch = json.loads(payloads[1]["body"])  # the whole body, not a cut-off preview
    assert batch["count"] == len(event_body("predict_batch_ok")["transactions"]) > 2
    assert len(payloads[1]["body"]) > 200
    log = result.stderr
    assert log.count("START RequestId") == log.count("END RequestId") == 2
    reports = [line for line in log.splitlines() if line.startswith("REPORT RequestId")]
    assert len(reports) == 2
    assert all("Billed Duration" in line and "Max Memory Used" in line for line in reports)
    assert '"model loaded"' in log  # the function's own log lines
    assert '"message":"decision"' in log


# -- arm64 (built, not run: no arm64 CPU or emulator here) ------------------------------------------


def elf_machine(path: Path) -> int:
    """e_machine of an ELF file: 62 is x86-64, 183 is AArch64."""
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[18:20], "little")


ARM64_OVERRIDES = ("--parameter-overrides", "Architecture=arm64")


@pytest.mark.slow
def test_arm64_build_carries_aarch64_wheels_and_binaries() -> None:
    work = REPO_ROOT / "build" / "sam-test" / "arm64"
    out = work / "build"
    shutil.rmtree(out, ignore_errors=True)
    result = subprocess.run(
        [SAM, "build", "--cached", "--cache-dir", str(work / "cache"), "--build-dir", str(out), *ARM64_OVERRIDES],
        cwd=REPO_ROOT,
        env={**sam_env(), "LAYER_ARCH": "arm64"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    site = out / "DependenciesLayer" / "python"
    assert "arch=arm64" in (site / ".fraud-scoring-layer").read_text()
    for wheel_file in site.glob("*.dist-info/WHEEL"):
        for line in wheel_file.read_text().splitlines():
            if line.startswith("Tag: ") and not line.endswith("-any"):
                assert line.endswith("_aarch64"), f"{wheel_file.parent.name}: {line}"
    shared_objects = [p for p in site.rglob("*.so*") if p.is_file()]
    names = {p.name.split(".")[0] for p in shared_objects}
    assert {"onnxruntime_pybind11_state", "_multiarray_umath", "_pydantic_core", "orjson"} <= names
    assert {elf_machine(p) for p in shared_objects} == {183}
    total = sum(tree_bytes(out / part) for part in ("ScoringFunction", "ModelLayer", "DependenciesLayer"))
    assert total <= SIZE_BUDGET_BYTES, f"arm64: {total / 1e6:.1f} MB"
