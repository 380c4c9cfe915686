"""Exact explanations of the real model layer (layers/model): parity, reasons, and every bad artifact."""

from __future__ import annotations

import io
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from fraud_scoring.explain import (
    EXPLAINER_FILE,
    Explainer,
    ExplainerLoadError,
    load_explainer,
    read_explainer,
    top_reasons,
)
from fraud_scoring.manifest import Manifest, load_manifest, sha256_file
from fraud_scoring.model import ModelLoadError, load_model
from training.data import generate_synthetic
from training.explain_export import npz_bytes, onnx_log_odds
from training.export import onnx_scores, to_onnx
from training.pipeline import RunConfig, load_data
from training.train import TrainingParams, time_split, train_xgboost


@pytest.fixture(scope="module")
def manifest(model_dir: Path) -> Manifest:
    return load_manifest(model_dir)


@pytest.fixture(scope="module")
def explainer(model_dir: Path, manifest: Manifest) -> Explainer:
    loaded = load_explainer(model_dir, manifest)
    assert loaded is not None, "the committed model layer carries an explainer"
    return loaded


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    """Varied, realistic rows (the training generator), frauds included."""
    return generate_synthetic(n_rows=2000, fraud_rate=0.05, seed=11).X


def test_default_model_matches_xgboost_pred_contribs(model_dir: Path, manifest: Manifest, explainer: Explainer) -> None:
    """Retrain the default model (the committed ONNX bytes prove it is the same) and ask XGBoost itself."""
    defaults = RunConfig()
    data = load_data(defaults)
    if manifest.training_data["source"] != data.source:
        pytest.skip(f"layers/model was trained on {manifest.training_data['source']}, not the default data")
    split = time_split(data)
    model = train_xgboost(split, TrainingParams(verbose_every=0))
    assert to_onnx(model, manifest.n_features) == (model_dir / manifest.onnx_file).read_bytes()
    rng = np.random.default_rng(0)
    X = np.vstack([split.X_test[rng.choice(len(split.X_test), 3000)], split.X_test[split.y_test == 1]])
    reference = model.get_booster().predict(
        xgb.DMatrix(X.astype(np.float32)), pred_contribs=True, iteration_range=(0, model.best_iteration + 1)
    )
    bias, contributions = explainer.contributions_many(X)
    np.testing.assert_allclose(contributions, reference[:, :-1], rtol=0, atol=1e-5)
    np.testing.assert_allclose(reference[:, -1], bias, rtol=0, atol=1e-5)


def test_bias_plus_contributions_is_the_served_log_odds(
    model_dir: Path, explainer: Explainer, rows: np.ndarray
) -> None:
    bias, contributions = explainer.contributions_many(rows)
    log_odds = bias + contributions.sum(axis=1)
    onnx_bytes = (model_dir / "model.onnx").read_bytes()
    probability = onnx_scores(onnx_bytes, rows)
    # The logit of the served probability (these scores stay far from 1, where float32 loses it) ...
    np.testing.assert_allclose(log_odds, np.log(probability / (1 - probability)), rtol=0, atol=1e-4)
    # ... and the ONNX ensemble's own log-odds.
    np.testing.assert_allclose(log_odds, onnx_log_odds(onnx_bytes, rows), rtol=0, atol=1e-4)
    served = load_model(model_dir)
    assert [served.score_one(row.tolist()) for row in rows[:20]] == pytest.approx(
        1 / (1 + np.exp(-log_odds[:20])), abs=1e-6
    )


def test_one_row_equals_many_in_order(explainer: Explainer, rows: np.ndarray) -> None:
    _, many = explainer.contributions_many(rows[:300])
    single = np.array([explainer.contributions(row.tolist())[1] for row in rows[:300]])
    np.testing.assert_allclose(single, many, rtol=0, atol=1e-12)
    _, reversed_many = explainer.contributions_many(rows[:300][::-1])
    np.testing.assert_allclose(reversed_many, many[::-1], rtol=0, atol=1e-12)
    assert explainer.contributions_many(np.empty((0, 30)))[1].shape == (0, 30)


def test_contributions_from_many_threads_match(explainer: Explainer, rows: np.ndarray) -> None:
    expected = [explainer.contributions(row)[1].tolist() for row in rows[:100]]
    results: dict[int, list[list[float]]] = {}

    def work(worker: int) -> None:
        results[worker] = [explainer.contributions(row)[1].tolist() for row in rows[:100]]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == expected for result in results.values())


def test_bad_rows_are_refused(explainer: Explainer) -> None:
    with pytest.raises(ValueError, match=r"expected 30 features, got shape \(29,\)"):
        explainer.contributions([0.0] * 29)
    with pytest.raises(ValueError, match="holds NaN or infinity"):
        explainer.contributions([float("nan")] + [0.0] * 29)
    with pytest.raises(ValueError, match="holds NaN or infinity"):
        explainer.contributions([float("-inf")] + [0.0] * 29)
    with pytest.raises(ValueError, match=r"shape \(n, 30\)"):
        explainer.contributions_many([[0.0] * 31])
    bad = np.zeros((3, 30))
    bad[2, 5] = np.nan
    with pytest.raises(ValueError, match="row 2 holds NaN or infinity"):
        explainer.contributions_many(bad)


# -- top_reasons ------------------------------------------------------------------------------------

NAMES = ("a", "b", "c", "d", "e")


def test_reasons_are_the_largest_contributions_with_their_direction() -> None:
    row = [10.0, 20.0, 30.0, 40.0, 50.0]
    reasons = top_reasons(NAMES, row, [0.1, -2.0, 0.5, 1.5, -0.2], k=3)
    assert reasons == [
        {"feature": "b", "value": 20.0, "contribution": -2.0, "direction": "lowers"},
        {"feature": "d", "value": 40.0, "contribution": 1.5, "direction": "raises"},
        {"feature": "c", "value": 30.0, "contribution": 0.5, "direction": "raises"},
    ]
    assert [r["feature"] for r in top_reasons(NAMES, row, [0.1, -2.0, 0.5, 1.5, -0.2])] == ["b", "d", "c"]


def test_ties_keep_feature_order_and_zero_is_no_reason() -> None:
    row = [0.0] * 5
    reasons = top_reasons(NAMES, row, [0.5, -1.0, 1.0, 0.0, -0.5], k=5)
    assert [r["feature"] for r in reasons] == ["b", "c", "a", "e"]  # d moved nothing
    assert [r["direction"] for r in reasons] == ["lowers", "raises", "raises", "lowers"]


@pytest.mark.parametrize("k", [0, 1, 5])
def test_k_from_none_to_all(k: int) -> None:
    assert len(top_reasons(NAMES, [1.0] * 5, [1.0, 2.0, 3.0, 4.0, 5.0], k=k)) == k


@pytest.mark.parametrize(("k", "error"), [(-1, ValueError), (6, ValueError), (True, TypeError), (2.0, TypeError)])
def test_k_out_of_bounds_is_refused(k: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="k must be"):
        top_reasons(NAMES, [1.0] * 5, [1.0] * 5, k=k)


def test_reasons_refuse_mismatched_or_non_finite_inputs() -> None:
    with pytest.raises(ValueError, match="must hold 5 numbers"):
        top_reasons(NAMES, [1.0] * 4, [1.0] * 5)
    with pytest.raises(ValueError, match="finite"):
        top_reasons(NAMES, [1.0] * 5, [1.0, float("nan"), 0.0, 0.0, 0.0])


def test_reasons_of_the_real_model_explain_its_score(
    explainer: Explainer, manifest: Manifest, rows: np.ndarray
) -> None:
    row = rows[int(np.argmax([explainer.contributions(r)[1].sum() for r in rows[:200]]))]
    _, contributions = explainer.contributions(row)
    reasons = top_reasons(manifest.feature_names, row, contributions, k=manifest.n_features)
    magnitudes = [abs(r["contribution"]) for r in reasons]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert sum(r["contribution"] for r in reasons) == pytest.approx(contributions.sum(), abs=1e-9)
    assert reasons[0]["direction"] == "raises"  # the riskiest row's strongest reason pushes it up
    index = manifest.feature_names.index(reasons[0]["feature"])
    assert reasons[0]["value"] == pytest.approx(row[index])


# -- the artifact: missing, altered, corrupt, mismatched ------------------------------------------------


@pytest.fixture
def layer_copy(model_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    return target


def _edit_manifest(layer: Path, **changes: Any) -> Manifest:
    path = layer / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    for key, value in changes.items():
        if value is None:
            del data[key]
    path.write_text(json.dumps(data))
    return load_manifest(layer)


def _replace_artifact(layer: Path, data: bytes) -> Manifest:
    (layer / EXPLAINER_FILE).write_bytes(data)
    return _edit_manifest(layer, explainer_sha256=sha256_file(layer / EXPLAINER_FILE))


def _arrays(layer: Path) -> dict[str, np.ndarray]:
    with np.load(layer / EXPLAINER_FILE) as archive:
        return {name: archive[name] for name in archive.files}


def test_a_layer_without_explainer_still_loads(layer_copy: Path) -> None:
    (layer_copy / EXPLAINER_FILE).unlink()
    manifest = _edit_manifest(layer_copy, explainer_file=None, explainer_sha256=None)
    assert load_explainer(layer_copy, manifest) is None
    assert load_model(layer_copy).score_one([0.0] * 30) > 0.0


def test_missing_explainer_file(layer_copy: Path) -> None:
    (layer_copy / EXPLAINER_FILE).unlink()
    with pytest.raises(ExplainerLoadError, match=r"explainer file 'explainer\.npz' is missing"):
        load_explainer(layer_copy, load_manifest(layer_copy))


def test_altered_explainer_fails_the_hash_check(layer_copy: Path) -> None:
    with open(layer_copy / EXPLAINER_FILE, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ExplainerLoadError, match=r"explainer\.npz has sha256 .* the manifest expects"):
        load_explainer(layer_copy, load_manifest(layer_copy))


def test_load_errors_are_model_load_errors(layer_copy: Path) -> None:
    """The hosts already refuse to start on a ModelLoadError; an unusable explainer is one."""
    (layer_copy / EXPLAINER_FILE).unlink()
    with pytest.raises(ModelLoadError):
        load_explainer(layer_copy, load_manifest(layer_copy))


def _tampered(layer: Path, **changes: Any) -> bytes:
    return npz_bytes({**_arrays(layer), **changes})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda layer: b"not a zip archive", "not a readable npz archive"),
        (lambda layer: npz_bytes({"feature": np.zeros((2, 2), np.int32)}), "it lacks format, n_features"),
        (lambda layer: _tampered(layer, format=np.array(2)), "format 2 is not supported"),
        (lambda layer: _tampered(layer, onnx_sha256=np.array("f" * 64)), "exported for the ONNX model ffffffffffff"),
        (lambda layer: _tampered(layer, n_features=np.array(29)), "explains 29 features, the manifest lists 30"),
        (lambda layer: _tampered(layer, bias=np.array([1.0, 2.0])), "bias must be a scalar"),
        (lambda layer: _tampered(layer, format=np.array("one")), "not a number"),
        (lambda layer: _tampered(layer, bias=np.array(np.nan)), "bias nan is not finite"),
        (
            lambda layer: _tampered(layer, leaf_value=_arrays(layer)["leaf_value"][:-1]),
            "leaf_value has shape",
        ),
        (
            lambda layer: _tampered(layer, feature=_arrays(layer)["feature"] + 30),
            r"feature indices must lie in \[-1, 29\]",
        ),
        (
            lambda layer: _tampered(layer, zero_fraction=-_arrays(layer)["zero_fraction"]),
            "zero_fraction must hold finite numbers >= 0",
        ),
        (
            lambda layer: _tampered(layer, quadrature_nodes=np.array([0.5]), quadrature_weights=np.array([1.0])),
            "1 quadrature nodes are too few for paths of 5 features",
        ),
    ],
)
def test_corrupt_or_mismatched_artifact_names_the_file(layer_copy: Path, make: Any, message: str) -> None:
    manifest = _replace_artifact(layer_copy, make(layer_copy))
    with pytest.raises(ExplainerLoadError, match=rf"model layer at .*: explainer\.npz cannot be used: .*{message}"):
        load_explainer(layer_copy, manifest)


def test_a_single_npy_is_not_an_explainer(layer_copy: Path) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    manifest = _replace_artifact(layer_copy, buffer.getvalue())
    with pytest.raises(ExplainerLoadError, match=r"single \.npy array, not an npz archive"):
        load_explainer(layer_copy, manifest)


def test_a_zero_cover_ratio_gives_zeros_not_nan(layer_copy: Path, rows: np.ndarray) -> None:
    """z = 0 with the value outside the interval zeroes that path (0/0 must not leak NaN)."""
    arrays = _arrays(layer_copy)
    zero = arrays["zero_fraction"].copy()
    zero[:, 0] = np.where(arrays["feature"][:, 0] >= 0, 0.0, 1.0)
    sha = str(arrays["onnx_sha256"])
    explainer = read_explainer(io.BytesIO(npz_bytes({**arrays, "zero_fraction": zero})), 30, sha)
    _, contributions = explainer.contributions_many(rows[:200])
    assert np.isfinite(contributions).all()
    # Against the same game computed path by path with exact Shapley weights (subsets enumerated).
    row = rows[0].astype(np.float32)
    expected = np.zeros(30)
    for p in range(len(arrays["leaf_value"])):
        elements = [d for d in range(arrays["feature"].shape[1]) if arrays["feature"][p, d] >= 0]
        z = zero[p, elements]
        o = np.array(
            [arrays["lower"][p, d] <= row[arrays["feature"][p, d]] < arrays["upper"][p, d] for d in elements], float
        )
        expected_p = _shapley(arrays["leaf_value"][p], z, o)
        for d, value in zip(elements, expected_p, strict=True):
            expected[arrays["feature"][p, d]] += value
    np.testing.assert_allclose(contributions[0], expected, rtol=0, atol=1e-12)


def _shapley(v: float, z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Shapley values of g(S) = v prod_{S} o prod_{not S} z by enumerating every subset."""
    from itertools import combinations
    from math import factorial

    m = len(z)
    phi = np.zeros(m)
    for i in range(m):
        others = [j for j in range(m) if j != i]
        for size in range(m):
            weight = factorial(size) * factorial(m - size - 1) / factorial(m)
            for subset in combinations(others, size):
                rest = [j for j in others if j not in subset]
                phi[i] += weight * v * (o[i] - z[i]) * np.prod(o[list(subset)]) * np.prod(z[rest])
    return phi
