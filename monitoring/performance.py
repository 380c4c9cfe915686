"""Live performance from late labels: ``python -m monitoring.performance --logs LOG... --labels labels.csv --out DIR``.

Chargebacks and confirmed frauds arrive days after the decision. This joins them, by transaction id,
with the service's decision logs and writes ``DIR/README.md`` (tables) and plots (PNG):

- per outcome (APPROVE / REVIEW / DECLINE, whatever the policy names): transactions, labelled,
  frauds, the fraud rate among the labelled (that outcome's precision), its share of all labelled
  fraud, and the fraud amount in it (when the labels file has an ``amount`` column);
- per day (UTC, of the decision): precision and recall of *flagged* (any outcome but the safe one,
  ``--safe-outcome``, APPROVE by default), fraud amount caught (flagged) and missed (safe);
- the label delay (decision to label, when the file has ``label_time``).

Unlabelled transactions are left out by default; ``--unlabelled legit`` counts them as genuine,
which is right when the file lists every fraud (a chargeback feed) and only then. Logs and labels are
read by ``monitoring.decision_logs`` and ``monitoring.labels``, as ``monitoring.compare`` reads them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from monitoring.decision_logs import DecisionLog, DecisionLogError, read_decision_logs
from monitoring.labels import Label, Labels, LabelsError, read_labels

DEFAULT_SAFE_OUTCOME = "APPROVE"
UNLABELLED_CHOICES = ("skip", "legit")


@dataclass
class Tally:
    """Counts of one group of decisions (an outcome, a day, a day and an outcome)."""

    transactions: int = 0
    labelled: int = 0
    frauds: int = 0
    fraud_amount: float = 0.0
    amount_known: int = 0  # labelled frauds with an amount

    def add(self, label: Label | None) -> None:
        self.transactions += 1
        if label is None:
            return
        self.labelled += 1
        if label.fraud:
            self.frauds += 1
            if label.amount is not None:
                self.fraud_amount += label.amount
                self.amount_known += 1

    @property
    def fraud_rate(self) -> float | None:
        return self.frauds / self.labelled if self.labelled else None


@dataclass
class DayResult:
    flagged: Tally = field(default_factory=Tally)
    safe: Tally = field(default_factory=Tally)

    @property
    def precision(self) -> float | None:
        return self.flagged.fraud_rate

    @property
    def recall(self) -> float | None:
        frauds = self.flagged.frauds + self.safe.frauds
        return self.flagged.frauds / frauds if frauds else None


@dataclass
class Performance:
    by_outcome: dict[str, Tally]
    by_day: dict[date, DayResult]
    by_day_outcome: dict[tuple[date, str], Tally]
    total: DayResult
    labels_without_decision: int
    label_delays_days: list[float]
    safe_outcome: str
    unlabelled: str


def join(
    log: DecisionLog, labels: Labels, safe_outcome: str = DEFAULT_SAFE_OUTCOME, unlabelled: str = "skip"
) -> Performance:
    """Every logged decision with its label (or none); the tallies the report shows."""
    if unlabelled not in UNLABELLED_CHOICES:
        raise ValueError(f"unlabelled must be one of {', '.join(UNLABELLED_CHOICES)}, got {unlabelled!r}")
    genuine = Label(False, None, None)
    by_outcome: dict[str, Tally] = defaultdict(Tally)
    by_day: dict[date, DayResult] = defaultdict(DayResult)
    by_day_outcome: dict[tuple[date, str], Tally] = defaultdict(Tally)
    total = DayResult()
    delays: list[float] = []
    for transaction_id, decision in sorted(log.decisions.items(), key=lambda item: item[1].at):
        label = labels.by_transaction.get(transaction_id)
        if label is None and unlabelled == "legit":
            label = genuine
        elif label is not None and label.label_time is not None:
            delays.append((label.label_time - decision.at).total_seconds() / 86_400)
        day = decision.at.date()
        by_outcome[decision.outcome].add(label)
        by_day_outcome[(day, decision.outcome)].add(label)
        for result in (by_day[day], total):
            (result.safe if decision.outcome == safe_outcome else result.flagged).add(label)
    matched = sum(1 for transaction_id in labels.by_transaction if transaction_id in log.decisions)
    return Performance(
        dict(by_outcome),
        dict(sorted(by_day.items())),
        dict(by_day_outcome),
        total,
        len(labels.by_transaction) - matched,
        delays,
        safe_outcome,
        unlabelled,
    )


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _amount(tally: Tally, labels: Labels) -> str:
    return f"{tally.fraud_amount:,.2f}" if labels.has_amount else "n/a"


def render(
    performance: Performance, log: DecisionLog, labels: Labels, sources: Sequence[str], plots: Sequence[str]
) -> str:
    p = performance
    total = p.total
    out = [
        "# Live performance from labels",
        "",
        f"Decision logs: {', '.join(f'`{s}`' for s in sources)}: {log.lines:,} lines, {log.decision_lines:,} decision "
        f"lines, {len(log.decisions):,} transactions ({log.repeated:,} decided more than once: the latest counts; "
        f"{log.without_transaction_id:,} without transaction id and {log.unreadable:,} unreadable, left out).",
        f"Labels: {labels.rows:,} rows, {len(labels.by_transaction):,} transactions ({labels.relabelled:,} relabelled: "
        f"the last label counts); {p.labels_without_decision:,} have no decision in these logs.",
        f"Flagged means any outcome but `{p.safe_outcome}`. Unlabelled transactions: "
        + (
            "counted as genuine (`--unlabelled legit`)."
            if p.unlabelled == "legit"
            else "left out (`--unlabelled skip`)."
        ),
        "",
        "## Overall",
        "",
        "| | value |",
        "|---|---|",
        f"| precision of flagged | {_ratio(total.precision)} |",
        f"| recall (frauds flagged / labelled frauds) | {_ratio(total.recall)} |",
        f"| frauds caught / missed | {total.flagged.frauds:,} / {total.safe.frauds:,} |",
        f"| fraud amount caught / missed | {_amount(total.flagged, labels)} / {_amount(total.safe, labels)} |",
    ]
    if p.label_delays_days:
        out.append(
            f"| label delay, days (median / max) | {statistics.median(p.label_delays_days):.1f} / "
            f"{max(p.label_delays_days):.1f} |"
        )
    all_frauds = sum(t.frauds for t in p.by_outcome.values())
    out += [
        "",
        "## Per outcome",
        "",
        "| outcome | transactions | labelled | frauds | fraud rate (precision) | share of frauds | fraud amount |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for outcome, tally in sorted(p.by_outcome.items()):
        share = tally.frauds / all_frauds if all_frauds else None
        out.append(
            f"| {outcome} | {tally.transactions:,} | {tally.labelled:,} | {tally.frauds:,} | "
            f"{_ratio(tally.fraud_rate)} | {_ratio(share)} | {_amount(tally, labels)} |"
        )
    out += [
        "",
        "## Per day (UTC, of the decision)",
        "",
        "| day | transactions | labelled | precision | recall | frauds caught | missed | amount caught | missed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for day, result in p.by_day.items():
        transactions = result.flagged.transactions + result.safe.transactions
        labelled = result.flagged.labelled + result.safe.labelled
        out.append(
            f"| {day.isoformat()} | {transactions:,} | {labelled:,} | {_ratio(result.precision)} | "
            f"{_ratio(result.recall)} | {result.flagged.frauds:,} | {result.safe.frauds:,} | "
            f"{_amount(result.flagged, labels)} | {_amount(result.safe, labels)} |"
        )
    outcomes = sorted(p.by_outcome)
    out += ["", "## Per day and outcome: frauds / labelled", "", "| day | " + " | ".join(outcomes) + " |"]
    out.append("|---|" + "---:|" * len(outcomes))
    for day in p.by_day:
        cells = []
        for outcome in outcomes:
            tally = p.by_day_outcome.get((day, outcome), Tally())
            cells.append(f"{tally.frauds:,} / {tally.labelled:,}")
        out.append(f"| {day.isoformat()} | " + " | ".join(cells) + " |")
    if plots:
        out += ["", "## Plots", ""] + [f"![{name}]({name})" for name in plots]
    out += [
        "",
        "Recent days are incomplete: labels arrive days after the decision (see the label delay), so their",
        "recall and precision still move. Read them again when their labels have matured.",
        "",
    ]
    return "\n".join(out)


def plot(performance: Performance, labels: Labels, out_dir: Path) -> list[str]:
    """PNG plots over days; the file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = list(performance.by_day)
    if not days:
        return []
    names: list[str] = []
    fig, ax = plt.subplots(figsize=(8, 4))
    for what, values in (
        ("precision", [r.precision for r in performance.by_day.values()]),
        ("recall", [r.recall for r in performance.by_day.values()]),
    ):
        ax.plot(list(range(len(days))), [float("nan") if v is None else v for v in values], marker="o", label=what)
    positions = range(len(days))
    ax.set_xticks(list(positions), [d.isoformat() for d in days], rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Flagged (not {performance.safe_outcome}): precision and recall per day")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "precision_recall.png", dpi=100)
    plt.close(fig)
    names.append("precision_recall.png")

    fig, ax = plt.subplots(figsize=(8, 4))
    if labels.has_amount:
        caught = [r.flagged.fraud_amount for r in performance.by_day.values()]
        missed = [r.safe.fraud_amount for r in performance.by_day.values()]
        ax.set_title("Fraud amount per day: caught (flagged) and missed")
    else:
        caught = [float(r.flagged.frauds) for r in performance.by_day.values()]
        missed = [float(r.safe.frauds) for r in performance.by_day.values()]
        ax.set_title("Frauds per day: caught (flagged) and missed (no amount column in the labels)")
    ax.bar(positions, caught, label="caught")
    ax.bar(positions, missed, bottom=caught, label="missed")
    ax.set_xticks(list(positions), [d.isoformat() for d in days], rotation=30, ha="right")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "caught_missed.png", dpi=100)
    plt.close(fig)
    names.append("caught_missed.png")

    fig, ax = plt.subplots(figsize=(8, 4))
    bottom = [0.0] * len(days)
    for outcome in sorted(performance.by_outcome):
        counts = [float(performance.by_day_outcome.get((d, outcome), Tally()).frauds) for d in days]
        ax.bar(positions, counts, bottom=bottom, label=outcome)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    ax.set_title("Labelled frauds per day, by the outcome they got")
    ax.set_xticks(list(positions), [d.isoformat() for d in days], rotation=30, ha="right")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "frauds_by_outcome.png", dpi=100)
    plt.close(fig)
    names.append("frauds_by_outcome.png")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m monitoring.performance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--logs", type=Path, nargs="+", required=True, help="decision log files (JSON lines)")
    parser.add_argument("--labels", type=Path, required=True, help="CSV: transaction_id,label[,label_time][,amount]")
    parser.add_argument("--out", type=Path, required=True, help="folder for README.md and the plots")
    parser.add_argument("--safe-outcome", default=DEFAULT_SAFE_OUTCOME, help="the outcome that is not flagged")
    parser.add_argument(
        "--unlabelled",
        choices=UNLABELLED_CHOICES,
        default="skip",
        help="leave unlabelled transactions out, or count them genuine",
    )
    parser.add_argument("--no-plots", action="store_true", help="tables only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        log = read_decision_logs(args.logs)
        labels = read_labels(args.labels)
    except (DecisionLogError, LabelsError) as exc:
        print(f"performance: {exc}", file=sys.stderr)
        return 2
    if not log.decisions:
        print(
            f"performance: no decision lines with a transaction id in {', '.join(map(str, args.logs))} "
            f"({log.lines:,} lines read); is this the service's log?",
            file=sys.stderr,
        )
        return 2
    performance = join(log, labels, args.safe_outcome, args.unlabelled)
    if performance.safe_outcome not in performance.by_outcome:
        seen = ", ".join(sorted(performance.by_outcome))
        print(
            f"performance: no decision has the safe outcome {args.safe_outcome!r} (outcomes seen: {seen})",
            file=sys.stderr,
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    plots = [] if args.no_plots else plot(performance, labels, args.out)
    report = args.out / "README.md"
    report.write_text(render(performance, log, labels, [str(p) for p in args.logs], plots), encoding="utf-8")
    total = performance.total
    print(
        f"performance: {len(log.decisions):,} decisions, {total.flagged.labelled + total.safe.labelled:,} labelled: "
        f"precision {_ratio(total.precision)}, recall {_ratio(total.recall)}; wrote {report}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
