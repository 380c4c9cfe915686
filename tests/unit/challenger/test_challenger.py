"""The challenger in the core: loading (and disabling itself), shadow sampling, sticky A/B assignment."""

from __future__ import annotations

import hashlib
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraud_scoring.challenger import (
    Challenger,
    ChallengerError,
    ChallengerSettings,
    bucket_of,
    load_challenger,
)
from fraud_scoring.decision import DecisionPipeline, load_pipeline


class Lines:
    """A logger that keeps what it is given (the load_challenger contract: .error(msg, extra=...))."""

    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.records.append((str(msg), dict(kwargs.get("extra") or {})))

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.records.append((str(msg), dict(kwargs.get("extra") or {})))


def attach(
    champion: DecisionPipeline, directory: Path, policy_dir: Path, mode: str, share: float = 1.0, key: str = ""
) -> Challenger:
    settings = ChallengerSettings(mode=mode, share=share, model_dir=str(directory), sticky_key=key or "transaction_id")
    logs = Lines()
    challenger = load_challenger(champion, settings, logs)
    assert challenger is not None, logs.records
    champion.attach_challenger(challenger)
    return challenger


def ids(n: int) -> list[dict[str, Any]]:
    return [{"transaction_id": f"txn-{i}"} for i in range(n)]


# -- the bucket: stable and uniform ---------------------------------------------------------------------


def test_the_bucket_is_blake2b_of_the_key_as_a_fraction() -> None:
    for key in ("txn-1", "card 4242", "é"):
        digest = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
        assert bucket_of(key) == int(digest, 16) / 2**64
    assert bucket_of("txn-1") != bucket_of("txn-2")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_property_the_bucket_is_in_the_unit_interval_and_stable(key: str) -> None:
    first = bucket_of(key)
    assert 0.0 <= first < 1.0
    assert bucket_of(key) == first


def test_buckets_spread_evenly_over_keys() -> None:
    buckets = np.array([bucket_of(f"txn-{i}") for i in range(20_000)])
    for share in (0.05, 0.3, 0.5, 0.9):
        assert abs((buckets < share).mean() - share) < 0.015


# -- settings -------------------------------------------------------------------------------------------


def test_settings_from_the_environment() -> None:
    assert ChallengerSettings.from_env({}) == ChallengerSettings()
    assert ChallengerSettings.from_env({}).mode == "off"
    got = ChallengerSettings.from_env(
        {
            "CHALLENGER_MODE": " AB ",
            "CHALLENGER_SHARE": "0.25",
            "CHALLENGER_STICKY_KEY": "Amount",
            "CHALLENGER_MODEL_DIR": "/x",
        }
    )
    assert got == ChallengerSettings(mode="ab", share=0.25, sticky_key="Amount", model_dir="/x")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CHALLENGER_MODE": "canary"}, "CHALLENGER_MODE='canary' must be one of off, shadow, ab"),
        ({"CHALLENGER_MODE": "ab", "CHALLENGER_SHARE": "half"}, "CHALLENGER_SHARE='half' is not a number"),
        ({"CHALLENGER_MODE": "ab", "CHALLENGER_SHARE": "1.5"}, "CHALLENGER_SHARE='1.5' must be between 0 and 1"),
        ({"CHALLENGER_MODE": "ab", "CHALLENGER_SHARE": "nan"}, "CHALLENGER_SHARE='nan' must be between 0 and 1"),
        (
            {"CHALLENGER_MODE": "ab"},
            "CHALLENGER_SHARE must be set in ab mode: the share of traffic the challenger answers",
        ),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ChallengerError) as caught:
        ChallengerSettings.from_env(env)
    assert str(caught.value) == message


# -- loading never harms the champion -------------------------------------------------------------------


def test_mode_off_loads_nothing_and_logs_nothing(champion: DecisionPipeline, challenger_dir: Path) -> None:
    logs = Lines()
    assert load_challenger(champion, ChallengerSettings(mode="off", model_dir=str(challenger_dir)), logs) is None
    assert logs.records == []


def _renamed_features(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["feature_names"] = [f"x{i}" for i in range(len(manifest["feature_names"]))]
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


@pytest.mark.parametrize("problem", ["missing", "corrupt", "other_features", "bad_mode", "bad_key"])
def test_a_challenger_that_cannot_load_disables_itself_with_one_log_line(
    problem: str,
    champion: DecisionPipeline,
    challenger_dir: Path,
    policy_dir: Path,
    tmp_path: Path,
    traffic: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings: ChallengerSettings | None = ChallengerSettings(mode="shadow", model_dir=str(challenger_dir))
    expected = ""
    if problem == "missing":
        settings = ChallengerSettings(mode="shadow", model_dir=str(tmp_path / "nothing"))
        expected = "manifest"
    elif problem == "corrupt":
        broken = tmp_path / "broken"
        shutil.copytree(challenger_dir, broken)
        (broken / "model.onnx").write_bytes(b"not onnx")
        settings = ChallengerSettings(mode="shadow", model_dir=str(broken))
        expected = "sha256"
    elif problem == "other_features":
        renamed = _renamed_features(challenger_dir, tmp_path / "renamed")
        settings = ChallengerSettings(mode="ab", share=0.5, model_dir=str(renamed))
        expected = "other features than the champion"
    elif problem == "bad_mode":
        monkeypatch.setenv("CHALLENGER_MODE", "both")
        monkeypatch.setenv("CHALLENGER_MODEL_DIR", str(challenger_dir))
        settings = None  # read from the environment
        expected = "CHALLENGER_MODE='both'"
    elif problem == "bad_key":
        settings = ChallengerSettings(mode="ab", share=0.5, model_dir=str(challenger_dir), sticky_key="card")
        expected = "CHALLENGER_STICKY_KEY='card'"
    before = [champion.decide_one(row)[0] for row in traffic[:50].tolist()]
    logs = Lines()
    challenger = load_challenger(champion, settings, logs)
    champion.attach_challenger(challenger)
    assert challenger is None
    assert len(logs.records) == 1
    message, extra = logs.records[0]
    assert message == "challenger disabled: it failed to load; the champion answers alone"
    assert expected in extra["error"]
    assert extra["challenger_model_dir"]
    after = [champion.decide_one(row)[0] for row in traffic[:50].tolist()]
    assert after == before  # the champion answers exactly as without a challenger


def test_an_ab_challenger_without_explainer_is_refused(
    champion: DecisionPipeline, challenger_dir: Path, policy_dir: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(challenger_dir, bare)
    (bare / "explainer.npz").unlink()
    manifest = json.loads((bare / "manifest.json").read_text())
    manifest.pop("explainer_file", None)
    manifest.pop("explainer_sha256", None)
    (bare / "manifest.json").write_text(json.dumps(manifest))
    logs = Lines()
    ab = ChallengerSettings(mode="ab", share=0.5, model_dir=str(bare))
    assert load_challenger(champion, ab, logs) is None
    assert "carries no explainer" in logs.records[0][1]["error"]
    # Shadow results are never explained, so shadowing it is fine.
    shadow = ChallengerSettings(mode="shadow", model_dir=str(bare))
    assert load_challenger(champion, shadow, logs) is not None


# -- shadow ---------------------------------------------------------------------------------------------


def test_shadow_answers_as_the_champion_and_carries_the_challengers_own_decision(
    champion: DecisionPipeline, challenger_dir: Path, policy_dir: Path, traffic: np.ndarray
) -> None:
    rows = traffic[:400].tolist()
    alone = [champion.decide_one(row, request)[0] for row, request in zip(rows, ids(400), strict=True)]
    reference = load_pipeline(challenger_dir, policy_dir)
    attach(champion, challenger_dir, policy_dir, "shadow")
    shadowed = [champion.decide_one(row, request)[0] for row, request in zip(rows, ids(400), strict=True)]
    for mine, theirs, row in zip(alone, shadowed, rows, strict=True):
        assert theirs.answered_by == "champion"
        assert theirs.answer is theirs
        # The champion's part is unchanged ...
        assert (theirs.score, theirs.outcome, theirs.rules, theirs.reasons) == (
            mine.score,
            mine.outcome,
            mine.rules,
            mine.reasons,
        )
        # ... and the challenger's is what its own pipeline decides, without reasons.
        assert theirs.challenger is not None
        assert theirs.challenger.reasons is None
        own = reference.decide_one(row)[0]
        assert (theirs.challenger.score, theirs.challenger.outcome) == (own.score, own.outcome)
    # Two different models: their scores differ.
    assert any(d.challenger is not None and d.challenger.score != d.score for d in shadowed)


def test_a_shadow_reads_the_row_its_own_thread_scored(
    champion: DecisionPipeline, challenger_dir: Path, policy_dir: Path, traffic: np.ndarray
) -> None:
    # The shadow reads the champion's one-row input buffer (FraudModel.score_again), one per thread:
    # threads deciding different rows at once must each get the challenger's score of their own row.
    reference = load_pipeline(challenger_dir, policy_dir).model
    attach(champion, challenger_dir, policy_dir, "shadow")
    rows = traffic[:600].tolist()
    with ThreadPoolExecutor(max_workers=4) as pool:
        decided = list(pool.map(lambda row: champion.decide_one(row)[0], rows))
    for decision, row in zip(decided, rows, strict=True):
        assert decision.challenger is not None
        assert decision.challenger.score == reference.score_one(row)


def test_a_shadow_of_the_same_model_agrees_everywhere(
    champion: DecisionPipeline, model_dir: Path, policy_dir: Path, traffic: np.ndarray
) -> None:
    attach(champion, model_dir, policy_dir, "shadow")
    decisions, _ = champion.decide_many(traffic[:500].tolist(), ids(500))
    assert all(d.challenger is not None and d.challenger.outcome == d.outcome for d in decisions)
    assert all(d.challenger is not None and d.challenger.score == pytest.approx(d.score, abs=1e-6) for d in decisions)


def test_shadow_sampling_takes_the_configured_share_by_key(
    champion: DecisionPipeline, challenger_dir: Path, policy_dir: Path, traffic: np.ndarray
) -> None:
    attach(champion, challenger_dir, policy_dir, "shadow", share=0.25)
    rows = traffic[:2000].tolist()
    requests = ids(2000)
    decisions, _ = champion.decide_many(rows, requests)
    sampled = [d.challenger is not None for d in decisions]
    assert abs(np.mean(sampled) - 0.25) < 0.04
    assert sampled == [bucket_of(r["transaction_id"]) < 0.25 for r in requests]
    assert all(d.answered_by == "champion" for d in decisions)


# -- A/B ------------------------------------------------------------------------------------------------


def test_ab_answers_a_sticky_share_with_the_challenger(
    champion: DecisionPipeline, challenger_dir: Path, policy_dir: Path, traffic: np.ndarray
) -> None:
    attach(champion, challenger_dir, policy_dir, "ab", share=0.3)
    rows = traffic[:1500].tolist()
    requests = ids(1500)
    batch, _ = champion.decide_many(rows, requests)
    one_by_one = [champion.decide_one(row, request)[0] for row, request in zip(rows, requests, strict=True)]
    again = [champion.decide_one(row, request)[0] for row, request in zip(rows, requests, strict=True)]
    by = [d.answered_by for d in batch]
    assert by == [d.answered_by for d in one_by_one] == [d.answered_by for d in again]  # sticky
    assert by == ["challenger" if bucket_of(r["transaction_id"]) < 0.3 else "champion" for r in requests]
    assert abs(by.count("challenger") / len(by) - 0.3) < 0.04
    for d in batch:  # both models decide every transaction
        assert d.challenger is not None
        assert d.answer is (d.challenger if d.answered_by == "challenger" else d)


def test_ab_without_the_key_is_answered_by_the_champion(
    champion: DecisionPipeline, challenger_dir: Path, policy_dir: Path, traffic: np.ndarray
) -> None:
    attach(champion, challenger_dir, policy_dir, "ab", share=0.9)
    decisions, _ = champion.decide_many(traffic[:200].tolist())
    assert {d.answered_by for d in decisions} == {"champion"}
    assert champion.decide_one(traffic[0].tolist(), {"transaction_id": None})[0].answered_by == "champion"


def test_ab_can_stick_by_a_feature(
    champion: DecisionPipeline, challenger_dir: Path, policy_dir: Path, traffic: np.ndarray
) -> None:
    challenger = attach(champion, challenger_dir, policy_dir, "ab", share=0.5, key="Amount")
    rows = traffic[:300].tolist()
    column = champion.feature_names.index("Amount")
    first = [champion.decide_one(row, {"transaction_id": f"a{i}"})[0].answered_by for i, row in enumerate(rows)]
    second = [champion.decide_one(row, {"transaction_id": f"b{i}"})[0].answered_by for i, row in enumerate(rows)]
    assert first == second  # the transaction id plays no part
    assert first == ["challenger" if bucket_of(repr(float(row[column]))) < 0.5 else "champion" for row in rows]
    assert challenger.describe()["sticky_key"] == "Amount"


def test_ab_answers_carry_the_challengers_reasons_when_asked(
    champion: DecisionPipeline, challenger_dir: Path, policy_dir: Path, traffic: np.ndarray
) -> None:
    attach(champion, challenger_dir, policy_dir, "ab", share=1.0)
    decision = champion.decide_one(traffic[0].tolist(), {"transaction_id": "t"}, 3)[0]
    assert decision.answered_by == "challenger"
    assert decision.challenger is not None
    assert decision.challenger.reasons is not None
    assert len(decision.challenger.reasons) == 3


def test_shares_zero_and_one(
    champion: DecisionPipeline, challenger_dir: Path, policy_dir: Path, traffic: np.ndarray
) -> None:
    rows = traffic[:100].tolist()
    attach(champion, challenger_dir, policy_dir, "ab", share=0.0)
    assert {d.answered_by for d in champion.decide_many(rows, ids(100))[0]} == {"champion"}
    attach(champion, challenger_dir, policy_dir, "ab", share=1.0)
    assert {d.answered_by for d in champion.decide_many(rows, ids(100))[0]} == {"challenger"}
    attach(champion, challenger_dir, policy_dir, "shadow", share=0.0)
    assert all(d.challenger is None for d in champion.decide_many(rows, ids(100))[0])


def test_a_challenger_refuses_a_mode_or_share_it_cannot_run(champion: DecisionPipeline) -> None:
    with pytest.raises(ChallengerError):
        Challenger(champion, "off", 0.5)
    with pytest.raises(ChallengerError):
        Challenger(champion, "ab", 1.5)
