"""ONNX export with onnxmltools and the parity gate that guards it.

The gate scores the held-out rows with ONNX Runtime and with XGBoost itself and refuses the export
when any row differs by more than the tolerance (known converter pitfalls: ``base_score``,
DataFrame-trained feature names). The max absolute difference goes into the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnxruntime as ort
from onnxmltools import convert_xgboost
from onnxmltools.convert.common.data_types import FloatTensorType
from xgboost import XGBClassifier

INPUT_NAME = "input"
PROBABILITY_OUTPUT = "probabilities"
POSITIVE_CLASS_INDEX = 1
PARITY_TOLERANCE = 1e-5
TARGET_OPSET = 15


class ParityError(RuntimeError):
    """ONNX Runtime and XGBoost disagree on at least one row: the export is not trustworthy."""


@dataclass(frozen=True)
class ParityResult:
    rows: int
    max_abs_diff: float
    worst_row: int
    tolerance: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "rows": self.rows,
            "max_abs_diff": self.max_abs_diff,
            "worst_row": self.worst_row,
            "tolerance": self.tolerance,
        }


def to_onnx(model: XGBClassifier, n_features: int) -> bytes:
    """Convert a fitted classifier trained on a plain array (feature names f0..fN, as onnxmltools needs)."""
    onnx_model = convert_xgboost(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        target_opset=TARGET_OPSET,
    )
    # Keep the bytes a pure function of the trees: onnxmltools names the graph with a random UUID.
    onnx_model.graph.name = "fraud_xgboost"
    onnx_model.doc_string = ""
    return bytes(onnx_model.SerializeToString())


def onnx_scores(onnx_bytes: bytes, X: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    (probabilities,) = session.run([PROBABILITY_OUTPUT], {INPUT_NAME: X.astype(np.float32)})
    return np.asarray(probabilities)[:, POSITIVE_CLASS_INDEX].astype(np.float64)


def check_parity(
    onnx_bytes: bytes, reference: np.ndarray, X: np.ndarray, tolerance: float = PARITY_TOLERANCE
) -> ParityResult:
    """Compare ONNX Runtime's scores with the reference (XGBoost's) on every row of ``X``."""
    scores = onnx_scores(onnx_bytes, X)
    if scores.shape != reference.shape:
        raise ParityError(f"ONNX returned {scores.shape[0]} scores for {reference.shape[0]} rows")
    diff = np.abs(scores - reference)
    worst = int(np.argmax(diff))
    result = ParityResult(rows=int(X.shape[0]), max_abs_diff=float(diff[worst]), worst_row=worst, tolerance=tolerance)
    if not np.isfinite(diff).all() or result.max_abs_diff > tolerance:
        raise ParityError(
            f"ONNX Runtime and XGBoost disagree: max |diff| {result.max_abs_diff:.3g} on row {worst} "
            f"(XGBoost {reference[worst]:.8f}, ONNX {scores[worst]:.8f}) exceeds tolerance {tolerance:g}"
        )
    return result
