"""Time-ordered split, XGBoost training with early stopping, and a logistic-regression baseline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from training.data import DataError, Dataset

SPLIT_FRACTIONS = (0.6, 0.2, 0.2)  # train, validation, test: in time order, never shuffled


@dataclass(frozen=True)
class Split:
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def time_split(data: Dataset) -> Split:
    """Earliest 60 % to train, next 20 % to validate (early stopping, threshold), latest 20 % to test."""
    n = data.n_rows
    a = int(n * SPLIT_FRACTIONS[0])
    b = int(n * (SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1]))
    split = Split(data.X[:a], data.y[:a], data.X[a:b], data.y[a:b], data.X[b:], data.y[b:])
    for name, y in (("train", split.y_train), ("validation", split.y_val), ("test", split.y_test)):
        if y.sum() == 0:
            raise DataError(f"the {name} split (time-ordered) has no positive rows; more data or more fraud is needed")
    return split


@dataclass(frozen=True)
class TrainingParams:
    seed: int = 7
    n_estimators: int = 600
    learning_rate: float = 0.08
    max_depth: int = 5
    min_child_weight: float = 1.0
    subsample: float = 0.9
    colsample_bytree: float = 0.8
    early_stopping_rounds: int = 40
    threads: int = 2  # fixed so a seed gives the same trees on any machine
    verbose_every: int = 50

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def train_xgboost(split: Split, params: TrainingParams) -> XGBClassifier:
    negatives = float((split.y_train == 0).sum())
    positives = float(split.y_train.sum())
    # Class imbalance: weight positives by sqrt(neg/pos). The full ratio over-flags at ~0.2 %
    # prevalence; the square root keeps recall high without drowning precision.
    scale_pos_weight = float(np.sqrt(negatives / positives))
    model = XGBClassifier(
        n_estimators=params.n_estimators,
        learning_rate=params.learning_rate,
        max_depth=params.max_depth,
        min_child_weight=params.min_child_weight,
        subsample=params.subsample,
        colsample_bytree=params.colsample_bytree,
        scale_pos_weight=scale_pos_weight,
        tree_method="hist",
        objective="binary:logistic",
        eval_metric="aucpr",
        early_stopping_rounds=params.early_stopping_rounds,
        random_state=params.seed,
        n_jobs=params.threads,
    )
    model.fit(
        split.X_train.astype(np.float32),
        split.y_train,
        eval_set=[(split.X_val.astype(np.float32), split.y_val)],
        verbose=params.verbose_every,
    )
    return model


def xgboost_scores(model: XGBClassifier, X: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict_proba(X.astype(np.float32))[:, 1], dtype=np.float64)


def train_logistic_baseline(split: Split, seed: int) -> Any:
    """The linear baseline XGBoost has to beat clearly on the same split."""
    baseline = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2_000, class_weight="balanced", random_state=seed)
    )
    baseline.fit(split.X_train, split.y_train)
    return baseline
