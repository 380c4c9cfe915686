"""The named data set: seeded, time-ordered, velocity features computed right, a realistic signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fraud_scoring.manifest import Manifest
from training.data import DataError
from training.named_data import NAMED_FEATURE_NAMES, NO_PREVIOUS_TX_MINUTES, generate_named, named_transactions
from training.pipeline import RunConfig, run
from training.train import TrainingParams


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return generate_named(n_rows=100_000, seed=3)


def column(data, name: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.asarray(data.X[:, NAMED_FEATURE_NAMES.index(name)])


def test_velocity_features_match_a_per_card_loop() -> None:
    """Parity: the vectorised windows equal a plain loop over each card's earlier transactions."""
    tx = named_transactions(n_rows=3_000, fraud_rate=0.02, seed=5)
    X, seconds, cards = tx.data.X, tx.seconds, tx.card_ids
    amount = X[:, NAMED_FEATURE_NAMES.index("amount")]
    checked = 0
    for i in range(X.shape[0]):
        earlier = np.flatnonzero((cards == cards[i]) & (seconds < seconds[i]))
        ties = np.flatnonzero((cards == cards[i]) & (seconds == seconds[i]))
        if ties.size > 1:
            continue  # same-second payments of one card: their order is the sort's, skip them
        expected = {}
        for label, window in (("1h", 3_600.0), ("24h", 86_400.0)):
            inside = earlier[seconds[earlier] >= seconds[i] - window]
            expected[f"card_tx_count_{label}"] = float(inside.size)
            expected[f"card_amount_sum_{label}"] = float(amount[inside].sum())
        gap = (seconds[i] - seconds[earlier].max()) / 60.0 if earlier.size else NO_PREVIOUS_TX_MINUTES
        expected["minutes_since_card_last_tx"] = round(min(gap, NO_PREVIOUS_TX_MINUTES), 1)
        for name, value in expected.items():
            assert X[i, NAMED_FEATURE_NAMES.index(name)] == pytest.approx(value, abs=0.011), (i, name)
        checked += 1
    assert checked > 2_900


def test_rows_are_time_ordered_over_two_weeks_and_seeded() -> None:
    tx = named_transactions(n_rows=5_000, seed=1)
    assert np.all(np.diff(tx.seconds) >= 0)
    assert tx.seconds.min() >= 0
    assert tx.seconds.max() < 14 * 86_400
    hour = tx.data.X[:, NAMED_FEATURE_NAMES.index("hour")]
    np.testing.assert_array_equal(hour, np.floor((tx.seconds % 86_400) / 3_600))
    assert generate_named(n_rows=5_000, seed=1).fingerprint() == tx.data.fingerprint()
    assert generate_named(n_rows=5_000, seed=2).fingerprint() != tx.data.fingerprint()


def test_fraud_rate_and_value_ranges(data) -> None:  # type: ignore[no-untyped-def]
    assert data.n_rows == 100_000
    assert data.n_positive == 500  # the generator makes exactly n_rows * fraud_rate frauds
    assert data.feature_names == NAMED_FEATURE_NAMES
    assert column(data, "amount").min() >= 0.5
    assert set(np.unique(column(data, "card_present"))) == {0.0, 1.0}
    assert set(np.unique(column(data, "hour"))) == set(range(24))
    risk = column(data, "merchant_category_risk")
    assert risk.min() > 0
    assert risk.max() < 1
    assert column(data, "distance_from_home_km").min() >= 0


def test_fraud_signal_points_the_way_an_analyst_expects(data) -> None:  # type: ignore[no-untyped-def]
    fraud, legit = data.y == 1, data.y == 0

    def share(mask: np.ndarray, where: np.ndarray) -> float:
        return float(np.mean(mask[where]))

    hour = column(data, "hour")
    night = (hour >= 0) & (hour < 6)
    assert share(night, fraud) > 2.5 * share(night, legit)  # more likely at night
    far = column(data, "distance_from_home_km") > 100
    assert share(far, fraud) > 4 * share(far, legit)  # far from home
    cnp = column(data, "card_present") == 0
    assert share(cnp, fraud) > 0.6 > share(cnp, legit)  # card not present
    busy = column(data, "card_tx_count_1h") >= 2
    assert share(busy, fraud) > 2 * share(busy, legit)  # high velocity
    risky = column(data, "merchant_category_risk") >= 0.4
    assert share(risky, fraud) > 3 * share(risky, legit)  # risky merchant categories
    # ... and no single feature gives it away: each one alone leaves most frauds among legit rows
    assert share(far, legit) * legit.sum() > fraud.sum()
    assert share(cnp, legit) * legit.sum() > 10 * fraud.sum()


def test_generator_rejects_bad_settings() -> None:
    with pytest.raises(DataError, match="n_rows"):
        generate_named(n_rows=10)
    with pytest.raises(DataError, match="fraud_rate"):
        generate_named(fraud_rate=0.7)


@pytest.fixture(scope="module")
def named_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, RunConfig]:
    tmp = tmp_path_factory.mktemp("named")
    config = RunConfig(
        out_dir=tmp / "model",
        report_dir=tmp / "report",
        dataset="named",
        rows=40_000,
        fraud_rate=0.015,
        params=TrainingParams(verbose_every=0),
    )
    return run(config), config


def test_a_trained_model_finds_the_signal_but_not_all_fraud(named_run: tuple[Manifest, RunConfig]) -> None:
    manifest, _ = named_run
    test = manifest.metrics["test"]
    linear = manifest.metrics["baseline_logistic_regression_test"]
    assert manifest.feature_names == NAMED_FEATURE_NAMES
    assert 0.9 < test["roc_auc"] < 0.995  # a strong signal, but ordinary-looking frauds stay hidden
    assert 0.3 < test["average_precision"] < 0.95
    assert test["average_precision"] > 1.5 * linear["average_precision"]
    summary = manifest.training_data["feature_summary"]
    assert list(summary) == list(NAMED_FEATURE_NAMES)
    assert summary["card_present"] == {"quantiles": [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0], "integer": True}


def test_a_named_model_serves_from_its_folder(named_run: tuple[Manifest, RunConfig], tmp_path: Path) -> None:
    from fraud_scoring.model import load_model

    manifest, config = named_run
    model = load_model(config.out_dir)
    assert model.feature_names == NAMED_FEATURE_NAMES
    ordinary = [35.0, 14, 0.02, 3.0, 1, 0, 2, 0.0, 70.0, 300.0]
    spree = [450.0, 3, 0.75, 900.0, 0, 4, 5, 1200.0, 1300.0, 2.0]
    assert model.score_one(ordinary) < manifest.threshold <= model.score_one(spree)
