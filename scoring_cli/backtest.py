"""Backtest: what a policy would have done on labelled transactions, accumulated chunk by chunk.

Everything is kept as running sums (per outcome: rows, frauds, amounts; a score histogram per
label), so memory does not grow with the file. Outcomes map to actions by severity (docs/policy.md):
the least severe outcome approves, the most severe declines, any in between is a review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fraud_scoring.policy import Policy
from training.policy_proposal import CostModel

HISTOGRAM_BINS = 100


def action_of_outcome(policy: Policy) -> dict[str, str]:
    """approve / review / decline for each outcome, by its place in ``policy.outcomes``."""
    last = len(policy.outcomes) - 1
    return {
        name: ("approve" if rank == 0 else "decline" if rank == last else "review")
        for rank, name in enumerate(policy.outcomes)
    }


@dataclass
class PolicyTally:
    name: str
    policy: Policy
    rows: dict[str, int] = field(default_factory=dict)
    frauds: dict[str, int] = field(default_factory=dict)
    fraud_amount: dict[str, float] = field(default_factory=dict)
    good_amount: dict[str, float] = field(default_factory=dict)

    def add(
        self, outcomes: npt.NDArray[np.int8], labels: npt.NDArray[np.bool_], amounts: npt.NDArray[np.float64]
    ) -> None:
        for code, name in enumerate(self.policy.outcomes):
            mask = outcomes == code
            fraud = mask & labels
            self.rows[name] = self.rows.get(name, 0) + int(mask.sum())
            self.frauds[name] = self.frauds.get(name, 0) + int(fraud.sum())
            self.fraud_amount[name] = self.fraud_amount.get(name, 0.0) + float(amounts[fraud].sum())
            self.good_amount[name] = self.good_amount.get(name, 0.0) + float(amounts[mask & ~labels].sum())

    def by_action(self) -> dict[str, dict[str, float]]:
        actions = action_of_outcome(self.policy)
        out = {a: {"rows": 0.0, "frauds": 0.0, "fraud_amount": 0.0} for a in ("approve", "review", "decline")}
        for name, action in actions.items():
            out[action]["rows"] += self.rows.get(name, 0)
            out[action]["frauds"] += self.frauds.get(name, 0)
            out[action]["fraud_amount"] += self.fraud_amount.get(name, 0.0)
        return out

    def cost(self, model: CostModel) -> float:
        acts = self.by_action()
        declined_good = acts["decline"]["rows"] - acts["decline"]["frauds"]
        return (
            acts["approve"]["fraud_amount"]
            + model.review_cost * acts["review"]["rows"]
            + model.decline_cost * declined_good
        )


@dataclass
class Backtest:
    tallies: list[PolicyTally]
    cost_model: CostModel
    labelled: int = 0
    unlabelled: int = 0
    histogram: dict[int, npt.NDArray[np.int64]] = field(
        default_factory=lambda: {0: np.zeros(HISTOGRAM_BINS, np.int64), 1: np.zeros(HISTOGRAM_BINS, np.int64)}
    )

    def add(
        self,
        scores: npt.NDArray[np.float64],
        labels: npt.NDArray[np.float64],
        amounts: npt.NDArray[np.float64],
        outcomes: list[npt.NDArray[np.int8]],
    ) -> None:
        """``outcomes[k]``: codes from ``tallies[k]`` for the scored rows (``scores`` not NaN)."""
        known = ~np.isnan(labels)
        self.unlabelled += int((~known).sum())
        self.labelled += int(known.sum())
        label = labels[known] == 1.0
        for tally, codes in zip(self.tallies, outcomes, strict=True):
            tally.add(codes[known], label, amounts[known])
        bins = np.clip((scores[known] * HISTOGRAM_BINS).astype(np.int64), 0, HISTOGRAM_BINS - 1)
        for value in (0, 1):
            self.histogram[value] += np.bincount(bins[label == bool(value)], minlength=HISTOGRAM_BINS)

    # ------------------------------------------------------------------ the report

    def write_report(self, path: Path, title: str, notes: list[str]) -> Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        path.parent.mkdir(parents=True, exist_ok=True)
        stem = path.stem
        main = self.tallies[0]
        frauds = sum(main.frauds.values())
        lines = [f"# {title}", "", *notes, ""]
        lines += [
            f"Labelled rows: {self.labelled:,} ({frauds:,} frauds); rows without a usable label: {self.unlabelled:,}.",
            f"Cost model: a missed fraud costs its amount, a review {self.cost_model.review_cost:g}, "
            f"declining a good transaction {self.cost_model.decline_cost:g}.",
            "",
        ]
        for tally in self.tallies:
            lines += self._policy_section(tally, frauds)
        lines += [
            "## Policies compared",
            "",
            "| policy | version | cost | frauds missed | amount lost | reviews | good declined |",
            "|---|---|---|---|---|---|---|",
        ]
        for tally in self.tallies:
            acts = tally.by_action()
            lines.append(
                f"| {tally.name} | `{tally.policy.version}` | {tally.cost(self.cost_model):,.2f} | "
                f"{int(acts['approve']['frauds']):,} | {acts['approve']['fraud_amount']:,.2f} | "
                f"{int(acts['review']['rows']):,} | {int(acts['decline']['rows'] - acts['decline']['frauds']):,} |"
            )
        # Plots: score distribution with the main policy's bands, and the cost of each policy.
        fig, ax = plt.subplots(figsize=(6.4, 4), dpi=100)
        centres = (np.arange(HISTOGRAM_BINS) + 0.5) / HISTOGRAM_BINS
        for value, label in ((0, "legitimate"), (1, "fraud")):
            ax.step(centres, np.maximum(self.histogram[value], 0.5), where="mid", label=label)
        for band in main.policy.bands[1:]:
            ax.axvline(band.min, c="grey", ls="--", lw=0.8)
            ax.text(
                band.min,
                ax.get_ylim()[1] if ax.get_ylim()[1] > 1 else 1,
                band.outcome,
                fontsize=7,
                rotation=90,
                va="top",
            )
        ax.set_yscale("log")
        ax.set(xlabel="fraud score", ylabel="rows (log)", title=f"Scores and bands of {main.name}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path.parent / f"{stem}-scores.png")
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=100)
        names = [t.name for t in self.tallies]
        ax.barh(names, [t.cost(self.cost_model) for t in self.tallies], color="tab:red")
        ax.set(xlabel="cost on this file", title="Policy cost")
        fig.tight_layout()
        fig.savefig(path.parent / f"{stem}-cost.png")
        plt.close(fig)
        lines += ["", f"![scores]({stem}-scores.png)", "", f"![cost]({stem}-cost.png)", ""]
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    def _policy_section(self, tally: PolicyTally, frauds: int) -> list[str]:
        total = sum(tally.rows.values())
        actions = action_of_outcome(tally.policy)
        lines = [
            f"## {tally.name}: `{tally.policy.version}` ({tally.policy.mode}, {len(tally.policy.rules)} rules)",
            "",
            "| outcome | action | rows | rate | frauds | precision | recall | fraud amount | good amount |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name in tally.policy.outcomes:
            rows, fr = tally.rows.get(name, 0), tally.frauds.get(name, 0)
            lines.append(
                f"| {name} | {actions[name]} | {rows:,} | {rows / total if total else 0:.3%} | {fr:,} | "
                f"{fr / rows if rows else 0:.3f} | {fr / frauds if frauds else 0:.3f} | "
                f"{tally.fraud_amount.get(name, 0.0):,.2f} | {tally.good_amount.get(name, 0.0):,.2f} |"
            )
        acts = tally.by_action()
        lines += [
            "",
            f"Frauds caught (declined) {int(acts['decline']['frauds']):,}, reviewed {int(acts['review']['frauds']):,}, "
            f"missed (approved) {int(acts['approve']['frauds']):,}. Fraud amount stopped "
            f"{acts['decline']['fraud_amount'] + acts['review']['fraud_amount']:,.2f}, lost "
            f"{acts['approve']['fraud_amount']:,.2f}. Cost {tally.cost(self.cost_model):,.2f}.",
            "",
        ]
        return lines
