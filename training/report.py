"""Markdown report with ROC, precision-recall and score-distribution plots for one training run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers or CI
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve


def _roc(path: Path, y: np.ndarray, curves: dict[str, np.ndarray]) -> None:
    fig, ax = plt.subplots(figsize=(5, 4.2), dpi=100)
    for name, scores in curves.items():
        fpr, tpr, _ = roc_curve(y, scores)
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set(xlabel="false-positive rate (symlog)", ylabel="true-positive rate", title="ROC, test split")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _pr(path: Path, y: np.ndarray, curves: dict[str, np.ndarray], threshold: float, scores: np.ndarray) -> None:
    fig, ax = plt.subplots(figsize=(5, 4.2), dpi=100)
    for name, s in curves.items():
        precision, recall, _ = precision_recall_curve(y, s)
        ax.plot(recall, precision, label=name)
    flagged = scores >= threshold
    tp = float(np.sum(flagged & (y == 1)))
    ax.scatter(
        [tp / max(y.sum(), 1)],
        [tp / max(flagged.sum(), 1)],
        c="red",
        zorder=3,
        label=f"threshold {threshold:.3f}",
    )
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, test split", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _distribution(path: Path, y: np.ndarray, scores: np.ndarray, threshold: float) -> None:
    fig, ax = plt.subplots(figsize=(5, 4.2), dpi=100)
    ax.hist(scores[y == 0], bins=50, range=(0.0, 1.0), alpha=0.6, label="legitimate", log=True)
    ax.hist(scores[y == 1], bins=50, range=(0.0, 1.0), alpha=0.8, label="fraud", log=True)
    ax.axvline(threshold, c="red", ls="--", label="threshold")
    ax.set(xlabel="fraud score", ylabel="transactions (log)", title="Score distribution by class, test split")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(
    out_dir: Path,
    manifest: dict[str, Any],
    y_test: np.ndarray,
    scores: np.ndarray,
    baseline_scores: np.ndarray,
    seconds: float,
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    threshold = float(manifest["threshold"])
    curves = {"XGBoost": scores, "logistic regression": baseline_scores}
    _roc(out_dir / "roc.png", y_test, curves)
    _pr(out_dir / "precision_recall.png", y_test, curves, threshold, scores)
    _distribution(out_dir / "score_distribution.png", y_test, scores, threshold)

    m = manifest["metrics"]["test"]
    base = manifest["metrics"]["baseline_logistic_regression_test"]
    data = manifest["training_data"]
    lines = [
        f"# Model report: `{manifest['model_version']}`",
        "",
        f"Created {manifest['created_at']} from {data['source']} ({data['rows']:,} rows, "
        f"{data['positives']:,} frauds; fingerprint `{data['sha256'][:16]}`), trained in {seconds:.1f} s.",
        "",
        f"Threshold **{threshold:.6f}**: {manifest['threshold_rule']}.",
        "",
        f"Features ({len(manifest['feature_names'])}, the API's order): "
        + ", ".join(f"`{name}`" for name in manifest["feature_names"])
        + ".",
        "",
        "| test split (latest 20 % by time) | XGBoost | logistic regression |",
        "|---|---|---|",
        f"| ROC-AUC | {m['roc_auc']:.4f} | {base['roc_auc']:.4f} |",
        f"| average precision | {m['average_precision']:.4f} | {base['average_precision']:.4f} |",
        f"| recall at 0.1 % FPR | {m['recall_at_fpr_0.001']:.3f} | {base['recall_at_fpr_0.001']:.3f} |",
        f"| recall at 1 % FPR | {m['recall_at_fpr_0.01']:.3f} | {base['recall_at_fpr_0.01']:.3f} |",
        f"| precision at threshold | {m['precision_at_threshold']:.3f} | - |",
        f"| recall at threshold | {m['recall_at_threshold']:.3f} | - |",
        "",
        f"Test rows: {m['rows']:,}, of which {m['positives']} fraud; at the threshold "
        f"TP {m['confusion_at_threshold']['tp']}, FP {m['confusion_at_threshold']['fp']}, "
        f"FN {m['confusion_at_threshold']['fn']}.",
        "",
        f"ONNX parity: max |ONNX Runtime - XGBoost| = {manifest['parity']['max_abs_diff']:.2e} over "
        f"{manifest['parity']['rows']:,} test rows (gate: {manifest['parity']['tolerance']:g}).",
        *_explanation_parity(manifest["parity"]),
        "",
        "![ROC](roc.png) ![Precision-recall](precision_recall.png) ![Scores](score_distribution.png)",
        "",
    ]
    report = out_dir / "README.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report


def _explanation_parity(parity: dict[str, Any]) -> list[str]:
    if "explanation_max_abs_diff" not in parity:
        return []
    return [
        f"Explanation parity (TreeSHAP, `explainer.npz`): max |explainer - XGBoost pred_contribs| = "
        f"{parity['explanation_max_abs_diff']:.2e} per feature (gate: {parity['explanation_tolerance']:g}); "
        f"max |bias + contributions - ONNX log-odds| = {parity['explanation_logit_max_abs_diff']:.2e} "
        f"(gate: {parity['explanation_logit_tolerance']:g}).",
    ]
