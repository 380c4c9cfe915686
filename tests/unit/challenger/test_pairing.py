"""The challenger paired with the champion in one graph (monitoring/pairing.py, fraud_scoring.model.load_pairing):
the same scores as the two models' own, used only while it matches them, never at the champion's expense."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from fraud_scoring.challenger import ChallengerSettings, load_challenger
from fraud_scoring.decision import DecisionPipeline, load_pipeline
from fraud_scoring.model import PAIRED_MANIFEST, PAIRED_ONNX, load_model
from monitoring import promote
from monitoring.pairing import PairingError, paired_model, write_pairing


class Lines:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.records.append(("error", str(msg), dict(kwargs.get("extra") or {})))

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.records.append(("warning", str(msg), dict(kwargs.get("extra") or {})))


@pytest.fixture
def paired_dir(model_dir: Path, challenger_dir: Path, tmp_path: Path) -> Path:
    staged = tmp_path / "challenger"
    shutil.copytree(challenger_dir, staged)
    write_pairing(model_dir, staged)
    return staged


def shadow(champion: DecisionPipeline, directory: Path, share: float = 1.0) -> Lines:
    logs = Lines()
    settings = ChallengerSettings(mode="shadow", share=share, model_dir=str(directory))
    champion.attach_challenger(load_challenger(champion, settings, logs))
    assert champion.challenger is not None, logs.records
    return logs


def test_the_paired_graph_scores_as_the_two_models_do(model_dir: Path, paired_dir: Path, traffic: np.ndarray) -> None:
    champion, challenger = load_model(model_dir), load_model(paired_dir)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # as the service runs it (more threads may sum the trees in another order)
    session = ort.InferenceSession(str(paired_dir / PAIRED_ONNX), options, providers=["CPUExecutionProvider"])
    written = json.loads((paired_dir / PAIRED_MANIFEST).read_text())
    rows = traffic[:1000].astype(np.float32)
    mine, theirs = session.run(["probabilities", written["challenger_probability_output"]], {"input": rows})
    assert np.array_equal(mine[:, 1].astype(np.float64), np.asarray(champion.score_many(rows)))
    assert np.array_equal(theirs[:, 1].astype(np.float64), np.asarray(challenger.score_many(rows)))
    assert written["champion_onnx_sha256"] == champion.manifest.onnx_sha256
    assert written["challenger_onnx_sha256"] == challenger.manifest.onnx_sha256


def test_a_full_shadow_runs_the_pair_and_answers_exactly_as_without(
    model_dir: Path, paired_dir: Path, policy_dir: Path, traffic: np.ndarray
) -> None:
    rows = traffic[:400].tolist()
    alone = load_pipeline(model_dir, policy_dir)
    reference = load_pipeline(paired_dir, policy_dir).model
    paired = load_pipeline(model_dir, policy_dir)
    logs = shadow(paired, paired_dir)
    assert logs.records == []
    assert paired.challenger is not None
    assert paired.model.paired_with is paired.challenger.pipeline.model
    for row in rows:
        want = alone.decide_one(row)[0]
        got = paired.decide_one(row)[0]
        assert (got.score, got.outcome, got.rules, got.reasons) == (want.score, want.outcome, want.rules, want.reasons)
        assert got.challenger is not None
        assert got.challenger.score == reference.score_one(row)


def test_the_pair_keeps_each_threads_row_apart(
    model_dir: Path, paired_dir: Path, policy_dir: Path, traffic: np.ndarray
) -> None:
    champion = load_pipeline(model_dir, policy_dir)
    shadow(champion, paired_dir)
    own = load_model(model_dir)
    reference = load_model(paired_dir)
    rows = traffic[:600].tolist()
    with ThreadPoolExecutor(max_workers=4) as pool:
        decided = list(pool.map(lambda row: champion.decide_one(row)[0], rows))
    for decision, row in zip(decided, rows, strict=True):
        assert decision.score == own.score_one(row)
        assert decision.challenger is not None
        assert decision.challenger.score == reference.score_one(row)


def test_a_sampled_shadow_is_not_paired(model_dir: Path, paired_dir: Path, policy_dir: Path) -> None:
    # Pairing makes every champion score run both graphs: worth it only when every transaction is shadowed.
    champion = load_pipeline(model_dir, policy_dir)
    shadow(champion, paired_dir, share=0.5)
    assert champion.model.paired_with is None


def _stale(paired_dir: Path) -> None:
    manifest = json.loads((paired_dir / PAIRED_MANIFEST).read_text())
    manifest["champion_onnx_sha256"] = "0" * 64  # made for another champion (a retrained one)
    (paired_dir / PAIRED_MANIFEST).write_text(json.dumps(manifest))


def _damaged(paired_dir: Path) -> None:
    (paired_dir / PAIRED_ONNX).write_bytes((paired_dir / PAIRED_ONNX).read_bytes()[:-10])


def _unreadable(paired_dir: Path) -> None:
    (paired_dir / PAIRED_MANIFEST).write_text("{not json")


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [(_stale, "made for other models"), (_damaged, "sha256"), (_unreadable, "unreadable")],
)
def test_a_stale_or_broken_pair_is_left_unused_with_one_line(
    model_dir: Path, paired_dir: Path, policy_dir: Path, traffic: np.ndarray, spoil: Any, reason: str
) -> None:
    spoil(paired_dir)
    champion = load_pipeline(model_dir, policy_dir)
    logs = shadow(champion, paired_dir)
    assert [(level, message) for level, message, _ in logs.records] == [
        ("warning", "challenger pair unused: the challenger scores in its own session")
    ]
    assert reason in logs.records[0][2]["error"]
    assert champion.model.paired_with is None
    reference = load_model(paired_dir)
    decision = champion.decide_one(traffic[0].tolist())[0]
    assert decision.challenger is not None
    assert decision.challenger.score == reference.score_one(traffic[0].tolist())


def test_models_of_other_operator_set_versions_are_not_paired(
    model_dir: Path, challenger_dir: Path, tmp_path: Path
) -> None:
    other = onnx.load(str(challenger_dir / "model.onnx"))
    for opset in other.opset_import:
        if opset.domain == "ai.onnx.ml":
            opset.version += 1
    onnx.save(other, str(tmp_path / "other.onnx"))
    with pytest.raises(PairingError, match=r"operator set 'ai\.onnx\.ml'"):
        paired_model(model_dir / "model.onnx", tmp_path / "other.onnx", "input")


def test_staging_writes_the_pair_and_a_new_stage_replaces_it(
    model_dir: Path, challenger_dir: Path, policy_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    staged = tmp_path / "challenger"
    common = ["--champion-dir", str(model_dir), "--challenger-dir", str(staged), "--policy-dir", str(policy_dir)]
    assert promote.main([*common, "stage", str(challenger_dir)]) == 0
    assert "paired with the champion" in capsys.readouterr().out
    first = json.loads((staged / PAIRED_MANIFEST).read_text())
    assert first["challenger_onnx_sha256"] == load_model(challenger_dir).manifest.onnx_sha256
    # Staging the champion's own model replaces the pair: none of the old pair's files survive.
    assert promote.main([*common, "stage", str(model_dir)]) == 0
    second = json.loads((staged / PAIRED_MANIFEST).read_text())
    assert second["challenger_onnx_sha256"] == load_model(model_dir).manifest.onnx_sha256


def test_detaching_the_challenger_unpairs_the_champion(
    model_dir: Path, paired_dir: Path, policy_dir: Path, traffic: np.ndarray
) -> None:
    champion = load_pipeline(model_dir, policy_dir)
    shadow(champion, paired_dir)
    assert champion.model.paired_with is not None
    champion.attach_challenger(None)
    assert champion.model.paired_with is None
    row = traffic[0].tolist()
    assert champion.decide_one(row)[0].score == load_model(model_dir).score_one(row)


def test_staging_stays_staged_when_the_pair_cannot_be_made(
    model_dir: Path, challenger_dir: Path, policy_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    champion = tmp_path / "model"
    shutil.copytree(model_dir, champion)
    (champion / "model.onnx").unlink()  # the champion's graph is gone: no pair, the challenger still staged
    staged = tmp_path / "challenger"
    common = ["--champion-dir", str(champion), "--challenger-dir", str(staged), "--policy-dir", str(policy_dir)]
    assert promote.main([*common, "stage", str(challenger_dir)]) == 0
    assert "not paired with the champion (FileNotFoundError" in capsys.readouterr().out
    assert (staged / "model.onnx").is_file()
    assert not (staged / PAIRED_ONNX).exists()
    assert not (staged / PAIRED_MANIFEST).exists()
