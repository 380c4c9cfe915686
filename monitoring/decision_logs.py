"""Decision log lines (``"message": "decision"``, one per scored transaction) read back from log files.

The one reader of the service's decision logs: ``monitoring.performance`` and ``monitoring.compare``
both use it. The formats it reads, as they are (docs/monitoring.md, "Decision logs"):

- the self-hosted server's and the Lambda function's own lines: one JSON object per line;
- the emulator's (``make serve``) and CloudWatch Logs exports: a prefix (a time, a level, a logger
  name, a log stream) before the object, or text after it (``aws logs filter-log-events --output
  text``): the object is decoded from the first ``{`` that starts one, whatever follows it.

Lines without a JSON object (text) and objects of other messages (EMF metrics, drift, access logs)
are skipped and counted. A decision line lacking its time, outcome or score is counted unreadable
and left out; so is one whose challenger fields are incomplete. A transaction id decided more than
once (a client retry) counts once, with its latest decision; lines without a transaction id are
kept apart (they cannot be joined with labels, nor told apart from a retry).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_DECODER = json.JSONDecoder()
UNKNOWN_VERSION = "unknown"  # a decision line without its model version


class DecisionLogError(ValueError):
    """A log file cannot be read (the message names it)."""


@dataclass(frozen=True)
class ChallengerResult:
    """The challenger's side of a challenged decision (shadow or A/B mode, docs/rollout.md)."""

    model_version: str
    score: float
    outcome: str


@dataclass(frozen=True)
class LoggedDecision:
    transaction_id: str | None
    at: datetime  # when the decision was logged (UTC)
    outcome: str
    score: float
    model_version: str
    answered_by: str  # "champion" unless a challenger answered (issue 16's A/B mode)
    challenger: ChallengerResult | None = None


@dataclass
class DecisionLog:
    decisions: dict[str, LoggedDecision] = field(default_factory=dict)  # by transaction id, the latest
    without_id: list[LoggedDecision] = field(default_factory=list)  # readable, but no transaction id
    lines: int = 0
    text_lines: int = 0  # non-blank lines without a JSON object
    other_lines: int = 0  # JSON objects that are not decision lines (EMF, drift, access logs)
    decision_lines: int = 0
    repeated: int = 0  # a transaction id decided more than once (client retries): the latest counts
    unreadable: int = 0  # decision lines missing a field, or with a malformed one

    @property
    def without_transaction_id(self) -> int:
        return len(self.without_id)

    def transactions(self) -> Iterator[LoggedDecision]:
        """Every transaction once: the latest decision per id, then the decisions without an id."""
        yield from self.decisions.values()
        yield from self.without_id


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


def json_object_of(line: str) -> dict[str, Any] | None:
    """The first JSON object on a line, wherever it starts (after a prefix that may hold braces)
    and whatever follows it; None when the line holds none."""
    start = line.find("{")
    while start >= 0:
        try:
            found, _ = _DECODER.raw_decode(line, start)
        except json.JSONDecodeError:
            found = None
        if isinstance(found, dict):
            return found
        start = line.find("{", start + 1)
    return None


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
                line = json_object_of(raw)
                if line is None:
                    log.text_lines += bool(raw.strip())
                    continue
                if line.get("message") != "decision":
                    log.other_lines += 1
                    continue
                log.decision_lines += 1
                _add(log, line)
    return log


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _version(value: Any) -> str:
    return value if isinstance(value, str) and value else UNKNOWN_VERSION


class _UnreadableLineError(ValueError):
    """A decision line lacks a field the tools need, or has it malformed."""


def _challenger_of(line: dict[str, Any]) -> ChallengerResult | None:
    """The challenger's result; None when the line has none."""
    outcome, raw_score = line.get("challenger_decision"), line.get("challenger_score")
    if outcome is None and raw_score is None:
        return None
    score = _number(raw_score)
    if not isinstance(outcome, str) or not outcome or score is None:
        raise _UnreadableLineError
    return ChallengerResult(_version(line.get("challenger_model_version")), score, outcome)


def _decision_of(line: dict[str, Any]) -> LoggedDecision:
    at = parse_time(line.get("timestamp"))
    outcome = line.get("decision")
    score = _number(line.get("fraud_score"))
    if at is None or not isinstance(outcome, str) or not outcome or score is None:
        raise _UnreadableLineError
    transaction_id = line.get("transaction_id")
    return LoggedDecision(
        transaction_id if isinstance(transaction_id, str) and transaction_id else None,
        at,
        outcome,
        score,
        _version(line.get("model_version")),
        str(line.get("answered_by") or "champion"),
        _challenger_of(line),
    )


def _add(log: DecisionLog, line: dict[str, Any]) -> None:
    try:
        decision = _decision_of(line)
    except _UnreadableLineError:
        log.unreadable += 1
        return
    if decision.transaction_id is None:
        log.without_id.append(decision)
        return
    known = log.decisions.get(decision.transaction_id)
    if known is not None:
        log.repeated += 1
        if known.at > decision.at:
            return
    log.decisions[decision.transaction_id] = decision
