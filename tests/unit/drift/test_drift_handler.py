"""Drift through the real Lambda handler and the real model: a shifted stream raises the signal, an unshifted
stream does not; the signal reaches the drift log line, the EMF metrics and (self-hosted) Prometheus."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fraud_api.telemetry import Telemetry
from fraud_scoring.drift import ACT, WATCH
from fraud_scoring.manifest import load_manifest
from fraud_scoring.model import FraudModel, load_model
from tests.unit.api.conftest import Invoke, build_invoke, new_telemetry
from tests.unit.api.lambda_events import rest_event
from training.data import generate_synthetic

JSON = {"Content-Type": "application/json"}
WINDOW = 500


@pytest.fixture(scope="module")
def model(model_dir: Path) -> FraudModel:
    return load_model(model_dir)


@pytest.fixture(scope="module")
def live_rows() -> np.ndarray:
    """Fresh transactions from the training data's generator (another seed): the same population."""
    return generate_synthetic(n_rows=20_000, fraud_rate=0.002, seed=99).X[-WINDOW:]


def _shifted(rows: np.ndarray, model: FraudModel) -> np.ndarray:
    """Traffic moves the way card testing does: amounts a tenth of usual, and V1 down by about one spread."""
    moved = rows.copy()
    moved[:, model.feature_names.index("Amount")] *= 0.1
    moved[:, model.feature_names.index("V1")] -= 1.5
    return moved


def _lines(text: str, message: str) -> list[dict[str, Any]]:
    return [line for line in map(json.loads, filter(None, text.splitlines())) if line.get("message") == message]


def _stream(invoke: Invoke, rows: np.ndarray) -> None:
    for position, row in enumerate(rows):
        body = json.dumps({"transaction_id": f"tx-{position}", "features": row.tolist()})
        assert invoke(rest_event("POST", "/predict", body, JSON)).status == 200


def _drift_after(model: FraudModel, rows: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("DRIFT_WINDOW", str(WINDOW))
    log = io.StringIO()
    invoke = build_invoke(model, telemetry=new_telemetry(model, log))
    _stream(invoke, rows[:-1])
    assert _lines(log.getvalue(), "drift") == []  # nothing until the window closes
    _stream(invoke, rows[-1:])
    (line,) = _lines(log.getvalue(), "drift")
    return line


def test_a_shifted_stream_raises_the_drift_signal_and_an_unshifted_one_does_not(
    model: FraudModel, live_rows: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    calm = _drift_after(model, live_rows, monkeypatch)
    moved = _drift_after(model, _shifted(live_rows, model), monkeypatch)
    assert calm["window"] == moved["window"] == WINDOW
    assert calm["max_feature_psi"] < WATCH
    assert calm["score_psi"] < WATCH
    assert calm["drift_level"] == "ok"
    assert moved["max_feature_psi"] > ACT
    assert moved["drift_level"] == "act"
    assert moved["max_feature"] == "Amount"
    assert moved["feature_psi"]["Amount"] > ACT
    assert moved["feature_psi"]["V1"] > ACT
    assert moved["feature_psi"]["V2"] < WATCH  # an untouched feature stays quiet
    assert moved["score_psi"] > ACT  # the model's scores move too
    assert "Time" not in moved["feature_psi"]  # a clock always drifts: left out by training
    assert "features" not in moved  # statistics only, never feature values


def test_the_closing_invocation_emits_both_drift_metrics(
    model: FraudModel, live_rows: np.ndarray, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DRIFT_WINDOW", str(WINDOW))
    log = io.StringIO()
    invoke = build_invoke(model, telemetry=new_telemetry(model, log))
    shifted = _shifted(live_rows, model)
    items = [{"transaction_id": f"b{i}", "features": row.tolist()} for i, row in enumerate(shifted)]
    capsys.readouterr()
    answer = invoke(rest_event("POST", "/predict/batch", json.dumps({"transactions": items}), JSON))
    assert answer.status == 200
    (drift,) = _lines(log.getvalue(), "drift")
    emf = [line for line in map(json.loads, filter(None, capsys.readouterr().out.splitlines())) if "_aws" in line]
    # one line with every metric of the invocation (a batch adds a short `Decisions` line per further outcome)
    emf = [line for line in emf if "ScoreDriftPSI" in line]
    assert len(emf) == 1
    assert emf[0]["ScoreDriftPSI"] == [pytest.approx(drift["score_psi"], abs=1e-6)]
    assert emf[0]["MaxFeatureDriftPSI"] == [pytest.approx(drift["max_feature_psi"], abs=1e-6)]
    names = {m["Name"]: m.get("Unit") for m in emf[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names["ScoreDriftPSI"] == names["MaxFeatureDriftPSI"] == "None"


def test_drift_off_and_a_layer_without_reference_serve_without_it(
    model: FraudModel, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFT_ENABLED", "false")
    off = new_telemetry(model)
    build_invoke(model, telemetry=off)
    assert off.drift is None
    monkeypatch.delenv("DRIFT_ENABLED")
    log = io.StringIO()
    old_layer = new_telemetry(model, log)
    manifest = load_manifest(model_dir)
    old_layer.watch_drift(type(manifest)(**{**manifest.__dict__, "drift_reference": None}))
    assert old_layer.drift is None
    assert "no drift reference" in log.getvalue()
    broken = new_telemetry(model, log)
    broken.watch_drift(type(manifest)(**{**manifest.__dict__, "drift_reference": {"statistic": "psi"}}))
    assert broken.drift is None
    assert "drift reference is unusable" in log.getvalue()


def test_a_bad_drift_setting_stops_the_app_with_its_name(model: FraudModel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFT_WINDOW", "often")
    with pytest.raises(ValueError, match="DRIFT_WINDOW"):
        build_invoke(model, telemetry=new_telemetry(model))


def test_the_snapstart_warm_up_leaves_no_transaction_in_the_window(model: FraudModel) -> None:
    telemetry: Telemetry = new_telemetry(model)
    build_invoke(model, telemetry=telemetry)
    assert telemetry.drift is not None
    telemetry.drift.observe([0.0] * model.n_features, 0.0)
    telemetry.discard_metrics()
    assert telemetry.drift._filled == 0


def test_prometheus_gauges_carry_the_closed_window(
    model: FraudModel, live_rows: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prometheus_client import REGISTRY

    from selfhosted.metrics import PrometheusTelemetry

    monkeypatch.setenv("DRIFT_WINDOW", str(WINDOW))
    log = io.StringIO()
    telemetry = PrometheusTelemetry(model.model_version, service="fraud-scoring-prometheus-drift", stream=log)
    invoke = build_invoke(model, telemetry=telemetry)
    _stream(invoke, _shifted(live_rows, model))
    (drift,) = _lines(log.getvalue(), "drift")
    assert REGISTRY.get_sample_value("fraud_score_drift_psi") == pytest.approx(drift["score_psi"], abs=1e-6)
    amount = REGISTRY.get_sample_value("fraud_drift_psi", {"feature": "Amount"})
    assert amount == pytest.approx(drift["feature_psi"]["Amount"], abs=1e-6)
    assert amount is not None
    assert amount > ACT
