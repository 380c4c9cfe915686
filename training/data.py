"""Training data: a seeded synthetic generator and a validating loader for real CSV files.

Both produce a :class:`Dataset` with the public credit-card-fraud schema
(``Time``, ``V1``..``V28``, ``Amount``, ``Class``), ordered by ``Time``.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

FEATURE_NAMES: tuple[str, ...] = ("Time", *(f"V{i}" for i in range(1, 29)), "Amount")
LABEL = "Class"
SECONDS_PER_DAY = 86_400.0


class DataError(ValueError):
    """The training data cannot be used; the message names the column or row at fault."""


@dataclass(frozen=True)
class Dataset:
    X: np.ndarray  # float64, shape (n, len(FEATURE_NAMES)), rows ordered by Time
    y: np.ndarray  # int8 0/1
    source: str

    @property
    def n_rows(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_positive(self) -> int:
        return int(self.y.sum())

    def fingerprint(self) -> str:
        """sha256 over the exact feature and label values: identical data, identical fingerprint."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.X, dtype="<f8").tobytes())
        digest.update(np.ascontiguousarray(self.y, dtype="i1").tobytes())
        return digest.hexdigest()

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.X, columns=list(FEATURE_NAMES))
        frame[LABEL] = self.y.astype(int)
        return frame


# --------------------------------------------------------------------------- synthetic data


def generate_synthetic(n_rows: int = 200_000, fraud_rate: float = 0.002, seed: int = 7) -> Dataset:
    """A seeded stand-in for the Kaggle data set, with a fraud signal a linear model cannot see well.

    - ``Time``: seconds over two days, sorted, with a day/night traffic cycle.
    - ``V1``..``V28``: PCA-like components, variance decreasing with the index, mildly correlated.
    - ``Amount``: heavy-tailed (log-normal body plus a Pareto tail).
    - Fraud comes from three patterns mixed together, each spread over several features:
      a *ring* (V10, V12, V14 far from the origin in any direction: zero mean shift),
      an *xor* (V4 and V11 large with the same sign, V3 opposite: zero mean shift), and
      *night card-testing* (small amounts between 01:00 and 05:00 with V17 and V7 pushed out),
      plus a weak linear shift of V1 shared by all three.
      About 10 % of frauds look like ordinary traffic: no model catches everything.
    """
    if n_rows < 1_000:
        raise DataError(f"n_rows must be at least 1000, got {n_rows}")
    if not 0.0 < fraud_rate < 0.5:
        raise DataError(f"fraud_rate must be in (0, 0.5), got {fraud_rate}")
    rng = np.random.default_rng(seed)
    n_features = len(FEATURE_NAMES)

    # Time: two days, more traffic by day than by night (thinning of a uniform draw).
    draws = rng.uniform(0.0, 2 * SECONDS_PER_DAY, size=n_rows * 3)
    day_phase = (draws % SECONDS_PER_DAY) / SECONDS_PER_DAY
    keep = rng.uniform(size=draws.size) < 0.35 + 0.65 * np.sin(np.pi * day_phase) ** 2
    time = np.sort(draws[keep][:n_rows])
    if time.size < n_rows:  # practically impossible; keeps the shape exact
        time = np.sort(np.concatenate([time, rng.uniform(0, 2 * SECONDS_PER_DAY, n_rows - time.size)]))

    # V1..V28: decreasing scales, a little shared structure between neighbours.
    scales = np.linspace(2.0, 0.3, 28)
    latent = rng.standard_normal((n_rows, 28))
    components = latent * scales + 0.25 * np.roll(latent, 1, axis=1) * scales

    amount = np.exp(rng.normal(3.2, 1.1, n_rows))
    tail = rng.uniform(size=n_rows) < 0.02
    amount[tail] += (rng.pareto(1.6, tail.sum()) + 1.0) * 400.0

    y = (rng.uniform(size=n_rows) < fraud_rate).astype(np.int8)
    fraud_idx = np.flatnonzero(y)
    pattern = rng.choice(4, size=fraud_idx.size, p=[0.35, 0.3, 0.25, 0.1])

    def v(i: int) -> int:  # column of V<i> inside `components`
        return i - 1

    ring = fraud_idx[pattern == 0]
    if ring.size:
        direction = rng.standard_normal((ring.size, 3))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        radius = rng.normal(5.5, 0.6, (ring.size, 1))
        for k, col in enumerate((v(10), v(12), v(14))):
            components[ring, col] = direction[:, k] * radius[:, 0] * scales[col] / scales[v(10)] * 1.4

    xor = fraud_idx[pattern == 1]
    if xor.size:
        sign = rng.choice([-1.0, 1.0], size=xor.size)
        components[xor, v(4)] = sign * rng.normal(3.0, 0.5, xor.size) * scales[v(4)]
        components[xor, v(11)] = sign * rng.normal(3.0, 0.5, xor.size) * scales[v(11)]
        components[xor, v(3)] = -sign * rng.normal(2.0, 0.5, xor.size) * scales[v(3)]

    night = fraud_idx[pattern == 2]
    if night.size:
        day = np.floor(time[night] / SECONDS_PER_DAY)
        time[night] = day * SECONDS_PER_DAY + rng.uniform(3_600, 5 * 3_600, night.size)
        amount[night] = rng.uniform(0.5, 3.0, night.size)
        components[night, v(17)] = rng.choice([-1.0, 1.0], night.size) * rng.normal(2.5, 0.4, night.size)
        components[night, v(7)] = rng.normal(-1.5, 0.5, night.size) * scales[v(7)]
    # pattern 3: fraud that looks like ordinary traffic (left unchanged on purpose)
    # A weak linear trace shared by the detectable patterns (as V14 is in the real data), so a
    # linear model finds something, just far less than the trees do.
    visible = fraud_idx[pattern != 3]
    components[visible, v(1)] -= rng.normal(1.2, 0.4, visible.size) * scales[v(1)]

    X = np.empty((n_rows, n_features), dtype=np.float64)
    X[:, 0] = time
    X[:, 1:29] = components
    X[:, 29] = np.round(amount, 2)
    order = np.argsort(X[:, 0], kind="stable")  # night frauds moved in time: keep rows time-ordered
    return Dataset(X=X[order], y=y[order], source=f"synthetic(n_rows={n_rows}, fraud_rate={fraud_rate}, seed={seed})")


# --------------------------------------------------------------------------- CSV loading


def load_csv(path: str | Path, min_positives: int = 20) -> Dataset:
    """Load a CSV of the credit-card-fraud schema (e.g. Kaggle's ``creditcard.csv``), strictly.

    Every problem raises :class:`DataError` naming the column and, for cell problems, the CSV
    line number (the header is line 1).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV file: {exc}") from exc

    expected = [*FEATURE_NAMES, LABEL]
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        header = [name.strip() for name in next(csv.reader(handle), [])]
    columns = [str(c) for c in frame.columns]  # pandas renames a repeated "V1" to "V1.1"
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise DataError(f"{path}: duplicated column(s): {', '.join(duplicated)}")
    missing = [c for c in expected if c not in columns]
    if missing:
        raise DataError(f"{path}: missing column(s): {', '.join(missing)}")
    extra = [c for c in columns if c not in expected]
    if extra:
        raise DataError(f"{path}: unexpected column(s): {', '.join(extra)} (expected exactly {', '.join(expected)})")
    if frame.empty:
        raise DataError(f"{path}: no data rows")

    values = np.empty((len(frame), len(expected)), dtype=np.float64)
    for j, column in enumerate(expected):
        raw = frame[column]
        numeric = pd.to_numeric(raw.str.strip(), errors="coerce")
        bad = numeric.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            cell = raw.iloc[i]
            problem = "is empty" if cell.strip() == "" else f"is not a number: {cell!r}"
            if cell.strip().lower() in {"nan", "-nan", "+nan"}:
                problem = "is NaN"
            raise DataError(f"{path}: column {column!r}, line {i + 2}: value {problem}")
        arr = numeric.to_numpy(dtype=np.float64)
        not_finite = ~np.isfinite(arr)
        if not_finite.any():
            i = int(np.flatnonzero(not_finite)[0])
            raise DataError(f"{path}: column {column!r}, line {i + 2}: value is not finite: {raw.iloc[i]!r}")
        values[:, j] = arr

    labels = values[:, -1]
    not_binary = ~np.isin(labels, (0.0, 1.0))
    if not_binary.any():
        i = int(np.flatnonzero(not_binary)[0])
        raise DataError(f"{path}: column {LABEL!r}, line {i + 2}: label must be 0 or 1, got {frame[LABEL].iloc[i]!r}")
    n_pos = int(labels.sum())
    if n_pos == 0 or n_pos == labels.size:
        only = "0 (no fraud)" if n_pos == 0 else "1 (only fraud)"
        raise DataError(f"{path}: column {LABEL!r} has a single class: every row is {only}")
    if n_pos < min_positives:
        raise DataError(
            f"{path}: column {LABEL!r} has {n_pos} positive rows; at least {min_positives} are needed "
            "to train, validate and test on a time-ordered split"
        )
    X = values[:, :-1]
    order = np.argsort(X[:, 0], kind="stable")
    return Dataset(X=X[order], y=labels[order].astype(np.int8), source=f"csv({path.name})")
