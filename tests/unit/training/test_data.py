from __future__ import annotations

import numpy as np
import pytest

from training.data import FEATURE_NAMES, LABEL, SECONDS_PER_DAY, generate_synthetic


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return generate_synthetic(n_rows=100_000, fraud_rate=0.002, seed=3)


def test_schema_is_the_public_credit_card_schema(data) -> None:  # type: ignore[no-untyped-def]
    frame = data.to_frame()
    assert list(frame.columns) == ["Time", *[f"V{i}" for i in range(1, 29)], "Amount", "Class"]
    assert data.X.shape == (100_000, len(FEATURE_NAMES))
    assert set(np.unique(frame[LABEL])) == {0, 1}


def test_rows_are_time_ordered_over_two_days(data) -> None:  # type: ignore[no-untyped-def]
    time = data.X[:, 0]
    assert np.all(np.diff(time) >= 0)
    assert time.min() >= 0
    assert time.max() <= 2 * SECONDS_PER_DAY


def test_fraud_rate_matches_the_configuration(data) -> None:  # type: ignore[no-untyped-def]
    # 100k Bernoulli(0.002) draws: mean 200, sd ~14; five sd either side
    assert 130 <= data.n_positive <= 270
    other = generate_synthetic(n_rows=20_000, fraud_rate=0.02, seed=3)
    assert 0.015 < other.n_positive / other.n_rows < 0.025


def test_amounts_are_positive_and_heavy_tailed(data) -> None:  # type: ignore[no-untyped-def]
    amount = data.X[:, -1]
    assert amount.min() > 0
    assert np.percentile(amount, 99.9) > 20 * np.median(amount)
    assert np.mean(amount) > 1.3 * np.median(amount)  # right skew


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = generate_synthetic(n_rows=5_000, seed=1)
    b = generate_synthetic(n_rows=5_000, seed=1)
    c = generate_synthetic(n_rows=5_000, seed=2)
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()


def test_fraud_signal_is_not_a_mean_shift_only(data) -> None:  # type: ignore[no-untyped-def]
    # The ring pattern moves V10/V12/V14 away from the origin in every direction: fraud rows have a
    # much larger radius there while their means stay close to the legitimate ones.
    cols = [FEATURE_NAMES.index(name) for name in ("V10", "V12", "V14")]
    radius = np.linalg.norm(data.X[:, cols], axis=1)
    fraud, legit = data.y == 1, data.y == 0
    far = np.percentile(radius[legit], 99)
    assert np.mean(radius[fraud] > far) > 0.25  # the ring frauds, about a third of all frauds
    v4 = FEATURE_NAMES.index("V4")
    assert abs(data.X[fraud, v4].mean() - data.X[legit, v4].mean()) < 1.0


@pytest.mark.parametrize(("kwargs", "message"), [({"n_rows": 10}, "n_rows"), ({"fraud_rate": 0.0}, "fraud_rate")])
def test_generator_rejects_bad_settings(kwargs: dict[str, float], message: str) -> None:
    from training.data import DataError

    with pytest.raises(DataError, match=message):
        generate_synthetic(**kwargs)  # type: ignore[arg-type]
