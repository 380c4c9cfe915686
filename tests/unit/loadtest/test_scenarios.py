"""The k6 scripts as k6 itself reads them: bounded, thresholded, loopback-only by default."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from loadtest.durations import duration_seconds
from loadtest.k6bin import K6Binary

SCENARIO_DIR = Path(__file__).resolve().parents[3] / "loadtest" / "scenarios"
# The longest each scenario may run with its defaults (soak is long on purpose, still bounded).
DEFAULT_CEILING_S = {"smoke": 60, "load": 120, "stress": 300, "spike": 120, "soak": 3600}


def inspect(k6: K6Binary, scenario: str, payloads: Path, *env: str) -> subprocess.CompletedProcess[str]:
    args = [str(k6.path), "inspect", "--execution-requirements", "-e", f"PAYLOADS={payloads}"]
    for pair in env:
        args += ["-e", pair]
    return subprocess.run([*args, str(SCENARIO_DIR / f"{scenario}.js")], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("scenario", sorted(DEFAULT_CEILING_S))
def test_every_scenario_is_bounded_and_has_the_thresholds(k6: K6Binary, payload_file: Path, scenario: str) -> None:
    result = inspect(k6, scenario, payload_file)
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout)
    assert 0 < duration_seconds(options["totalDuration"]) <= DEFAULT_CEILING_S[scenario]
    assert options["maxVUs"] <= 400
    assert options["thresholds"]["scored_latency"][0].startswith("p(99)<")
    assert options["thresholds"]["errors"][0].startswith("rate")


def test_load_is_200_per_second_and_stress_and_spike_reach_2000(k6: K6Binary, payload_file: Path) -> None:
    load = json.loads(inspect(k6, "load", payload_file).stdout)["scenarios"]["load"]
    assert (load["executor"], load["rate"], load["timeUnit"]) == ("constant-arrival-rate", 200, "1s")
    stress = json.loads(inspect(k6, "stress", payload_file).stdout)["scenarios"]["stress"]
    assert stress["executor"] == "ramping-arrival-rate"
    assert max(stage["target"] for stage in stress["stages"]) == 2000
    spike = json.loads(inspect(k6, "spike", payload_file).stdout)["scenarios"]["spike"]
    assert max(stage["target"] for stage in spike["stages"]) == 20 * spike["startRate"]


def test_soak_duration_is_configurable_and_capped(k6: K6Binary, payload_file: Path) -> None:
    ten_minutes = inspect(k6, "soak", payload_file, "DURATION=10m")
    assert ten_minutes.returncode == 0, ten_minutes.stderr
    assert duration_seconds(json.loads(ten_minutes.stdout)["scenarios"]["soak"]["duration"]) == 600
    too_long = inspect(k6, "soak", payload_file, "DURATION=48h")
    assert too_long.returncode != 0
    assert "DURATION=48h must be more than 0 and at most 86400s" in too_long.stderr


def test_threshold_overrides_reach_k6(k6: K6Binary, payload_file: Path) -> None:
    result = inspect(k6, "load", payload_file, "P99_MS=20", "MAX_ERROR_RATE=0.05", "MAX_THROTTLED_RATE=0")
    thresholds = json.loads(result.stdout)["thresholds"]
    assert thresholds["scored_latency"] == ["p(99)<20"]
    assert thresholds["errors"] == ["rate<0.05"]
    assert thresholds["throttled_rate"] == ["rate<=0"]


@pytest.mark.parametrize(
    ("base_url", "allowed"),
    [
        ("http://127.0.0.1:3000", True),
        ("http://localhost:8080", True),
        ("http://[::1]:3000", True),
        ("https://abc123.execute-api.eu-west-1.amazonaws.com/prod", False),
        ("http://10.0.0.7:3000", False),
        ("http://127.0.0.1.example.com", False),
    ],
)
def test_only_loopback_targets_without_allow_remote(
    k6: K6Binary, payload_file: Path, base_url: str, allowed: bool
) -> None:
    result = inspect(k6, "smoke", payload_file, f"BASE_URL={base_url}")
    assert (result.returncode == 0) is allowed, result.stderr
    if not allowed:
        assert "refusing to send load" in result.stderr
        assert "ALLOW_REMOTE=1" in result.stderr
        opted_in = inspect(k6, "smoke", payload_file, f"BASE_URL={base_url}", "ALLOW_REMOTE=1")
        assert opted_in.returncode == 0, opted_in.stderr
