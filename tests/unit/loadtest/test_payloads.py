"""The payload file: drawn from the training distribution, shaped by the model manifest."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from fraud_scoring.manifest import load_manifest
from loadtest.payloads import DEFAULT_OUT, PayloadError, build_payloads, main, write_payload_file


def _rows(bodies: list[dict[str, object]], names: tuple[str, ...]) -> np.ndarray:
    rows = []
    for body in bodies:
        features = body["features"]
        rows.append([features[n] for n in names] if isinstance(features, dict) else features)
    return np.asarray(rows, dtype=np.float32)


def test_payload_file_matches_the_manifest(tmp_path: Path, model_dir: Path) -> None:
    manifest = load_manifest(model_dir)
    document = write_payload_file(tmp_path / "payloads.json", model_dir, count=500, seed=3)
    on_disk = json.loads((tmp_path / "payloads.json").read_text(encoding="utf-8"))
    assert on_disk == document
    assert on_disk["n_features"] == manifest.n_features == len(on_disk["feature_names"])
    assert tuple(on_disk["feature_names"]) == manifest.feature_names
    assert on_disk["model_version"] == manifest.model_version
    bodies = on_disk["payloads"]
    assert len(bodies) == 500
    named = [b for b in bodies if isinstance(b["features"], dict)]
    listed = [b for b in bodies if isinstance(b["features"], list)]
    assert 150 < len(named) < 350
    assert 150 < len(listed) < 350
    assert all(list(b["features"]) == list(manifest.feature_names) for b in named)
    assert all(len(b["features"]) == manifest.n_features for b in listed)
    assert all(math.isfinite(v) for b in listed for v in b["features"])
    ids = [b["transaction_id"] for b in bodies if "transaction_id" in b]
    assert 150 < len(ids) < 350
    assert len(set(ids)) == len(ids)


def test_payloads_are_varied_and_hit_both_decisions(model_dir: Path) -> None:
    manifest = load_manifest(model_dir)
    bodies = build_payloads(manifest.feature_names, count=2000, seed=5)
    X = _rows(bodies, manifest.feature_names)
    assert len({row.tobytes() for row in X}) == len(X)  # no constant row
    session = ort.InferenceSession(str(model_dir / manifest.onnx_file))
    scores = session.run([manifest.probability_output], {manifest.input_name: X})[0][:, manifest.positive_class_index]
    flagged = float(np.mean(scores >= manifest.threshold))
    assert 0.002 < flagged < 0.1  # mostly legitimate traffic, some fraud the model catches


def test_same_seed_same_payloads_other_seed_other_payloads(model_dir: Path) -> None:
    names = load_manifest(model_dir).feature_names
    assert build_payloads(names, count=50, seed=1) == build_payloads(names, count=50, seed=1)
    assert build_payloads(names, count=50, seed=1) != build_payloads(names, count=50, seed=2)


def test_manifest_with_other_features_and_no_summary_is_refused() -> None:
    with pytest.raises(PayloadError, match=r"no training_data\.feature_summary"):
        build_payloads(("f0", "f1"), count=10)
    with pytest.raises(PayloadError, match="count"):
        build_payloads(("Time", *(f"V{i}" for i in range(1, 29)), "Amount"), count=0)


def test_cli_reports_a_missing_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--model-dir", str(tmp_path), "--out", str(tmp_path / "p.json")]) == 2
    assert "manifest" in capsys.readouterr().err


def test_generated_payload_file_is_current(model_dir: Path) -> None:
    """`make loadtest` regenerates it when the manifest changes; a stale one must not slip through."""
    if not DEFAULT_OUT.is_file():
        pytest.skip("loadtest/payloads.json not generated yet (make loadtest-payloads)")
    document = json.loads(DEFAULT_OUT.read_text(encoding="utf-8"))
    manifest = load_manifest(model_dir)
    assert document["model_version"] == manifest.model_version
    assert tuple(document["feature_names"]) == manifest.feature_names


def test_a_user_model_gets_payloads_from_its_manifest_quantiles() -> None:
    quantiles = [0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 90.0, 100.0]
    summary = {
        "amount_eur": {"quantiles": quantiles, "integer": False},
        "is_online": {"quantiles": [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0], "integer": True},
    }
    names = ("amount_eur", "is_online")
    bodies = build_payloads(names, count=400, seed=4, training_data={"feature_summary": summary})
    X = _rows(bodies, names)
    assert X.shape == (400, 2)
    assert all(list(b["features"]) == list(names) for b in bodies if isinstance(b["features"], dict))
    assert X[:, 0].min() >= 0.0
    assert X[:, 0].max() <= 100.0
    assert 5.0 < float(np.median(X[:, 0])) < 20.0  # the stored median is 10
    assert set(np.unique(X[:, 1])) == {0.0, 1.0}
