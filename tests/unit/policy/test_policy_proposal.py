"""Training's policy proposal: the bands really minimise the documented cost."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraud_scoring.policy import policy_from_document
from training.data import FEATURE_NAMES
from training.policy_proposal import CostModel, propose_bands


def action_of(scores: np.ndarray, review: float, decline: float) -> np.ndarray:
    """Policy semantics: a threshold of 1.0 means the band is absent (score 1 stays in the band below)."""
    declined = (scores >= decline) & (decline < 1.0)
    reviewed = (scores >= review) & (review < 1.0)
    return np.where(declined, 2, np.where(reviewed, 1, 0)).astype(np.int8)


def brute_force(scores: np.ndarray, labels: np.ndarray, amounts: np.ndarray, model: CostModel) -> float:
    distinct = sorted(set(scores.tolist()))
    cuts = [0.0, *((a + b) / 2 for a, b in itertools.pairwise(distinct)), 1.0]
    return min(
        model.cost(action_of(scores, r, d), labels, amounts)
        for r, d in itertools.combinations_with_replacement(cuts, 2)
    )


@given(
    st.lists(st.tuples(st.floats(0, 1), st.booleans(), st.floats(0, 500)), min_size=1, max_size=30),
    st.floats(0, 50),
    st.floats(0, 200),
)
@settings(max_examples=150, deadline=None)
def test_property_proposed_cuts_reach_the_brute_force_minimum(
    rows: list[tuple[float, bool, float]], review_cost: float, decline_cost: float
) -> None:
    scores = np.array([r[0] for r in rows])
    labels = np.array([r[1] for r in rows])
    amounts = np.array([r[2] for r in rows])
    model = CostModel(review_cost, decline_cost)
    proposal = propose_bands(scores, labels, amounts, model)
    best = brute_force(scores, labels, amounts, model)
    assert proposal.cost == pytest.approx(best, abs=1e-6)
    # The thresholds, applied as a policy would, give exactly the reported cost.
    actual = model.cost(action_of(scores, proposal.review_threshold, proposal.decline_threshold), labels, amounts)
    assert actual == pytest.approx(proposal.cost, abs=1e-6)


def test_the_proposed_document_is_a_valid_policy_with_the_proposed_bands() -> None:
    rng = np.random.default_rng(0)
    labels = rng.uniform(size=5000) < 0.02
    scores = np.clip(np.where(labels, rng.beta(5, 2, 5000), rng.beta(1, 30, 5000)), 0, 1)
    amounts = rng.lognormal(3, 1, 5000)
    proposal = propose_bands(scores, labels, amounts, CostModel(5.0, 25.0))
    assert 0.0 < proposal.review_threshold <= proposal.decline_threshold < 1.0
    assert proposal.cost < proposal.approve_all_cost
    policy = policy_from_document(proposal.document("proposed-test"), FEATURE_NAMES)
    for score in (0.0, proposal.review_threshold, proposal.decline_threshold, 1.0):
        expected = ["APPROVE", "REVIEW", "DECLINE"][
            int(action_of(np.array([score]), proposal.review_threshold, proposal.decline_threshold)[0])
        ]
        assert policy.decide(score, [0.0] * len(FEATURE_NAMES)).outcome == expected


def test_costs_shape_the_bands() -> None:
    rng = np.random.default_rng(1)
    labels = rng.uniform(size=4000) < 0.05
    scores = np.where(labels, rng.uniform(0.3, 1.0, 4000), rng.uniform(0.0, 0.7, 4000))
    amounts = np.full(4000, 100.0)
    free_reviews = propose_bands(scores, labels, amounts, CostModel(review_cost=0.0, decline_cost=50.0))
    assert free_reviews.review_threshold <= 0.3 + 1e-9  # every fraud reviewed when reviews cost nothing
    dear_reviews = propose_bands(scores, labels, amounts, CostModel(review_cost=1000.0, decline_cost=50.0))
    assert dear_reviews.review_threshold == dear_reviews.decline_threshold  # no REVIEW band at all
    assert [b["outcome"] for b in dear_reviews.bands()] == ["APPROVE", "DECLINE"]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="review_cost must be a finite number >= 0"):
        CostModel(review_cost=-1.0)
    with pytest.raises(ValueError, match="same, non-zero length"):
        propose_bands(np.array([0.1]), np.array([True, False]), np.array([1.0]), CostModel())


def test_neighbouring_scores_at_the_top_cannot_hide_a_decline_band() -> None:
    """Found by the property above: between 0.9999999999999999 and 1.0 no float lies, so a cut there
    is 1.0 and its decline band [1.0, 1.0] would be empty; the proposal must not count on it."""
    scores = np.array([1.0, 0.9999999999999999])
    labels = np.array([True, False])
    amounts = np.array([1.0, 0.0])
    model = CostModel(review_cost=1.0, decline_cost=1.0)
    proposal = propose_bands(scores, labels, amounts, model)
    best = brute_force(scores, labels, amounts, model)
    assert proposal.cost == pytest.approx(best)
    actual = model.cost(action_of(scores, proposal.review_threshold, proposal.decline_threshold), labels, amounts)
    assert actual == pytest.approx(proposal.cost)
