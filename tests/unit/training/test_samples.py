"""Example rows from a manifest: the stored quantiles reproduce the training distribution."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import FEATURE_NAMES
from training.named_data import NAMED_FEATURE_NAMES, generate_named
from training.samples import SUMMARY_QUANTILES, SampleError, feature_summary, from_summary, sample_rows


def test_quantile_sampling_reproduces_each_feature_distribution() -> None:
    """Property: rows drawn from the summary have (nearly) the summary's quantiles, in its range."""
    data = generate_named(n_rows=20_000, seed=9)
    summary = feature_summary(data.feature_names, data.X)
    X = from_summary(data.feature_names, summary, 50_000, seed=1)
    for j, name in enumerate(data.feature_names):
        stored = np.asarray(summary[name]["quantiles"])
        drawn = np.quantile(X[:, j], [0.25, 0.5, 0.75])
        spread = max(stored[-2] - stored[1], 1e-9)  # the 1 %-99 % range
        assert np.all(np.abs(drawn - stored[3:6]) <= 0.05 * spread + 0.5 * summary[name]["integer"]), name
        assert stored[0] <= X[:, j].min()
        assert X[:, j].max() <= stored[-1]


def test_whole_number_features_stay_whole() -> None:
    data = generate_named(n_rows=5_000, seed=2)
    summary = feature_summary(data.feature_names, data.X)
    assert summary["hour"]["integer"] is True
    assert summary["card_present"]["integer"] is True
    assert summary["amount"]["integer"] is False
    X = from_summary(data.feature_names, summary, 1_000, seed=3)
    hour = X[:, NAMED_FEATURE_NAMES.index("hour")]
    np.testing.assert_array_equal(hour, np.round(hour))
    assert len(summary["amount"]["quantiles"]) == len(SUMMARY_QUANTILES)


def test_built_in_features_get_labelled_generator_rows() -> None:
    samples = sample_rows(FEATURE_NAMES, {}, 2_000, seed=4, fraud_rate=0.05)
    assert samples.y is not None
    assert samples.X.shape == (2_000, len(FEATURE_NAMES))
    assert 0 < samples.y.sum() < 2_000
    named = sample_rows(NAMED_FEATURE_NAMES, {}, 1_000, seed=4)
    assert named.y is not None
    assert named.X.shape[1] == len(NAMED_FEATURE_NAMES)


def test_other_features_need_a_complete_summary() -> None:
    with pytest.raises(SampleError, match=r"no training_data\.feature_summary"):
        sample_rows(("a", "b"), {}, 10, seed=1)
    summary = {"a": {"quantiles": list(range(9)), "integer": True}}
    with pytest.raises(SampleError, match="no entry for b"):
        sample_rows(("a", "b"), {"feature_summary": summary}, 10, seed=1)
    summary["b"] = {"quantiles": [3, 2, 1], "integer": False}
    with pytest.raises(SampleError, match="'b' is not 9 quantiles"):
        sample_rows(("a", "b"), {"feature_summary": summary}, 10, seed=1)
    summary["b"] = {"quantiles": list(range(9)), "integer": False}
    rows = sample_rows(("a", "b"), {"feature_summary": summary}, 10, seed=1)
    assert rows.y is None
    assert rows.X.shape == (10, 2)
