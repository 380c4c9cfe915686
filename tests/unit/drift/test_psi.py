"""PSI, quantile bins and the windowed monitor (fraud_scoring.drift) against their definitions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraud_scoring.drift import (
    ACT,
    EPSILON,
    WATCH,
    DriftMonitor,
    DriftReference,
    DriftReferenceError,
    DriftSettings,
    bin_counts,
    level,
    proportions,
    psi,
    quantile_edges,
    reference_dict,
)

NAMES = ("a", "b", "clock")


def _reference(rows: int = 5_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=rows), rng.exponential(size=rows), np.arange(rows, dtype=np.float64)])
    scores = rng.beta(0.5, 20, size=rows)
    return X, scores, reference_dict(NAMES, X, scores, excluded={"clock": "a clock"})


def test_psi_matches_its_formula_on_a_worked_example() -> None:
    expected = np.array([0.25, 0.25, 0.5])
    actual = np.array([0.5, 0.25, 0.25])
    by_hand = (0.5 - 0.25) * math.log(0.5 / 0.25) + 0.0 + (0.25 - 0.5) * math.log(0.25 / 0.5)
    assert psi(expected, actual) == pytest.approx(by_hand)
    # an empty bin counts as EPSILON, so the statistic stays finite
    assert psi(np.array([0.5, 0.5]), np.array([1.0, 0.0])) == pytest.approx(
        (1.0 - 0.5) * math.log(1.0 / 0.5) + (EPSILON - 0.5) * math.log(EPSILON / 0.5)
    )
    with pytest.raises(ValueError, match="same bins"):
        psi(expected, actual[:2])


shares = st.lists(st.integers(min_value=0, max_value=1000), min_size=2, max_size=12).filter(lambda c: sum(c) > 0)


@settings(max_examples=200, deadline=None)
@given(shares, st.data())
def test_psi_is_zero_on_itself_and_positive_otherwise(expected_counts: list[int], data: st.DataObject) -> None:
    actual_counts = data.draw(
        st.lists(st.integers(0, 1000), min_size=len(expected_counts), max_size=len(expected_counts))
    )
    if sum(actual_counts) == 0:
        actual_counts[0] = 1
    expected = np.array(expected_counts) / sum(expected_counts)
    actual = np.array(actual_counts) / sum(actual_counts)
    assert psi(expected, expected) == 0.0
    value = psi(expected, actual)
    assert value >= 0.0  # (a - e) and ln(a / e) always share their sign
    assert value == pytest.approx(psi(actual, expected))  # symmetric by construction


def test_quantile_bins_split_continuous_values_evenly_and_ties_merge() -> None:
    values = np.random.default_rng(1).normal(size=10_000)
    edges = quantile_edges(values, 10)
    assert edges.size == 9
    np.testing.assert_allclose(proportions(edges, values), 0.1, atol=1e-3)
    ties = np.array([0.0] * 900 + [1.0] * 100)  # nine of the ten quantiles are 0
    assert quantile_edges(ties, 10).tolist() == [0.0, 1.0]
    assert bin_counts(np.array([0.0, 1.0]), ties).tolist() == [0, 900, 100]  # edges[k-1] <= v < edges[k]


def test_levels_follow_the_documented_thresholds() -> None:
    assert (WATCH, ACT) == (0.1, 0.25)
    assert [level(v) for v in (0.0, 0.099, 0.1, 0.249, 0.25, 3.0)] == ["ok", "ok", "watch", "watch", "act", "act"]


def test_reference_leaves_out_the_clock_and_reads_back() -> None:
    _, _, data = _reference()
    assert set(data["features"]) == {"a", "b"}
    assert data["excluded"] == {"clock": "a clock"}
    reference = DriftReference.from_dict(data, NAMES)
    assert list(reference.features) == ["a", "b"]
    assert reference.score.expected.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(statistic="ks"), "statistic"),
        (lambda d: d["features"].update(zzz=d["features"]["a"]), "features the model has not"),
        (lambda d: d["features"]["a"].update(edges=[1.0, 0.0, *d["features"]["a"]["edges"][2:]]), "increasing"),
        (lambda d: d["score"].update(expected=d["score"]["expected"][:-1]), "shares"),
        (lambda d: d["score"].update(expected=[0.5] * len(d["score"]["expected"])), "summing to 1"),
        (lambda d: d.pop("score"), "score must be an object"),
        (lambda d: d.update(rows=0), "rows"),
    ],
)
def test_a_broken_reference_is_refused_with_its_reason(change: Any, message: str) -> None:
    _, _, data = _reference()
    change(data)
    with pytest.raises(DriftReferenceError, match=message):
        DriftReference.from_dict(data, NAMES)


def test_the_reference_data_itself_has_no_drift_and_a_shift_has() -> None:
    X, scores, data = _reference(rows=5_000)
    reference = DriftReference.from_dict(data, NAMES)
    monitor = DriftMonitor(reference, NAMES, window=5_000)
    (same,) = monitor.observe_many(X.tolist(), scores.tolist())
    assert same.feature_psi == {"a": 0.0, "b": 0.0}  # same data, same bins: exactly zero
    assert same.score_psi == 0.0
    shifted = X.copy()
    shifted[:, 0] += 1.0  # one standard deviation
    (moved,) = monitor.observe_many(shifted.tolist(), scores.tolist())
    assert moved.max_feature == "a"
    assert moved.feature_psi["a"] > ACT
    assert moved.feature_psi["b"] == 0.0


def test_windows_close_every_window_transactions_one_by_one_or_in_batches() -> None:
    X, scores, data = _reference(rows=2_500, seed=3)
    reference = DriftReference.from_dict(data, NAMES)
    one_by_one = DriftMonitor(reference, NAMES, window=1_000)
    closed = [
        w for row, score in zip(X.tolist(), scores.tolist(), strict=True) if (w := one_by_one.observe(row, score))
    ]
    batched = DriftMonitor(reference, NAMES, window=1_000)
    in_batches = batched.observe_many(X[:700].tolist(), scores[:700].tolist())
    in_batches += batched.observe_many(X[700:].tolist(), scores[700:].tolist())
    assert len(closed) == len(in_batches) == 2
    for a, b in zip(closed, in_batches, strict=True):
        assert a == b
        assert a.transactions == 1_000
    # the window's statistic is the PSI of its own rows' shares, computed directly
    first = closed[0]
    a_bins = reference.features["a"]
    assert first.feature_psi["a"] == pytest.approx(psi(a_bins.expected, proportions(a_bins.edges, X[:1000, 0])))
    assert first.score_psi == pytest.approx(
        psi(reference.score.expected, proportions(reference.score.edges, scores[:1000]))
    )


def test_reset_forgets_the_open_window() -> None:
    X, scores, data = _reference(rows=1_000)
    monitor = DriftMonitor(DriftReference.from_dict(data, NAMES), NAMES, window=1_000)
    monitor.observe_many(X[:10].tolist(), scores[:10].tolist())
    monitor.reset()
    assert monitor.observe_many(X[:990].tolist(), scores[:990].tolist()) == []
    assert len(monitor.observe_many(X[990:].tolist(), scores[990:].tolist())) == 1


def test_settings_default_and_refuse_bad_values() -> None:
    assert DriftSettings.from_env({}) == DriftSettings(True, 1000)
    assert DriftSettings.from_env({"DRIFT_ENABLED": "false", "DRIFT_WINDOW": "250"}) == DriftSettings(False, 250)
    for env, message in (
        ({"DRIFT_ENABLED": "maybe"}, "DRIFT_ENABLED"),
        ({"DRIFT_WINDOW": "ten"}, "not an integer"),
        ({"DRIFT_WINDOW": "10"}, "between 100"),
    ):
        with pytest.raises(ValueError, match=message):
            DriftSettings.from_env(env)
    _, _, data = _reference()
    with pytest.raises(ValueError, match="between 100"):
        DriftMonitor(DriftReference.from_dict(data, NAMES), NAMES, window=5)
