"""The runner: process-group clean-up, a dead target failing fast, and its bounds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway_emulator.ports import free_port
from loadtest.run import (
    LOCAL_WARM_POOL,
    RunError,
    main,
    parse_env_pairs,
    scenario_limit,
    stop_group,
    target_spec,
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes; /proc tells them apart.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_stop_group_kills_the_leader_and_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    # The leader ignores SIGTERM and its child does too: only the SIGKILL follow-up ends them.
    script = f"trap '' TERM; (trap '' TERM; sleep 300) & echo $! > {pid_file}; wait"
    leader = subprocess.Popen(["bash", "-c", script], start_new_session=True)
    deadline = time.monotonic() + 10
    while not pid_file.is_file() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = int(pid_file.read_text())
    started = time.monotonic()
    stop_group(leader, grace=0.5)
    assert time.monotonic() - started < 8
    assert leader.returncode is not None
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_unreachable_target_fails_fast_with_a_clear_message(
    tmp_path: Path, payload_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    code = main(
        [
            "--scenario",
            "smoke",
            "--target",
            "url",
            "--base-url",
            url,
            "--results",
            str(tmp_path),
            "-e",
            f"PAYLOADS={payload_file}",
        ]
    )
    assert time.monotonic() - started < 60
    assert code not in (0, 99)
    (run_dir,) = tmp_path.iterdir()
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["k6_exit_code"] == code
    assert record["k6"]["sha256"]
    assert "did not answer a valid score" in (run_dir / "k6.log").read_text(encoding="utf-8")
    assert "k6 exit code" in capsys.readouterr().out


def test_relative_results_dir_works(tmp_path: Path, payload_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """k6 runs from loadtest/: a results path relative to the caller must still be where k6 writes."""
    monkeypatch.chdir(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    main(["--target", "url", "--base-url", url, "--results", "rel", "-e", f"PAYLOADS={payload_file}"])
    (run_dir,) = (tmp_path / "rel").iterdir()
    assert "could not create" not in (run_dir / "k6.log").read_text(encoding="utf-8")
    assert "did not answer a valid score" in (run_dir / "k6.log").read_text(encoding="utf-8")


def test_url_target_needs_a_url(tmp_path: Path, payload_file: Path) -> None:
    code = main(["--target", "url", "--base-url", "", "--results", str(tmp_path), "-e", f"PAYLOADS={payload_file}"])
    assert code == 2
    (run_dir,) = tmp_path.iterdir()
    assert "needs --base-url" in json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["error"]


def test_limits_cover_the_scenario_durations() -> None:
    assert scenario_limit("smoke", {}) <= 120
    assert scenario_limit("load", {"DURATION": "30m"}) > 30 * 60
    assert scenario_limit("soak", {"DURATION": "2h"}) > 2 * 3600
    with pytest.raises(ValueError, match="not a duration"):
        scenario_limit("soak", {"DURATION": "forever"})


def test_env_pairs_and_target_commands() -> None:
    assert parse_env_pairs(["RATE=100", "X=a=b"]) == {"RATE": "100", "X": "a=b"}
    with pytest.raises(RunError, match="NAME=value"):
        parse_env_pairs(["RATE"])
    local = target_spec("local", 3001, sys.executable)
    assert local.base_url == "http://127.0.0.1:3001"
    assert Path(local.env["MODEL_DIR"], "manifest.json").is_file()
    assert local.command[-6:] == ["--host", "127.0.0.1", "--port", "3001", "--warm-pool", str(LOCAL_WARM_POOL)]
    tuned = target_spec("local", 3001, sys.executable, ["--no-throttling", "--concurrency", "4"])
    assert tuned.command[-3:] == ["--no-throttling", "--concurrency", "4"]
    server = target_spec("server", 3002, sys.executable)
    assert (server.env["HOST"], server.env["PORT"]) == ("127.0.0.1", "3002")
    with pytest.raises(RunError):
        target_spec("url", 3001, sys.executable)
