"""The two tools that read decision logs (``monitoring.compare`` and ``monitoring.performance``) read
the same log file and the same labels file alike: the real handler's decision lines with a shadow
challenger, written in every shape the service's logs take, a client retry, other lines; labels in
every accepted word. Checked against the service's own lines and the labels directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitoring import compare, performance
from monitoring.decision_logs import read_decision_logs
from monitoring.labels import FRAUD_WORDS, GENUINE_WORDS, read_labels
from tests.unit.challenger.test_api_challenger import service_with

TRANSACTIONS = 300
RETRIED = 50  # the first transactions, sent again later (a client retry): each counts once

# The shapes a decision line takes in the service's logs: the self-hosted server's and the function's
# own line, the emulator's (`make serve`), a CloudWatch Logs export to S3, `aws logs tail`, and
# `aws logs filter-log-events --output text` (text after the object).
SHAPES = (
    "{line}",
    "2026-11-29 10:00:00,123 INFO gateway_emulator.function.ScoringFunction: {line}",
    "2026-11-29T10:00:00.123Z {line}",
    "2026-11-29T10:00:00.123000+00:00 2026/11/29/[$LATEST]0123abcd {line}",
    "EVENTS\t2026/11/29/[$LATEST]0123abcd\t{line}\t1764410400123",
)


def _words(fraud: bool, position: int) -> str:
    words = FRAUD_WORDS if fraud else GENUINE_WORDS
    word = words[position % len(words)]
    return word.upper() if position % 3 == 0 else word  # any case


@pytest.fixture(scope="module")
def logged(
    model_dir: Path,
    policy_dir: Path,
    challenger_dir: Path,
    traffic: np.ndarray,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, list[dict[str, Any]], dict[str, bool]]:
    service = service_with(model_dir, policy_dir, challenger_dir, "shadow")
    rows = traffic[:TRANSACTIONS].tolist()
    ids = [f"rd-{i}" for i in range(len(rows))]
    batches = [(start, start + 100) for start in range(0, len(rows), 100)] + [(0, RETRIED)]
    for start, end in batches:
        items = [{"features": row, "transaction_id": i} for row, i in zip(rows[start:end], ids[start:end], strict=True)]
        service.post("/predict/batch", {"transactions": items})
    lines = service.decision_lines()
    assert len(lines) == TRANSACTIONS + RETRIED
    text = ["START RequestId: 1 Version: $LATEST"]
    for position, raw in enumerate(service.log.getvalue().splitlines()):
        text.append(SHAPES[position % len(SHAPES)].format(line=raw))
    text += [
        '{"_aws": {"Timestamp": 1764410400123, "CloudWatchMetrics": []}, "Predictions": [100.0]}',
        '{"level": "INFO", "message": "drift", "score_psi": 0.01}',
        "END RequestId: 1",
        "",
    ]
    folder = tmp_path_factory.mktemp("readers")
    log = folder / "decisions.log"
    log.write_text("\n".join(text), encoding="utf-8")
    # every transaction but every 11th labelled, 1 in 5 a fraud, in every accepted word; one label
    # for a transaction the logs do not have
    truth = {transaction_id: i % 5 == 0 for i, transaction_id in enumerate(ids) if i % 11}
    labels = folder / "labels.csv"
    labels.write_text(
        "transaction_id,label\n"
        + "".join(f"{t},{_words(fraud, i)}\n" for i, (t, fraud) in enumerate(truth.items()))
        + "not-logged,chargeback\n",
        encoding="utf-8",
    )
    return log, labels, lines, truth


def test_both_tools_read_the_same_transactions_and_labels(
    logged: tuple[Path, Path, list[dict[str, Any]], dict[str, bool]], policy_dir: Path
) -> None:
    log_path, labels_path, lines, truth = logged
    latest = {line["transaction_id"]: line for line in lines}  # a retry's decision replaces the first
    assert len(latest) == TRANSACTIONS

    report = compare.build_report([log_path], labels_path, policy_dir / "policy.json")
    assert (report["decision_lines"], report["transactions"], report["repeated"]) == (
        TRANSACTIONS + RETRIED,
        TRANSACTIONS,
        RETRIED,
    )
    assert report["unreadable"] == 0
    (item,) = report["comparisons"]
    assert item["transactions"] == TRANSACTIONS
    assert item["agreements"] == sum(line["decision"] == line["challenger_decision"] for line in latest.values())

    log = read_decision_logs([log_path])
    assert len(log.decisions) == TRANSACTIONS
    assert log.repeated == RETRIED
    assert log.other_lines == 2  # the EMF and drift lines
    assert log.text_lines == 2  # START and END
    labels = read_labels(labels_path)
    assert {t: label.fraud for t, label in labels.by_transaction.items()} == {**truth, "not-logged": True}
    measured = performance.join(log, labels)
    assert measured.labels_without_decision == 1

    # the service's own lines and the labels, directly
    labelled = [t for t in latest if t in truth]
    flagged = np.array([latest[t]["decision"] != "APPROVE" for t in labelled])
    fraud = np.array([truth[t] for t in labelled])
    assert flagged.any()
    assert fraud.any()
    caught = int((flagged & fraud).sum())
    champion = item["labelled"]["champion"]
    assert item["labelled"]["transactions"] == len(labelled)
    assert (champion["flagged"], champion["frauds"], champion["caught"]) == (flagged.sum(), fraud.sum(), caught)
    assert champion["recall"] == pytest.approx(caught / fraud.sum())
    assert champion["precision"] == pytest.approx(caught / flagged.sum())
    # performance agrees with compare on the champion (flagged = any outcome but APPROVE)
    total = measured.total
    assert total.flagged.labelled + total.safe.labelled == len(labelled)
    assert (total.flagged.labelled, total.flagged.frauds) == (champion["flagged"], champion["caught"])
    assert total.recall == pytest.approx(champion["recall"])
    assert total.precision == pytest.approx(champion["precision"])


def test_both_commands_run_on_the_same_files(
    logged: tuple[Path, Path, list[dict[str, Any]], dict[str, bool]],
    policy_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log_path, labels_path, _, _ = logged
    common = ["--logs", str(log_path), "--labels", str(labels_path)]
    assert compare.main([*common, "--policy", str(policy_dir / "policy.json"), "--out", str(tmp_path / "c")]) == 0
    assert f"transactions: {TRANSACTIONS} ({RETRIED} decided more than once" in capsys.readouterr().out
    assert performance.main([*common, "--out", str(tmp_path / "p"), "--no-plots"]) == 0
    assert f"performance: {TRANSACTIONS:,} decisions" in capsys.readouterr().out
    assert f"{RETRIED:,} decided more than once" in (tmp_path / "p" / "README.md").read_text(encoding="utf-8")
