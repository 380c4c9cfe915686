"""Drift gauges of the self-hosted server (gunicorn, 2 workers, multiprocess metrics) over real HTTP:
a shifted stream closes windows in the workers and ``/metrics`` shows its PSI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fraud_scoring.drift import ACT
from tests.integration.selfhosted_server import SelfHostedServer
from training.data import FEATURE_NAMES, generate_synthetic

WINDOW = 100


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[SelfHostedServer]:
    running = SelfHostedServer(tmp_path_factory.mktemp("selfhosted-drift"), model_dir, {"DRIFT_WINDOW": str(WINDOW)})
    running.start()
    yield running
    assert running.stop() == 0, running.log()


def test_metrics_show_the_drift_of_a_shifted_stream(server: SelfHostedServer) -> None:
    rows = generate_synthetic(n_rows=5_000, fraud_rate=0.002, seed=5).X[-4 * WINDOW :].copy()
    rows[:, FEATURE_NAMES.index("Amount")] *= 0.1  # small amounts, as in card testing
    items = [{"transaction_id": f"d{i}", "features": row.tolist()} for i, row in enumerate(rows)]
    # no keep-alive: every request opens a connection, so batches spread over both workers
    with httpx.Client(base_url=server.base_url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for start in range(0, len(items), WINDOW):
            batch = client.post("/predict/batch", json={"transactions": items[start : start + WINDOW]})
            assert batch.status_code == 200
        text = client.get("/metrics").text
    values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line.startswith("fraud_")}
    assert values['fraud_drift_psi{feature="Amount"}'] > ACT
    assert values["fraud_score_drift_psi"] > ACT
    assert values['fraud_drift_psi{feature="V2"}'] < 0.25
    assert 'fraud_drift_psi{feature="Time"}' not in values  # the clock is not monitored
    assert server.log_path.read_text(encoding="utf-8").count('"message":"drift"') == 4  # one per window
