"""Champion vs challenger on the same traffic, from decision logs: ``python -m monitoring.compare``.

Reads decision log lines (``"message": "decision"``) with ``monitoring.decision_logs``, the reader
``monitoring.performance`` uses: the emulator's, the self-hosted server's or CloudWatch's exported
logs, prefixes and all; a transaction decided more than once counts once, with its latest decision.
For every (champion, challenger) pair of model versions it reports:

- agreement: the share of transactions both models sent to the same outcome;
- flips by direction: the outcome matrix, with escalations (the challenger's outcome is riskier in
  the policy's order) and relaxations (less risky) counted apart;
- the score difference (challenger - champion) distribution: mean, spread, quantiles, histogram;
- who answered (A/B): transactions per ``answered_by``;
- with ``--labels`` (read by ``monitoring.labels``: ``transaction_id,label``, 1 = fraud), each
  model's precision and recall on the same labelled transactions, a transaction counting as caught
  when its outcome is not the lowest-risk one, plus the served answer's (the A/B mix).

Writes ``report.json`` and ``report.md`` under ``--out``. The AWS equivalent is the Logs Insights
queries the template ships (``ChallengerOutcomesQuery``, ``ChallengerScoresQuery``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitoring.decision_logs import DecisionLog, DecisionLogError, read_decision_logs
from monitoring.labels import LabelsError, read_labels

DEFAULT_POLICY = Path("layers/policy/policy.json")
DEFAULT_OUTCOMES = ("APPROVE", "REVIEW", "DECLINE")
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_EDGES = (-1.0, -0.5, -0.2, -0.1, -0.05, -0.01, -0.001, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0)


class CompareError(ValueError):
    """A policy file or an outcome the report cannot use (the message names it)."""


@dataclass(frozen=True)
class Pair:
    """One transaction decided by both models."""

    transaction_id: str | None
    champion_score: float
    champion_outcome: str
    challenger_score: float
    challenger_outcome: str
    answered_by: str


def challenged_pairs(log: DecisionLog) -> dict[tuple[str, str], list[Pair]]:
    """The challenged transactions of ``log``, grouped by (champion, challenger) model version."""
    pairs: dict[tuple[str, str], list[Pair]] = {}
    for decision in log.transactions():
        theirs = decision.challenger
        if theirs is None:
            continue
        pair = Pair(
            decision.transaction_id,
            decision.score,
            decision.outcome,
            theirs.score,
            theirs.outcome,
            decision.answered_by,
        )
        pairs.setdefault((decision.model_version, theirs.model_version), []).append(pair)
    return pairs


def policy_outcomes(path: Path) -> tuple[str, ...]:
    """The policy's outcomes, lowest risk first (the order flips are measured in)."""
    if not path.is_file():
        return DEFAULT_OUTCOMES
    try:
        outcomes = json.loads(path.read_text(encoding="utf-8"))["document"]["outcomes"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CompareError(f"{path}: not a checked policy file with document.outcomes ({exc})") from None
    return tuple(str(outcome) for outcome in outcomes)


def _rank(outcomes: Sequence[str], outcome: str) -> int:
    try:
        return outcomes.index(outcome)
    except ValueError:
        raise CompareError(f"outcome {outcome!r} is not one of the policy's {', '.join(outcomes)}") from None


def _precision_recall(caught: Iterable[bool], frauds: Iterable[bool]) -> dict[str, Any]:
    pairs = list(zip(caught, frauds, strict=True))
    true_positives = sum(c and f for c, f in pairs)
    flagged = sum(c for c, _ in pairs)
    positives = sum(f for _, f in pairs)
    return {
        "flagged": flagged,
        "frauds": positives,
        "caught": true_positives,
        "precision": true_positives / flagged if flagged else None,
        "recall": true_positives / positives if positives else None,
    }


def compare_pairs(pairs: Sequence[Pair], outcomes: Sequence[str], labels: Mapping[str, bool] | None) -> dict[str, Any]:
    """The report for one (champion, challenger) pair of versions."""
    n = len(pairs)
    matrix: Counter[tuple[str, str]] = Counter((p.champion_outcome, p.challenger_outcome) for p in pairs)
    escalations = relaxations = 0
    for (mine, theirs), count in matrix.items():
        step = _rank(outcomes, theirs) - _rank(outcomes, mine)
        escalations += count if step > 0 else 0
        relaxations += count if step < 0 else 0
    agreed = n - escalations - relaxations
    difference = np.array([p.challenger_score - p.champion_score for p in pairs], dtype=np.float64)
    counts, _ = np.histogram(np.clip(difference, -1.0, 1.0), bins=np.array(HISTOGRAM_EDGES))
    report: dict[str, Any] = {
        "transactions": n,
        "agreement": agreed / n if n else None,
        "agreements": agreed,
        "escalations": escalations,
        "relaxations": relaxations,
        "outcome_matrix": {mine: {theirs: matrix.get((mine, theirs), 0) for theirs in outcomes} for mine in outcomes},
        "answered_by": dict(sorted(Counter(p.answered_by for p in pairs).items())),
        "score_difference": {
            "mean": float(difference.mean()) if n else None,
            "std": float(difference.std()) if n else None,
            "mean_absolute": float(np.abs(difference).mean()) if n else None,
            "min": float(difference.min()) if n else None,
            "max": float(difference.max()) if n else None,
            "quantiles": {f"p{round(q * 100)}": float(np.quantile(difference, q)) if n else None for q in QUANTILES},
            "histogram": {"edges": list(HISTOGRAM_EDGES), "counts": counts.tolist()},
        },
    }
    if labels is not None:
        safe = outcomes[0]
        known = [p for p in pairs if p.transaction_id is not None and p.transaction_id in labels]
        frauds = [labels[p.transaction_id] for p in known if p.transaction_id is not None]
        served = [p.challenger_outcome if p.answered_by == "challenger" else p.champion_outcome for p in known]
        report["labelled"] = {
            "transactions": len(known),
            "champion": _precision_recall((p.champion_outcome != safe for p in known), frauds),
            "challenger": _precision_recall((p.challenger_outcome != safe for p in known), frauds),
            "served": _precision_recall((outcome != safe for outcome in served), frauds),
        }
    return report


def build_report(
    log_paths: Sequence[Path], labels_path: Path | None = None, policy_path: Path = DEFAULT_POLICY
) -> dict[str, Any]:
    log = read_decision_logs(log_paths)
    labels = None
    if labels_path is not None:
        labels = {
            transaction_id: label.fraud for transaction_id, label in read_labels(labels_path).by_transaction.items()
        }
    outcomes = policy_outcomes(policy_path)
    pairs = challenged_pairs(log)
    return {
        "logs": [str(path) for path in log_paths],
        "labels": None if labels_path is None else str(labels_path),
        "outcomes": list(outcomes),
        "decision_lines": log.decision_lines,
        "transactions": len(log.decisions) + log.without_transaction_id,
        "repeated": log.repeated,
        "unreadable": log.unreadable,
        "challenged": sum(len(group) for group in pairs.values()),
        "comparisons": [
            {"champion": champion, "challenger": challenger, **compare_pairs(group, outcomes, labels)}
            for (champion, challenger), group in sorted(pairs.items())
        ],
    }


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def render_markdown(report: Mapping[str, Any]) -> str:
    lines = [
        "# Champion vs challenger",
        "",
        f"Logs: {', '.join(report['logs'])}. Decision lines: {report['decision_lines']}, transactions: "
        f"{report['transactions']} ({report['repeated']} decided more than once: the latest counts; "
        f"{report['unreadable']} unreadable lines left out), decided by a challenger too: {report['challenged']}.",
    ]
    if not report["comparisons"]:
        lines += ["", "No decision line carries a challenger's result: is CHALLENGER_MODE shadow or ab?"]
    outcomes = report["outcomes"]
    for item in report["comparisons"]:
        spread = item["score_difference"]
        quantiles = spread["quantiles"]
        lines += [
            "",
            f"## {item['champion']} (champion) vs {item['challenger']} (challenger)",
            "",
            f"- transactions: {item['transactions']}; answered by: "
            + ", ".join(f"{who} {count}" for who, count in item["answered_by"].items()),
            f"- agreement: {_percent(item['agreement'])} ({item['agreements']}); flips: "
            f"{item['escalations']} to a riskier outcome, {item['relaxations']} to a less risky one",
            f"- score difference (challenger - champion): mean {spread['mean']:+.5f}, "
            f"mean absolute {spread['mean_absolute']:.5f}, p1 {quantiles['p1']:+.5f}, p50 {quantiles['p50']:+.5f}, "
            f"p99 {quantiles['p99']:+.5f}, min {spread['min']:+.5f}, max {spread['max']:+.5f}",
            "",
            "| champion \\ challenger | " + " | ".join(outcomes) + " |",
            "|---|" + "---:|" * len(outcomes),
        ]
        for mine in outcomes:
            row = item["outcome_matrix"][mine]
            lines.append(f"| {mine} | " + " | ".join(str(row[theirs]) for theirs in outcomes) + " |")
        labelled = item.get("labelled")
        if labelled is not None:
            lines += [
                "",
                f"Labelled transactions: {labelled['transactions']} (caught = any outcome but {outcomes[0]}).",
                "",
                "| model | flagged | frauds | caught | precision | recall |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for who in ("champion", "challenger", "served"):
                m = labelled[who]
                lines.append(
                    f"| {who} | {m['flagged']} | {m['frauds']} | {m['caught']} | "
                    f"{_percent(m['precision'])} | {_percent(m['recall'])} |"
                )
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m monitoring.compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--logs", type=Path, nargs="+", required=True, help="decision log files (JSON lines)")
    parser.add_argument("--labels", type=Path, help="CSV: transaction_id,label[,label_time][,amount] (1 = fraud)")
    parser.add_argument("--policy", type=Path, default=DEFAULT_POLICY, help="policy.json (outcome order)")
    parser.add_argument("--out", type=Path, required=True, help="folder for report.json and report.md")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = build_report(args.logs, args.labels, args.policy)
    except (CompareError, DecisionLogError, LabelsError) as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    markdown = render_markdown(report)
    (args.out / "report.md").write_text(markdown, encoding="utf-8")
    sys.stdout.write(markdown)
    print(f"wrote {args.out / 'report.json'} and {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
