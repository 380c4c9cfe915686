"""A challenger model next to the champion: shadow scoring and sticky A/B answers.

The challenger is a second model layer (its own manifest, ONNX file and load checks) decided by the
same policy as the champion, so a comparison measures the model and nothing else. Two modes:

- ``shadow``: a sampled share of transactions (``share``; 1.0 = all) is also scored by the challenger;
  the champion answers; both results go into the decision log line and metrics.
- ``ab``: a share of transactions is answered by the challenger. The assignment is sticky: a stable
  hash of the sticky key (the transaction id, or a feature the operator names) picks a bucket in
  [0, 1), and the challenger answers the buckets below ``share``. The champion still scores every
  transaction, so the log line carries both results on all traffic. A transaction without the key
  (no transaction id) is answered by the champion.

A shadow on every transaction whose layer carries the pair made at staging (``paired.onnx``,
monitoring/pairing.py) scores both models in one ONNX Runtime run (:func:`fraud_scoring.model.load_pairing`);
otherwise the challenger scores the row the champion's run was given, in its own session.

Loading never harms the champion: any problem (bad setting, missing or broken layer, other
features than the champion's) disables the challenger with one log line and the service runs alone.
The decision about a transaction is the champion's :class:`~fraud_scoring.decision.Decision` with the
challenger's own decision attached (``Decision.challenger``) and ``answered_by`` saying whose answer
the client gets.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from fraud_scoring.decision import Decision, DecisionPipeline
    from fraud_scoring.model import FraudModel

MODES = ("off", "shadow", "ab")
DEFAULT_CHALLENGER_DIR = "/opt/challenger"
DEFAULT_SHARE = 1.0
DEFAULT_STICKY_KEY = "transaction_id"
CHAMPION = "champion"
CHALLENGER = "challenger"
_BUCKETS = float(1 << 64)


class ChallengerError(ValueError):
    """A challenger setting the service cannot use."""


class _Logs(Protocol):
    def error(self, msg: object, *args: Any, **kwargs: Any) -> Any: ...

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class ChallengerSettings:
    """``CHALLENGER_MODE`` (off|shadow|ab), ``CHALLENGER_SHARE`` (0..1: the sampled share in shadow
    mode, default 1; the share answered by the challenger in ab mode, which must be given),
    ``CHALLENGER_STICKY_KEY`` (``transaction_id`` or a feature name) and ``CHALLENGER_MODEL_DIR``
    (default /opt/challenger, where Lambda mounts it)."""

    mode: str = "off"
    share: float = DEFAULT_SHARE
    sticky_key: str = DEFAULT_STICKY_KEY
    model_dir: str = DEFAULT_CHALLENGER_DIR

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ChallengerSettings:
        env = os.environ if environ is None else environ
        mode = env.get("CHALLENGER_MODE", "").strip().lower() or "off"
        if mode not in MODES:
            raise ChallengerError(f"CHALLENGER_MODE={mode!r} must be one of {', '.join(MODES)}")
        raw_share = env.get("CHALLENGER_SHARE", "").strip()
        share = DEFAULT_SHARE
        if not raw_share and mode == "ab":
            # 1.0 would hand every answer to an untried model: the share must be chosen on purpose.
            raise ChallengerError(
                "CHALLENGER_SHARE must be set in ab mode: the share of traffic the challenger answers"
            )
        if raw_share:
            try:
                share = float(raw_share)
            except ValueError:
                raise ChallengerError(f"CHALLENGER_SHARE={raw_share!r} is not a number") from None
            if not 0.0 <= share <= 1.0:  # also refuses nan
                raise ChallengerError(f"CHALLENGER_SHARE={raw_share!r} must be between 0 and 1")
        return cls(
            mode=mode,
            share=share,
            sticky_key=env.get("CHALLENGER_STICKY_KEY", "").strip() or DEFAULT_STICKY_KEY,
            model_dir=env.get("CHALLENGER_MODEL_DIR", "").strip() or DEFAULT_CHALLENGER_DIR,
        )


def bucket_of(key: str) -> float:
    """A stable position in [0, 1) for a key: the same on every host, process and run (blake2b,
    unlike Python's salted ``hash``)."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _BUCKETS


class Challenger:
    """A loaded challenger pipeline and the rule that picks the transactions it sees."""

    def __init__(
        self,
        pipeline: DecisionPipeline,
        mode: str,
        share: float,
        sticky_key: str = DEFAULT_STICKY_KEY,
        champion_model: FraudModel | None = None,
    ):
        """``champion_model``: the model whose one-row input the challenger reads in :meth:`review_one`
        instead of converting the row again (None: the challenger converts it itself)."""
        if mode not in ("shadow", "ab"):
            raise ChallengerError(f"a challenger runs in shadow or ab mode, not {mode!r}")
        if not 0.0 <= share <= 1.0:
            raise ChallengerError(f"share {share!r} must be between 0 and 1")
        self.pipeline = pipeline
        self.mode = mode
        self.share = share
        self.sticky_key = sticky_key
        self.model_version = pipeline.model_version
        self.shadow = mode == "shadow"
        # Which value of a transaction is its sticky key: the id (from the request) or a feature.
        self._feature_index: int | None = None
        if sticky_key != DEFAULT_STICKY_KEY:
            if sticky_key not in pipeline.feature_names:
                raise ChallengerError(
                    f"CHALLENGER_STICKY_KEY={sticky_key!r} is neither transaction_id nor a feature of the model"
                )
            self._feature_index = pipeline.feature_names.index(sticky_key)
        self._decide_one = pipeline.decide_one
        self._decide_unexplained = pipeline.decide_unexplained
        self._decide_scored = pipeline.decide_scored
        self._score_again = pipeline.model.score_again
        self._champion_model = champion_model
        self._random = random.random

    def describe(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "share": self.share,
            "sticky_key": self.sticky_key,
            "model_version": self.model_version,
            "model_dir": str(self.pipeline.model.model_dir),
        }

    def key_of(self, row: Sequence[float], request: Mapping[str, Any] | None) -> str | None:
        if self._feature_index is not None:
            return repr(float(row[self._feature_index]))
        value = request.get(DEFAULT_STICKY_KEY) if request is not None else None
        return value if isinstance(value, str) and value else None

    def takes(self, row: Sequence[float], request: Mapping[str, Any] | None) -> bool:
        """Whether the challenger scores (shadow) or answers (ab) this transaction."""
        share = self.share
        if share >= 1.0:
            return True
        if share <= 0.0:
            return False
        key = self.key_of(row, request)
        if key is None:
            # Shadow sampling needs no stickiness; an A/B answer without a key stays the champion's.
            return self.shadow and self._random() < share
        return bucket_of(key) < share

    def review_one(
        self,
        champion: Decision,
        row: Sequence[float],
        request: Mapping[str, Any] | None = None,
        explain: int | None = None,
    ) -> Decision:
        """The champion's decision with the challenger's attached when it takes this transaction.

        Called right after the champion model scored ``row`` on this thread
        (:meth:`~fraud_scoring.decision.DecisionPipeline.decide_one`): the challenger reads that input.
        """
        if self.shadow:
            if not self.takes(row, request):
                return champion
            # Shadow results are logged, never answered: no reasons (they cost more than the score).
            return champion.with_challenger(self._decide_quietly(row, request), CHAMPION)
        if self.takes(row, request):
            return champion.with_challenger(self._decide_one(row, request, explain)[0], CHALLENGER)
        return champion.with_challenger(self._decide_quietly(row, request), CHAMPION)

    def _decide_quietly(self, row: Sequence[float], request: Mapping[str, Any] | None) -> Decision:
        """The challenger's unexplained decision about the row the champion has just scored."""
        if self._champion_model is None:
            return self._decide_unexplained(row, request)
        return self._decide_scored(self._score_again(self._champion_model), row, request)

    def review_many(
        self,
        champions: Sequence[Decision],
        rows: Sequence[Sequence[float]],
        requests: Sequence[Mapping[str, Any]] | None = None,
        explain: Sequence[int | None] | None = None,
    ) -> list[Decision]:
        """:meth:`review_one` for many transactions: each group scored in one call."""
        n = len(rows)
        taken = [i for i in range(n) if self.takes(rows[i], None if requests is None else requests[i])]
        answering = [] if self.shadow else taken
        quiet = taken if self.shadow else sorted(set(range(n)) - set(taken))
        reviewed = list(champions)
        if quiet:
            found = self.pipeline.decide_many_unexplained(
                [rows[i] for i in quiet], None if requests is None else [requests[i] for i in quiet]
            )
            for position, decision in zip(quiet, found, strict=True):
                reviewed[position] = champions[position].with_challenger(decision, CHAMPION)
        if answering:
            answered, _ = self.pipeline.decide_many(
                [rows[i] for i in answering],
                None if requests is None else [requests[i] for i in answering],
                None if explain is None else [explain[i] for i in answering],
            )
            for position, decision in zip(answering, answered, strict=True):
                reviewed[position] = champions[position].with_challenger(decision, CHALLENGER)
        return reviewed


def load_challenger(
    champion: DecisionPipeline,
    settings: ChallengerSettings | None = None,
    logger: _Logs | None = None,
) -> Challenger | None:
    """The configured challenger, or None: mode off, or any problem, logged as one line on ``logger``.

    Never raises: a challenger must not stop the champion from serving.
    """
    from fraud_scoring.decision import pipeline_for  # decision.py imports this module's names
    from fraud_scoring.model import load_model, load_pairing

    where = os.environ.get("CHALLENGER_MODEL_DIR", DEFAULT_CHALLENGER_DIR) if settings is None else settings.model_dir
    try:
        config = settings if settings is not None else ChallengerSettings.from_env()
        if config.mode == "off":
            return None
        # The champion's policy decides for both models: a comparison of models, not of policies.
        pipeline = pipeline_for(load_model(config.model_dir), champion.policy)
        if pipeline.feature_names != champion.feature_names:
            raise ChallengerError(
                f"the challenger at {config.model_dir} takes other features than the champion "
                f"({len(pipeline.feature_names)} vs {len(champion.feature_names)}, or another order); "
                "a challenger must score the same requests"
            )
        if config.mode == "ab" and champion.explainer is not None and pipeline.explainer is None:
            raise ChallengerError(
                f"the challenger at {config.model_dir} carries no explainer: it could not give the reasons "
                "its A/B answers owe; retrain it"
            )
        challenger = Challenger(pipeline, config.mode, config.share, config.sticky_key, champion.model)
    except Exception as exc:  # any load problem: the champion serves alone
        if logger is not None:
            logger.error(
                "challenger disabled: it failed to load; the champion answers alone",
                extra={"challenger_model_dir": where, "error": f"{type(exc).__name__}: {exc}"},
            )
        return None
    if challenger.shadow and challenger.share >= 1.0:
        # Every transaction is scored by both: one run of the paired graph, if the layer carries it.
        try:
            load_pairing(champion.model, pipeline.model)
        except Exception as exc:  # a stale or broken pair: both still score, each in its own session
            if logger is not None:
                logger.warning(
                    "challenger pair unused: the challenger scores in its own session",
                    extra={"challenger_model_dir": where, "error": f"{type(exc).__name__}: {exc}"},
                )
    return challenger
