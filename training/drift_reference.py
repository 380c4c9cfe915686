"""The drift reference training stores in the manifest: quantile bins of every feature and of the score
on the validation split (the data the threshold was chosen on), read by the service's drift monitor
(``fraud_scoring.drift``) with the very same binning code.

The score bins come from the exported ONNX model (what the service computes), not from XGBoost.
A time column that is also a feature (``Time`` in the public layout) is left out: it is a clock,
so live traffic always lies beyond its training range and its PSI would always be high.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fraud_scoring.drift import DEFAULT_BINS, DriftReference, reference_dict
from training.data import FEATURE_NAMES, PUBLIC_SCHEMA, Dataset
from training.export import onnx_scores

CLOCK_REASON = "the time column: a clock, beyond the training range in any live traffic"


def clock_feature(data: Dataset) -> str | None:
    """The time column when it is also a model feature, else None."""
    schema = data.csv_schema
    if schema is None and tuple(data.feature_names) == FEATURE_NAMES:
        schema = PUBLIC_SCHEMA  # the generated stand-in for the public layout
    if schema is not None and schema.time_is_feature and schema.time in data.feature_names:
        return schema.time
    return None


def drift_reference(data: Dataset, X_val: np.ndarray, onnx_bytes: bytes, bins: int = DEFAULT_BINS) -> dict[str, Any]:
    """The manifest's ``drift_reference`` for a model trained on ``data``; checked as the service reads it."""
    clock = clock_feature(data)
    reference = reference_dict(
        data.feature_names,
        X_val,
        onnx_scores(onnx_bytes, X_val),
        bins=bins,
        excluded={clock: CLOCK_REASON} if clock is not None else None,
    )
    DriftReference.from_dict(reference, data.feature_names)
    return reference
