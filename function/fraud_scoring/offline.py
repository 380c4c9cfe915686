"""Batch check -> score -> decide for offline scoring: the same model and policy the service uses.

The offline command (``scoring_cli``) reads files in chunks and hands each chunk here as a float
matrix plus the problems it found while parsing, by row. A row with a problem is not scored and
keeps its message; every other row is scored in one ONNX Runtime call and decided by the policy.
Results are columnar (arrays, and dicts for the few rows with errors or matched rules), so a
chunk of any size costs no Python object per row.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fraud_scoring.model import FraudModel
from fraud_scoring.policy import Policy, PolicyDecision

NOT_SCORED = -1


@dataclass(frozen=True)
class ChunkResult:
    """One chunk's answers, row for row."""

    scores: npt.NDArray[np.float64]  # NaN where the row has an error
    outcome_codes: npt.NDArray[np.int8]  # index into policy.outcomes; NOT_SCORED where the row has an error
    rules: dict[int, tuple[str, ...]]  # rows decided by rules -> the matched rule ids
    errors: dict[int, str]  # rows not scored -> why

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        valid: npt.NDArray[np.bool_] = self.outcome_codes != NOT_SCORED
        return valid

    def decision(self, policy: Policy, i: int) -> PolicyDecision | None:
        code = int(self.outcome_codes[i])
        return None if code == NOT_SCORED else PolicyDecision(policy.outcomes[code], self.rules.get(i, ()))


def row_problems(matrix: npt.NDArray[np.float64], feature_names: Sequence[str]) -> dict[int, str]:
    """A message per row whose features are not all finite numbers (NaN marks a cell that was not one)."""
    problems: dict[int, str] = {}
    # The sum of the whole matrix is finite exactly when every cell is, unless finite values overflow
    # it: one pass with no temporary, and the cell by cell check only when it says something is wrong.
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(matrix)):
            return problems
    finite = np.isfinite(matrix)
    for i in np.flatnonzero(~finite.all(axis=1)).tolist():
        bad_columns = np.flatnonzero(~finite[i]).tolist()
        problems[i] = "; ".join(f"{feature_names[j]}: not a finite number" for j in bad_columns)
    return problems


def score_and_decide(
    model: FraudModel,
    policy: Policy,
    matrix: npt.NDArray[Any],
    errors: Mapping[int, str] | None = None,
    requests: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    features: npt.NDArray[np.float32] | None = None,
    timings: dict[str, float] | None = None,
) -> ChunkResult:
    """Score and decide every row of ``matrix`` that has no error; the others keep their message.

    ``errors`` are problems found while parsing (a text in a number column, a missing cell), by
    row index; non-finite values are found here too. ``requests`` are the request fields per row
    (e.g. ``transaction_id``) that rules may read. ``features`` is ``matrix`` already converted to
    what ONNX Runtime takes (float32, C order), when the caller has it (offline scoring converts in
    its reader thread); rules still see the float64 values. ``timings``, when given, accumulates the
    seconds spent checking, scoring and deciding under ``check``, ``score`` and ``decide``.
    """
    started = time.perf_counter()
    rows = np.asarray(matrix, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != model.n_features:
        raise ValueError(f"expected a matrix of shape (n, {model.n_features}), got {rows.shape}")
    n = rows.shape[0]
    if requests is not None and len(requests) != n:
        raise ValueError(f"{n} rows but {len(requests)} requests")
    if features is not None and (
        features.shape != rows.shape or features.dtype != np.float32 or not features.flags.c_contiguous
    ):
        raise ValueError(f"features must be a C-order float32 matrix of shape {rows.shape}")
    merged = row_problems(rows, model.feature_names)
    for i, message in (errors or {}).items():
        if not 0 <= i < n:
            raise ValueError(f"error for row {i} outside the chunk of {n} rows")
        merged[i] = message  # the parser's message says more than "not a finite number"
    scores = np.full(n, np.nan, dtype=np.float64)
    codes = np.full(n, NOT_SCORED, dtype=np.int8)
    rules: dict[int, tuple[str, ...]] = {}
    checked = time.perf_counter()
    scored = decided = checked
    if len(merged) < n:
        if merged:  # only the valid rows: one copy of them
            ok = np.ones(n, dtype=bool)
            ok[list(merged)] = False
            index: npt.NDArray[np.intp] | None = np.flatnonzero(ok)
            good = rows[index]
            good_features = None if features is None else features[index]
        else:  # every row: no copy (the usual case)
            index = None
            good = rows
            good_features = features
        if good_features is None:  # ONNX Runtime takes float32 in row order: one conversion, into that layout
            good_features = np.asarray(good, dtype=np.float32, order="C")
        good_scores = model.score_array(good_features)
        scored = time.perf_counter()
        good_requests = requests if index is None else None
        if requests is not None and index is not None:
            good_requests = [requests[i] for i in index.tolist()]
        failed: dict[int, str] = {}
        good_codes, matched = policy.decide_codes(good_scores, good, good_requests, failed)
        if index is None:
            scores, codes, rules = good_scores, good_codes, matched
        else:
            scores[index] = good_scores
            codes[index] = good_codes
            rules = {int(index[k]): ids for k, ids in matched.items()}
        for k, message in failed.items():  # the rules failed on this row: an error, not a decision
            row = k if index is None else int(index[k])
            scores[row] = np.nan
            codes[row] = NOT_SCORED
            merged[row] = message
        decided = time.perf_counter()
    if timings is not None:
        for stage, seconds in (("check", checked - started), ("score", scored - checked), ("decide", decided - scored)):
            timings[stage] = timings.get(stage, 0.0) + seconds
    return ChunkResult(scores=scores, outcome_codes=codes, rules=rules, errors=merged)
