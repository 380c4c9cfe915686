"""The one decision-log reader and the one labels reader of the monitoring tools: what they accept,
what they count, and that both tools refuse a bad labels file with the same message."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from monitoring import compare, performance
from monitoring.decision_logs import json_object_of, read_decision_logs
from monitoring.labels import FRAUD_WORDS, GENUINE_WORDS, LabelsError, read_labels

LINE = {
    "message": "decision",
    "timestamp": "2026-11-25 03:42:03,426+0000",
    "transaction_id": "a",
    "decision": "REVIEW",
    "fraud_score": 0.6,
    "model_version": "m1",
    "answered_by": "champion",
    "challenger_model_version": "m2",
    "challenger_score": 0.2,
    "challenger_decision": "APPROVE",
}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(LINE),
        "2026-11-25 03:42:03,426 INFO gateway_emulator.function.ScoringFunction: " + json.dumps(LINE),
        "EVENTS\tstream\t" + json.dumps(LINE) + "\t1764041523426",  # text after the object
        "[{request}] {not json} " + json.dumps(LINE),  # braces in the prefix
    ],
)
def test_the_object_is_found_wherever_it_starts(text: str) -> None:
    assert json_object_of(text) == LINE


@pytest.mark.parametrize("text", ["", "plain text", "{not json", "[1, 2]", "{a} {b", '{"cut": "short'])
def test_a_line_without_an_object_has_none(text: str) -> None:
    assert json_object_of(text) is None


def test_incomplete_lines_are_counted_unreadable_not_guessed(tmp_path: Path) -> None:
    lines = [
        LINE,
        {**LINE, "transaction_id": "b", "challenger_score": None},  # a challenger decision without its score
        {**LINE, "transaction_id": "c", "challenger_decision": None},  # a challenger score without its decision
        {**LINE, "transaction_id": "d", "fraud_score": True},  # a boolean is not a score
        {**LINE, "transaction_id": "e", "timestamp": "yesterday"},
        {**LINE, "transaction_id": None},  # readable, but cannot be joined
        {k: v for k, v in LINE.items() if not k.startswith("challenger_")} | {"transaction_id": "f"},
    ]
    path = tmp_path / "serve.log"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    log = read_decision_logs([path])
    assert (log.decision_lines, log.unreadable, log.without_transaction_id) == (7, 4, 1)
    assert sorted(log.decisions) == ["a", "f"]
    challenger = log.decisions["a"].challenger
    assert challenger is not None
    assert (challenger.model_version, challenger.score, challenger.outcome) == ("m2", 0.2, "APPROVE")
    assert log.decisions["f"].challenger is None
    assert len(list(log.transactions())) == 3
    report = compare.build_report([path], policy_path=tmp_path / "none.json")
    (item,) = report["comparisons"]
    assert item["transactions"] == 2  # "a" and the line without an id: both models decided them


def test_every_accepted_word_in_any_case(tmp_path: Path) -> None:
    words = [(word, True) for word in FRAUD_WORDS] + [(word, False) for word in GENUINE_WORDS]
    rows = []
    expected = {}
    for i, (word, fraud) in enumerate(words):
        for j, spelled in enumerate((word, word.upper(), f" {word.title()} ")):
            rows.append(f"t{i}-{j},{spelled}")
            expected[f"t{i}-{j}"] = fraud
    path = tmp_path / "labels.csv"
    path.write_text("transaction_id,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    labels = read_labels(path)
    assert {t: label.fraud for t, label in labels.by_transaction.items()} == expected
    assert not set(FRAUD_WORDS) & set(GENUINE_WORDS)


def _messages(tmp_path: Path, labels: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    log = tmp_path / "serve.log"
    log.write_text(json.dumps(LINE) + "\n", encoding="utf-8")
    common = ["--logs", str(log), "--labels", str(labels)]
    assert compare.main([*common, "--policy", str(tmp_path / "none.json"), "--out", str(tmp_path / "c")]) == 2
    compare_error = capsys.readouterr().err
    assert performance.main([*common, "--out", str(tmp_path / "p"), "--no-plots"]) == 2
    performance_error = capsys.readouterr().err
    assert not (tmp_path / "c").exists()
    assert not (tmp_path / "p").exists()
    return compare_error.removeprefix("compare: "), performance_error.removeprefix("performance: ")


@pytest.mark.parametrize("word", ["maybe", "2", "fraudulent", "n", ""])
def test_an_unknown_label_word_is_refused_by_both_tools_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], word: str
) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(f"transaction_id,label\nt1,1\nt2,{word}\n", encoding="utf-8")
    compare_error, performance_error = _messages(tmp_path, labels, capsys)
    assert compare_error == performance_error
    assert compare_error.startswith(f"{labels}: 1 bad row:\n  line 3: label {word!r} is not 1/0 (fraud: 1, true")
    with pytest.raises(LabelsError) as refused:
        read_labels(labels)
    assert str(refused.value) + "\n" == compare_error


def test_a_missing_column_is_refused_by_both_tools_alike(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("transaction_id,is_fraud\nt1,1\n", encoding="utf-8")
    compare_error, performance_error = _messages(tmp_path, labels, capsys)
    assert compare_error == performance_error
    assert "missing label; found transaction_id, is_fraud" in compare_error


def test_bad_rows_are_counted_by_row_and_listed_by_problem(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("transaction_id,label,amount\n,maybe,-1\nt2,1,5\n", encoding="utf-8")
    with pytest.raises(LabelsError) as refused:
        read_labels(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: 1 bad row:\n  line 2: transaction_id is empty\n  line 2: label 'maybe'")
    assert "line 2: amount '-1' is not a non-negative number" in message
    many = tmp_path / "many.csv"
    many.write_text("transaction_id,label\n" + "".join(f"t{i},x\n" for i in range(12)), encoding="utf-8")
    with pytest.raises(LabelsError, match=r"12 bad rows \(the first 10 of 12 problems\)") as refused:
        read_labels(many)
    assert "line 11:" in str(refused.value)
    assert "line 12:" not in str(refused.value)


def test_a_file_that_is_not_text_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(b"transaction_id,label\n\xff\xfe\x00,1\n")
    with pytest.raises(LabelsError, match=re.escape(f"{path}: not UTF-8 text")):
        read_labels(path)
