"""Propose a decision policy from data: the score bands that minimise the expected cost.

Cost model (docs/policy.md), per transaction:

- APPROVE a fraud: its amount is lost; APPROVE a good one: nothing.
- REVIEW anything: ``review_cost`` (an analyst looks; a reviewed fraud is stopped).
- DECLINE a fraud: nothing; DECLINE a good one: ``decline_cost`` (a lost sale and customer friction).

Bands are two cuts ``t_review <= t_decline`` on the score. Over the validation split sorted by
score, every pair of cuts between distinct scores is considered exactly, in O(n) with prefix
sums; a band no row reaches is left out (two or one band). The result is a policy document
(see fraud_scoring/policy.schema.json) and the cost curve for the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

APPROVE, REVIEW, DECLINE = "APPROVE", "REVIEW", "DECLINE"
DEFAULT_REVIEW_COST = 5.0
DEFAULT_DECLINE_COST = 25.0


@dataclass(frozen=True)
class CostModel:
    review_cost: float = DEFAULT_REVIEW_COST
    decline_cost: float = DEFAULT_DECLINE_COST

    def __post_init__(self) -> None:
        for name in ("review_cost", "decline_cost"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    def cost(self, action: npt.NDArray[np.int8], labels: npt.NDArray[Any], amounts: npt.NDArray[Any]) -> float:
        """Total cost of ``action`` per row (0 approve, 1 review, 2 decline)."""
        fraud = labels.astype(bool)
        missed = float(np.sum(amounts[(action == 0) & fraud]))
        reviews = float(np.sum(action == 1)) * self.review_cost
        declined_good = float(np.sum((action == 2) & ~fraud)) * self.decline_cost
        return missed + reviews + declined_good


@dataclass(frozen=True)
class Proposal:
    # score >= review_threshold is at least REVIEW and score >= decline_threshold is DECLINE; 1.0 means
    # the band is absent (a score of exactly 1 then falls in the band below, as in a policy).
    review_threshold: float
    decline_threshold: float
    cost: float
    cost_model: CostModel
    rows: int
    frauds: int
    approve_all_cost: float
    curve_thresholds: npt.NDArray[np.float64]  # candidate decline thresholds ...
    curve_costs: npt.NDArray[np.float64]  # ... and the lowest cost with each (review cut chosen optimally)

    def bands(self) -> list[dict[str, Any]]:
        cuts = [(APPROVE, 0.0, self.review_threshold), (REVIEW, self.review_threshold, self.decline_threshold)]
        cuts.append((DECLINE, self.decline_threshold, 1.0))
        return [
            {"id": outcome.lower(), "outcome": outcome, "min": low, "max": high}
            for outcome, low, high in cuts
            if low < high  # a band no score reaches is left out
        ]

    def document(self, version: str, description: str = "") -> dict[str, Any]:
        bands = self.bands()
        return {
            "schema_version": 1,
            "version": version,
            "description": description
            or (
                f"Proposed by training: bands minimising the expected cost on the validation split "
                f"(review costs {self.cost_model.review_cost:g}, declining a good transaction "
                f"{self.cost_model.decline_cost:g}, a missed fraud its amount)."
            ),
            "outcomes": [APPROVE, REVIEW, DECLINE],
            "mode": "FIRST_MATCHED",
            "bands": bands,
            "rules": [],
        }


def _cut_value(sorted_scores: npt.NDArray[np.float64], index: int) -> float:
    """The threshold putting rows ``[index:]`` at or above it: midway between neighbours."""
    if index <= 0:
        return 0.0
    if index >= sorted_scores.size:
        return 1.0
    below, above = float(sorted_scores[index - 1]), float(sorted_scores[index])
    middle = (below + above) / 2.0
    return middle if below < middle <= above else above  # neighbouring floats: the midpoint rounds


def propose_bands(
    scores: npt.NDArray[Any], labels: npt.NDArray[Any], amounts: npt.NDArray[Any], cost_model: CostModel
) -> Proposal:
    """The exact cost-minimising (review, decline) cuts over ``scores``; O(n log n)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    amounts = np.asarray(amounts, dtype=np.float64)
    if not (scores.shape == labels.shape == amounts.shape) or scores.ndim != 1 or scores.size == 0:
        raise ValueError("scores, labels and amounts must be 1-D arrays of the same, non-zero length")
    order = np.argsort(scores, kind="stable")
    s, fraud, amount = scores[order], labels[order], amounts[order]
    n = s.size
    # Cuts only between distinct scores (a cut inside a tie cannot be expressed as a threshold).
    allowed = np.ones(n + 1, dtype=bool)
    allowed[1:n] = s[1:] > s[:-1]
    # A cut whose value is 1.0 leaves an empty top band [1.0, 1.0], which a policy cannot hold: only
    # the cut above every row (nobody in the band) may sit there.
    allowed[1:n] &= np.array([_cut_value(s, k) < 1.0 for k in range(1, n)], dtype=bool)
    positions = np.arange(n + 1)
    missed = np.concatenate([[0.0], np.cumsum(np.where(fraud, amount, 0.0))])  # approve rows [0, i)
    good_from = np.concatenate([[0.0], np.cumsum(~fraud)])
    good_from = good_from[-1] - good_from  # good rows in [j, n)
    r, d = cost_model.review_cost, cost_model.decline_cost
    # cost(i, j) = missed[i] + r * (j - i) + d * good_from[j], i <= j: best i for each j by a prefix minimum.
    left = np.where(allowed, missed - r * positions, np.inf)
    best_left = np.minimum.accumulate(left)
    best_i = np.zeros(n + 1, dtype=np.int64)
    running, arg = np.inf, 0
    for j in range(n + 1):  # argmin of the prefix minimum (vectorised min above, index here)
        if left[j] < running:
            running, arg = left[j], j
        best_i[j] = arg
    total = np.where(allowed, best_left + r * positions + d * good_from, np.inf)
    j = int(np.argmin(total))
    i = int(best_i[j])
    return Proposal(
        review_threshold=_cut_value(s, i),
        decline_threshold=_cut_value(s, j),
        cost=float(total[j]),
        cost_model=cost_model,
        rows=n,
        frauds=int(fraud.sum()),
        approve_all_cost=float(missed[-1]),
        curve_thresholds=np.array([_cut_value(s, k) for k in np.flatnonzero(allowed).tolist()], dtype=np.float64),
        curve_costs=total[allowed].astype(np.float64),
    )


def write_proposal_report(report_dir: Path, proposal: Proposal, document: dict[str, Any]) -> Path:
    """The cost curve plot and a markdown section next to the training report."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=100)
    ax.plot(proposal.curve_thresholds, proposal.curve_costs, lw=1.2, label="best cost with this decline threshold")
    ax.axvline(proposal.decline_threshold, c="red", ls="--", label=f"decline >= {proposal.decline_threshold:.4f}")
    ax.axvline(proposal.review_threshold, c="orange", ls=":", label=f"review >= {proposal.review_threshold:.4f}")
    ax.axhline(proposal.approve_all_cost, c="grey", ls=":", label="approve everything")
    # Low thresholds decline nearly everyone at a cost orders of magnitude off the chart: show the
    # region that competes with approving everything.
    ax.set_xscale("log")
    positive = proposal.curve_thresholds[proposal.curve_thresholds > 0]
    ax.set_xlim(max(float(positive.min()) if positive.size else 1e-4, 1e-4), 1.0)
    ax.set_ylim(0, max(proposal.approve_all_cost, proposal.cost) * 2.5 or 1.0)
    ax.set(xlabel="decline threshold (log)", ylabel="expected cost on validation", title="Policy cost curve")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(report_dir / "policy_cost.png")
    plt.close(fig)
    (report_dir / "proposed-policy.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    m = proposal.cost_model
    lines = [
        "# Proposed decision policy",
        "",
        f"Cost model: a missed fraud costs its amount, a review costs {m.review_cost:g}, declining a good "
        f"transaction costs {m.decline_cost:g}. Validation split: {proposal.rows:,} rows, {proposal.frauds:,} frauds.",
        "",
        "| band | score range | ",
        "|---|---|",
        *(f"| {b['outcome']} | [{b['min']}, {b['max']}{']' if b['max'] == 1.0 else ')'} |" for b in document["bands"]),
        "",
        f"Expected cost on validation: **{proposal.cost:,.2f}** "
        f"(approving everything: {proposal.approve_all_cost:,.2f}).",
        "",
        "![cost curve](policy_cost.png)",
        "",
        "The policy itself: `proposed-policy.json` here, and `layers/policy/` (see docs/policy.md).",
        "",
    ]
    path = report_dir / "policy.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_policy_layer(policy_dir: Path, document: dict[str, Any], header: str = "") -> Path:
    """Write ``policy.yaml`` (the editable source) and its stamped ``policy.json`` into ``policy_dir``."""
    import yaml

    from fraud_scoring.policy import POLICY_MANIFEST, stamp_document

    policy_dir.mkdir(parents=True, exist_ok=True)
    comment = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())
    source = (comment + yaml.safe_dump(document, sort_keys=False, width=110)).encode("utf-8")
    (policy_dir / "policy.yaml").write_bytes(source)
    stamped = stamp_document(document, "policy.yaml", source)
    (policy_dir / POLICY_MANIFEST).write_text(json.dumps(stamped, indent=2) + "\n", encoding="utf-8")
    return policy_dir / "policy.yaml"
