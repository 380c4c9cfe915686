"""The scoring core against the real model layer (layers/model)."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from fraud_scoring.manifest import load_manifest, sha256_file
from fraud_scoring.model import FraudModel, ModelLoadError, RuntimeOptions, load_model
from training.data import generate_synthetic
from training.export import onnx_scores


@pytest.fixture(scope="module")
def model(model_dir: Path) -> FraudModel:
    return load_model(model_dir)


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    """Varied, realistic rows (the training generator), frauds included."""
    data = generate_synthetic(n_rows=3000, fraud_rate=0.05, seed=11)
    return data.X


@pytest.fixture(scope="module")
def reference_scores(model_dir: Path, rows: np.ndarray) -> np.ndarray:
    """What training's own ONNX scoring gives for the same rows."""
    return onnx_scores((model_dir / "model.onnx").read_bytes(), rows)


def test_everything_about_the_model_comes_from_the_manifest(model: FraudModel, model_dir: Path) -> None:
    manifest = load_manifest(model_dir)
    assert model.feature_names == manifest.feature_names
    assert model.n_features == len(manifest.feature_names) == 30
    assert model.threshold == manifest.threshold
    assert model.model_version == manifest.model_version
    described = model.describe()
    assert described["feature_names"] == list(manifest.feature_names)
    assert described["metrics"] == manifest.metrics
    assert described["onnx_sha256"] == sha256_file(model_dir / "model.onnx")


def test_score_one_equals_training_time_onnx_scores(
    model: FraudModel, rows: np.ndarray, reference_scores: np.ndarray
) -> None:
    scores = np.array([model.score_one(row.tolist()) for row in rows])
    np.testing.assert_allclose(scores, reference_scores, rtol=0, atol=1e-7)
    assert np.unique(scores).size > 100  # varied rows really give varied scores


def test_score_many_equals_score_one_in_order(model: FraudModel, rows: np.ndarray) -> None:
    batch = model.score_many(rows[:500])
    single = [model.score_one(row.tolist()) for row in rows[:500]]
    assert batch == pytest.approx(single, abs=1e-7)
    assert model.score_many(rows[:500][::-1]) == pytest.approx(single[::-1], abs=1e-7)


def test_score_many_accepts_python_lists_and_empty_input(model: FraudModel, rows: np.ndarray) -> None:
    assert model.score_many(rows[:3].tolist()) == pytest.approx(model.score_many(rows[:3]), abs=0)
    assert model.score_many(np.empty((0, 30))) == []


def test_score_array_is_score_many_as_an_array(model: FraudModel, rows: np.ndarray) -> None:
    scores = model.score_array(rows[:500].astype(np.float32))
    assert scores.dtype == np.float64
    assert scores.tolist() == model.score_many(rows[:500])  # the same floats, not approximately
    assert model.score_array(np.empty((0, 30))).shape == (0,)
    with pytest.raises(ValueError, match="expected a matrix of shape"):
        model.score_array(rows[:5, :29])


def test_some_rows_cross_the_threshold(model: FraudModel, rows: np.ndarray) -> None:
    decisions = [model.is_fraud(score) for score in model.score_many(rows)]
    assert any(decisions)
    assert not all(decisions)


def test_wrong_row_width_is_refused(model: FraudModel) -> None:
    with pytest.raises(ValueError, match="expected 30 features, got 29"):
        model.score_one([0.0] * 29)
    with pytest.raises(ValueError, match=r"shape \(n, 30\)"):
        model.score_many([[0.0] * 31])


def test_one_thread_by_default_and_configurable(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORT_INTRA_OP_THREADS", raising=False)
    assert load_model(model_dir).session.get_session_options().intra_op_num_threads == 1
    monkeypatch.setenv("ORT_INTRA_OP_THREADS", "2")
    assert load_model(model_dir).session.get_session_options().intra_op_num_threads == 2
    assert RuntimeOptions.from_env({"ORT_INTER_OP_THREADS": "3"}).inter_op_threads == 3


def test_spinning_pool_threads_can_be_turned_off(model_dir: Path) -> None:
    def spinning(options: RuntimeOptions) -> str:
        session_options = load_model(model_dir, options).session.get_session_options()
        return str(session_options.get_session_config_entry("session.intra_op.allow_spinning"))

    assert spinning(RuntimeOptions(intra_op_threads=2, allow_spinning=False)) == "0"
    assert spinning(RuntimeOptions(intra_op_threads=1)) == "0"  # one thread: nothing to spin for
    with pytest.raises(RuntimeError):  # not set: ONNX Runtime's default (spinning)
        spinning(RuntimeOptions(intra_op_threads=2))


@pytest.mark.parametrize("value", ["zero", "0", "-1"])
def test_bad_thread_setting_is_a_clear_load_error(model_dir: Path, value: str) -> None:
    with pytest.raises(ModelLoadError, match="ORT_INTRA_OP_THREADS"):
        load_model(model_dir, RuntimeOptions.from_env({"ORT_INTRA_OP_THREADS": value}))


def test_model_dir_comes_from_the_environment(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    assert load_model().model_dir == model_dir
    monkeypatch.delenv("MODEL_DIR")
    with pytest.raises(ModelLoadError, match="/opt/model"):
        load_model()  # the Lambda layer's mount point is the default (absent on this host)


def test_scores_from_many_threads_match(model: FraudModel, rows: np.ndarray) -> None:
    expected = [model.score_one(row.tolist()) for row in rows[:200]]
    results: dict[int, list[float]] = {}

    def work(worker: int) -> None:
        results[worker] = [model.score_one(row.tolist()) for row in rows[:200]]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(scores == expected for scores in results.values())


# -- init failures: each one clear ModelLoadError ----------------------------------------------------


@pytest.fixture
def layer_copy(model_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    return target


def _edit_manifest(layer: Path, **changes: object) -> None:
    path = layer / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_missing_manifest(layer_copy: Path) -> None:
    (layer_copy / "manifest.json").unlink()
    with pytest.raises(ModelLoadError, match="no model manifest at"):
        load_model(layer_copy)


def test_unreadable_manifest(layer_copy: Path) -> None:
    (layer_copy / "manifest.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_model(layer_copy)


def test_missing_onnx_file(layer_copy: Path) -> None:
    (layer_copy / "model.onnx").unlink()
    with pytest.raises(ModelLoadError, match=r"ONNX file 'model\.onnx' is missing"):
        load_model(layer_copy)


def test_hash_mismatch(layer_copy: Path) -> None:
    with open(layer_copy / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelLoadError, match=r"has sha256 .* the manifest expects"):
        load_model(layer_copy)


def test_wrong_feature_count(layer_copy: Path) -> None:
    names = json.loads((layer_copy / "manifest.json").read_text())["feature_names"]
    _edit_manifest(layer_copy, feature_names=[*names, "Extra"], n_features=31)
    with pytest.raises(ModelLoadError, match=r"lists 31 features \(wrong feature count\)"):
        load_model(layer_copy)


def test_manifest_naming_an_unknown_output(layer_copy: Path) -> None:
    _edit_manifest(layer_copy, probability_output="scores")
    with pytest.raises(ModelLoadError, match=r"probability_output 'scores' is not an output"):
        load_model(layer_copy)


def test_manifest_naming_an_unknown_input(layer_copy: Path) -> None:
    _edit_manifest(layer_copy, input_name="x")
    with pytest.raises(ModelLoadError, match="input_name 'x' is not an input"):
        load_model(layer_copy)


def test_positive_class_outside_the_output(layer_copy: Path) -> None:
    _edit_manifest(layer_copy, positive_class_index=2)
    with pytest.raises(ModelLoadError, match=r"positive_class_index 2 is outside the 2 columns"):
        load_model(layer_copy)


def test_corrupt_onnx_with_a_matching_hash(layer_copy: Path) -> None:
    (layer_copy / "model.onnx").write_bytes(b"this is not an onnx graph")
    _edit_manifest(layer_copy, onnx_sha256=sha256_file(layer_copy / "model.onnx"))
    with pytest.raises(ModelLoadError, match="ONNX Runtime cannot load"):
        load_model(layer_copy)
