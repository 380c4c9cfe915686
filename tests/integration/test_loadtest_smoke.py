"""CI's load-test check: the k6 smoke scenario against the local API Gateway + Lambda emulator.

Runs the real runner (`make loadtest SCENARIO=smoke TARGET=local` without make): it starts the
emulator on a free loopback port, runs k6 (a few seconds, bounded), stops the emulator. The test
asserts k6's verdict (exit code 0: every threshold passed), the thresholds in the summary, and
that nothing of the emulator's process group outlives the run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from loadtest.payloads import write_payload_file

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not (REPO_ROOT / "gateway_emulator" / "__init__.py").is_file(),
    reason="the local emulator package (gateway_emulator/) is absent from this tree; the smoke test needs it",
)


def _processes_in_group(pgid: int) -> list[str]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:  # state, ppid, pgrp
            found.append(text.split(" ", 1)[0])
    return found


@pytest.mark.timeout(240)
def test_smoke_scenario_passes_its_thresholds_against_the_emulator(tmp_path: Path, model_dir: Path) -> None:
    payloads = tmp_path / "payloads.json"
    write_payload_file(payloads, model_dir, count=300, seed=17)
    results = tmp_path / "results"
    command = [
        sys.executable,
        "-m",
        "loadtest.run",
        "--scenario",
        "smoke",
        "--target",
        "local",
        "--results",
        str(results),
        "--no-report",
        "-e",
        f"PAYLOADS={payloads}",
    ]
    run = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=220, env=dict(os.environ))
    (run_dir,) = results.iterdir()
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert run.returncode == 0, f"k6 exit code {run.returncode}\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
    assert record["k6_exit_code"] == 0
    assert not record["timed_out"]

    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    metrics = summary["metrics"]
    verdicts = {
        f"{name} {expr}": failed for name, m in metrics.items() for expr, failed in m.get("thresholds", {}).items()
    }
    assert verdicts, "the smoke scenario defines thresholds"
    assert not any(verdicts.values()), verdicts
    assert metrics["checks"]["fails"] == 0
    assert metrics["checks"]["passes"] >= 100 * 4  # 100 requests, four checks each
    assert metrics["scored_latency"]["count"] == 100

    # Nothing of the emulator survives: its process group is empty and its port is closed.
    assert _processes_in_group(record["target_pid"]) == []
    port = urlsplit(record["base_url"]).port
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def _cmdlines() -> dict[int, str]:
    found = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            found[int(cmdline.parent.name)] = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return found


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopping_the_runner_mid_run_leaves_nothing_behind(tmp_path: Path, model_dir: Path, signum: int) -> None:
    """SIGTERM: the runner stops k6 (which still writes its summary) and the emulator. SIGKILL: the
    children get SIGTERM from the kernel (parent-death signal) and do the same by themselves."""
    payloads = tmp_path / "payloads.json"
    write_payload_file(payloads, model_dir, count=300, seed=17)
    results = tmp_path / "results"
    command = [sys.executable, "-m", "loadtest.run", "--scenario", "load", "--target", "local"]
    command += ["--results", str(results), "--no-report", "-e", f"PAYLOADS={payloads}", "-e", "DURATION=60s"]
    runner = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    # Wait until k6 has been sampling for a few seconds (its CSV output exists and grows).
    while time.monotonic() < deadline:
        csvs = list(results.glob("*/metrics.csv.gz"))
        if csvs and csvs[0].stat().st_size > 20_000:
            break
        assert runner.poll() is None, "the runner ended before the test could interrupt it"
        time.sleep(0.5)
    else:
        pytest.fail("k6 never started sampling")
    everything = _descendants(runner.pid)  # k6, the emulator, its RIEs and runtimes
    assert any("gateway_emulator" in _cmdlines().get(pid, "") for pid in everything)
    runner.send_signal(signum)
    runner.wait(timeout=60)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in everything) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [pid for pid in everything if _alive(pid)] == []
    (run_dir,) = results.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["metrics"]["http_reqs"]["count"] > 0
