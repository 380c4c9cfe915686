"""Drift signals: how far live traffic has moved from the validation split, per feature and for the score.

The statistic is the Population Stability Index over the reference's quantile bins:

    PSI = sum over bins of (actual - expected) * ln(actual / expected)

where ``expected`` is a bin's share of the validation split (stored in the model manifest by
training, ``training/drift_reference.py``) and ``actual`` its share of the last window of live
transactions. Empty bins count as ``EPSILON`` on both sides so the logarithm stays finite.
Thresholds (the usual reading of PSI): below ``WATCH`` (0.1) no meaningful shift, ``WATCH`` to
``ACT`` (0.25) a moderate shift worth watching, ``ACT`` and above a major shift: look, retrain.

A :class:`DriftMonitor` keeps the raw rows of one window in a pre-allocated array (a copy per
transaction, a few microseconds) and bins them all when the window closes, every ``window``
transactions seen by this process (one Lambda execution environment, one server worker).

Pure numpy: no web imports; the hosts decide where the numbers go (fraud_api.telemetry, selfhosted.metrics).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fraud_scoring.environment import env_flag

STATISTIC = "psi"
DEFAULT_BINS = 10
EPSILON = 1e-4  # the share an empty bin counts as (both sides), so ln() stays finite
WATCH = 0.1
ACT = 0.25
DEFAULT_WINDOW = 1000
MIN_WINDOW = 100  # below this a window's PSI is mostly sampling noise (about (bins - 1) / window)
MAX_WINDOW = 1_000_000
SCORE = "score"


class DriftReferenceError(ValueError):
    """The manifest's drift reference is missing a part or is inconsistent (the message says which)."""


def quantile_edges(values: np.ndarray, bins: int = DEFAULT_BINS) -> np.ndarray:
    """The inner edges of ``bins`` equal-count bins of ``values`` (fewer when values tie).

    Edges are observed values (``method="higher"``), so tied values all fall in one bin.
    """
    if values.size == 0:
        raise DriftReferenceError("no values to take quantile bins from")
    levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    inner = np.quantile(np.asarray(values, dtype=np.float64), levels, method="higher")
    return np.unique(inner)


def bin_counts(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """How many ``values`` fall in each bin: bin ``k`` holds ``edges[k-1] <= v < edges[k]``."""
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1)


def proportions(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    counts = bin_counts(edges, values)
    return counts / max(int(counts.sum()), 1)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """The Population Stability Index of ``actual`` shares against ``expected`` shares (same bins)."""
    if expected.shape != actual.shape:
        raise ValueError(f"PSI needs the same bins on both sides, got {expected.shape} and {actual.shape}")
    e = np.maximum(expected, EPSILON)
    a = np.maximum(actual, EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def level(value: float) -> str:
    """``ok`` below WATCH, ``watch`` below ACT, else ``act``."""
    return "ok" if value < WATCH else "watch" if value < ACT else "act"


@dataclass(frozen=True)
class Bins:
    edges: np.ndarray  # inner edges, increasing
    expected: np.ndarray  # the reference's share per bin (edges.size + 1 values, summing to 1)


@dataclass(frozen=True)
class DriftReference:
    """The validation split's bins per monitored feature and for the score."""

    features: dict[str, Bins]  # monitored features only (a clock column is left out: it always drifts)
    score: Bins
    rows: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], feature_names: Sequence[str]) -> DriftReference:
        """Read and check the manifest's ``drift_reference`` against the model's features."""
        if not isinstance(data, Mapping):
            raise DriftReferenceError("drift_reference must be an object")
        if data.get("statistic") != STATISTIC:
            raise DriftReferenceError(f"drift_reference.statistic is {data.get('statistic')!r}, want {STATISTIC!r}")
        features = data.get("features")
        if not isinstance(features, Mapping) or not features:
            raise DriftReferenceError("drift_reference.features must be a non-empty object")
        unknown = [name for name in features if name not in feature_names]
        if unknown:
            raise DriftReferenceError(f"drift_reference.features names features the model has not: {unknown[:5]}")
        rows = data.get("rows")
        if not isinstance(rows, int) or rows < 1:
            raise DriftReferenceError(f"drift_reference.rows must be a positive integer, got {rows!r}")
        return cls(
            features={name: _bins(f"features.{name}", features[name]) for name in feature_names if name in features},
            score=_bins(SCORE, data.get(SCORE)),
            rows=rows,
        )


def _bins(where: str, data: Any) -> Bins:
    if not isinstance(data, Mapping):
        raise DriftReferenceError(f"drift_reference.{where} must be an object with edges and expected")
    try:
        edges = np.asarray(data["edges"], dtype=np.float64)
        expected = np.asarray(data["expected"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise DriftReferenceError(f"drift_reference.{where}: edges and expected must be lists of numbers") from exc
    if edges.ndim != 1 or edges.size < 1 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise DriftReferenceError(f"drift_reference.{where}.edges must be finite and strictly increasing")
    if expected.shape != (edges.size + 1,):
        raise DriftReferenceError(f"drift_reference.{where}.expected needs {edges.size + 1} shares (edges + 1)")
    if np.any(expected < 0) or not math.isclose(float(expected.sum()), 1.0, abs_tol=1e-6):
        raise DriftReferenceError(f"drift_reference.{where}.expected must be non-negative shares summing to 1")
    return Bins(edges, expected)


def reference_dict(
    feature_names: Sequence[str],
    X: np.ndarray,
    scores: np.ndarray,
    *,
    bins: int = DEFAULT_BINS,
    excluded: Mapping[str, str] | None = None,
    split: str = "validation",
) -> dict[str, Any]:
    """The manifest's ``drift_reference``: quantile bins of each feature and of the score on ``X``."""
    left_out = dict(excluded or {})
    features: dict[str, Any] = {}
    for position, name in enumerate(feature_names):
        if name not in left_out:
            features[name] = _bins_dict(X[:, position], bins)
    return {
        "statistic": STATISTIC,
        "bins": bins,
        "split": split,
        "rows": int(X.shape[0]),
        "epsilon": EPSILON,
        "thresholds": {"watch": WATCH, "act": ACT},
        "excluded": left_out,
        "features": features,
        SCORE: _bins_dict(scores, bins),
    }


def _bins_dict(values: np.ndarray, bins: int) -> dict[str, list[float]]:
    edges = quantile_edges(values, bins)
    return {"edges": [float(v) for v in edges], "expected": [float(v) for v in proportions(edges, values)]}


@dataclass(frozen=True)
class DriftWindow:
    """The drift statistic of one closed window."""

    transactions: int
    score_psi: float
    feature_psi: dict[str, float]

    @property
    def max_feature(self) -> str:
        return max(self.feature_psi, key=self.feature_psi.__getitem__)

    @property
    def max_feature_psi(self) -> float:
        return self.feature_psi[self.max_feature]

    def as_log(self) -> dict[str, Any]:
        """What the periodic ``drift`` log line carries (statistics only, never feature values)."""
        worst = max(self.score_psi, self.max_feature_psi)
        return {
            "statistic": STATISTIC,
            "window": self.transactions,
            "score_psi": round(self.score_psi, 6),
            "max_feature_psi": round(self.max_feature_psi, 6),
            "max_feature": self.max_feature,
            "drift_level": level(worst),
            "feature_psi": {name: round(value, 6) for name, value in self.feature_psi.items()},
        }


class DriftMonitor:
    """Counts live transactions into windows of ``window`` and computes PSI when one closes."""

    def __init__(self, reference: DriftReference, feature_names: Sequence[str], window: int = DEFAULT_WINDOW) -> None:
        if not MIN_WINDOW <= window <= MAX_WINDOW:
            raise ValueError(f"drift window {window} must be between {MIN_WINDOW} and {MAX_WINDOW} transactions")
        self.reference = reference
        self.window = window
        self._names = list(reference.features)
        self._columns = [list(feature_names).index(name) for name in self._names]
        self._rows = np.empty((window, len(feature_names)), dtype=np.float64)
        self._scores = np.empty(window, dtype=np.float64)
        self._filled = 0

    def reset(self) -> None:
        """Forget the open window (e.g. the SnapStart warm-up's requests)."""
        self._filled = 0

    def observe(self, row: Sequence[float], score: float) -> DriftWindow | None:
        """Count one transaction; the closed window's statistics when this one fills it."""
        filled = self._filled
        self._rows[filled] = row
        self._scores[filled] = score
        filled += 1
        if filled < self.window:
            self._filled = filled
            return None
        self._filled = 0
        return self._close()

    def observe_many(self, rows: Sequence[Sequence[float]], scores: Sequence[float]) -> list[DriftWindow]:
        """Count many transactions (a batch); the windows they closed, in order."""
        closed: list[DriftWindow] = []
        matrix = np.asarray(rows, dtype=np.float64)
        values = np.asarray(scores, dtype=np.float64)
        start = 0
        while start < len(values):
            take = min(self.window - self._filled, len(values) - start)
            self._rows[self._filled : self._filled + take] = matrix[start : start + take]
            self._scores[self._filled : self._filled + take] = values[start : start + take]
            self._filled += take
            start += take
            if self._filled == self.window:
                self._filled = 0
                closed.append(self._close())
        return closed

    def _close(self) -> DriftWindow:
        n = self.window
        reference = self.reference
        feature_psi: dict[str, float] = {}
        for name, column in zip(self._names, self._columns, strict=True):
            bins = reference.features[name]
            feature_psi[name] = psi(bins.expected, bin_counts(bins.edges, self._rows[:, column]) / n)
        score_psi = psi(reference.score.expected, bin_counts(reference.score.edges, self._scores) / n)
        return DriftWindow(n, score_psi, feature_psi)


@dataclass(frozen=True)
class DriftSettings:
    enabled: bool = True
    window: int = DEFAULT_WINDOW

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DriftSettings:
        """``DRIFT_ENABLED`` (default true) and ``DRIFT_WINDOW`` (default 1000); a bad value is an error."""
        env = os.environ if environ is None else environ
        enabled = env_flag("DRIFT_ENABLED", True, env)
        raw_window = (env.get("DRIFT_WINDOW") or "").strip()
        try:
            window = int(raw_window) if raw_window else DEFAULT_WINDOW
        except ValueError:
            raise ValueError(f"DRIFT_WINDOW={raw_window!r} is not an integer") from None
        if not MIN_WINDOW <= window <= MAX_WINDOW:
            raise ValueError(f"DRIFT_WINDOW={window} must be between {MIN_WINDOW} and {MAX_WINDOW} transactions")
        return cls(enabled, window)
