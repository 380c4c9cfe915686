"""Live performance from labels: decision logs of the real handler joined with labels, checked against
the answers and the true labels directly."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from fraud_scoring.model import FraudModel, load_model
from monitoring.decision_logs import parse_time, read_decision_logs
from monitoring.labels import LabelsError, read_labels
from monitoring.performance import join, main
from tests.unit.api.conftest import build_invoke, new_telemetry
from tests.unit.api.lambda_events import rest_event
from training.data import generate_synthetic

JSON = {"Content-Type": "application/json"}
DAYS = 3


@pytest.fixture(scope="module")
def model(model_dir: Path) -> FraudModel:
    return load_model(model_dir)


@pytest.fixture(scope="module")
def served(
    model: FraudModel, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[dict[str, object]], np.ndarray, np.ndarray]:
    """600 labelled transactions (a fraud-rich sample) through the real handler, in batches; their log
    lines spread over three days as a real log would be."""
    data = generate_synthetic(n_rows=6_000, fraud_rate=0.05, seed=31)
    X, y = data.X[:600], data.y[:600]
    amount = X[:, -1]
    log = io.StringIO()
    invoke = build_invoke(model, telemetry=new_telemetry(model, log))
    answers: list[dict[str, object]] = []
    for start in range(0, len(X), 200):
        items = [{"transaction_id": f"tx-{i}", "features": X[i].tolist()} for i in range(start, start + 200)]
        answer = invoke(rest_event("POST", "/predict/batch", json.dumps({"transactions": items}), JSON))
        assert answer.status == 200
        answers += answer.json["results"]
    start_day = datetime(2026, 11, 20, 12, tzinfo=UTC)
    lines = []
    for raw in log.getvalue().splitlines():
        line = json.loads(raw)
        if line.get("message") == "decision":
            position = int(str(line["transaction_id"]).split("-")[1])
            at = start_day + timedelta(days=position * DAYS // len(X))
            line["timestamp"] = at.strftime("%Y-%m-%d %H:%M:%S,000+0000")
        lines.append(json.dumps(line))
    folder = tmp_path_factory.mktemp("logs")
    path = folder / "serve.log"
    # the emulator prefixes each function line with its log format; other lines are not decisions
    path.write_text(
        "booting the emulator\n"
        + "\n".join(f"INFO gateway_emulator.function.Fn {text}" for text in lines)
        + '\n{"_aws": {"CloudWatchMetrics": []}, "Predictions": [1.0]}\n',
        encoding="utf-8",
    )
    return path, answers, y, amount


def _labels_csv(path: Path, y: np.ndarray, amount: np.ndarray, every: int = 1) -> Path:
    rows = ["transaction_id,label,label_time,amount"]
    for i in range(0, len(y), every):
        rows.append(f"tx-{i},{int(y[i])},2026-12-01T00:00:00Z,{amount[i]:.2f}")
    rows.append("tx-not-in-logs,1,,10.00")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_the_join_matches_the_answers_and_the_true_labels(
    served: tuple[Path, list[dict[str, object]], np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    log_path, answers, y, amount = served
    log = read_decision_logs([log_path])
    assert len(log.decisions) == len(answers) == 600
    assert log.decision_lines == 600
    labels = read_labels(_labels_csv(tmp_path / "labels.csv", y, amount))
    performance = join(log, labels)
    flagged = np.array([answer["decision"] != "APPROVE" for answer in answers])
    fraud = y.astype(bool)
    assert flagged.any()
    assert fraud.any()
    assert performance.total.precision == pytest.approx((flagged & fraud).sum() / flagged.sum())
    assert performance.total.recall == pytest.approx((flagged & fraud).sum() / fraud.sum())
    assert performance.total.flagged.fraud_amount == pytest.approx(round_sum(amount[flagged & fraud]))
    assert performance.total.safe.fraud_amount == pytest.approx(round_sum(amount[~flagged & fraud]))
    for outcome in {str(answer["decision"]) for answer in answers}:
        mask = np.array([answer["decision"] == outcome for answer in answers])
        assert performance.by_outcome[outcome].transactions == mask.sum()
        assert performance.by_outcome[outcome].frauds == (mask & fraud).sum()
    assert list(performance.by_day) == [date(2026, 11, 20) + timedelta(days=d) for d in range(DAYS)]
    first_day = slice(0, 200)
    day_flagged, day_fraud = flagged[first_day], fraud[first_day]
    assert performance.by_day[date(2026, 11, 20)].recall == pytest.approx(
        (day_flagged & day_fraud).sum() / day_fraud.sum()
    )
    assert performance.labels_without_decision == 1
    assert min(performance.label_delays_days) > 8


def round_sum(values: np.ndarray) -> float:
    return float(sum(round(float(v), 2) for v in values))


def test_unlabelled_transactions_are_skipped_or_counted_genuine(
    served: tuple[Path, list[dict[str, object]], np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    log_path, answers, y, _amount = served
    only_frauds = tmp_path / "chargebacks.csv"
    only_frauds.write_text(
        "transaction_id,label\n" + "".join(f"tx-{i},1\n" for i in np.flatnonzero(y)), encoding="utf-8"
    )
    log, labels = read_decision_logs([log_path]), read_labels(only_frauds)
    skipped = join(log, labels, unlabelled="skip")
    assert skipped.total.precision == 1.0  # only frauds are labelled: precision says nothing
    genuine = join(log, labels, unlabelled="legit")
    flagged = np.array([answer["decision"] != "APPROVE" for answer in answers])
    assert genuine.total.precision == pytest.approx((flagged & y.astype(bool)).sum() / flagged.sum())
    assert genuine.total.recall == skipped.total.recall


def test_the_command_writes_the_report_and_plots(
    served: tuple[Path, list[dict[str, object]], np.ndarray, np.ndarray],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log_path, _, y, amount = served
    labels = _labels_csv(tmp_path / "labels.csv", y, amount, every=2)
    out = tmp_path / "report"
    assert main(["--logs", str(log_path), "--labels", str(labels), "--out", str(out)]) == 0
    text = (out / "README.md").read_text(encoding="utf-8")
    for heading in ("## Overall", "## Per outcome", "## Per day (UTC, of the decision)", "2026-11-22", "| APPROVE |"):
        assert heading in text
    for name in ("precision_recall.png", "caught_missed.png", "frauds_by_outcome.png"):
        assert (out / name).stat().st_size > 5_000
        assert f"({name})" in text
    assert "wrote" in capsys.readouterr().out


def test_bad_inputs_get_one_clear_error(
    served: tuple[Path, list[dict[str, object]], np.ndarray, np.ndarray],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log_path, _, y, amount = served
    labels = _labels_csv(tmp_path / "labels.csv", y, amount)
    out = str(tmp_path / "out")
    assert main(["--logs", str(tmp_path / "missing.log"), "--labels", str(labels), "--out", out]) == 2
    assert "cannot read the decision log" in capsys.readouterr().err
    not_a_log = tmp_path / "other.log"
    not_a_log.write_text("hello\n", encoding="utf-8")
    assert main(["--logs", str(not_a_log), "--labels", str(labels), "--out", out]) == 2
    assert "no decision lines" in capsys.readouterr().err
    assert main(["--logs", str(log_path), "--labels", str(labels), "--out", out, "--safe-outcome", "OK"]) == 2
    assert "outcomes seen: APPROVE" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,label\nx,1\n", "missing transaction_id"),
        ("transaction_id,label\nx,2\n", "line 2: label '2' is not 1/0"),
        ("transaction_id,label,amount\nx,1,-5\n", "amount '-5' is not a non-negative number"),
        ("transaction_id,label,label_time\nx,1,yesterday\n", "label_time 'yesterday'"),
        ("transaction_id,label\n,1\n", "transaction_id is empty"),
        ("transaction_id,label\n", "no label rows"),
    ],
)
def test_bad_labels_are_refused_naming_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LabelsError, match=message):
        read_labels(path)


def test_log_lines_in_every_shape_the_service_writes(tmp_path: Path) -> None:
    line = {
        "message": "decision",
        "timestamp": "2026-11-25 03:42:03,426+0000",
        "transaction_id": "a",
        "decision": "DECLINE",
        "fraud_score": 0.9,
        "model_version": "xgb-1",
    }
    retry = {**line, "timestamp": "2026-11-25 03:42:04,000+0000", "decision": "REVIEW"}
    export = tmp_path / "cloudwatch-export.log"
    export.write_text(
        "2026-11-25T03:42:03.426Z "
        + json.dumps(line)
        + "\n"  # a CloudWatch Logs export line
        + json.dumps(retry)
        + "\n"
        + json.dumps({**line, "transaction_id": None})
        + "\n"
        + json.dumps({**line, "transaction_id": "b", "decision": None})
        + "\n"
        + "{not json\n",
        encoding="utf-8",
    )
    log = read_decision_logs([export])
    assert log.lines == 5
    assert log.decision_lines == 4
    assert log.repeated == 1
    assert log.decisions["a"].outcome == "REVIEW"  # the latest decision about a transaction counts
    assert log.without_transaction_id == 1
    assert log.unreadable == 1
    assert parse_time("2026-11-25T03:42:03Z") == datetime(2026, 11, 25, 3, 42, 3, tzinfo=UTC)
    assert parse_time("soon") is None
