"""Example transactions for any model, from its manifest alone.

A model trained on a built-in data set gets rows of that generator (with their labels). Any other
model (a user's CSV) gets rows drawn from the per-feature quantiles training stored in the manifest
(``training_data.feature_summary``): each feature independently, within the range it had in the
training split. Events, k6 payloads and docs examples use this, so they follow the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from training.datasets import builtin_for_features

SUMMARY_QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)


class SampleError(ValueError):
    """No example rows can be made for this model (the message says why)."""


@dataclass(frozen=True)
class Samples:
    X: np.ndarray  # float64, shape (n, n_features), manifest order
    y: np.ndarray | None  # 0/1 when the rows come from a labelled generator, else None
    source: str


def feature_summary(feature_names: tuple[str, ...], X: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per feature: quantiles (``SUMMARY_QUANTILES``) and whether every value is a whole number."""
    summary: dict[str, dict[str, Any]] = {}
    for j, name in enumerate(feature_names):
        column = X[:, j]
        summary[name] = {
            "quantiles": [float(v) for v in np.quantile(column, SUMMARY_QUANTILES)],
            "integer": bool(np.all(np.equal(np.mod(column, 1.0), 0.0))),
        }
    return summary


def from_summary(feature_names: tuple[str, ...], summary: dict[str, Any], n_rows: int, seed: int) -> np.ndarray:
    """Rows drawn feature by feature from the stored quantiles (piecewise-linear inverse CDF)."""
    rng = np.random.default_rng(seed)
    missing = [name for name in feature_names if name not in summary]
    if missing:
        raise SampleError(f"the manifest's feature_summary has no entry for {', '.join(missing[:5])}")
    X = np.empty((n_rows, len(feature_names)), dtype=np.float64)
    for j, name in enumerate(feature_names):
        entry = summary[name]
        quantiles = np.asarray(entry["quantiles"], dtype=np.float64)
        if quantiles.shape != (len(SUMMARY_QUANTILES),) or not np.all(np.diff(quantiles) >= 0):
            raise SampleError(f"the manifest's feature_summary for {name!r} is not {len(SUMMARY_QUANTILES)} quantiles")
        column = np.interp(rng.uniform(size=n_rows), SUMMARY_QUANTILES, quantiles)
        X[:, j] = np.round(column) if entry.get("integer") else column
    return X


def sample_rows(
    feature_names: tuple[str, ...],
    training_data: dict[str, Any],
    n_rows: int,
    seed: int,
    fraud_rate: float | None = None,
) -> Samples:
    """At least ``n_rows`` example rows for a model with these features (see the module doc).

    ``fraud_rate`` applies to a built-in generator (``None``: its default).
    """
    builtin = builtin_for_features(feature_names)
    if builtin is not None:
        rate = builtin.fraud_rate if fraud_rate is None else fraud_rate
        data = builtin.generate(max(n_rows, 1_000), rate, seed)
        return Samples(data.X, data.y, f"training.datasets.{builtin.name}(seed={seed})")
    summary = training_data.get("feature_summary")
    if not isinstance(summary, dict):
        raise SampleError(
            "the model was not trained on a built-in data set and its manifest has no "
            "training_data.feature_summary (retrain it with this version of `make train`)"
        )
    return Samples(from_summary(feature_names, summary, n_rows, seed), None, f"manifest feature_summary(seed={seed})")
