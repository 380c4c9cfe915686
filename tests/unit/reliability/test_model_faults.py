"""A broken model layer must stop the execution environment at init with one clear error.

Each case copies the real layer, breaks it one way and imports the shipped Lambda handler in a
fresh interpreter (what Lambda's init phase does). The process must exit non-zero, say on stderr
what is wrong in one CRITICAL JSON line, and never get as far as building the app.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import onnx
import pytest

from tests.conftest import REPO_ROOT

# After the import, answer one /health event: printed only if the environment came up.
PROBE = """
import json
from fraud_api.lambda_handler import handler
from tests.unit.api.lambda_events import FakeLambdaContext, rest_event
result = handler(rest_event("GET", "/health"), FakeLambdaContext())
print("SERVED", json.dumps(result))
"""


def init_environment(model_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODEL_DIR": str(model_dir), "PYTHONPATH": f"{REPO_ROOT / 'function'}{os.pathsep}{REPO_ROOT}"}
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def break_missing_model(layer: Path) -> None:
    (layer / "model.onnx").unlink()


def break_truncated_model(layer: Path) -> None:
    data = (layer / "model.onnx").read_bytes()
    (layer / "model.onnx").write_bytes(data[: len(data) // 2])
    # Keep the hash honest so that ONNX Runtime itself has to notice the damage.
    manifest = json.loads((layer / "manifest.json").read_text())
    from fraud_scoring.manifest import sha256_file

    manifest["onnx_sha256"] = sha256_file(layer / "model.onnx")
    (layer / "manifest.json").write_text(json.dumps(manifest))


def break_tampered_model(layer: Path) -> None:
    data = bytearray((layer / "model.onnx").read_bytes())
    data[-1] ^= 0xFF  # one flipped byte, the manifest still carries the original sha256
    (layer / "model.onnx").write_bytes(bytes(data))


def break_feature_count(layer: Path) -> None:
    manifest = json.loads((layer / "manifest.json").read_text())
    manifest["feature_names"] = manifest["feature_names"][:-1]
    manifest["n_features"] = len(manifest["feature_names"])
    (layer / "manifest.json").write_text(json.dumps(manifest))


def break_graph_width(layer: Path) -> None:
    """A model re-exported for 31 features under a manifest (and matching hash) for 30."""
    graph = onnx.load(str(layer / "model.onnx"))
    graph.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 31
    onnx.save(graph, str(layer / "model.onnx"))
    from fraud_scoring.manifest import sha256_file

    manifest = json.loads((layer / "manifest.json").read_text())
    manifest["onnx_sha256"] = sha256_file(layer / "model.onnx")
    (layer / "manifest.json").write_text(json.dumps(manifest))


def break_missing_manifest(layer: Path) -> None:
    (layer / "manifest.json").unlink()


def break_garbled_manifest(layer: Path) -> None:
    (layer / "manifest.json").write_text('{"model_version": ')


def break_empty_layer(layer: Path) -> None:
    for item in layer.iterdir():
        item.unlink()


FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "model file missing": (break_missing_model, "missing"),
    "model truncated": (break_truncated_model, "ONNX Runtime cannot load"),
    "model tampered (hash mismatch)": (break_tampered_model, "sha256"),
    "manifest lists the wrong feature count": (break_feature_count, "feature"),
    "graph expects another feature count": (break_graph_width, "wrong feature count"),
    "manifest missing": (break_missing_manifest, "no model manifest"),
    "manifest not JSON": (break_garbled_manifest, "not valid JSON"),
    "empty layer": (break_empty_layer, "no model manifest"),
}


# The five faults every environment must survive run in `make test`; the variants in the long run.
QUICK_FAULTS = (
    "model file missing",
    "model truncated",
    "model tampered (hash mismatch)",
    "manifest lists the wrong feature count",
    "manifest missing",
)


@pytest.mark.parametrize(
    "fault", [name if name in QUICK_FAULTS else pytest.param(name, marks=pytest.mark.slow) for name in FAULTS]
)
def test_broken_layer_refuses_to_serve_with_one_clear_error(tmp_path: Path, real_model_dir: Path, fault: str) -> None:
    layer = tmp_path / "model"
    shutil.copytree(real_model_dir, layer, ignore=shutil.ignore_patterns("Makefile"))
    breaker, expected = FAULTS[fault]
    breaker(layer)

    result = init_environment(layer)

    assert result.returncode != 0, result.stdout
    assert "SERVED" not in result.stdout  # nothing answered, healthy or not
    critical = [line for line in result.stderr.splitlines() if line.startswith("{") and '"CRITICAL"' in line]
    assert len(critical) == 1, result.stderr[-2000:]
    record = json.loads(critical[0])
    assert record["message"] == "model failed to load; refusing to start"
    assert expected in record["error"], record["error"]
    assert str(layer) in record["error"] or "model" in record["error"]


def test_intact_copy_of_the_layer_serves(tmp_path: Path, real_model_dir: Path) -> None:
    """The control: the same copy procedure without a fault comes up and answers /health."""
    layer = tmp_path / "model"
    shutil.copytree(real_model_dir, layer, ignore=shutil.ignore_patterns("Makefile"))
    result = init_environment(layer)
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout.split("SERVED ", 1)[1])
    assert served["statusCode"] == 200
