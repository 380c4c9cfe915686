"""The explainer artifact against XGBoost's own TreeSHAP (pred_contribs) and the ONNX model's log-odds."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from xgboost import XGBClassifier

from fraud_scoring.explain import EXPLAINER_FILE, Explainer, load_explainer, read_explainer
from fraud_scoring.manifest import EXPLANATION_PARITY_KEYS, Manifest, load_manifest, sha256_file
from training.data import FEATURE_NAMES, generate_synthetic
from training.explain_export import (
    EXPLANATION_TOLERANCE,
    LOGIT_TOLERANCE,
    ExplanationParityError,
    check_explanation_parity,
    explainer_arrays,
    export_explainer,
    gauss_legendre_unit,
    npz_bytes,
    onnx_log_odds,
)
from training.export import to_onnx
from training.pipeline import RunConfig

N_FEATURES = len(FEATURE_NAMES)


def _fit(max_depth: int, n_estimators: int, seed: int) -> XGBClassifier:
    data = generate_synthetic(n_rows=12_000, fraud_rate=0.03, seed=seed)
    model = XGBClassifier(
        n_estimators=n_estimators,
        max_depth=max_depth,
        learning_rate=0.3,
        subsample=0.9,
        colsample_bytree=0.8,
        tree_method="hist",
        objective="binary:logistic",
        random_state=seed,
        n_jobs=2,
    )
    model.fit(data.X.astype(np.float32), data.y)
    return model


class Fitted:
    """A model trained here (not the pipeline's parameters), its ONNX bytes and its explainer."""

    def __init__(self, max_depth: int, n_estimators: int, seed: int) -> None:
        self.model = _fit(max_depth, n_estimators, seed)
        self.booster = self.model.get_booster()
        self.n_trees = n_estimators
        self.onnx = to_onnx(self.model, N_FEATURES)
        self.arrays = explainer_arrays(self.booster, self.n_trees, hashlib.sha256(self.onnx).hexdigest())
        self.explainer = read_explainer(
            io.BytesIO(npz_bytes(self.arrays)), N_FEATURES, hashlib.sha256(self.onnx).hexdigest()
        )

    def reference(self, X: np.ndarray) -> np.ndarray:
        contribs = self.booster.predict(
            xgb.DMatrix(X.astype(np.float32)), pred_contribs=True, iteration_range=(0, self.n_trees)
        )
        return np.asarray(contribs, dtype=np.float64)


# Deeper and shallower than the default model (depth 5, 28 trees), with more trees.
MODELS = {"deep": (8, 40, 3), "shallow": (2, 150, 4), "default-like": (6, 200, 5)}


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request: pytest.FixtureRequest) -> Fitted:
    return Fitted(*MODELS[request.param])


def _varied_rows(fitted: Fitted, n: int, seed: int) -> np.ndarray:
    """Realistic rows, wide random rows, and rows sitting exactly on split thresholds (x == t goes right)."""
    rng = np.random.default_rng(seed)
    realistic = generate_synthetic(n_rows=max(n, 1_000), fraud_rate=0.2, seed=seed).X[:n]
    wide = rng.normal(scale=5.0, size=(n, N_FEATURES))
    wide[:, 0] = rng.uniform(0, 200_000, n)
    on_threshold = realistic.copy()
    feature, lower = fitted.arrays["feature"], fitted.arrays["lower"]
    cells = np.argwhere(np.isfinite(lower))
    for row in on_threshold:
        for p, d in cells[rng.choice(len(cells), size=8)]:
            row[feature[p, d]] = lower[p, d]
    return np.vstack([realistic, wide, on_threshold])


def test_contributions_equal_xgboost_pred_contribs(fitted: Fitted) -> None:
    X = _varied_rows(fitted, 400, seed=1)
    reference = fitted.reference(X)
    bias, contributions = fitted.explainer.contributions_many(X)
    np.testing.assert_allclose(contributions, reference[:, :N_FEATURES], rtol=0, atol=EXPLANATION_TOLERANCE)
    np.testing.assert_allclose(reference[:, N_FEATURES], bias, rtol=0, atol=EXPLANATION_TOLERANCE)
    assert np.abs(contributions).max() > 0.1  # real, varied explanations, not zeros
    assert np.unique(contributions.argmax(axis=1)).size > 3


def test_bias_plus_contributions_is_the_onnx_log_odds(fitted: Fitted) -> None:
    X = _varied_rows(fitted, 300, seed=2)
    bias, contributions = fitted.explainer.contributions_many(X)
    log_odds = onnx_log_odds(fitted.onnx, X)
    np.testing.assert_allclose(bias + contributions.sum(axis=1), log_odds, rtol=0, atol=LOGIT_TOLERANCE)


def test_paths_with_a_repeated_feature_are_merged_and_still_exact(fitted: Fitted) -> None:
    # Both bounds finite: the feature was split on twice along the path (one merged element).
    merged = np.isfinite(fitted.arrays["lower"]) & np.isfinite(fitted.arrays["upper"])
    if not merged.any():
        assert fitted.arrays["feature"].shape[1] <= 2, "deep trees without one repeated feature on a path"
        pytest.skip("these shallow trees never split twice on one feature along a path")
    paths = np.flatnonzero(merged.any(axis=1))
    # Rows that follow merged paths: inside every element's interval.
    rows = []
    for p in paths[:50]:
        row = np.zeros(N_FEATURES, dtype=np.float32)
        for f, lo, hi in zip(
            fitted.arrays["feature"][p], fitted.arrays["lower"][p], fitted.arrays["upper"][p], strict=True
        ):
            if f >= 0:
                row[f] = lo if np.isfinite(lo) else (hi - 1.0 if np.isfinite(hi) else 0.0)
        rows.append(row)
    X = np.array(rows)
    _, contributions = fitted.explainer.contributions_many(X)
    np.testing.assert_allclose(contributions, fitted.reference(X)[:, :N_FEATURES], rtol=0, atol=EXPLANATION_TOLERANCE)


@pytest.fixture(scope="module")
def deep() -> Fitted:
    return Fitted(*MODELS["deep"])


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float32,
        (3, N_FEATURES),
        elements=st.floats(-1e6, 1e6, width=32, allow_nan=False, allow_infinity=False),
    )
)
def test_any_rows_match_xgboost(deep: Fitted, X: np.ndarray) -> None:
    bias, contributions = deep.explainer.contributions_many(X)
    reference = deep.reference(X)
    np.testing.assert_allclose(contributions, reference[:, :N_FEATURES], rtol=0, atol=EXPLANATION_TOLERANCE)
    np.testing.assert_allclose(reference[:, N_FEATURES], bias, rtol=0, atol=EXPLANATION_TOLERANCE)
    for row, expected in zip(X, contributions, strict=True):  # one row at a time gives the same
        assert deep.explainer.contributions(row)[1] == pytest.approx(expected, abs=1e-12)


def test_non_finite_values_are_refused_like_xgboost_does(deep: Fitted) -> None:
    X = np.zeros((2, N_FEATURES), dtype=np.float32)
    X[1, 3] = np.inf
    with pytest.raises(xgb.core.XGBoostError, match="inf"):
        deep.reference(X)
    with pytest.raises(ValueError, match="row 1 holds NaN or infinity"):
        deep.explainer.contributions_many(X)
    with pytest.raises(ValueError, match="NaN or infinity"):
        deep.explainer.contributions(X[1])


def test_export_gates_pass_and_report_their_numbers(deep: Fitted) -> None:
    X = _varied_rows(deep, 200, seed=3)
    data, parity = export_explainer(deep.booster, deep.n_trees, deep.onnx, X)
    assert parity.rows == X.shape[0]
    assert 0.0 <= parity.max_abs_diff <= EXPLANATION_TOLERANCE
    assert 0.0 <= parity.logit_max_abs_diff <= LOGIT_TOLERANCE
    numbers = parity.as_dict()
    assert all(key in numbers for key in EXPLANATION_PARITY_KEYS)
    assert data == npz_bytes(deep.arrays)  # the bytes depend on the model only (no time stamps)


def _tampered(fitted: Fitted, **changes: np.ndarray) -> Explainer:
    arrays = {**fitted.arrays, **changes}
    return read_explainer(io.BytesIO(npz_bytes(arrays)), N_FEATURES, str(arrays["onnx_sha256"]))


def test_gate_refuses_contributions_that_differ_from_xgboost(deep: Fitted) -> None:
    X = _varied_rows(deep, 50, seed=4)
    # Scaling every leaf and the bias alike moves contributions; only the first gate can see it.
    leaves = deep.arrays["leaf_value"] * 1.001
    with pytest.raises(ExplanationParityError, match="pred_contribs disagree"):
        check_explanation_parity(_tampered(deep, leaf_value=leaves), deep.booster, deep.n_trees, deep.onnx, X)


def test_gate_refuses_a_sum_that_differs_from_the_onnx_log_odds(deep: Fitted) -> None:
    import onnx

    X = _varied_rows(deep, 50, seed=5)
    model = onnx.load_from_string(deep.onnx)
    (node,) = [n for n in model.graph.node if n.op_type == "TreeEnsembleClassifier"]
    (base,) = [a for a in node.attribute if a.name == "base_values"]
    base.floats[0] += 0.001  # the ONNX model drifts from XGBoost by 1e-3 of log-odds
    shifted = model.SerializeToString()
    with pytest.raises(ExplanationParityError, match="ONNX model's log-odds disagree"):
        check_explanation_parity(deep.explainer, deep.booster, deep.n_trees, shifted, X)


def test_only_binary_logistic_gbtree_models_are_exported() -> None:
    data = generate_synthetic(n_rows=2_000, fraud_rate=0.05, seed=1)
    booster = xgb.train(
        {"objective": "reg:squarederror", "max_depth": 2}, xgb.DMatrix(data.X.astype(np.float32), data.y), 3
    )
    with pytest.raises(ValueError, match=r"binary:logistic models, this one is reg:squarederror"):
        explainer_arrays(booster, 3, "0" * 64)
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(data.X.astype(np.float32), data.y), 3)
    with pytest.raises(ValueError, match="iteration_end 4 is outside"):
        explainer_arrays(booster, 4, "0" * 64)


# -- the pipeline writes it ---------------------------------------------------------------------------


def test_pipeline_writes_the_explainer_with_its_gate_numbers(small_run: tuple[Manifest, RunConfig]) -> None:
    manifest, config = small_run
    assert manifest.explainer_file == EXPLAINER_FILE
    assert sha256_file(config.out_dir / EXPLAINER_FILE) == manifest.explainer_sha256
    assert load_manifest(config.out_dir) == manifest
    assert 0.0 <= manifest.parity["explanation_max_abs_diff"] <= manifest.parity["explanation_tolerance"] == 1e-5
    assert 0.0 <= manifest.parity["explanation_logit_max_abs_diff"] <= 1e-4
    assert manifest.parity["explanation_rows"] == manifest.training_data["split"]["test"]
    explainer = load_explainer(config.out_dir, manifest)
    assert explainer is not None
    assert explainer.n_features == manifest.n_features


@pytest.mark.parametrize("count", range(1, 9))
def test_quadrature_is_numpys_and_the_same_bits_from_nearby_starts(count: int) -> None:
    from numpy.polynomial.legendre import leggauss

    nodes, weights = gauss_legendre_unit(count)
    reference_nodes, reference_weights = leggauss(count)
    np.testing.assert_allclose(nodes, (reference_nodes + 1) / 2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(weights, reference_weights / 2, rtol=0, atol=1e-15)
    # A LAPACK that lands a few ulps away still gives the same artifact bytes.
    nudged = gauss_legendre_unit(count, reference_nodes * (1 + 8e-16) + 3e-16)
    assert nodes.tobytes() == nudged[0].tobytes()
    assert weights.tobytes() == nudged[1].tobytes()
    # Exact for every power up to 2 count - 1: the integral of t^k over [0, 1] is 1 / (k + 1).
    for k in range(2 * count):
        assert float(weights @ nodes**k) == pytest.approx(1 / (k + 1), abs=1e-15)


def test_npz_bytes_is_a_plain_npz_archive() -> None:
    data = npz_bytes({"a": np.arange(3), "b": np.array("x")})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["a.npy", "b.npy"]
    with np.load(io.BytesIO(data)) as loaded:
        assert loaded["a"].tolist() == [0, 1, 2]
        assert str(loaded["b"]) == "x"
