"""A real Prometheus (Debian's package) scrapes the running self-hosted server every second, loads
monitoring/prometheus/alerts.yml, and its HTTP API shows exactly the traffic a bounded k6 smoke run sent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway_emulator.ports import free_port
from loadtest.payloads import write_payload_file
from tests.integration.selfhosted_server import REPO_ROOT, SelfHostedServer

ALERTS = REPO_ROOT / "monitoring" / "prometheus" / "alerts.yml"
ITERATIONS = 60  # k6 requests after its one setup request


class Prometheus:
    """``prometheus`` on a free 127.0.0.1 port with a tmp config and tmp storage; stopped by ``stop()``."""

    def __init__(self, workdir: Path, target: str) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus is missing: `make prometheus` installs Debian's package (make test does)")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(ALERTS)],
            "scrape_configs": [{"job_name": "fraud-scoring", "static_configs": [{"targets": [target]}]}],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log_path = workdir / "prometheus.log"
        self.command = [
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1h",
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"prometheus was not ready within {timeout_s}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def api(self, path: str, **params: str) -> Any:
        response = httpx.get(f"{self.base_url}/api/v1/{path}", params=params, timeout=5)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def scalar(self, query: str) -> float | None:
        """The value of a query that yields one series (None while it yields none)."""
        result = self.api("query", query=query)["result"]
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def wait_for(self, query: str, expected: float, timeout_s: float = 20.0) -> float | None:
        """Poll until the query equals ``expected`` (scrapes are 1 s apart); the last value seen."""
        deadline = time.monotonic() + timeout_s
        value = self.scalar(query)
        while value != expected and time.monotonic() < deadline:
            time.sleep(0.5)
            value = self.scalar(query)
        return value


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[SelfHostedServer]:
    running = SelfHostedServer(tmp_path_factory.mktemp("server"), model_dir)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, server: SelfHostedServer) -> Iterator[Prometheus]:
    running = Prometheus(tmp_path_factory.mktemp("prometheus"), f"127.0.0.1:{server.port}")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def run_k6_smoke(workdir: Path, base_url: str, model_dir: Path) -> dict[str, Any]:
    """The smoke scenario through the project's runner (bounded by k6 and by the runner); its summary."""
    payloads = workdir / "payloads.json"
    write_payload_file(payloads, model_dir, count=100, seed=29)
    results = workdir / "results"
    command = [
        sys.executable,
        "-m",
        "loadtest.run",
        "--scenario",
        "smoke",
        "--target",
        "url",
        "--base-url",
        base_url,
        "--results",
        str(results),
        "--no-report",
        "-e",
        f"PAYLOADS={payloads}",
        "-e",
        f"ITERATIONS={ITERATIONS}",
    ]
    run = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert run.returncode == 0, f"k6 exit code {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}"
    (run_dir,) = results.iterdir()
    summary: dict[str, Any] = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    return summary


@pytest.mark.timeout(240)
def test_prometheus_scrapes_the_server_and_sees_the_traffic_k6_sent(
    tmp_path: Path, model_dir: Path, server: SelfHostedServer, prometheus: Prometheus
) -> None:
    assert prometheus.wait_for('up{job="fraud-scoring"}', 1.0) == 1.0, prometheus.log()
    assert prometheus.scalar('sum(fraud_predictions_total{job="fraud-scoring"})') in (None, 0.0)

    summary = run_k6_smoke(tmp_path, server.base_url, model_dir)
    sent = summary["metrics"]["http_reqs"]["count"]
    assert sent == ITERATIONS + 1  # the iterations and the setup request, all POST /predict
    assert summary["metrics"]["checks"]["fails"] == 0

    scored = prometheus.wait_for('sum(fraud_predictions_total{job="fraud-scoring"})', float(sent))
    assert scored == sent, prometheus.log()
    answered = 'sum(fraud_http_requests_total{job="fraud-scoring", route="/predict", status="200"})'
    assert prometheus.wait_for(answered, float(sent)) == sent
    assert prometheus.wait_for('sum(fraud_decisions_total{job="fraud-scoring"})', float(sent)) == sent
    by_outcome = prometheus.api("query", query='sum by (outcome) (fraud_decisions_total{job="fraud-scoring"})')
    assert {series["metric"]["outcome"] for series in by_outcome["result"]} <= {"APPROVE", "REVIEW", "DECLINE"}
    latency = 'sum(fraud_http_request_duration_seconds_count{job="fraud-scoring", route="/predict"})'
    assert prometheus.wait_for(latency, float(sent)) == sent


def test_prometheus_loads_the_alerting_rules_and_evaluates_them(prometheus: Prometheus) -> None:
    deadline = time.monotonic() + 20
    while True:
        groups = prometheus.api("rules", type="alert")["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        evaluated = all(rule.get("lastEvaluation", "").startswith("20") for rule in rules)
        if (rules and evaluated) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(rules) == 8, [rule["name"] for rule in rules]
    assert all(rule["health"] == "ok" for rule in rules), [(rule["name"], rule.get("lastError")) for rule in rules]
    # A healthy, lightly loaded server trips none of them.
    assert [rule["name"] for rule in rules if rule["state"] != "inactive"] == []
