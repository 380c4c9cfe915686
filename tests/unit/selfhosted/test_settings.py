"""Server settings from the environment: defaults, per-worker shares, and clear refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from selfhosted.settings import Limit, ServerSettings, SettingsError, usable_cpus


def test_defaults_are_a_protected_server_on_every_cpu() -> None:
    settings = ServerSettings.from_env({})
    assert settings.port == 8080
    assert settings.workers == usable_cpus()
    assert settings.throttle is not None
    assert settings.throttle.scope == "split"
    assert settings.max_body_bytes == 6 * 1024 * 1024
    assert settings.bind == f"0.0.0.0:{settings.port}"


def test_environment_overrides() -> None:
    settings = ServerSettings.from_env(
        {
            "HOST": "::1",
            "PORT": "9000",
            "WEB_CONCURRENCY": "3",
            "THROTTLE_RATE": "100",
            "THROTTLE_BURST": "50",
            "BATCH_THROTTLE_RATE": "2.5",
            "THROTTLE_SCOPE": "worker",
            "MAX_BODY_BYTES": "2048",
            "KEEPALIVE_SECONDS": "5",
        }
    )
    assert settings.bind == "[::1]:9000"
    assert settings.workers == 3
    assert settings.throttle is not None
    assert settings.throttle.default == Limit(100.0, 50)
    assert settings.throttle.batch.rate == 2.5
    assert settings.throttle.scope == "worker"
    assert settings.max_body_bytes == 2048
    assert settings.keepalive_seconds == 5


@pytest.mark.parametrize("value", ["off", "OFF", "none", "disabled", "false"])
def test_throttling_can_be_switched_off(value: str) -> None:
    assert ServerSettings.from_env({"THROTTLE_RATE": value}).throttle is None


def test_split_scope_shares_the_limits_between_workers() -> None:
    limit = Limit(5000.0, 1001)
    assert limit.per_worker(2, "split") == Limit(2500.0, 501)
    assert limit.per_worker(2, "worker") == limit
    assert limit.per_worker(1, "split") == limit
    assert Limit(10.0, 1).per_worker(4, "split").burst == 1  # a worker always admits something


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT='http' is not an integer"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY=0 must be at least 1"),
        ({"THROTTLE_RATE": "fast"}, "THROTTLE_RATE='fast' is not a number"),
        ({"THROTTLE_RATE": "-5"}, "must be a positive number"),
        ({"THROTTLE_RATE": "nan"}, "must be a positive number"),
        ({"THROTTLE_BURST": "0"}, "THROTTLE_BURST=0 must be at least 1"),
        ({"THROTTLE_SCOPE": "global"}, "THROTTLE_SCOPE='global' must be one of split, worker"),
        ({"MAX_BODY_BYTES": "10"}, "MAX_BODY_BYTES=10 must be at least 1024"),
    ],
)
def test_bad_values_are_refused_by_name(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace("?", r"\?")):
        ServerSettings.from_env(env)


@pytest.mark.parametrize(("cpu_max", "expected_cap"), [("max 100000", None), ("150000 100000", 2), ("50000 100000", 1)])
def test_cpu_count_honours_a_cgroup_quota(tmp_path: Path, cpu_max: str, expected_cap: int | None) -> None:
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    unlimited = usable_cpus(tmp_path / "missing")
    expected = unlimited if expected_cap is None else min(unlimited, expected_cap)
    assert usable_cpus(tmp_path) == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DRIFT_ENABLED", "maybe"),
        ("DRIFT_WINDOW", "ten"),
        ("DECISION_LOG_FEATURES", "ture"),
        ("BATCH_MAX_ITEMS", "0"),
        ("ORT_INTRA_OP_THREADS", "two"),
    ],
)
def test_a_bad_app_setting_stops_the_server_before_any_worker_in_one_line(name: str, value: str) -> None:
    # Port 1 on loopback: were the server to start anyway, it could not bind, and it would fail differently.
    env = {**os.environ, name: value, "HOST": "127.0.0.1", "PORT": "1", "WEB_CONCURRENCY": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "selfhosted"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # no traceback, no worker started
    assert lines[0].startswith(f"selfhosted: {name}=")
