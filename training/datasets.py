"""The built-in data sets by name: what ``--data`` (``make train DATA=...``) can generate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from training.data import FEATURE_NAMES, LABEL, Dataset, generate_synthetic
from training.named_data import NAMED_FEATURE_NAMES, NAMED_LABEL, generate_named


@dataclass(frozen=True)
class BuiltinDataset:
    name: str
    feature_names: tuple[str, ...]
    label: str
    fraud_rate: float  # the default share of fraud
    generate: Callable[[int, float, int], Dataset]  # (n_rows, fraud_rate, seed) -> Dataset
    summary: str


DEFAULT_DATASET = "synthetic"
BUILTIN_DATASETS: dict[str, BuiltinDataset] = {
    "synthetic": BuiltinDataset(
        "synthetic",
        FEATURE_NAMES,
        LABEL,
        0.002,
        generate_synthetic,
        "the public credit-card layout (Time, V1..V28, Amount): the default model",
    ),
    "named": BuiltinDataset(
        "named",
        NAMED_FEATURE_NAMES,
        NAMED_LABEL,
        0.005,
        generate_named,
        "card transactions with named features (amount, hour, distance from home, velocity, ...)",
    ),
}


def builtin_for_features(feature_names: tuple[str, ...]) -> BuiltinDataset | None:
    """The built-in data set a model with these features was trained on, if any."""
    return next((d for d in BUILTIN_DATASETS.values() if d.feature_names == tuple(feature_names)), None)
