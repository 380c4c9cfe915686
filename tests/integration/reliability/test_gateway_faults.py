"""Faults of the execution environment, through the local API: crash, hang, broken model layer.

The function is the real scoring handler behind a fault switch (tests/fixtures/reliability). Each
emulator is stopped at the end of its test and must leave no process behind.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.integration.reliability.emulator import RunningEmulator, command_line, descendants, emulator, is_running

# Each test starts its own emulator and waits out cold starts and timeouts: the long run.
pytestmark = pytest.mark.slow

ROW = {"features": [0.1] * 30}


def predict(api: RunningEmulator, fault: str | None = None, timeout: float = 60) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if fault:
        headers["x-fault"] = fault
    return httpx.post(api.base_url + "/predict", content=json.dumps(ROW).encode(), headers=headers, timeout=timeout)


def test_a_crash_mid_request_is_a_502_and_the_next_request_is_served(tmp_path: Path, fault_template: Path) -> None:
    with emulator(tmp_path, "--concurrency", "2", "--warm-pool", "1", template=fault_template) as api:
        assert predict(api).status_code == 200
        for _ in range(3):
            crashed = predict(api, "crash")
            assert crashed.status_code == 502
            assert crashed.json() == {"message": "Internal server error"}
            served = predict(api)
            assert served.status_code == 200, served.text
            assert 0.0 <= served.json()["fraud_score"] <= 1.0
        api.note_processes()


def test_a_crash_leaves_no_process_of_its_environment_behind(tmp_path: Path, fault_template: Path) -> None:
    with emulator(tmp_path, "--concurrency", "2", "--warm-pool", "1", template=fault_template) as api:
        assert predict(api).status_code == 200
        assert predict(api, "spawn-and-crash").status_code == 502
        deadline = time.monotonic() + 10
        stray = [pid for pid in api.note_processes() if "time.sleep(600)" in command_line(pid)]
        while stray and time.monotonic() < deadline:
            time.sleep(0.2)
            stray = [pid for pid in stray if is_running(pid)]
        assert not stray, "the crashed environment's child survived it"
        assert predict(api).status_code == 200


def warm_both(api: RunningEmulator) -> None:
    """Initialise two environments: a cold start alone can outlast a 1 s integration timeout."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with ThreadPoolExecutor(2) as pool:
            statuses = [answer.status_code for answer in pool.map(lambda _: predict(api), range(2))]
        if statuses == [200, 200]:
            return
        time.sleep(1.0)  # the inits go on after a 504; try again once they are done
    raise AssertionError("two warm environments never came up")


def test_a_handler_slower_than_the_gateway_takes_the_timeout_path(tmp_path: Path, fault_template: Path) -> None:
    """Integration timeout (API Gateway's 29 s, here 1 s) -> 504; the next request is served."""
    with emulator(
        tmp_path, "--concurrency", "2", "--warm-pool", "2", "--integration-timeout", "1", template=fault_template
    ) as api:
        warm_both(api)
        started = time.monotonic()
        slow = predict(api, "hang")
        waited = time.monotonic() - started
        assert slow.status_code == 504
        assert slow.json()["message"] == "Endpoint request timed out"
        assert waited < 4.0  # the gateway's timeout, not the function's 5 s or the 600 s hang
        served = predict(api)  # the other environment: the hung one stays busy until its own timeout
        assert served.status_code == 200, served.text
        api.note_processes()


def test_a_handler_slower_than_its_function_timeout_is_a_502_and_replaced(tmp_path: Path, fault_template: Path) -> None:
    """Function timeout (5 s in the fixture) -> Lambda kills the runtime -> 502; next request served."""
    with emulator(tmp_path, "--concurrency", "1", "--warm-pool", "1", template=fault_template) as api:
        assert predict(api).status_code == 200
        before = {pid for pid in api.note_processes() if "awslambdaric" in command_line(pid)}
        started = time.monotonic()
        slow = predict(api, "hang")
        waited = time.monotonic() - started
        assert slow.status_code == 502
        assert 4.5 <= waited < 15.0
        served = predict(api)
        assert served.status_code == 200, served.text
        after = {pid for pid in api.note_processes() if "awslambdaric" in command_line(pid)}
        assert before
        assert after
        assert not (before & after), "the timed-out runtime must be replaced, not reused"
        assert not any(is_running(pid) for pid in before)


def test_a_broken_model_layer_never_answers_healthy(tmp_path: Path, fault_template: Path, model_dir: Path) -> None:
    layer = tmp_path / "broken-model"
    shutil.copytree(model_dir, layer, ignore=shutil.ignore_patterns("Makefile"))
    data = bytearray((layer / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0x01  # tampered: the sha256 in the manifest no longer matches
    (layer / "model.onnx").write_bytes(bytes(data))
    with emulator(tmp_path, "--concurrency", "1", "--env", f"MODEL_DIR={layer}", template=fault_template) as api:
        health = [httpx.get(api.base_url + "/health", timeout=60) for _ in range(3)]
        scored = predict(api)
        assert [answer.status_code for answer in health] == [502, 502, 502]
        assert scored.status_code == 502
        log = api.log()
        assert "model failed to load; refusing to start" in log
        assert "sha256" in log
        assert '"status":"ok"' not in log
        # the environments whose init failed are gone, not left idling
        deadline = time.monotonic() + 10
        runtimes = [pid for pid in descendants(api.process.pid) if "awslambdaric" in command_line(pid)]
        while runtimes and time.monotonic() < deadline:
            time.sleep(0.2)
            runtimes = [pid for pid in descendants(api.process.pid) if "awslambdaric" in command_line(pid)]
        assert not runtimes
