"""Decision log lines (``"message": "decision"``, one per scored transaction) read back from log files.

A line may carry a prefix before its JSON object (the emulator's log format, a CloudWatch Logs
export's timestamp): the object is read from the first ``{``. Lines that are not decision lines
(EMF metrics, drift, other logs, text) are skipped and counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_DECODER = json.JSONDecoder()


class DecisionLogError(ValueError):
    """A log file cannot be read (the message names it)."""


@dataclass(frozen=True)
class LoggedDecision:
    transaction_id: str
    at: datetime  # when the decision was logged (UTC)
    outcome: str
    score: float
    model_version: str
    answered_by: str  # "champion" unless a challenger answered (issue 16's A/B mode)


@dataclass
class DecisionLog:
    decisions: dict[str, LoggedDecision] = field(default_factory=dict)  # by transaction id, the latest
    lines: int = 0
    decision_lines: int = 0
    without_transaction_id: int = 0
    repeated: int = 0  # a transaction id decided more than once (client retries): the latest counts
    unreadable: int = 0  # decision lines missing a field


def parse_time(value: Any) -> datetime | None:
    """Powertools' ``2026-11-25 03:42:03,426+0000`` or ISO 8601; None when neither."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace(",", ".")
    for pattern in ("%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z"):
        try:
            return datetime.strptime(text, pattern).astimezone(UTC)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _object_of(line: str) -> dict[str, Any] | None:
    start = line.find("{")
    if start < 0:
        return None
    try:
        found, _ = _DECODER.raw_decode(line, start)
    except json.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None


def read_decision_logs(paths: Iterable[Path]) -> DecisionLog:
    log = DecisionLog()
    for path in paths:
        try:
            handle = path.open(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise DecisionLogError(f"cannot read the decision log {path}: {exc.strerror or exc}") from exc
        with handle:
            for raw in handle:
                log.lines += 1
                line = _object_of(raw)
                if line is None or line.get("message") != "decision":
                    continue
                log.decision_lines += 1
                _add(log, line)
    return log


def _add(log: DecisionLog, line: dict[str, Any]) -> None:
    transaction_id = line.get("transaction_id")
    if not isinstance(transaction_id, str) or not transaction_id:
        log.without_transaction_id += 1
        return
    at = parse_time(line.get("timestamp"))
    outcome = line.get("decision")
    score = line.get("fraud_score")
    if at is None or not isinstance(outcome, str) or not isinstance(score, int | float):
        log.unreadable += 1
        return
    decision = LoggedDecision(
        transaction_id,
        at,
        outcome,
        float(score),
        str(line.get("model_version", "")),
        str(line.get("answered_by") or "champion"),
    )
    known = log.decisions.get(transaction_id)
    if known is not None:
        log.repeated += 1
        if known.at > decision.at:
            return
    log.decisions[transaction_id] = decision
