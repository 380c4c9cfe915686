"""Evaluation on the held-out split and the threshold rule.

Threshold rule (documented in the manifest as ``threshold_rule``): the score that maximises F1 on
the *validation* split, so the test split stays untouched until the final report.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

THRESHOLD_RULE = "max F1 on the validation split (time-ordered, before the test split)"
FPR_TARGETS = (0.001, 0.01)


def choose_threshold(y_true: np.ndarray, scores: np.ndarray) -> float:
    precision, recall, thresholds = precision_recall_curve(y_true, scores)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    best = int(np.argmax(f1[:-1]))  # the last point has no threshold
    threshold = float(thresholds[best])
    # A threshold of exactly 0 or 1 would flag everything or nothing; keep it strictly inside.
    return float(np.clip(threshold, 1e-6, 1 - 1e-6))


def recall_at_fpr(y_true: np.ndarray, scores: np.ndarray, fpr_target: float) -> float:
    fpr, tpr, _ = roc_curve(y_true, scores)
    within = fpr <= fpr_target
    return float(tpr[within].max()) if within.any() else 0.0


def evaluate(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    flagged = scores >= threshold
    positives = y_true == 1
    tp = int(np.sum(flagged & positives))
    fp = int(np.sum(flagged & ~positives))
    fn = int(np.sum(~flagged & positives))
    tn = int(np.sum(~flagged & ~positives))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    metrics: dict[str, Any] = {
        "rows": int(y_true.size),
        "positives": int(positives.sum()),
        "roc_auc": float(roc_auc_score(y_true, scores)),
        "average_precision": float(average_precision_score(y_true, scores)),
        "precision_at_threshold": precision,
        "recall_at_threshold": recall,
        "f1_at_threshold": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "confusion_at_threshold": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
    }
    for target in FPR_TARGETS:
        metrics[f"recall_at_fpr_{target:g}"] = recall_at_fpr(y_true, scores, target)
    return {key: (round(value, 6) if isinstance(value, float) else value) for key, value in metrics.items()}
