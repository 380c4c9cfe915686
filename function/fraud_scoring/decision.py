"""The decision pipeline: score -> decide -> explain, the same for every host.

Every way of running the service (the Lambda handler, the emulator, the self-hosted server, offline
scoring) turns checked rows into :class:`Decision` objects through one :class:`DecisionPipeline`:

1. score: the ONNX model's fraud probability (one row through pre-bound buffers, many in one call);
2. decide: the decision policy maps the score, the features and the request fields to an outcome
   and the ids of the rules that matched (``fraud_scoring.policy``);
3. explain: the top reasons (exact TreeSHAP contributions to the log-odds) when the request asks
   for them, and always when the outcome is flagged (anything but the policy's lowest-risk outcome).

Checking a request is the adapter's job (the web layer validates against its declared contract),
and so is recording: the adapter writes one log line and the metrics from the returned decisions.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraud_scoring.challenger import Challenger
from fraud_scoring.explain import DEFAULT_REASONS, Explainer, load_explainer, top_reasons
from fraud_scoring.model import FraudModel, load_model
from fraud_scoring.policy import (
    DEFAULT_POLICY_DIR,
    Policy,
    PolicyDecision,
    PolicyEvaluationError,
    default_policy,
    load_policy,
)

Reasons = list[dict[str, Any]]
_log = logging.getLogger("fraud_scoring")


class ExplanationUnavailableError(ValueError):
    """Reasons were asked for, but the model layer carries no explainer (made before explanations)."""

    def __init__(self, message: str, positions: list[int]) -> None:
        super().__init__(message)
        self.positions = positions


@dataclass(slots=True)
class Decision:
    """What the service decided about one transaction. Never changed once made.

    Not ``frozen``: a frozen dataclass sets each field through ``object.__setattr__``, which made
    building one cost 1.4 us instead of 0.25 us, paid once or twice per transaction (BENCHMARKS.md).
    """

    score: float
    is_fraud: bool  # score >= the manifest's threshold (kept for clients of the first API)
    outcome: str
    rules: tuple[str, ...]
    flagged: bool
    reasons: Reasons | None  # None when not explained
    # Set when a challenger model also decided (fraud_scoring.challenger): its own decision, and whose
    # answer the client gets ("champion" or "challenger").
    challenger: Decision | None = None
    answered_by: str = "champion"

    def with_challenger(self, challenger: Decision, answered_by: str) -> Decision:
        return Decision(
            self.score, self.is_fraud, self.outcome, self.rules, self.flagged, self.reasons, challenger, answered_by
        )

    @property
    def answer(self) -> Decision:
        """The decision the client gets: the challenger's when it answered (A/B), else this one."""
        if self.answered_by == "challenger" and self.challenger is not None:
            return self.challenger
        return self


class DecisionPipeline:
    """One model, its explainer (if the layer has one) and one decision policy."""

    def __init__(self, model: FraudModel, explainer: Explainer | None = None, policy: Policy | None = None) -> None:
        self.model = model
        self.explainer = explainer
        self.policy = policy if policy is not None else default_policy(model.threshold, model.feature_names)
        self.threshold = model.threshold
        self.model_version = model.model_version
        self.feature_names = model.feature_names
        self.base_value = explainer.bias if explainer is not None else None
        self._safe = self.policy.outcomes[0]
        # A flagged answer always says why: at least this many reasons (fewer only for a tiny model).
        self._flagged_reasons = min(DEFAULT_REASONS, len(model.feature_names))
        # A second model that shadows or answers a share of the traffic (attach_challenger); None: none.
        self.challenger: Challenger | None = None

    def attach_challenger(self, challenger: Challenger | None) -> None:
        if self.model.paired_with is not None and (
            challenger is None or challenger.pipeline.model is not self.model.paired_with
        ):
            self.model.unpair()  # a pair with a detached challenger would score it for nothing
        self.challenger = challenger

    @property
    def policy_version(self) -> str:
        return self.policy.version

    def check_explain(self, asked: Sequence[int | None]) -> None:
        """Refuse a request for reasons the layer cannot give, before anything is scored.

        The error's ``positions`` are the transactions that asked (for a batch's field paths).
        """
        if self.explainer is None and any(k for k in asked):
            raise ExplanationUnavailableError(
                "this model layer carries no explainer (it was trained before explanations); retrain to get reasons",
                [position for position, k in enumerate(asked) if k],
            )

    def decide_one(
        self, row: Sequence[float], request: Mapping[str, Any] | None = None, explain: int | None = None
    ) -> tuple[Decision, float]:
        """The decision about one transaction and the milliseconds spent scoring it.

        ``explain``: how many reasons to give (None: the default count when flagged, else none).
        """
        self.check_explain((explain,))
        started = time.perf_counter()
        score = self.model.score_one(row)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        verdict = self._verdict(score, row, request)
        flagged = verdict.outcome != self._safe
        reasons = None
        count = self._reason_count(explain, flagged)
        if count:
            assert self.explainer is not None  # flagged without explainer: _reason_count gives 0
            _, contributions = self.explainer.contributions(row)
            reasons = top_reasons(self.feature_names, row, contributions, count)
        decision = self._decision(score, verdict, flagged, reasons)
        if self.challenger is not None:
            decision = self.challenger.review_one(decision, row, request, explain)
        return decision, elapsed_ms

    def decide_unexplained(self, row: Sequence[float], request: Mapping[str, Any] | None = None) -> Decision:
        """Score and policy only, no reasons even when flagged: a challenger's decision nobody receives."""
        return self.decide_scored(self.model.score_one(row), row, request)

    def decide_scored(self, score: float, row: Sequence[float], request: Mapping[str, Any] | None = None) -> Decision:
        """:meth:`decide_unexplained` for a row this pipeline's model has already scored."""
        verdict = self._verdict(score, row, request)
        return self._decision(score, verdict, verdict.outcome != self._safe, None)

    def decide_many_unexplained(
        self, rows: Sequence[Sequence[float]], requests: Sequence[Mapping[str, Any]] | None = None
    ) -> list[Decision]:
        """:meth:`decide_unexplained` for many transactions, scored in one call."""
        scores = self.model.score_many(rows)
        verdicts = self._verdicts(scores, rows, requests)
        safe = self._safe
        return [
            self._decision(score, verdict, verdict.outcome != safe, None)
            for score, verdict in zip(scores, verdicts, strict=True)
        ]

    def decide_many(
        self,
        rows: Sequence[Sequence[float]],
        requests: Sequence[Mapping[str, Any]] | None = None,
        explain: Sequence[int | None] | None = None,
    ) -> tuple[list[Decision], float]:
        """The decisions about many transactions, in order, and the milliseconds spent scoring them."""
        asked = list(explain) if explain is not None else [None] * len(rows)
        self.check_explain(asked)
        started = time.perf_counter()
        scores = self.model.score_many(rows)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        verdicts = self._verdicts(scores, rows, requests)
        flags = [verdict.outcome != self._safe for verdict in verdicts]
        counts = [self._reason_count(k, flagged) for k, flagged in zip(asked, flags, strict=True)]
        reasons: list[Reasons | None] = [None] * len(rows)
        wanted = [position for position, count in enumerate(counts) if count]
        if wanted:
            assert self.explainer is not None
            matrix = np.asarray([rows[position] for position in wanted], dtype=np.float32)
            _, contributions = self.explainer.contributions_many(matrix)
            for position, row_contributions in zip(wanted, contributions, strict=True):
                reasons[position] = top_reasons(self.feature_names, rows[position], row_contributions, counts[position])
        decisions = [
            self._decision(score, verdict, flagged, found)
            for score, verdict, flagged, found in zip(scores, verdicts, flags, reasons, strict=True)
        ]
        if self.challenger is not None:
            decisions = self.challenger.review_many(decisions, rows, requests, explain)
        return decisions, elapsed_ms

    def _verdict(self, score: float, row: Sequence[float], request: Mapping[str, Any] | None) -> PolicyDecision:
        """The policy's decision; a rule that fails on this transaction leaves it to the score bands.

        A request must never fail because a rule cannot be evaluated on extreme values: the band
        still decides, and the failure is logged with the policy version and the error.
        """
        try:
            return self.policy.decide(score, row, request)
        except PolicyEvaluationError as exc:
            _log.warning("policy rules failed on a transaction; the score band decided: %s", exc)
            return self.policy.band_of(score)

    def _verdicts(
        self, scores: Sequence[float], rows: Sequence[Sequence[float]], requests: Sequence[Mapping[str, Any]] | None
    ) -> list[PolicyDecision]:
        """:meth:`_verdict` for many transactions: the policy's vectorised path, row by row on a failure."""
        try:
            return self.policy.decide_many(scores, rows, requests)
        except PolicyEvaluationError:  # find the row (rare: arithmetic on extreme values), decide the rest
            return [
                self._verdict(score, row, requests[position] if requests is not None else None)
                for position, (score, row) in enumerate(zip(scores, rows, strict=True))
            ]

    def _reason_count(self, asked: int | None, flagged: bool) -> int:
        if self.explainer is None:
            return 0
        count = asked or 0
        return max(count, self._flagged_reasons) if flagged else count

    def _decision(self, score: float, verdict: PolicyDecision, flagged: bool, reasons: Reasons | None) -> Decision:
        return Decision(score, score >= self.threshold, verdict.outcome, verdict.rules, flagged, reasons)


def policy_for(model: FraudModel, policy_path: str | Path | None = None) -> Policy:
    """The policy a host serves: ``policy_path``, else ``$POLICY_DIR`` (the policy layer), else the
    manifest's threshold as a policy when neither is set and no layer is mounted at /opt/policy."""
    if policy_path is None and not os.environ.get("POLICY_DIR") and not Path(DEFAULT_POLICY_DIR).exists():
        return default_policy(model.threshold, model.feature_names)
    return load_policy(policy_path, model.feature_names)


def load_pipeline(model_dir: str | Path | None = None, policy_path: str | Path | None = None) -> DecisionPipeline:
    """Load the model layer (with its explainer) and the policy, each checked; one clear error if not.

    Raises :class:`~fraud_scoring.model.ModelLoadError` (explainer problems included) or
    :class:`~fraud_scoring.policy.PolicyError`.
    """
    model = load_model(model_dir)
    return pipeline_for(model, policy_for(model, policy_path))


def pipeline_for(model: FraudModel, policy: Policy | None = None) -> DecisionPipeline:
    """A loaded model with the explainer its layer carries (if any) and ``policy`` (default: the threshold)."""
    return DecisionPipeline(model, load_explainer(model.model_dir, model.manifest), policy)
