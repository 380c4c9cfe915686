"""Run one k6 scenario against one target, with everything bounded and cleaned up.

    python -m loadtest.run --scenario load --target local
    python -m loadtest.run --scenario smoke --target url --base-url http://127.0.0.1:8080

``local`` starts the Docker-free API Gateway + Lambda emulator, ``server`` the self-hosted server,
each on a free loopback port in its own process group; ``url`` uses a target that is already
running (``BASE_URL``). k6 runs under a wall-clock limit; whatever happens (k6 fails, the limit
hits, Ctrl-C, SIGTERM) the target's whole process group is stopped before the runner returns.
Results land in ``loadtest/results/<time>-<scenario>-<target>/``: k6's summary export, its CSV
metrics, the target's log, ``run.json`` and the markdown + PNG report. The exit code is k6's
(99 means a threshold failed).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import platform
import resource
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO

from gateway_emulator.ports import free_port
from loadtest.k6bin import K6Error, find_k6

LOADTEST_DIR = Path(__file__).resolve().parent
REPO_ROOT = LOADTEST_DIR.parent
SCENARIOS = ("smoke", "load", "stress", "spike", "soak")
TARGETS = ("local", "server", "url")
# Wall-clock ceiling per scenario (seconds) on top of what k6 bounds itself: the runner never hangs.
SCENARIO_LIMITS = {"smoke": 90, "load": 240, "stress": 300, "spike": 180}
SOAK_MARGIN = 180
# Execution environments the local emulator starts *and initialises* before the test (like
# provisioned concurrency): all 10 of the template function's concurrency. 200 req/s keeps ~1
# environment busy on average, but a stall of tens of ms on 2 shared vCPUs (k6 takes one) puts
# more in flight; new environments then cold-start *on the same CPUs* as the warm ones (on AWS
# they would not), slowing those too, until the limit is reached: with 4 warm, 2 of 2 runs had
# 36-42 API Gateway 500s within ~2 s; with 10, none (BENCHMARKS.md, "Local emulator").
# Override with --target-args '--warm-pool N' (the last value wins).
LOCAL_WARM_POOL = 10
# Only the tags the report needs: k6 writes a line per sample, fewer tags mean less k6 CPU.
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
SYSTEM_TAGS = "status,method,name,scenario,expected_response,error_code,check"


class RunError(RuntimeError):
    """The run cannot start or its target cannot be reached (the message says why)."""


@dataclass(frozen=True)
class TargetSpec:
    name: str
    command: list[str]
    env: dict[str, str]
    base_url: str
    ready_path: str


def target_spec(target: str, port: int, python: str, extra_args: list[str] | None = None) -> TargetSpec:
    """The command that serves ``target`` on 127.0.0.1:``port`` (run from the repository root)."""
    base_url = f"http://127.0.0.1:{port}"
    # Both targets read the model layer from MODEL_DIR (Lambda's /opt/model does not exist here).
    env = {"MODEL_DIR": os.environ.get("MODEL_DIR") or str(REPO_ROOT / "layers" / "model")}
    if target == "local":
        command = [python, "-m", "gateway_emulator", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--warm-pool", str(LOCAL_WARM_POOL)]
    elif target == "server":
        command = [python, "-m", "selfhosted"]
        env.update({"HOST": "127.0.0.1", "PORT": str(port)})
    else:
        raise RunError(f"target {target!r} is not started by the runner")
    command += extra_args or []
    return TargetSpec(name=target, command=command, env=env, base_url=base_url, ready_path="/health")


def scenario_limit(scenario: str, environ: dict[str, str]) -> int:
    if scenario == "soak":
        from loadtest.durations import duration_seconds

        return int(duration_seconds(environ.get("DURATION", "30m"))) + SOAK_MARGIN
    if scenario == "load":
        from loadtest.durations import duration_seconds

        return max(SCENARIO_LIMITS["load"], int(duration_seconds(environ.get("DURATION", "60s"))) + 120)
    return SCENARIO_LIMITS[scenario]


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float, log_path: Path) -> float:
    """Poll ``url`` until it answers 200; return the seconds it took. Fails fast if the process dies."""
    started = time.monotonic()
    deadline = started + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RunError(f"the target exited with code {process.returncode} before it was ready:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
                last = f"status {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RunError(f"{url} was not ready after {timeout:.0f}s ({last}):\n{tail(log_path)}")


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_group(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after ``grace`` seconds."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    # The leader may be gone while children it started live on in the group: kill them too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@contextlib.contextmanager
def started_target(
    spec: TargetSpec, log: IO[bytes], log_path: Path, ready_timeout: float
) -> Iterator[tuple[int, float]]:
    """Start the target in a new session (its pid is the process group id) and wait until it answers."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env}
    process = subprocess.Popen(
        spec.command,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    try:
        yield process.pid, wait_ready(spec.base_url + spec.ready_path, process, ready_timeout, log_path)
    finally:
        stop_group(process)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the runner dies, even by SIGKILL (Linux only)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class _InterruptedError(Exception):
    pass


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise _InterruptedError(signal.Signals(signum).name)


def run_k6(command: list[str], limit: float, env: dict[str, str], log: IO[bytes]) -> tuple[int, bool]:
    """Run k6 in its own process group; SIGINT it at ``limit`` (k6 then stops and writes its summary)."""
    # Its own session: a terminal's Ctrl-C reaches only the runner, which forwards exactly one SIGINT
    # (a second one would make k6 abort without writing its summary).
    process = subprocess.Popen(
        command,
        cwd=LOADTEST_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    timed_out = False
    try:
        try:
            process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            _interrupt_k6(process)
    finally:
        if process.poll() is None:  # interrupted while waiting
            _interrupt_k6(process)
    return process.returncode, timed_out


def _interrupt_k6(process: subprocess.Popen[bytes]) -> None:
    """SIGINT: k6 stops its scenarios and writes its summary; SIGKILL if it has not ended 20 s later."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def parse_env_pairs(pairs: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RunError(f"-e expects NAME=value, got {pair!r}")
        result[key] = value
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a k6 scenario against a local target (bounded, no orphans).")
    parser.add_argument("--scenario", choices=SCENARIOS, default="smoke")
    parser.add_argument("--target", choices=TARGETS, default="local")
    parser.add_argument(
        "--base-url",
        default=os.environ.get("BASE_URL") or "http://127.0.0.1:3000",
        help="for --target url (default: $BASE_URL, else a `make serve` or `sam local start-api` on port 3000)",
    )
    parser.add_argument("--results", type=Path, default=LOADTEST_DIR / "results")
    parser.add_argument("--ready-timeout", type=float, default=90.0)
    parser.add_argument("-e", dest="env", action="append", default=[], help="NAME=value passed to k6 (repeatable)")
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs a local target")
    parser.add_argument(
        "--target-args", default="", help="extra arguments for a local target's command, e.g. '--concurrency 4'"
    )
    args = parser.parse_args(argv)

    try:
        k6_env = {**parse_env_pairs(args.env)}
        payloads = LOADTEST_DIR / "payloads.json"
        if not payloads.is_file() and "PAYLOADS" not in k6_env:
            raise RunError(f"{payloads} is missing: run `make loadtest-payloads` (make loadtest does it)")
        k6 = find_k6()
        merged_env = {**os.environ, **k6_env}
        limit = scenario_limit(args.scenario, merged_env)
    except (RunError, K6Error, ValueError) as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    # Absolute: k6 runs from loadtest/, so a relative --results would point elsewhere for it.
    out_dir = args.results.resolve() / f"{stamp}-{args.scenario}-{args.target}"
    out_dir.mkdir(parents=True, exist_ok=True)
    record: dict[str, object] = {
        "scenario": args.scenario,
        "target": args.target,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "k6": {"path": str(k6.path), "source": k6.source, "sha256": k6.sha256, "version": k6.version},
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            # Other work on the machine skews the figures: say how busy it was before we started.
            "load_average_1m_before": round(os.getloadavg()[0], 2),
        },
        "limit_seconds": limit,
        "k6_env": k6_env,
    }
    previous = {sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    code = 2
    try:
        with (
            (out_dir / "target.log").open("wb") as target_log,
            (out_dir / "k6.log").open("wb") as k6_log,
            contextlib.ExitStack() as stack,
        ):
            if args.target == "url":
                if not args.base_url:
                    raise RunError("--target url needs --base-url (or BASE_URL)")
                base_url = args.base_url
            else:
                spec = target_spec(args.target, free_port(), args.python, shlex.split(args.target_args))
                record["target_command"] = spec.command
                record["target_args"] = args.target_args
                print(f"loadtest: starting {args.target}: {' '.join(spec.command)}", flush=True)
                target_pid, ready_seconds = stack.enter_context(
                    started_target(spec, target_log, out_dir / "target.log", args.ready_timeout)
                )
                record["target_pid"] = target_pid  # also its process group: nothing of it may outlive the run
                record["target_ready_seconds"] = round(ready_seconds, 3)
                base_url = spec.base_url
            record["base_url"] = base_url
            command = [
                str(k6.path),
                "run",
                "--no-color",
                "--no-usage-report",
                "--quiet",
                "--address",
                "",  # no REST API port: parallel runs must not collide on 6565
                "--system-tags",
                SYSTEM_TAGS,
                "--summary-export",
                str(out_dir / "summary.json"),
                "--out",
                f"csv={out_dir / 'metrics.csv.gz'}",
                "-e",
                f"BASE_URL={base_url}",
                *[arg for key, value in k6_env.items() for arg in ("-e", f"{key}={value}")],
                str(LOADTEST_DIR / "scenarios" / f"{args.scenario}.js"),
            ]
            record["k6_command"] = command
            print(f"loadtest: k6 {args.scenario} -> {base_url} (limit {limit}s), output in {out_dir}", flush=True)
            started = time.monotonic()
            cpu_before = _children_cpu_seconds()
            code, timed_out = run_k6(command, limit, {**os.environ, "K6_NO_USAGE_REPORT": "true"}, k6_log)
            wall = time.monotonic() - started
            record["k6_seconds"] = round(wall, 1)
            # k6 is the only child reaped in between: its CPU time, to say how much of the machine it took.
            record["k6_cpu_seconds"] = round(_children_cpu_seconds() - cpu_before, 1)
            record["k6_cpu_cores"] = round((_children_cpu_seconds() - cpu_before) / max(wall, 1e-9), 2)
            record["load_average_1m_after"] = round(os.getloadavg()[0], 2)
            record["k6_exit_code"] = code
            record["timed_out"] = timed_out
    except (RunError, K6Error) as exc:
        record["error"] = str(exc)
        print(f"loadtest: {exc}", file=sys.stderr)
        code = 2
    except (_InterruptedError, KeyboardInterrupt) as exc:
        record["error"] = f"interrupted ({exc or 'SIGINT'})"
        print("loadtest: interrupted; target and k6 stopped", file=sys.stderr)
        code = 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        record["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        (out_dir / "run.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    print((out_dir / "k6.log").read_text(encoding="utf-8", errors="replace")[-6000:])
    if not args.no_report and (out_dir / "metrics.csv.gz").is_file():
        from loadtest.report import ReportError, write_report

        try:
            print(f"loadtest: report {write_report(out_dir)}")
        except ReportError as exc:  # e.g. k6 stopped in setup(): nothing to plot, the log says why
            print(f"loadtest: no report: {exc}")
    verdict = {0: "thresholds passed", 99: "THRESHOLDS FAILED"}.get(code, f"k6 exit code {code}")
    print(f"loadtest: {args.scenario} against {args.target}: {verdict}; results in {out_dir}")
    return code


if __name__ == "__main__":
    sys.exit(main())
