"""Batch check -> score -> decide for offline scoring: the same model and policy the service uses.

The offline command (``scoring_cli``) reads files in chunks and hands each chunk here as a float
matrix plus the per-row problems it found while parsing. A row with a problem is not scored and
keeps its message; every other row is scored in one ONNX Runtime call and decided by the policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fraud_scoring.model import FraudModel
from fraud_scoring.policy import Policy, PolicyDecision


@dataclass(frozen=True)
class ChunkResult:
    """One chunk's answers, row for row: NaN score and no decision where ``errors[i]`` is set."""

    scores: npt.NDArray[np.float64]
    decisions: list[PolicyDecision | None]
    errors: list[str | None]

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        return np.fromiter((e is None for e in self.errors), dtype=bool, count=len(self.errors))


def row_problems(matrix: npt.NDArray[np.float64], feature_names: Sequence[str]) -> list[str | None]:
    """A message per row whose features are not all finite numbers (NaN marks a cell that was not one)."""
    problems: list[str | None] = [None] * matrix.shape[0]
    bad_rows = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
    for i in bad_rows.tolist():
        bad_columns = np.flatnonzero(~np.isfinite(matrix[i]))
        problems[i] = "; ".join(f"{feature_names[j]}: not a finite number" for j in bad_columns.tolist())
    return problems


def score_and_decide(
    model: FraudModel,
    policy: Policy,
    matrix: npt.NDArray[Any],
    errors: Sequence[str | None] | None = None,
    requests: Sequence[Mapping[str, Any] | None] | None = None,
) -> ChunkResult:
    """Score and decide every row of ``matrix`` that has no error; the others keep their message.

    ``errors`` are problems found while parsing (a text in a number column, a missing cell);
    non-finite values are found here too. ``requests`` are the request fields per row (e.g.
    ``transaction_id``) that rules may read.
    """
    rows = np.asarray(matrix, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != model.n_features:
        raise ValueError(f"expected a matrix of shape (n, {model.n_features}), got {rows.shape}")
    n = rows.shape[0]
    if errors is not None and len(errors) != n:
        raise ValueError(f"{n} rows but {len(errors)} error entries")
    found = row_problems(rows, model.feature_names)
    merged: list[str | None] = [
        (errors[i] if errors is not None and errors[i] is not None else found[i]) for i in range(n)
    ]
    ok = np.fromiter((e is None for e in merged), dtype=bool, count=n)
    scores = np.full(n, np.nan, dtype=np.float64)
    decisions: list[PolicyDecision | None] = [None] * n
    index = np.flatnonzero(ok)
    if index.size:
        good = rows[index]
        good_scores = np.asarray(model.score_many(good.astype(np.float32)), dtype=np.float64)
        scores[index] = good_scores
        good_requests = [requests[i] for i in index.tolist()] if requests is not None else None
        for i, decision in zip(index.tolist(), policy.decide_many(good_scores, good, good_requests), strict=True):
            decisions[i] = decision
    return ChunkResult(scores=scores, decisions=decisions, errors=merged)
