"""Training data: a seeded synthetic generator and a validating loader for CSV files.

The generator and the loader's default layout use the public credit-card-fraud schema
(``Time``, ``V1``..``V28``, ``Amount``, ``Class``), ordered by ``Time``. With a
:class:`~training.schema.CsvSchema` the loader reads any CSV of numeric features and a 0/1 label:
the features are the columns that are neither the label, the time column nor ignored, in file order.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from training.schema import CsvSchema

FEATURE_NAMES: tuple[str, ...] = ("Time", *(f"V{i}" for i in range(1, 29)), "Amount")
LABEL = "Class"
SECONDS_PER_DAY = 86_400.0


class DataError(ValueError):
    """The training data cannot be used; the message names the column and line at fault.

    ``problems`` lists each problem found (up to the loader's cap), one line of text each.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems) or [message]


@dataclass(frozen=True)
class Dataset:
    X: np.ndarray  # float64, shape (n, len(feature_names)), rows in time order
    y: np.ndarray  # int8 0/1
    source: str
    feature_names: tuple[str, ...] = FEATURE_NAMES
    csv_schema: CsvSchema | None = None  # how a CSV was read (None: generated data)

    def __post_init__(self) -> None:
        if self.X.ndim != 2 or self.X.shape[1] != len(self.feature_names):
            raise DataError(f"{self.source}: X has shape {self.X.shape} for {len(self.feature_names)} feature names")

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

    def to_frame(self, label: str = LABEL) -> pd.DataFrame:
        frame = pd.DataFrame(self.X, columns=list(self.feature_names))
        frame[label] = self.y.astype(int)
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

# The public data set's layout: exactly Time, V1..V28, Amount and Class; Time orders the rows and is a feature.
PUBLIC_SCHEMA = CsvSchema(label=LABEL, time="Time", time_is_feature=True, exact_features=FEATURE_NAMES)
MAX_PROBLEMS = 20  # problems listed per file; every one is counted
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe", ",": "comma"}
_BOOLEAN_WORDS = {"true", "false", "yes", "no", "y", "n", "t", "f"}
_NAN_WORDS = {"nan", "-nan", "+nan"}


class _Problems:
    """Problems of one file in (line, column) order; the first ``cap`` are listed, all are counted."""

    def __init__(self, path: Path, cap: int) -> None:
        self.path = path
        self.cap = max(1, cap)
        self.total = 0
        self._items: list[tuple[int, int, str]] = []

    def add(self, text: str, line: int = 0, column: int = -1) -> None:
        self.total += 1
        self._items.append((line, column, text))

    def add_cells(self, column: str, position: int, lines: np.ndarray, describe: list[str]) -> None:
        """Bad cells of one column: each is counted, the first ``cap`` are listed."""
        for line, what in zip(lines[: self.cap], describe, strict=False):
            self._items.append((int(line), position, f"column {column!r}, line {int(line)}: {what}"))
        self.total += int(lines.size)

    def raise_if_any(self, hint: str = "") -> None:
        if not self.total:
            return
        listed = [text for _, _, text in sorted(self._items)[: self.cap]]
        tail = f"\nhint: {hint}" if hint else ""
        if self.total == 1:
            raise DataError(f"{self.path}: {listed[0]}{tail}", listed)
        shown = f", the first {len(listed)} listed" if self.total > len(listed) else ""
        body = "\n".join(f"  {text}" for text in listed)
        raise DataError(f"{self.path}: {self.total} problems{shown}:\n{body}{tail}", listed)


def _describe_cell(cell: str) -> str:
    return "value " + _cell_problem(cell)


def _cell_problem(cell: str) -> str:
    text = cell.strip()
    if text == "":
        return "is empty"
    if text.lower() in _NAN_WORDS:
        return "is NaN"
    if text.lower() in {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}:
        return f"is not finite: {cell!r}"
    if text.lower() in _BOOLEAN_WORDS:
        return f"is not a number: {cell!r} (encode yes/no columns as 1/0)"
    try:
        float(text)
    except ValueError:
        return f"is not a number: {cell!r}"
    return f"is not finite: {cell!r}"


def _parse_numbers(
    column: str, position: int, raw: Sequence[str], lines: np.ndarray, problems: _Problems, role: str
) -> np.ndarray | None:
    """The column as float64, or ``None`` after recording every cell that is not a finite number."""
    # to_numeric skips surrounding blanks itself: a .str.strip() pass would double the parse time
    numeric = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numeric))
    if bad.size == 0:
        return np.asarray(numeric, dtype=np.float64)
    if bad.size == numeric.size and role == "feature":
        # A text column (a name, a category): one problem for the column, not one per line.
        problems.add(
            f"column {column!r}, lines {int(lines[0])}-{int(lines[-1])}: no value is a number "
            f"(line {int(lines[0])}: {raw[0]!r}); encode it as numbers or add it to the ignored columns",
            int(lines[0]),
            position,
        )
        return None
    problems.add_cells(column, position, lines[bad], [_describe_cell(raw[i]) for i in bad[: problems.cap]])
    return None


def _parse_time(
    column: str, position: int, raw: Sequence[str], lines: np.ndarray, problems: _Problems
) -> np.ndarray | None:
    """Seconds: numbers as they are, or ISO 8601 date-times (UTC when no offset is given)."""
    cells = pd.Series(raw, dtype=object).str.strip()
    numeric = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
    finite = np.isfinite(numeric)
    if finite.all():
        return np.asarray(numeric, dtype=np.float64)
    if not finite.any():
        stamps = pd.to_datetime(cells, format="ISO8601", utc=True, errors="coerce")
        good = stamps.notna().to_numpy()
        if good.all():
            seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
            return np.asarray(seconds.to_numpy(dtype=np.float64))
        bad = np.flatnonzero(~good)
        what = [f"value is not a number or an ISO 8601 time: {raw[i]!r}" for i in bad[: problems.cap]]
    else:
        bad = np.flatnonzero(~finite)
        what = [_describe_cell(raw[i]) for i in bad[: problems.cap]]
    problems.add_cells(column, position, lines[bad], what)
    return None


def _delimiter_hint(header_line: list[str], delimiter: str) -> str:
    """When the header did not split, name the delimiter it seems to use."""
    if len(header_line) != 1:
        return ""
    text = header_line[0]
    for candidate, name in _OTHER_DELIMITERS.items():
        if candidate != delimiter and candidate in text:
            shown = "tab" if candidate == "\t" else candidate
            return (
                f"the header does not split on {delimiter!r} but contains {text.count(candidate)} {name}(s): "
                f"the file looks {name}-separated; pass DELIMITER={shown!r} (--delimiter, or 'delimiter' in "
                "the schema)"
            )
    return ""


def _read_rows(path: Path, delimiter: str) -> tuple[list[str] | None, list[list[str]], list[int]]:
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    line = 0
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter, skipinitialspace=True)
            header = next(reader, None)
            for row in reader:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                rows.append(row)
                lines.append(line)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    except csv.Error as exc:
        raise DataError(f"{path}: line {line + 1}: not readable as CSV: {exc}") from exc
    return header, rows, lines


def load_csv(
    path: str | Path,
    min_positives: int = 20,
    schema: CsvSchema | None = None,
    max_problems: int = MAX_PROBLEMS,
) -> Dataset:
    """Load a CSV strictly: the public layout (e.g. Kaggle's ``creditcard.csv``) or a user's own schema.

    Every problem in the file is found; :class:`DataError` lists up to ``max_problems`` of them,
    each naming its column and CSV line (the header is line 1), and counts the rest.
    """
    path = Path(path)
    layout = schema if schema is not None else PUBLIC_SCHEMA
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    header_line, rows, row_lines = _read_rows(path, layout.delimiter)
    if header_line is None:
        raise DataError(f"{path}: the file is empty (no header line)")
    header = [name.strip() for name in header_line]
    problems = _Problems(path, max_problems)
    hint = _delimiter_hint(header_line, layout.delimiter)

    # -- the header -----------------------------------------------------------------------------
    for position, name in enumerate(header):
        if not name:
            problems.add(f"line 1 (header): column {position + 1} has no name", 1, position)
    for name in dict.fromkeys(header):
        positions = [str(i + 1) for i, other in enumerate(header) if other == name]
        if name and len(positions) > 1:
            problems.add(
                f"line 1 (header): duplicated column {name!r} (columns {', '.join(positions)})",
                1,
                int(positions[0]) - 1,
            )
    roles = {layout.label: "label"}
    if layout.time is not None:
        roles[layout.time] = "time"
    roles.update({name: "ignore" for name in layout.ignore})
    if layout.exact_features is not None:
        expected = [*layout.exact_features, layout.label]
        missing = [name for name in expected if name not in header]
        if missing:
            problems.add(f"line 1 (header): missing column(s): {', '.join(missing)}", 1)
            if not hint:
                hint = (
                    "without a schema the CSV must have the public layout (Time, V1..V28, Amount, Class); "
                    "for your own columns give LABEL=<0/1 column> [TIME=<column>] [IGNORE=<ids>] or SCHEMA=<file> "
                    "(docs/training.md)"
                )
        extra = [name for name in header if name and name not in expected]
        if extra:
            problems.add(
                f"line 1 (header): unexpected column(s): {', '.join(extra)} (expected exactly {', '.join(expected)})",
                1,
            )
        features = list(layout.exact_features)
    else:
        for name, role in roles.items():
            if name not in header:
                problems.add(f"line 1 (header): the {role} column {name!r} is not in the header ({_list(header)})", 1)
        features = [
            name
            for name in header
            if name and (roles.get(name) is None or (roles[name] == "time" and layout.time_is_feature))
        ]
        if not features:
            problems.add("line 1 (header): no feature columns left after the label, time and ignored columns", 1)
    problems.raise_if_any(hint)
    if not rows:
        raise DataError(f"{path}: no data rows")

    # -- the rows and cells ---------------------------------------------------------------------
    width = len(header)
    good = [i for i, row in enumerate(rows) if len(row) == width]
    if len(good) != len(rows):
        for i, row in enumerate(rows):
            if len(row) != width:
                problems.add(f"line {row_lines[i]}: {len(row)} fields, the header has {width}", row_lines[i])
        rows = [rows[i] for i in good]
        row_lines = [row_lines[i] for i in good]
        if not rows:
            problems.raise_if_any(hint)
    lines = np.asarray(row_lines, dtype=np.int64)
    column_at = {name: i for i, name in enumerate(header)}
    raw_columns = list(zip(*rows, strict=True))

    parsed: dict[str, np.ndarray | None] = {}
    for name in features:
        raw = raw_columns[column_at[name]]
        if name == layout.time:  # a time feature may be ISO 8601 too
            parsed[name] = _parse_time(name, column_at[name], raw, lines, problems)
        else:
            parsed[name] = _parse_numbers(name, column_at[name], raw, lines, problems, "feature")
    label_values = _parse_numbers(
        layout.label, column_at[layout.label], raw_columns[column_at[layout.label]], lines, problems, "label"
    )
    time_values: np.ndarray | None = None
    if layout.time is not None:
        if layout.time in parsed:
            time_values = parsed[layout.time]
        else:
            time_values = _parse_time(
                layout.time, column_at[layout.time], raw_columns[column_at[layout.time]], lines, problems
            )

    # -- whole columns ---------------------------------------------------------------------------
    span = f"lines {int(lines[0])}-{int(lines[-1])}"
    if label_values is not None:
        label_position = column_at[layout.label]
        raw_label = raw_columns[label_position]
        not_binary = np.flatnonzero(~np.isin(label_values, (0.0, 1.0)))
        if not_binary.size:
            problems.add_cells(
                layout.label,
                label_position,
                lines[not_binary],
                [f"label must be 0 or 1, got {raw_label[i]!r}" for i in not_binary[: problems.cap]],
            )
        else:
            n_pos = int(label_values.sum())
            if n_pos in (0, label_values.size):
                only = "0 (no fraud)" if n_pos == 0 else "1 (only fraud)"
                problems.add(f"column {layout.label!r}, {span}: a single class: every row is {only}", 0, label_position)
            elif n_pos < min_positives:
                problems.add(
                    f"column {layout.label!r}, {span}: {n_pos} positive rows; at least {min_positives} are needed "
                    "to train, validate and test on a time-ordered split",
                    0,
                    label_position,
                )
    for name in features:
        values = parsed[name]
        if values is not None and values.size > 1 and float(values.min()) == float(values.max()):
            problems.add(
                f"column {name!r}, {span}: every value is {values[0]:g}: a feature with no variance cannot "
                "help the model (drop it or add it to the ignored columns)",
                0,
                column_at[name],
            )
    problems.raise_if_any(hint)

    columns = [values for name in features if (values := parsed[name]) is not None]
    if label_values is None or len(columns) != len(features):  # raise_if_any() has raised already
        raise AssertionError("a column failed to parse without a recorded problem")
    X = np.column_stack(columns).astype(np.float64)
    y = label_values.astype(np.int8)
    if time_values is not None:
        order = np.argsort(time_values, kind="stable")
        X, y = X[order], y[order]
    return Dataset(
        X=X,
        y=y,
        source=f"csv({path.name})",
        feature_names=tuple(features),
        csv_schema=schema,
    )


def _list(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} columns)" if len(names) > limit else "")
