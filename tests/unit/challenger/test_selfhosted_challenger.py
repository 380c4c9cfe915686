"""The self-hosted server with a challenger: answers as configured, Prometheus counts both models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from prometheus_client import REGISTRY
from starlette.testclient import TestClient

from fraud_scoring.decision import load_pipeline
from selfhosted.app import create_app
from selfhosted.settings import ServerSettings


def _sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_shadow_server_answers_as_the_champion_and_counts_agreements(
    model_dir: Path,
    challenger_dir: Path,
    policy_dir: Path,
    traffic: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setenv("POLICY_DIR", str(policy_dir))
    monkeypatch.setenv("CHALLENGER_MODE", "shadow")
    monkeypatch.setenv("CHALLENGER_MODEL_DIR", str(challenger_dir))
    champion = load_pipeline(model_dir, policy_dir)
    challenger = load_pipeline(challenger_dir, policy_dir)
    settings = ServerSettings.from_env({"THROTTLE_RATE": "off", "WEB_CONCURRENCY": "1"})
    predictions = _sample("fraud_challenger_predictions_total", {"mode": "shadow"})
    agreements = _sample("fraud_challenger_agreements_total")
    rows = traffic[:30].tolist()
    with TestClient(create_app(settings)) as client:
        for i, row in enumerate(rows):
            answer = client.post("/predict", json={"features": row, "transaction_id": f"s-{i}"}).json()
            assert answer["model_version"] == champion.model_version
            assert answer["fraud_score"] == champion.decide_one(row)[0].score
        metrics = client.get("/metrics").text
    agreed = sum(champion.decide_one(row)[0].outcome == challenger.decide_one(row)[0].outcome for row in rows)
    assert _sample("fraud_challenger_predictions_total", {"mode": "shadow"}) - predictions == len(rows)
    assert _sample("fraud_challenger_agreements_total") - agreements == agreed
    assert 'fraud_challenger_predictions_total{mode="shadow"}' in metrics


def test_ab_server_splits_sticky_and_counts_ab_predictions(
    model_dir: Path,
    challenger_dir: Path,
    policy_dir: Path,
    traffic: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fraud_scoring.challenger import bucket_of

    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setenv("POLICY_DIR", str(policy_dir))
    monkeypatch.setenv("CHALLENGER_MODE", "ab")
    monkeypatch.setenv("CHALLENGER_SHARE", "0.5")
    monkeypatch.setenv("CHALLENGER_MODEL_DIR", str(challenger_dir))
    versions = {False: load_pipeline(model_dir).model_version, True: load_pipeline(challenger_dir).model_version}
    settings = ServerSettings.from_env({"THROTTLE_RATE": "off", "WEB_CONCURRENCY": "1"})
    predictions = _sample("fraud_challenger_predictions_total", {"mode": "ab"})
    rows = traffic[:30].tolist()
    with TestClient(create_app(settings)) as client:
        for _ in range(2):
            for i, row in enumerate(rows):
                answer = client.post("/predict", json={"features": row, "transaction_id": f"ab-{i}"}).json()
                assert answer["model_version"] == versions[bucket_of(f"ab-{i}") < 0.5]
    assert _sample("fraud_challenger_predictions_total", {"mode": "ab"}) - predictions == 2 * len(rows)
