from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from fraud_scoring.manifest import Manifest, load_manifest, model_version_for, sha256_file
from fraud_scoring.policy import load_policy
from training.data import FEATURE_NAMES
from training.export import ParityError, check_parity, onnx_scores
from training.pipeline import RunConfig, load_data, run

from .conftest import small_config


def test_run_writes_model_manifest_and_report(small_run: tuple[Manifest, RunConfig]) -> None:
    manifest, config = small_run
    assert load_manifest(config.out_dir) == manifest
    assert sha256_file(config.out_dir / manifest.onnx_file) == manifest.onnx_sha256
    assert manifest.model_version == model_version_for(manifest.onnx_sha256)
    assert manifest.feature_names == FEATURE_NAMES
    for name in ("README.md", "roc.png", "precision_recall.png", "score_distribution.png"):
        assert (config.report_dir / name).stat().st_size > 0
    assert manifest.model_version in (config.report_dir / "README.md").read_text()


def test_metrics_and_threshold_are_recorded(small_run: tuple[Manifest, RunConfig]) -> None:
    manifest, _ = small_run
    test = manifest.metrics["test"]
    for key in (
        "roc_auc",
        "average_precision",
        "recall_at_fpr_0.001",
        "recall_at_fpr_0.01",
        "precision_at_threshold",
        "recall_at_threshold",
    ):
        assert 0.0 <= test[key] <= 1.0, key
    assert 0.0 < manifest.threshold < 1.0
    assert "validation" in manifest.threshold_rule
    assert manifest.parity["max_abs_diff"] <= manifest.parity["tolerance"] == 1e-5
    assert manifest.parity["rows"] == manifest.training_data["split"]["test"]


def test_xgboost_clearly_beats_logistic_regression(small_run: tuple[Manifest, RunConfig]) -> None:
    manifest, _ = small_run
    xgb = manifest.metrics["test"]
    linear = manifest.metrics["baseline_logistic_regression_test"]
    assert xgb["average_precision"] > 2 * linear["average_precision"]
    assert xgb["roc_auc"] > linear["roc_auc"] + 0.1


def test_same_seed_gives_the_same_model_version(small_run: tuple[Manifest, RunConfig], tmp_path: Path) -> None:
    first, _ = small_run
    again = run(small_config(tmp_path / "again"))
    other = run(small_config(tmp_path / "other", seed=12))
    assert again.model_version == first.model_version
    assert again.explainer_sha256 == first.explainer_sha256
    assert again.training_data["sha256"] == first.training_data["sha256"]
    assert other.model_version != first.model_version


def _tamper(model_path: Path, attribute: str, delta: float) -> bytes:
    model = onnx.load(model_path)
    (node,) = [n for n in model.graph.node if n.op_type == "TreeEnsembleClassifier"]
    (attr,) = [a for a in node.attribute if a.name == attribute]
    for i in range(len(attr.floats)):  # every leaf (or base value) moves: no row can escape
        attr.floats[i] += delta
    return bytes(model.SerializeToString())


@pytest.mark.parametrize(("attribute", "delta"), [("class_weights", 0.05), ("base_values", 0.01)])
def test_parity_gate_rejects_a_broken_model(
    small_run: tuple[Manifest, RunConfig], attribute: str, delta: float
) -> None:
    manifest, config = small_run
    model_path = config.out_dir / manifest.onnx_file
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2_000, len(FEATURE_NAMES)))
    X[:, 0] = rng.uniform(0, 172_800, 2_000)
    reference = onnx_scores(model_path.read_bytes(), X)
    assert check_parity(model_path.read_bytes(), reference, X).max_abs_diff == 0.0
    with pytest.raises(ParityError, match="disagree"):
        check_parity(_tamper(model_path, attribute, delta), reference, X)


def test_cli_reports_bad_data_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from training.__main__ import main

    bad = tmp_path / "bad.csv"
    bad.write_text("Time,V1\n1,2\n")
    assert main(["--csv", str(bad), "--out", str(tmp_path / "m")]) == 2
    assert "missing column" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_manifest_json_is_plain_and_complete(small_run: tuple[Manifest, RunConfig]) -> None:
    _, config = small_run
    data = json.loads((config.out_dir / "manifest.json").read_text())
    assert data["n_features"] == len(data["feature_names"]) == 30
    for key in (
        "model_version",
        "onnx_sha256",
        "threshold",
        "metrics",
        "parity",
        "training_data",
        "library_versions",
        "created_at",
        "input_name",
        "probability_output",
    ):
        assert key in data, key
    assert data["library_versions"]["xgboost-cpu"]


def test_committed_model_is_what_the_default_training_run_produces(model_dir: Path, tmp_path: Path) -> None:
    committed = load_manifest(model_dir)
    defaults = RunConfig()
    default_source = load_data(defaults).source
    if committed.training_data["source"] != default_source:
        pytest.skip(f"layers/model was trained on {committed.training_data['source']}, not the default data")
    rebuilt = run(RunConfig(out_dir=tmp_path / "model", report_dir=tmp_path / "report"))
    assert rebuilt.model_version == committed.model_version
    assert rebuilt.threshold == committed.threshold
    assert rebuilt.explainer_sha256 == committed.explainer_sha256  # the same artifact, through the same gates
    # The committed policy layer, while it carries the proposal's version, is exactly the proposal
    # (a hand-edited policy must take a version of its own).
    committed_policy = json.loads((model_dir.parent / "policy" / "policy.json").read_text(encoding="utf-8"))
    proposed = json.loads((tmp_path / "policy" / "policy.json").read_text(encoding="utf-8"))
    if committed_policy["policy_version"] == proposed["policy_version"]:
        assert committed_policy["document"] == proposed["document"]


def test_run_proposes_a_policy_layer_and_reports_its_cost(small_run: tuple[Manifest, RunConfig]) -> None:
    manifest, config = small_run
    policy_dir = config.out_dir.parent / "policy"
    policy = load_policy(policy_dir, manifest.feature_names)
    assert policy.version == f"proposed-{manifest.model_version}"
    assert policy.bands[0].outcome == "APPROVE"
    assert policy.bands[-1].max == 1.0
    report = (config.report_dir / "policy.md").read_text(encoding="utf-8")
    assert "Expected cost on validation" in report
    assert (config.report_dir / "policy_cost.png").stat().st_size > 1000
