"""Decision logs, correlation ids, EMF metrics and the init failure of a broken model layer."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fraud_scoring.model import FraudModel
from tests.unit.api.conftest import build_invoke, new_telemetry
from tests.unit.api.lambda_events import rest_event

JSON = {"Content-Type": "application/json"}


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_one_decision_line_per_transaction_correlated_by_request_id(
    model: FraudModel, rows: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    log = io.StringIO()
    invoke = build_invoke(model, telemetry=new_telemetry(model, log))
    body = json.dumps({"features": rows[0].tolist(), "transaction_id": "tx-1"})
    answer = invoke(rest_event("POST", "/predict", body, JSON, request_id="req-abc"))
    lines = _lines(log.getvalue())
    decisions = [line for line in lines if line.get("message") == "decision"]
    assert len(decisions) == 1
    decision = decisions[0]
    assert decision["correlation_id"] == decision["request_id"] == "req-abc"
    assert decision["transaction_id"] == "tx-1"
    assert decision["model_version"] == model.model_version
    assert decision["fraud_score"] == answer.json["fraud_score"]
    assert decision["is_fraud"] == answer.json["is_fraud"]
    assert decision["latency_ms"] > 0
    assert decision["level"] == "INFO"
    assert decision["function_name"] == "fraud-scoring"  # from the Lambda context
    assert "features" not in decision  # raw features are off by default


def test_batch_logs_one_line_per_item_and_metrics_once(
    model: FraudModel, rows: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    log = io.StringIO()
    invoke = build_invoke(model, telemetry=new_telemetry(model, log))
    capsys.readouterr()
    items = [{"features": row.tolist(), "transaction_id": f"t{i}"} for i, row in enumerate(rows[:25])]
    answer = invoke(rest_event("POST", "/predict/batch", json.dumps({"transactions": items}), JSON))
    lines = _lines(capsys.readouterr().out)  # EMF goes to stdout
    decisions = [line for line in _lines(log.getvalue()) if line.get("message") == "decision"]
    assert [line["transaction_id"] for line in decisions] == [f"t{i}" for i in range(25)]
    emf = [line for line in lines if "_aws" in line and "Predictions" in line]
    assert len(emf) == 1
    metrics = emf[0]
    directive = metrics["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "FraudScoring"
    assert directive["Dimensions"] == [["model_version", "service"], ["service"]]  # per version, and the rollup
    assert metrics["model_version"] == model.model_version
    flagged = sum(result["is_fraud"] for result in answer.json["results"])
    assert metrics["Predictions"] == [25.0]
    assert metrics["FlaggedFrauds"] == [float(flagged)]
    assert metrics["BatchSize"] == [25.0]
    assert len(metrics["InferenceLatency"]) == 1


def test_decisions_are_counted_per_outcome_in_their_own_dimension_set(
    model: FraudModel, rows: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke = build_invoke(model, telemetry=new_telemetry(model, io.StringIO()))
    items = [{"features": row.tolist()} for row in rows[:200]]
    capsys.readouterr()
    answer = invoke(rest_event("POST", "/predict/batch", json.dumps({"transactions": items}), JSON))
    expected: dict[str, int] = {}
    for result in answer.json["results"]:
        expected[result["decision"]] = expected.get(result["decision"], 0) + 1
    assert len(expected) > 1, expected  # the rows reach more than one outcome
    counted: dict[str, float] = {}
    for line in _lines(capsys.readouterr().out):
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            if [metric["Name"] for metric in directive["Metrics"]] != ["Decisions"]:
                assert "Decisions" not in [metric["Name"] for metric in directive["Metrics"]]
                continue
            assert directive["Namespace"] == "FraudScoring"
            assert directive["Dimensions"] == [["model_version", "service", "outcome"]]
            assert directive["Metrics"] == [{"Name": "Decisions", "Unit": "Count"}]
            assert line["model_version"] == model.model_version
            assert line["service"]
            assert line["outcome"] not in counted  # one line per outcome
            counted[line["outcome"]] = sum(line["Decisions"])
    assert counted == {outcome: float(count) for outcome, count in expected.items()}


def test_one_transaction_costs_one_metrics_line(
    model: FraudModel, rows: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke = build_invoke(model, telemetry=new_telemetry(model, io.StringIO()))
    capsys.readouterr()
    answer = invoke(rest_event("POST", "/predict", json.dumps({"features": rows[0].tolist()}), JSON))
    emf = [line for line in _lines(capsys.readouterr().out) if "_aws" in line]
    assert len(emf) == 1
    assert emf[0]["Predictions"] == [1.0]
    assert (emf[0]["outcome"], emf[0]["Decisions"]) == (answer.json["decision"], [1.0])


def test_features_are_logged_only_when_asked(model: FraudModel, rows: np.ndarray) -> None:
    log = io.StringIO()
    invoke = build_invoke(model, telemetry=new_telemetry(model, log, log_features=True))
    invoke(rest_event("POST", "/predict", json.dumps({"features": rows[1].tolist()}), JSON))
    decision = next(line for line in _lines(log.getvalue()) if line.get("message") == "decision")
    assert decision["features"] == pytest.approx(rows[1].tolist())


def test_the_flag_comes_from_the_environment(model: FraudModel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECISION_LOG_FEATURES", "true")
    assert new_telemetry(model).log_features is True
    monkeypatch.setenv("DECISION_LOG_FEATURES", "0")
    assert new_telemetry(model).log_features is False


def test_rejections_are_logged_and_counted(model: FraudModel, capsys: pytest.CaptureFixture[str]) -> None:
    log = io.StringIO()
    invoke = build_invoke(model, telemetry=new_telemetry(model, log))
    capsys.readouterr()
    invoke(rest_event("POST", "/predict", "{}", JSON, request_id="req-bad"))
    lines = _lines(capsys.readouterr().out)
    warning = next(line for line in _lines(log.getvalue()) if line.get("message") == "request rejected")
    assert warning["level"] == "WARNING"
    assert warning["correlation_id"] == "req-bad"
    assert warning["status"] == 422
    emf = next(line for line in lines if "_aws" in line)
    assert emf["RejectedRequests"] == [1.0]


def test_cold_start_is_marked_once(model: FraudModel) -> None:
    log = io.StringIO()
    invoke = build_invoke(model, telemetry=new_telemetry(model, log))
    for _ in range(2):
        invoke(rest_event("POST", "/predict", json.dumps({"features": [0.0] * 30}), JSON))
    decisions = [line for line in _lines(log.getvalue()) if line.get("message") == "decision"]
    assert [line["cold_start"] for line in decisions] == [True, False]


def test_no_metrics_line_when_nothing_was_measured(model: FraudModel, capsys: pytest.CaptureFixture[str]) -> None:
    invoke = build_invoke(model)
    capsys.readouterr()
    invoke(rest_event("GET", "/health"))
    assert not [line for line in _lines(capsys.readouterr().out) if "_aws" in line]


def test_tracing_without_the_xray_sdk_stays_off_with_an_error_line(model: FraudModel) -> None:
    log = io.StringIO()
    try:
        import aws_xray_sdk  # noqa: F401
    except ImportError:
        telemetry = new_telemetry(model, log, tracing=True)
        assert telemetry.tracer is None
        error = _lines(log.getvalue())[0]
        assert error["level"] == "ERROR"
        assert "TRACING_ENABLED is set but the X-Ray SDK is not installed" in error["message"]
    else:
        assert new_telemetry(model, log, tracing=True).tracer is not None


# -- init: a broken layer makes the import fail with one clear line --------------------------------


def _import_handler(model_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODEL_DIR": str(model_dir)}
    return subprocess.run(
        [sys.executable, "-c", "import fraud_api.lambda_handler"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_layer_with_a_wrong_hash_fails_init_with_one_clear_line(model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "model"
    shutil.copytree(model_dir, broken)
    with open(broken / "model.onnx", "ab") as handle:
        handle.write(b"tampered")
    result = _import_handler(broken)
    assert result.returncode != 0
    critical = [json.loads(line) for line in result.stderr.splitlines() if line.startswith('{"level":"CRITICAL"')]
    assert len(critical) == 1
    assert critical[0]["message"] == "model failed to load; refusing to start"
    assert "has sha256" in critical[0]["error"]
    assert "ModelLoadError" in result.stderr


def test_a_missing_layer_fails_init(tmp_path: Path) -> None:
    result = _import_handler(tmp_path / "absent")
    assert result.returncode != 0
    assert "no model manifest at" in result.stderr


def test_decision_lines_respect_the_log_level_and_powertools_format(model: FraudModel, rows: np.ndarray) -> None:
    log = io.StringIO()
    telemetry = new_telemetry(model, log)
    invoke = build_invoke(model, telemetry=telemetry)
    telemetry.logger.info("a regular Powertools line")
    invoke(rest_event("POST", "/predict", json.dumps({"features": rows[2].tolist()}), JSON))
    regular, decision = _lines(log.getvalue())
    # The same leading keys, order and timestamp format as Powertools' own lines.
    assert list(decision)[:5] == list(regular)[:5] == ["level", "location", "message", "timestamp", "service"]
    assert len(decision["timestamp"]) == len(regular["timestamp"])
    assert decision["timestamp"].endswith("+0000")
    assert decision["service"] == regular["service"]

    quiet_log = io.StringIO()
    quiet = new_telemetry(model, quiet_log)
    quiet.logger.setLevel("WARNING")
    build_invoke(model, telemetry=quiet)(
        rest_event("POST", "/predict", json.dumps({"features": rows[2].tolist()}), JSON)
    )
    assert quiet_log.getvalue() == ""


def test_metrics_flush_by_themselves_at_100_values(model: FraudModel, capsys: pytest.CaptureFixture[str]) -> None:
    telemetry = new_telemetry(model)
    capsys.readouterr()
    for _ in range(100):
        telemetry.add_metric("Predictions", "Count", 1)
    (line,) = _lines(capsys.readouterr().out)
    assert line["Predictions"] == [1.0] * 100
    telemetry.flush_metrics()
    assert capsys.readouterr().out == ""  # nothing pending, no empty EMF line


def test_metrics_can_be_disabled_with_the_powertools_switch(
    model: FraudModel, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    telemetry = new_telemetry(model)
    capsys.readouterr()
    telemetry.add_metric("Predictions", "Count", 1)
    telemetry.flush_metrics()
    assert capsys.readouterr().out == ""


YES_OR_NO = "must be true or false (or 1/0, yes/no, on/off)"


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("BATCH_MAX_ITEMS", "lots", "BATCH_MAX_ITEMS='lots' is not an integer"),
        # A yes/no setting with a typo is refused, not read as "no" (the same parser for every flag).
        ("DECISION_LOG_FEATURES", "ture", f"DECISION_LOG_FEATURES='ture' {YES_OR_NO}"),
        ("DRIFT_ENABLED", "maybe", f"DRIFT_ENABLED='maybe' {YES_OR_NO}"),
    ],
)
def test_a_bad_setting_fails_init_with_one_clear_line(model_dir: Path, name: str, value: str, error: str) -> None:
    env = {**os.environ, "MODEL_DIR": str(model_dir), name: value}
    result = subprocess.run(
        [sys.executable, "-c", "import fraud_api.app"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    critical = [json.loads(line) for line in result.stderr.splitlines() if line.startswith('{"level":"CRITICAL"')]
    assert [line["error"] for line in critical] == [error]


def test_an_internal_failure_is_a_json_500_and_logged(
    model: FraudModel, rows: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = io.StringIO()
    invoke = build_invoke(model, telemetry=new_telemetry(model, log))

    def broken(row: object) -> float:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(model, "score_one", broken)  # fault injection on the real model object
    answer = invoke(
        rest_event("POST", "/predict", json.dumps({"features": rows[0].tolist()}), JSON, request_id="r-500")
    )
    assert answer.status == 500
    assert answer.json["error"] == "internal_error"
    assert answer.json["request_id"] == "r-500"
    logged = [line for line in _lines(log.getvalue()) if line.get("message") == "unhandled error"]
    assert len(logged) == 1
    assert "injected fault" in logged[0]["exception"]


def test_emf_lines_after_the_first_are_what_powertools_would_build(
    model: FraudModel, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first line of a set of metric names is Powertools' own; later ones reuse its structure.
    telemetry = new_telemetry(model)
    capsys.readouterr()
    sent = [(1.0, 0.0, 0.25), (3.0, 1.0, 0.5), (2.0, 2.0, 0.125)]
    for predictions, flagged, latency in sent:
        telemetry.add_metric("Predictions", "Count", predictions)
        telemetry.add_metric("FlaggedFrauds", "Count", flagged)
        telemetry.add_metric("InferenceLatency", "Milliseconds", latency)
        telemetry.flush_metrics()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == len(sent)
    for line, (predictions, flagged, latency) in zip(lines, sent, strict=True):
        expected: dict[str, Any] = telemetry.metrics.serialize_metric_set(  # type: ignore[assignment]
            metrics={
                "Predictions": {"Unit": "Count", "StorageResolution": 60, "Value": [predictions]},
                "FlaggedFrauds": {"Unit": "Count", "StorageResolution": 60, "Value": [flagged]},
                "InferenceLatency": {"Unit": "Milliseconds", "StorageResolution": 60, "Value": [latency]},
            }
        )
        expected["_aws"]["CloudWatchMetrics"][0]["Dimensions"].append(["service"])  # the rollup
        assert abs(line["_aws"].pop("Timestamp") - expected["_aws"].pop("Timestamp")) < 60_000
        assert line == expected


def test_the_decision_line_timestamp_is_right_across_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime
    import time

    from fraud_api.telemetry import _timestamp

    # The text of the second is kept between calls: it must follow the clock (also backwards).
    for now in (1796000000.001, 1796000000.999, 1796000001.0, 1796000001.5, 1795999999.25, 1796086400.75):
        monkeypatch.setattr(time, "time", lambda now=now: now)
        second = datetime.datetime.fromtimestamp(int(now), datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
        assert _timestamp() == f"{second},{int(now % 1 * 1000):03d}+0000"
