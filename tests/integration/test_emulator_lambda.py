"""Lambda behaviour of the emulator: cold/warm environments, concurrency limit, timeouts, idle
reaping, warm pool and clean shutdown (no orphan processes)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import signal
import time
from pathlib import Path

import httpx

from tests.integration.emulator_harness import alive, run_emulator


def _env_of(resp: httpx.Response) -> str:
    assert resp.status_code == 200, resp.text
    return str(json.loads(resp.text)["env"])


def _reports(log: str) -> list[str]:
    return [line for line in log.splitlines() if "REPORT RequestId:" in line]


def _wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_cold_start_then_warm_reuse(tmp_path: Path) -> None:
    with run_emulator(tmp_path, "--env", "FIXTURE_INIT_DELAY=0.3") as emu, httpx.Client(base_url=emu.url) as c:
        first = _env_of(c.get("/echo"))
        second = _env_of(c.get("/echo"))
        assert first == second  # the same execution environment served both
        assert _wait_for(lambda: len(_reports(emu.log())) == 2, 2)
        cold, warm = _reports(emu.log())
        init = re.search(r"Init Duration: ([\d.]+) ms", cold)
        assert init is not None
        assert float(init.group(1)) >= 300
        assert "Init Duration" not in warm


def test_concurrency_limit_scales_out_then_refuses(tmp_path: Path) -> None:
    """ReservedConcurrentExecutions is 2: two requests run in two environments at once, a third
    concurrent one is throttled by Lambda, which API Gateway answers 500."""
    with run_emulator(tmp_path) as emu, httpx.Client(base_url=emu.url, timeout=10) as c:
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            futures = [pool.submit(c.post, "/sleep", params={"s": "1"}) for _ in range(3)]
            responses = [f.result() for f in futures]
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 200, 500]
        refused = next(r for r in responses if r.status_code == 500)
        assert refused.json() == {"message": "Internal server error"}
        envs = {json.loads(r.text)["env"] for r in responses if r.status_code == 200}
        assert len(envs) == 2
        assert "concurrency limit reached" in emu.log()


def test_function_timeout_kills_and_replaces_the_environment(tmp_path: Path) -> None:
    with run_emulator(tmp_path) as emu, httpx.Client(base_url=emu.url, timeout=20) as c:
        before = _env_of(c.get("/echo"))
        started = time.monotonic()
        resp = c.post("/sleep", params={"s": "6"})  # the function's Timeout is 2 s
        elapsed = time.monotonic() - started
        assert resp.status_code == 502
        assert resp.json() == {"message": "Internal server error"}
        assert 1.9 <= elapsed < 5
        after = _env_of(c.get("/echo"))
        assert after != before
        assert _wait_for(lambda: "Status: timeout" in emu.log(), 2)
        timeout_line = next(line for line in _reports(emu.log()) if "Status: timeout" in line)
        assert "\tDuration: 2000.00 ms\tBilled Duration: 2000 ms" in timeout_line


def test_idle_environments_are_reaped(tmp_path: Path) -> None:
    with run_emulator(tmp_path, "--idle-timeout", "0.5") as emu, httpx.Client(base_url=emu.url) as c:
        _env_of(c.get("/echo"))
        assert emu.descendants()
        assert _wait_for(lambda: "reaped after" in emu.log(), 5)
        assert _wait_for(lambda: not emu.descendants(), 5)
        _env_of(c.get("/echo"))  # a new cold environment serves the next request


def _warm_ups(log: str) -> list[float]:
    return [float(m) for m in re.findall(r"WARM-UP \(not a REPORT\) Init Duration: ([\d.]+) ms", log)]


def test_warm_pool_starts_environments_eagerly(tmp_path: Path) -> None:
    with run_emulator(tmp_path, "--warm-pool", "2") as emu:
        rie = [p for p in emu.descendants() if "aws-lambda-rie" in _cmdline(p)]
        assert len(rie) == 2


def test_warm_pool_environments_are_initialised_before_traffic(tmp_path: Path) -> None:
    """Like provisioned concurrency: the init phase (here 0.3 s) runs at start-up through one
    warm-up invocation per environment, so requests served by the pool carry no Init Duration."""
    with (
        run_emulator(tmp_path, "--warm-pool", "2", "--env", "FIXTURE_INIT_DELAY=0.3") as emu,
        httpx.Client(base_url=emu.url, timeout=10) as c,
    ):
        inits = _warm_ups(emu.log())
        assert len(inits) == 2, emu.log()
        assert min(inits) >= 300
        assert "warm pool 2/2 ready (initialised by a warm-up invocation)" in emu.log()
        assert _reports(emu.log()) == []  # the warm-ups are not REPORT lines
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            responses = list(pool.map(lambda _: c.post("/sleep", params={"s": "0.3"}), range(2)))
        assert len({_env_of(r) for r in responses}) == 2  # both pool environments served
        assert _wait_for(lambda: len(_reports(emu.log())) == 2, 2)
        assert not any("Init Duration" in line for line in _reports(emu.log()))


def test_warm_pool_without_warm_up_leaves_init_to_the_first_request(tmp_path: Path) -> None:
    with (
        run_emulator(tmp_path, "--warm-pool", "1", "--warm-up-path", "none") as emu,
        httpx.Client(base_url=emu.url, timeout=10) as c,
    ):
        assert _warm_ups(emu.log()) == []
        _env_of(c.get("/echo"))
        assert _wait_for(lambda: len(_reports(emu.log())) == 1, 2)
        assert "Init Duration" in _reports(emu.log())[0]


def test_a_crashed_warm_pool_environment_is_replaced_by_a_warmed_one(tmp_path: Path) -> None:
    with (
        run_emulator(tmp_path, "--warm-pool", "1") as emu,
        httpx.Client(base_url=emu.url, timeout=10) as c,
    ):
        assert len(_warm_ups(emu.log())) == 1
        assert c.post("/crash").status_code == 502
        assert _wait_for(lambda: len(_warm_ups(emu.log())) == 2, 10), emu.log()
        assert "replacing a lost or retired warm-pool environment" in emu.log()
        _env_of(c.get("/echo"))
        assert _wait_for(lambda: len(_reports(emu.log())) == 2, 2)
        crash, served = _reports(emu.log())
        assert "Status: crash" in crash
        assert "Init Duration" not in served  # the replacement was initialised off the request path
        assert _wait_for(lambda: len([p for p in emu.descendants() if "aws-lambda-rie" in _cmdline(p)]) == 1, 5)
        children = emu.descendants()
        emu.proc.send_signal(signal.SIGINT)
        assert emu.proc.wait(15) == 0
    assert _wait_for(lambda: not any(alive(p) for p in children), 5), [p for p in children if alive(p)]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_ctrl_c_leaves_no_orphan_processes(tmp_path: Path) -> None:
    with run_emulator(tmp_path, "--warm-pool", "1") as emu, httpx.Client(base_url=emu.url, timeout=10) as c:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda _: c.post("/sleep", params={"s": "0.3"}), range(2)))
        children = emu.descendants()
        assert len(children) >= 4  # two RIEs and their runtimes
        emu.proc.send_signal(signal.SIGINT)
        assert emu.proc.wait(15) == 0
    assert _wait_for(lambda: not any(alive(p) for p in children), 5), [p for p in children if alive(p)]


def test_killed_emulator_takes_its_environments_down(tmp_path: Path) -> None:
    """Even SIGKILL (no cleanup code runs) leaves nothing behind: PR_SET_PDEATHSIG on the RIE."""
    with run_emulator(tmp_path) as emu, httpx.Client(base_url=emu.url) as c:
        _env_of(c.get("/echo"))
        children = emu.descendants()
        assert children
        os.kill(emu.proc.pid, signal.SIGKILL)
        emu.proc.wait(5)
    assert _wait_for(lambda: not any(alive(p) for p in children), 10), [p for p in children if alive(p)]
