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


# -- the optional explainer fields -----------------------------------------------------------------------


def test_manifest_round_trips_with_and_without_explainer(manifest_data: dict[str, Any]) -> None:
    with_explainer = manifest_from_dict(manifest_data)
    assert with_explainer.explainer_file == "explainer.npz"
    assert manifest_from_dict(json.loads(with_explainer.to_json())) == with_explainer
    old = {k: v for k, v in manifest_data.items() if k not in ("explainer_file", "explainer_sha256")}
    without = manifest_from_dict(old)  # layers from before explanations keep loading
    assert without.explainer_file is None
    assert without.explainer_sha256 is None
    text = without.to_json()
    assert "explainer" not in text.replace("explanation", "")  # and keep the manifest they had
    assert manifest_from_dict(json.loads(text)) == without


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"explainer_file": None}, "explainer_sha256 is set but explainer_file is not"),
        ({"explainer_sha256": None}, "explainer_sha256 is not a lowercase hex sha256"),
        ({"explainer_sha256": "ABC"}, "explainer_sha256 is not a lowercase hex sha256"),
        ({"explainer_file": "../explainer.npz"}, "must be a bare file name other than onnx_file"),
        ({"explainer_file": "model.onnx"}, "must be a bare file name other than onnx_file"),
    ],
)
def test_inconsistent_explainer_fields_are_rejected(
    manifest_data: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ManifestError, match=message):
        manifest_from_dict({**manifest_data, **change})


@pytest.mark.parametrize("key", ["explanation_max_abs_diff", "explanation_logit_max_abs_diff"])
def test_an_explainer_needs_its_parity_numbers(manifest_data: dict[str, Any], key: str) -> None:
    parity = {k: v for k, v in manifest_data["parity"].items() if k != key}
    with pytest.raises(ManifestError, match=f"an explainer needs parity.{key}"):
        manifest_from_dict({**manifest_data, "parity": parity})
