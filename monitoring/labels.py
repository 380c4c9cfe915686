"""The labels file: ``transaction_id,label[,label_time][,amount]`` (CSV with a header row).

The one reader of labels: ``monitoring.performance`` and ``monitoring.compare`` both use it
(docs/monitoring.md, "Labels"). ``label`` is one of ``FRAUD_WORDS`` (a chargeback, a confirmed
fraud) or ``GENUINE_WORDS`` (confirmed genuine), in any case; any other word is an error, never a
silent "genuine". ``label_time`` (ISO 8601) is when the label arrived; ``amount`` the transaction's
amount (chargeback files carry it; decision logs do not). Every bad row is an error naming the file,
its line and its value; a transaction labelled twice keeps its last label.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from monitoring.decision_logs import parse_time

REQUIRED = ("transaction_id", "label")
FRAUD_WORDS = ("1", "true", "yes", "fraud", "chargeback")
GENUINE_WORDS = ("0", "false", "no", "legit", "genuine")
_FRAUD = frozenset(FRAUD_WORDS)
_GENUINE = frozenset(GENUINE_WORDS)
MAX_PROBLEMS = 10


class LabelsError(ValueError):
    """The labels file is missing, lacks a column, or has bad rows (all listed, up to MAX_PROBLEMS)."""


@dataclass(frozen=True)
class Label:
    fraud: bool
    label_time: datetime | None
    amount: float | None


@dataclass(frozen=True)
class Labels:
    by_transaction: dict[str, Label]
    rows: int
    relabelled: int
    has_amount: bool
    has_label_time: bool


def read_labels(path: Path) -> Labels:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise LabelsError(f"cannot read the labels file {path}: {exc.strerror or exc}") from exc
    with handle:
        try:
            labels, rows, relabelled, bad_rows, problems, columns = _read_rows(path, handle)
        except UnicodeDecodeError as exc:
            raise LabelsError(f"{path}: not UTF-8 text ({exc.reason}): is this the labels CSV?") from None
        except csv.Error as exc:
            raise LabelsError(f"{path}: not a readable CSV: {exc}") from None
    if problems:
        more = f" (the first {MAX_PROBLEMS} of {len(problems)} problems)" if len(problems) > MAX_PROBLEMS else ""
        rows_word = "row" if bad_rows == 1 else "rows"
        raise LabelsError(f"{path}: {bad_rows} bad {rows_word}{more}:\n  " + "\n  ".join(problems[:MAX_PROBLEMS]))
    if not labels:
        raise LabelsError(f"{path}: no label rows under the header")
    return Labels(labels, rows, relabelled, "amount" in columns, "label_time" in columns)


def _read_rows(path: Path, handle: TextIO) -> tuple[dict[str, Label], int, int, int, list[str], list[str]]:
    """The labels by transaction, the rows read, relabelled and bad, the problems, the columns."""
    reader = csv.DictReader(handle)
    columns = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise LabelsError(
            f"{path}: the header needs the columns {', '.join(REQUIRED)} (optional: label_time, amount); "
            f"missing {', '.join(missing)}; found {', '.join(columns) or 'no header'}"
        )
    reader.fieldnames = columns
    has_amount = "amount" in columns
    has_label_time = "label_time" in columns
    labels: dict[str, Label] = {}
    problems: list[str] = []
    rows = relabelled = bad_rows = 0
    for row in reader:
        rows += 1
        label = _label_of(row, has_amount, has_label_time, problems, reader.line_num)
        if label is None:
            bad_rows += 1
            continue
        transaction_id = (row.get("transaction_id") or "").strip()
        relabelled += transaction_id in labels
        labels[transaction_id] = label
    return labels, rows, relabelled, bad_rows, problems, columns


def _label_of(
    row: dict[str, str | None], has_amount: bool, has_label_time: bool, problems: list[str], line: int
) -> Label | None:
    transaction_id = (row.get("transaction_id") or "").strip()
    raw_label = (row.get("label") or "").strip().lower()
    before = len(problems)
    if not transaction_id:
        problems.append(f"line {line}: transaction_id is empty")
    if raw_label not in _FRAUD and raw_label not in _GENUINE:
        problems.append(
            f"line {line}: label {row.get('label') or ''!r} is not 1/0 (fraud: {', '.join(FRAUD_WORDS)}; "
            f"genuine: {', '.join(GENUINE_WORDS)})"
        )
    label_time = None
    if has_label_time and (row.get("label_time") or "").strip():
        label_time = parse_time(row.get("label_time"))
        if label_time is None:
            problems.append(f"line {line}: label_time {row.get('label_time')!r} is not an ISO 8601 time")
    amount = None
    if has_amount and (row.get("amount") or "").strip():
        try:
            amount = float(row.get("amount") or "")
        except ValueError:
            amount = math.nan
        if not math.isfinite(amount) or amount < 0:
            problems.append(f"line {line}: amount {row.get('amount')!r} is not a non-negative number")
    if len(problems) > before:
        return None
    return Label(raw_label in _FRAUD, label_time, amount)
