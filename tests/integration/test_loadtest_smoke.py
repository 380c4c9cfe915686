"""CI's load-test check: the k6 smoke scenario against the local API Gateway + Lambda emulator.

Runs the real runner (`make loadtest SCENARIO=smoke TARGET=local` without make): it starts the
emulator on a free loopback port, runs k6 (a few seconds, bounded), stops the emulator. The test
asserts k6's verdict (exit code 0: every threshold passed), the thresholds in the summary, and
that nothing of the emulator's process group outlives the run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
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
