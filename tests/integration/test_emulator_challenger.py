"""`make serve` with a challenger: the emulator running template.yaml answers as the champion (shadow) or
splits sticky (ab), its logs carry both models, and the comparison report runs on those logs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from fraud_scoring.challenger import bucket_of
from fraud_scoring.decision import load_pipeline
from monitoring import compare
from monitoring.pairing import write_pairing
from tests.integration.emulator_harness import ROOT, run_emulator
from tests.unit.challenger.models import train_challenger
from training.data import generate_synthetic

TEMPLATE = ROOT / "template.yaml"
POLICY = ROOT / "layers" / "policy"


@pytest.fixture(scope="module")
def challenger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Staged as `make challenger` stages it: paired with the champion the emulator serves.
    staged = train_challenger(tmp_path_factory.mktemp("challenger"))
    write_pairing(ROOT / "layers" / "model", staged)
    return staged


@pytest.fixture(scope="module")
def rows() -> list[list[float]]:
    found: list[list[float]] = generate_synthetic(n_rows=1000, fraud_rate=0.05, seed=5).X[:40].tolist()
    return found


def _decision_lines(log: str, expected: int) -> list[dict[str, Any]]:
    lines = []
    for text in log.splitlines():
        start = text.find("{")
        if start >= 0 and '"message": "decision"' in text.replace('":"', '": "'):
            record = json.loads(text[start:])
            if record.get("message") == "decision":
                lines.append(record)
    assert len(lines) == expected, log[-3000:]
    return lines


def _serve(tmp_path: Path, challenger_dir: Path, *overrides: str) -> Any:
    return run_emulator(
        tmp_path,
        "--parameter-overrides",
        *overrides,
        "--env",
        f"CHALLENGER_MODEL_DIR={challenger_dir}",
        "--no-throttling",
        "--warm-pool",
        "1",
        template=TEMPLATE,
    )


def _wait_for_lines(emulator: Any, expected: int) -> str:
    deadline = time.monotonic() + 10
    while True:
        log = emulator.log()
        if log.count('"message":"decision"') + log.count('"message": "decision"') >= expected:
            return str(log)
        if time.monotonic() > deadline:
            return str(log)
        time.sleep(0.1)


def test_shadow_answers_as_the_champion_and_logs_both(
    tmp_path: Path, challenger_dir: Path, rows: list[list[float]]
) -> None:
    champion = load_pipeline(ROOT / "layers" / "model", POLICY)
    challenger = load_pipeline(challenger_dir, POLICY)
    with _serve(tmp_path, challenger_dir, "ChallengerMode=shadow") as emulator:
        with httpx.Client(base_url=emulator.url, timeout=10) as client:
            for i, row in enumerate(rows):
                answer = client.post("/predict", json={"features": row, "transaction_id": f"sh-{i}"})
                assert answer.status_code == 200, answer.text
                body = answer.json()
                assert body["model_version"] == champion.model_version
                assert body["fraud_score"] == pytest.approx(champion.decide_one(row)[0].score)
        log = _wait_for_lines(emulator, len(rows))
    assert "challenger pair unused" not in log  # the champion and the challenger score in one run
    lines = _decision_lines(log, len(rows))
    for line, row in zip(sorted(lines, key=lambda x: int(x["transaction_id"][3:])), rows, strict=True):
        assert line["answered_by"] == "champion"
        assert line["challenger_model_version"] == challenger.model_version
        assert line["challenger_score"] == pytest.approx(challenger.decide_one(row)[0].score)
    saved = tmp_path / "emulator.log"
    saved.write_text(log)
    report = compare.build_report([saved], policy_path=POLICY / "policy.json")
    (item,) = report["comparisons"]
    assert item["transactions"] == len(rows)
    assert item["agreements"] == sum(line["decision"] == line["challenger_decision"] for line in lines)


def test_ab_splits_sticky_by_transaction_id(tmp_path: Path, challenger_dir: Path, rows: list[list[float]]) -> None:
    champion = load_pipeline(ROOT / "layers" / "model", POLICY)
    challenger = load_pipeline(challenger_dir, POLICY)
    ids = [f"ab-{i}" for i in range(len(rows))]
    with _serve(tmp_path, challenger_dir, "ChallengerMode=ab", "ChallengerShare=0.5") as emulator:
        with httpx.Client(base_url=emulator.url, timeout=10) as client:
            for _ in range(2):  # the same transaction gets the same model every time
                for transaction_id, row in zip(ids, rows, strict=True):
                    body = client.post("/predict", json={"features": row, "transaction_id": transaction_id}).json()
                    expected = challenger if bucket_of(transaction_id) < 0.5 else champion
                    assert body["model_version"] == expected.model_version
        log = _wait_for_lines(emulator, 2 * len(rows))
    by = {line["transaction_id"]: line["answered_by"] for line in _decision_lines(log, 2 * len(rows))}
    assert set(by.values()) == {"champion", "challenger"}
    assert all((by[i] == "challenger") == (bucket_of(i) < 0.5) for i in ids)


def test_a_challenger_that_cannot_load_leaves_the_champion_serving(tmp_path: Path, rows: list[list[float]]) -> None:
    """The committed layers/challenger holds no model: mode shadow logs one line and serves the champion."""
    champion = load_pipeline(ROOT / "layers" / "model", POLICY)
    with _serve(tmp_path, ROOT / "layers" / "challenger", "ChallengerMode=shadow") as emulator:
        with httpx.Client(base_url=emulator.url, timeout=10) as client:
            body = client.post("/predict", json={"features": rows[0], "transaction_id": "x"}).json()
        assert body["model_version"] == champion.model_version
        log = _wait_for_lines(emulator, 1)
    assert log.count("challenger disabled: it failed to load") >= 1
    assert "challenger_score" not in log
