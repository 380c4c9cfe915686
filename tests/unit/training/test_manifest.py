from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fraud_scoring.manifest import ManifestError, load_manifest, manifest_from_dict, model_version_for, sha256_file


@pytest.fixture
def manifest_data(model_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((model_dir / "manifest.json").read_text())
    return data


def test_the_shipped_model_layer_is_consistent(model_dir: Path) -> None:
    manifest = load_manifest(model_dir)
    assert sha256_file(model_dir / manifest.onnx_file) == manifest.onnx_sha256
    assert manifest.model_version == model_version_for(manifest.onnx_sha256)
    assert manifest.n_features == 30
    assert manifest.feature_names[0] == "Time"
    assert manifest.feature_names[-1] == "Amount"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"onnx_sha256": "xyz"}, "onnx_sha256"),
        ({"feature_names": ["a", "a"]}, "duplicates"),
        ({"feature_names": []}, "empty"),
        ({"n_features": 29}, "n_features is 29"),
        ({"onnx_file": "../model.onnx"}, "bare file name"),
        ({"schema_version": 99}, "schema_version"),
    ],
)
def test_inconsistent_manifest_is_rejected(manifest_data: dict[str, Any], change: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        manifest_from_dict({**manifest_data, **change})


def test_missing_field_is_named(manifest_data: dict[str, Any]) -> None:
    del manifest_data["threshold"]
    with pytest.raises(ManifestError, match="missing threshold"):
        manifest_from_dict(manifest_data)


def test_missing_or_broken_manifest_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no model manifest"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_manifest(tmp_path)
