"""The whole run: data -> split -> XGBoost -> threshold -> evaluation -> ONNX + explainer, each with its parity
gates -> layer + report."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np

from fraud_scoring.explain import EXPLAINER_FILE
from fraud_scoring.manifest import MANIFEST_FILE, Manifest, manifest_from_dict, model_version_for
from training.data import MAX_PROBLEMS, Dataset, load_csv
from training.datasets import BUILTIN_DATASETS, DEFAULT_DATASET
from training.drift_reference import drift_reference
from training.evaluate import THRESHOLD_RULE, choose_threshold, evaluate
from training.explain_export import export_explainer
from training.export import (
    INPUT_NAME,
    POSITIVE_CLASS_INDEX,
    PROBABILITY_OUTPUT,
    check_parity,
    to_onnx,
)
from training.policy_proposal import CostModel, propose_bands, write_policy_layer, write_proposal_report
from training.report import write_report
from training.samples import feature_summary
from training.schema import CsvSchema
from training.train import TrainingParams, time_split, train_logistic_baseline, train_xgboost, xgboost_scores

ONNX_FILE = "model.onnx"


@dataclass(frozen=True)
class RunConfig:
    out_dir: Path = Path("layers/model")
    report_dir: Path = Path("training/report")
    csv: Path | None = None
    schema: CsvSchema | None = None  # None: the CSV has the public layout
    dataset: str = DEFAULT_DATASET  # a built-in data set (training.datasets), when no CSV is given
    rows: int = 200_000
    fraud_rate: float | None = None  # None: the built-in data set's default
    min_positives: int = 20
    max_problems: int = MAX_PROBLEMS  # CSV problems listed in the error
    params: TrainingParams = field(default_factory=TrainingParams)
    # The proposed decision policy goes next to the model layer (layers/policy) unless set.
    policy_dir: Path | None = None
    cost_model: CostModel = field(default_factory=CostModel)


def _log(message: str) -> None:
    print(f"[train] {message}", file=sys.stderr, flush=True)


def load_data(config: RunConfig) -> Dataset:
    if config.csv is not None:
        return load_csv(
            config.csv, min_positives=config.min_positives, schema=config.schema, max_problems=config.max_problems
        )
    builtin = BUILTIN_DATASETS[config.dataset]
    fraud_rate = builtin.fraud_rate if config.fraud_rate is None else config.fraud_rate
    return builtin.generate(config.rows, fraud_rate, config.params.seed)


def run(config: RunConfig) -> Manifest:
    started = time.perf_counter()
    data = load_data(config)
    _log(f"data: {data.source}: {data.n_rows:,} rows, {data.n_positive:,} frauds ({data.n_positive / data.n_rows:.3%})")
    split = time_split(data)
    _log(
        f"split by time: train {split.y_train.size:,} / validation {split.y_val.size:,} "
        f"/ test {split.y_test.size:,} rows"
    )

    model = train_xgboost(split, config.params)
    best = int(model.best_iteration)
    _log(f"XGBoost: best iteration {best} (early stopping on validation AUC-PR)")
    val_scores = xgboost_scores(model, split.X_val)
    threshold = choose_threshold(split.y_val, val_scores)
    test_scores = xgboost_scores(model, split.X_test)

    baseline = train_logistic_baseline(split, config.params.seed)
    baseline_scores = np.asarray(baseline.predict_proba(split.X_test)[:, 1], dtype=np.float64)

    onnx_bytes = to_onnx(model, len(data.feature_names))
    parity = check_parity(onnx_bytes, test_scores, split.X_test)
    _log(f"ONNX parity gate passed: max |diff| {parity.max_abs_diff:.2e} over {parity.rows:,} test rows")
    explainer_bytes, explanation = export_explainer(model.get_booster(), best + 1, onnx_bytes, split.X_test)
    _log(
        f"explanation parity gates passed: max |diff| {explanation.max_abs_diff:.2e} against pred_contribs, "
        f"{explanation.logit_max_abs_diff:.2e} against the ONNX log-odds, over {explanation.rows:,} test rows"
    )

    onnx_sha = hashlib.sha256(onnx_bytes).hexdigest()
    libraries = ("xgboost-cpu", "onnxmltools", "onnx", "onnxruntime", "scikit-learn", "numpy")
    manifest = manifest_from_dict(
        {
            "model_version": model_version_for(onnx_sha),
            "onnx_file": ONNX_FILE,
            "onnx_sha256": onnx_sha,
            "feature_names": list(data.feature_names),
            "input_name": INPUT_NAME,
            "probability_output": PROBABILITY_OUTPUT,
            "positive_class_index": POSITIVE_CLASS_INDEX,
            "threshold": threshold,
            "threshold_rule": THRESHOLD_RULE,
            "metrics": {
                "test": evaluate(split.y_test, test_scores, threshold),
                "validation": evaluate(split.y_val, val_scores, threshold),
                "baseline_logistic_regression_test": evaluate(split.y_test, baseline_scores, 0.5),
            },
            "parity": {**parity.as_dict(), **explanation.as_dict()},
            "training_data": {
                "source": data.source,
                "rows": data.n_rows,
                "positives": data.n_positive,
                "sha256": data.fingerprint(),
                **({"csv_schema": data.csv_schema.describe()} if data.csv_schema is not None else {}),
                "split": {
                    "train": int(split.y_train.size),
                    "validation": int(split.y_val.size),
                    "test": int(split.y_test.size),
                },
                # lets events, k6 payloads and examples follow a model trained on any features
                "feature_summary": feature_summary(data.feature_names, split.X_train),
            },
            "training_params": {**config.params.as_dict(), "best_iteration": best},
            "library_versions": {
                "python": platform.python_version(),
                **{lib: version(lib) for lib in libraries},
            },
            "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "explainer_file": EXPLAINER_FILE,
            "explainer_sha256": hashlib.sha256(explainer_bytes).hexdigest(),
            "drift_reference": drift_reference(data, split.X_val, onnx_bytes),
        }
    )

    config.out_dir.mkdir(parents=True, exist_ok=True)
    (config.out_dir / ONNX_FILE).write_bytes(onnx_bytes)
    (config.out_dir / EXPLAINER_FILE).write_bytes(explainer_bytes)
    (config.out_dir / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    seconds = time.perf_counter() - started
    report = write_report(
        config.report_dir, json.loads(manifest.to_json()), split.y_test, test_scores, baseline_scores, seconds
    )
    m = manifest.metrics["test"]
    _log(
        f"model {manifest.model_version}: test ROC-AUC {m['roc_auc']:.4f}, AP {m['average_precision']:.4f}, "
        f"threshold {threshold:.4f} -> precision {m['precision_at_threshold']:.3f} "
        f"recall {m['recall_at_threshold']:.3f}"
    )
    _log(f"wrote {config.out_dir / ONNX_FILE}, {EXPLAINER_FILE}, {MANIFEST_FILE}, {report} in {seconds:.1f} s")
    _propose_policy(config, manifest, split.y_val, val_scores, amounts_of(data.feature_names, split.X_val))
    return manifest


def amounts_of(feature_names: tuple[str, ...] | list[str], X: np.ndarray) -> np.ndarray:
    """Each transaction's amount for the cost model: the feature named amount (any case), else 1.

    Without an amount column a missed fraud costs 1, so costs count transactions (docs/policy.md).
    """
    for position, name in enumerate(feature_names):
        if name.lower() == "amount":
            return np.asarray(X[:, position], dtype=np.float64)
    return np.ones(X.shape[0], dtype=np.float64)


def _propose_policy(
    config: RunConfig, manifest: Manifest, y_val: np.ndarray, scores: np.ndarray, amounts: np.ndarray
) -> None:
    """Bands that minimise the documented cost on validation (training/policy_proposal.py)."""
    proposal = propose_bands(scores, y_val, amounts, config.cost_model)
    document = proposal.document(f"proposed-{manifest.model_version}")
    policy_dir = config.policy_dir if config.policy_dir is not None else config.out_dir.parent / "policy"
    header = (
        f"Proposed by `make train` for model {manifest.model_version} (training/report/policy.md).\n"
        "Edit freely, then run `make policy` to check it and refresh policy.json; see docs/policy.md."
    )
    write_policy_layer(policy_dir, document, header)
    write_proposal_report(config.report_dir, proposal, document)
    bands = ", ".join(f"{b['outcome']} [{b['min']:.4f}, {b['max']:.4f})" for b in document["bands"])
    _log(
        f"policy proposed: {bands}; validation cost {proposal.cost:,.2f} "
        f"(approve all: {proposal.approve_all_cost:,.2f})"
    )
