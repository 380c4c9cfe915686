"""The self-hosted server entry point (``python -m selfhosted``: gunicorn, 2 uvicorn workers) over
real HTTP on 127.0.0.1 with the real model: predictions, errors, throttling, health, metrics,
graceful shutdown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest

from fraud_scoring.manifest import load_manifest
from fraud_scoring.model import FraudModel, load_model
from tests.integration.selfhosted_server import SelfHostedServer

THROTTLED = b'{"message":"Too Many Requests"}'
MAX_BODY_BYTES = 64 * 1024
DOCS_BURST = 2  # per worker (THROTTLE_SCOPE=worker below), so the server admits at most 4 at once


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[SelfHostedServer]:
    running = SelfHostedServer(
        tmp_path_factory.mktemp("selfhosted"),
        model_dir,
        {
            "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "THROTTLE_SCOPE": "worker",
            "DOCS_THROTTLE_RATE": "0.001",
            "DOCS_THROTTLE_BURST": str(DOCS_BURST),
        },
    )
    running.start()
    yield running
    code = running.stop()
    assert code == 0, f"the server did not shut down gracefully (exit {code}):\n{running.log()}"
    assert "Shutting down: Master" in running.log()


@pytest.fixture(scope="module")
def model(model_dir: Path) -> FraudModel:
    return load_model(model_dir)


def fresh_client(server: SelfHostedServer) -> httpx.Client:
    # No keep-alive: every request opens a connection, so requests spread over both workers.
    return httpx.Client(base_url=server.base_url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0))


def varied_rows(count: int, seed: int) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    rows = rng.normal(0.0, 2.0, size=(count, 30))
    rows[:, 0] = rng.uniform(0, 172_800, size=count)  # Time
    rows[:, 29] = rng.lognormal(3.0, 1.5, size=count)  # Amount
    return [[float(value) for value in row] for row in rows]


def scrape(client: httpx.Client) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, float] = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_health_names_the_loaded_model(server: SelfHostedServer, model_dir: Path) -> None:
    response = httpx.get(f"{server.base_url}/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "model_version": load_manifest(model_dir).model_version}


def test_predictions_are_the_models_scores(server: SelfHostedServer, model: FraudModel) -> None:
    with fresh_client(server) as client:
        for index, row in enumerate(varied_rows(12, seed=1)):
            response = client.post("/predict", json={"features": row, "transaction_id": f"tx-{index}"})
            assert response.status_code == 200, response.text
            body = response.json()
            expected = model.score_one(row)
            assert body["fraud_score"] == pytest.approx(expected, abs=1e-6)
            assert body["is_fraud"] == (expected >= model.threshold)
            assert body["transaction_id"] == f"tx-{index}"
            assert body["model_version"] == model.model_version


def test_batch_predictions_match_one_by_one(server: SelfHostedServer, model: FraudModel) -> None:
    rows = varied_rows(40, seed=2)
    response = httpx.post(f"{server.base_url}/predict/batch", json={"transactions": [{"features": r} for r in rows]})
    assert response.status_code == 200, response.text
    scores = [item["fraud_score"] for item in response.json()["results"]]
    assert scores == pytest.approx(model.score_many(rows), abs=1e-6)


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "invalid_json"),
        (orjson.dumps({"features": [1.0, 2.0]}), {"content-type": "application/json"}, 422, "validation_error"),
        (orjson.dumps({"features": [1.0] * 30}), {"content-type": "text/plain"}, 415, "unsupported_media_type"),
    ],
)
def test_bad_requests_get_the_apps_errors(
    server: SelfHostedServer, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = httpx.post(f"{server.base_url}/predict", content=body, headers=headers)
    assert response.status_code == status
    assert response.json()["error"] == code


def test_unknown_route_is_404(server: SelfHostedServer) -> None:
    response = httpx.get(f"{server.base_url}/nope")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_body_over_the_limit_is_refused_before_the_app(server: SelfHostedServer) -> None:
    big = b'{"features":[' + b"1.0," * (MAX_BODY_BYTES // 4) + b"1.0]}"
    response = httpx.post(f"{server.base_url}/predict", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    body = response.json()
    assert body["error"] == "payload_too_large"
    assert str(MAX_BODY_BYTES) in body["message"]


@pytest.mark.parametrize("size", [8 * 1024 * 1024, 11 * 1024 * 1024])
def test_a_large_body_with_connection_close_reads_its_413_not_a_reset(server: SelfHostedServer, size: int) -> None:
    """The refused body is drained before the close: a client still writing gets the answer."""
    import socket

    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head)
        chunk = b" " * 65536
        for _ in range(size // len(chunk)):
            sock.sendall(chunk)  # a reset would raise here (BrokenPipeError / ConnectionResetError)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert b'"payload_too_large"' in rest


def test_chunked_body_over_the_limit_is_refused(server: SelfHostedServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"features":['
        for _ in range(MAX_BODY_BYTES // 1000 + 2):
            yield b"1.0," * 250
        yield b"1.0]}"

    response = httpx.post(f"{server.base_url}/predict", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_chunked_body_under_the_limit_is_scored(server: SelfHostedServer, model: FraudModel) -> None:
    row = varied_rows(1, seed=3)[0]
    payload = orjson.dumps({"features": row})

    def chunks() -> Iterator[bytes]:
        yield payload[:10]
        yield payload[10:]

    response = httpx.post(f"{server.base_url}/predict", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["fraud_score"] == pytest.approx(model.score_one(row), abs=1e-6)


def test_throttled_route_gets_api_gateways_429_and_others_are_unaffected(server: SelfHostedServer) -> None:
    with fresh_client(server) as client:
        answers = [client.get("/openapi.json") for _ in range(4 * DOCS_BURST + 2)]
        statuses = [answer.status_code for answer in answers]
        assert set(statuses) <= {200, 429}
        assert statuses.count(200) <= 2 * DOCS_BURST  # each worker's bucket: burst, then ~nothing
        refused = [answer for answer in answers if answer.status_code == 429]
        assert refused, statuses
        assert all(answer.content == THROTTLED for answer in refused)
        assert all(answer.headers["content-type"] == "application/json" for answer in refused)
        # /predict has its own bucket (a method setting), /health and /metrics are never throttled
        assert client.post("/predict", json={"features": [0.0] * 30}).status_code == 200
        assert client.get("/health").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_metrics_add_up_across_workers(server: SelfHostedServer, model: FraudModel) -> None:
    rows = varied_rows(30, seed=4)
    flagged = sum(model.score_one(row) >= model.threshold for row in rows)
    with fresh_client(server) as client:
        before = scrape(client)
        outcomes: dict[str, int] = {}
        for row in rows:
            answer = client.post("/predict", json={"features": row})
            assert answer.status_code == 200
            outcomes[answer.json()["decision"]] = outcomes.get(answer.json()["decision"], 0) + 1
        assert client.post("/predict", content=b"[", headers={"content-type": "application/json"}).status_code == 400
        docs = [client.get("/openapi.json").status_code for _ in range(4 * DOCS_BURST + 2)]
        after = scrape(client)

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    ok = 'fraud_http_requests_total{method="POST",route="/predict",status="200"}'
    bad = 'fraud_http_requests_total{method="POST",route="/predict",status="400"}'
    assert delta(ok) == len(rows)
    assert delta(bad) == 1
    assert delta("fraud_predictions_total") == len(rows)
    assert delta("fraud_flagged_total") == flagged
    assert len(outcomes) > 1, outcomes  # the rows reach more than one outcome
    for outcome, count in outcomes.items():
        assert delta(f'fraud_decisions_total{{outcome="{outcome}"}}') == count
    assert delta('fraud_http_request_duration_seconds_count{method="POST",route="/predict"}') == len(rows) + 1
    assert after[f'fraud_model_info{{model_version="{model.model_version}"}}'] == 1.0
    throttled = 'fraud_http_requests_total{method="GET",route="/openapi.json",status="429"}'
    assert docs.count(429) >= 1
    assert delta(throttled) == docs.count(429)
    # sub-millisecond buckets exist for the latency histogram
    assert any(re.search(r'le="0\.0005"', name) for name in after)
    # each worker keeps its own files (created at import): the values above are sums over processes
    assert len(list(server.metrics_dir.glob("counter_*.db"))) == 2
