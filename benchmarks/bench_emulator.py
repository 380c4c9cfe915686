"""Benchmark the local API Gateway + Lambda emulator (gateway_emulator) with throttling off.

Starts ``python -m gateway_emulator --no-throttling`` on a free 127.0.0.1 port with the real
template and handler and a warm pool of initialised execution environments (one per connection),
then drives POST /predict with varied transactions from an asyncio load generator (keep-alive
connections, latency measured from each request's *scheduled* send time, so queueing in the client is not hidden):

1. an open-model constant arrival rate (default 500 req/s for 20 s): sustained rate and p50/p95/p99;
2. a closed loop (C connections back to back) for the peak rate;
3. the same closed loop against one bare RIE execution environment (same handler, raw Lambda
   event, no gateway) as the in-run baseline: the difference is the gateway's cost.

Traffic goes only to 127.0.0.1 and every phase is bounded in time. Results: a JSON file under
benchmarks/results/ and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from gateway_emulator.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def varied_bodies(n: int, seed: int = 7) -> list[bytes]:
    """n different transactions (Time, V1..V28, Amount): tree inference on one constant row
    looks ~1.7x faster than on varied rows."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        feats = [rng.uniform(0, 172800)] + [rng.gauss(0, 1.5) for _ in range(28)] + [abs(rng.gauss(80, 150))]
        out.append(json.dumps({"features": [round(f, 6) for f in feats]}).encode())
    return out


def http_request(path: str, body: bytes, host: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
        elif k.strip().lower() == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(length)
    return status


async def _connections(port: int, n: int) -> asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    q: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(n):
        q.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    return q


def _summary(latencies: list[float], statuses: dict[int, int], elapsed: float) -> dict[str, Any]:
    lat = sorted(latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else float("nan")

    return {
        "requests": len(lat),
        "elapsed_s": round(elapsed, 2),
        "rate_rps": round(len(lat) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(lat[-1] * 1000, 2) if lat else float("nan"),
        "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else float("nan"),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


async def constant_rate(port: int, requests: list[bytes], rate: float, duration: float, conns: int) -> dict[str, Any]:
    pool = await _connections(port, conns)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one(payload: bytes, scheduled: float) -> None:
        reader, writer = await pool.get()
        try:
            writer.write(payload)
            status = await _read_response(reader)
        finally:
            pool.put_nowait((reader, writer))
        latencies.append(loop.time() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1

    total = int(rate * duration)
    start = loop.time()
    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        # Always yield: when behind schedule, queued responses must still be processed.
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        tasks.append(asyncio.create_task(one(requests[i % len(requests)], scheduled)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    while not pool.empty():
        pool.get_nowait()[1].close()
    return _summary(latencies, statuses, elapsed) | {"target_rps": rate, "connections": conns}


async def closed_loop(port: int, requests: list[bytes], duration: float, conns: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop = loop.time() + duration

    async def worker(idx: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = idx
        while loop.time() < stop:
            t0 = loop.time()
            writer.write(requests[i % len(requests)])
            status = await _read_response(reader)
            latencies.append(loop.time() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            i += conns
        writer.close()

    start = loop.time()
    await asyncio.gather(*(worker(i) for i in range(conns)))
    return _summary(latencies, statuses, loop.time() - start) | {"connections": conns}


def _proc_table() -> dict[int, tuple[str, int, int]]:
    """pid -> (command name, parent pid, CPU ticks user+system)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry)] = (comm, int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def _cpu_by_role(root: int) -> dict[str, int]:
    """CPU ticks of the emulator (gateway), its RIEs and their runtimes (awslambdaric + handler)."""
    table = _proc_table()
    roles = {"gateway": table.get(root, ("", 0, 0))[2], "rie": 0, "runtime": 0}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (comm, ppid, ticks) in table.items():
            if ppid == parent:
                roles["rie" if comm.startswith("aws-lambda-rie") else "runtime"] += ticks
                frontier.append(pid)
    return roles


async def single_request(port: int, payload: bytes) -> tuple[int, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.perf_counter()
    writer.write(payload)
    status = await _read_response(reader)
    elapsed = (time.perf_counter() - t0) * 1000
    writer.close()
    return status, elapsed


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start listening")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def bench_emulator(args: argparse.Namespace, bodies: list[bytes]) -> dict[str, Any]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "gateway_emulator",
        "--template",
        str(args.template),
        "--port",
        str(port),
        "--no-throttling",
        "--concurrency",
        str(args.concurrency),
        # One initialised environment per client connection: the phases measure warm serving, and
        # no cold start (2-4 s of CPU on a 2-vCPU machine) lands inside a measured phase.
        "--warm-pool",
        str(args.concurrency),
        "--log-level",
        args.server_log_level,
    ]
    log_path = ROOT / "benchmarks" / "results" / "bench_emulator_server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        started = time.monotonic()
        _wait_port(port, proc)  # the port opens once the warm pool is initialised
        startup_s = time.monotonic() - started
        requests = [http_request("/predict", b, "127.0.0.1") for b in bodies]
        status, first_ms = await single_request(port, requests[0])
        cold = {"status": status}  # served by a warm-pool environment: no cold start
        # Short bursts on every environment before measuring (connections, allocator, caches).
        for _ in range(3):
            await closed_loop(port, requests, 1.0, args.concurrency)
        results: dict[str, Any] = {
            "startup_s_incl_warm_pool_init": round(startup_s, 2),
            "first_request_ms_on_warm_pool": round(first_ms, 1),
            "first": cold,
        }
        results["constant_rate"] = [
            await constant_rate(port, requests, rate, args.duration, args.concurrency) for rate in args.rates
        ]
        ticks_before = _cpu_by_role(proc.pid)
        results["closed_loop"] = await closed_loop(port, requests, args.duration, args.concurrency)
        ticks_after = _cpu_by_role(proc.pid)
        hz = os.sysconf("SC_CLK_TCK")
        n = results["closed_loop"]["requests"]
        results["cpu_us_per_request"] = {
            role: round((ticks_after[role] - ticks_before[role]) / hz / n * 1e6) for role in ticks_before
        }
        return results
    finally:
        _stop(proc)


async def bench_bare_rie(args: argparse.Namespace, bodies: list[bytes]) -> dict[str, Any]:
    """Baseline: one RIE environment, raw API Gateway events, no gateway in between."""
    from gateway_emulator.lambda_runtime import ExecutionEnvironment, RuntimeSettings, find_rie_binary
    from gateway_emulator.template import load_app

    app = load_app(args.template)
    fn = next(iter(app.functions.values()))
    template_event = json.loads((ROOT / "events" / "predict_ok.json").read_text())
    env = ExecutionEnvironment(fn, RuntimeSettings(), find_rie_binary(), 0)
    await env.start()
    try:
        events = []
        for b in bodies:
            ev = dict(template_event, body=b.decode())
            payload = json.dumps(ev).encode()
            events.append(
                (
                    "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n"
                ).encode()
                + payload
            )
        port = env._port
        await closed_loop(port, events[:5], 1.0, 1)  # init
        return await closed_loop(port, events, args.duration, 1)
    finally:
        await env.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    p.add_argument("--rates", type=float, nargs="+", default=[500.0], help="constant arrival rates")
    p.add_argument("--concurrency", type=int, default=4, help="environments = client connections")
    p.add_argument("--rows", type=int, default=512, help="distinct transactions cycled through")
    p.add_argument("--server-log-level", default="warning")
    p.add_argument("--skip-baseline", action="store_true")
    args = p.parse_args()
    bodies = varied_bodies(args.rows)
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "args": {k: str(v) for k, v in vars(args).items()},
        "emulator": asyncio.run(bench_emulator(args, bodies)),
    }
    if not args.skip_baseline:
        out["bare_rie_one_env"] = asyncio.run(bench_bare_rie(args, bodies))
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = ROOT / "benchmarks" / "results" / f"bench_emulator_{stamp}.json"
    path.write_text(json.dumps(out, indent=2))
    emu = out["emulator"]
    print("| phase | conns | req/s | p50 ms | p95 ms | p99 ms | max ms | statuses |")
    print("|---|---|---|---|---|---|---|---|")
    for r in emu["constant_rate"]:
        print(
            f"| constant {r['target_rps']:.0f} req/s | {r['connections']} | {r['rate_rps']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['statuses']} |"
        )
    c = emu["closed_loop"]
    print(
        f"| closed loop (peak) | {c['connections']} | {c['rate_rps']} | {c['p50_ms']} | {c['p95_ms']} | "
        f"{c['p99_ms']} | {c['max_ms']} | {c['statuses']} |"
    )
    if "bare_rie_one_env" in out:
        b = out["bare_rie_one_env"]
        print(
            f"| baseline: bare RIE, 1 env, no gateway | 1 | {b['rate_rps']} | {b['p50_ms']} | {b['p95_ms']} | "
            f"{b['p99_ms']} | {b['max_ms']} | {b['statuses']} |"
        )
    print(f"CPU per request in the closed loop (us): {emu['cpu_us_per_request']}")
    print(
        f"start-up incl. warm pool init: {emu['startup_s_incl_warm_pool_init']} s; first request: "
        f"{emu['first_request_ms_on_warm_pool']} ms; results: {path}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
