"""Benchmark the scoring function in process against the naive baseline, in the same run.

    make bench-function            # or: .venv/bin/python benchmarks/bench_function.py [--quick] [--update-md]

Three measurements, each with the baseline measured alongside (rounds interleaved, medians):

1. one-row ONNX Runtime score (varied rows): ``FraudModel.score_one`` vs the naive per-request
   numpy conversion + default session + ``session.run``;
2. a full in-process Lambda invocation of ``POST /predict`` from an API Gateway REST (v1) event:
   the shipped handler vs ``benchmarks/naive_baseline`` (and the steps in between);
3. cold start: a new process in a layer-like environment (only the packages that ship in the
   dependency layer, like ``/opt/python`` on Lambda) -> imports -> model load -> first response;
   plus the import cost of Powertools.

Timings are medians over many calls; the machine is shared, so ratios from the same run are
what to compare. Results go to stdout, to ``benchmarks/results/`` (JSON) and, with ``--update-md``,
to the ``## Scoring function (in process)`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LAYER_DIR = REPO / "build" / "bench-layer"
SECTION = "## Scoring function (in process)"

JSON_HEADERS = {"Content-Type": "application/json"}


# --------------------------------------------------------------------------------------------- helpers


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values_ns: list[float]) -> dict[str, float]:
    us = [value / 1000.0 for value in values_ns]
    return {
        "median_us": statistics.median(us),
        "p90_us": percentile(us, 0.90),
        "p99_us": percentile(us, 0.99),
        "n": len(us),
    }


@contextlib.contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """Log lines and EMF still get formatted and written (that cost is real), just not shown."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


def interleaved(
    variants: dict[str, Callable[[int], object]],
    calls: int,
    rounds: int,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> dict[str, list[float]]:
    """Run every variant ``calls`` times per round, rounds interleaved; per-call times in ns of ``clock``."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            bucket = times[name]
            for i in range(calls):
                started = clock()
                run(i)
                bucket.append(clock() - started)
    return times


def machine() -> dict[str, Any]:
    model_name = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    versions = {}
    for package in ("onnxruntime", "numpy", "fastapi", "starlette", "pydantic", "mangum", "aws-lambda-powertools"):
        versions[package.replace("-", "_")] = version(package)
    return {
        "cpu": model_name,
        "vcpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
        "versions": versions,
    }


def varied_rows(n: int) -> list[list[float]]:
    from training.data import generate_synthetic

    data = generate_synthetic(n_rows=max(n, 1000), fraud_rate=0.01, seed=99)
    rows: list[list[float]] = data.X[:n].tolist()
    return rows


# ------------------------------------------------------------------------------------ 1: one-row score


def bench_score(model_dir: Path, rows: list[list[float]], calls: int, rounds: int) -> dict[str, Any]:
    import numpy as np
    import onnxruntime as ort

    from fraud_scoring.model import load_model

    model = load_model(model_dir)
    manifest = model.manifest
    naive_session = ort.InferenceSession(str(model_dir / manifest.onnx_file))  # defaults, as the old service
    names = [output.name for output in naive_session.get_outputs()]
    probability = names.index(manifest.probability_output)
    positive = manifest.positive_class_index
    n = len(rows)
    constant = rows[0]

    def ours(i: int) -> None:
        model.score_one(rows[i % n])

    def ours_constant_row(i: int) -> None:
        model.score_one(constant)

    def naive(i: int) -> None:
        x = np.array(rows[i % n], dtype=np.float32).reshape(1, -1)
        float(naive_session.run(None, {manifest.input_name: x})[probability][0][positive])

    times = interleaved(
        {"ours: score_one": ours, "naive: np.array + session.run": naive, "ours, one constant row": ours_constant_row},
        calls,
        rounds,
    )
    return {name: summary(values) for name, values in times.items()}


# ---------------------------------------------------------------------------- 2: in-process invocation


def bench_invocation(model_dir: Path, rows: list[list[float]], calls: int, rounds: int) -> dict[str, Any]:
    os.environ["MODEL_DIR"] = str(model_dir)
    # The shipped handler with the committed policy layer, as deployed (POLICY_DIR=/opt/policy there).
    os.environ.setdefault("POLICY_DIR", str(REPO / "layers" / "policy"))
    from mangum import Mangum

    import benchmarks.naive_baseline.naive_app as naive_app
    import fraud_api.lambda_handler as shipped
    from fraud_api.app import app as shipped_app
    from fraud_api.factory import create_app
    from fraud_api.telemetry import Telemetry
    from tests.unit.api.lambda_events import FakeLambdaContext, rest_event

    class NoTelemetry(Telemetry):
        """Ours minus the Powertools per-request work: shows what logging + metrics cost."""

        def decisions(self, *args: Any, **kwargs: Any) -> int:
            return 0

        def rejected(self, *args: Any, **kwargs: Any) -> None:
            return None

    silent_app = create_app(shipped_app.state.pipeline, telemetry=NoTelemetry(shipped_app.state.model.model_version))

    class PlainPowertools(Telemetry):
        """The straightforward use of Powertools: logger.info per decision, add_metric per value."""

        def decisions(
            self,
            request_id: Any,
            route: str,
            ids: Any,
            decisions: Any,
            latency_ms: float,
            features: Any = None,
        ) -> int:
            flagged = 0
            threshold = self.threshold
            for transaction_id, decision in zip(ids, decisions, strict=True):
                score = decision.score
                flagged += decision.is_fraud
                self.logger.info(
                    "decision",
                    extra={
                        "request_id": request_id,
                        "route": route,
                        "transaction_id": transaction_id,
                        "model_version": self.model_version,
                        "fraud_score": score,
                        "is_fraud": decision.is_fraud,
                        "threshold": threshold,
                        "decision": decision.outcome,
                        "rules": decision.rules,
                        "policy_version": self.policy_version,
                        "latency_ms": latency_ms,
                    },
                )
            self.metrics.add_metric(name="Predictions", unit="Count", value=len(decisions))
            self.metrics.add_metric(name="FlaggedFrauds", unit="Count", value=flagged)
            self.metrics.add_metric(name="InferenceLatency", unit="Milliseconds", value=latency_ms)
            return flagged

    from aws_lambda_powertools.logging import correlation_paths

    plain = PlainPowertools(shipped_app.state.model.model_version, service="bench-plain-powertools")
    plain_handler = plain.logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)(
        plain.metrics.log_metrics(Mangum(create_app(shipped_app.state.pipeline, telemetry=plain), lifespan="off"))
    )
    silent = Mangum(silent_app, lifespan="off")
    naive_lifespan_off = Mangum(naive_app.app, lifespan="off")

    events = [
        rest_event("POST", "/predict", json.dumps({"features": row, "transaction_id": f"tx-{i}"}), JSON_HEADERS)
        for i, row in enumerate(rows)
    ]
    explained = [
        rest_event(
            "POST", "/predict", json.dumps({"features": row, "transaction_id": f"tx-{i}", "explain": 3}), JSON_HEADERS
        )
        for i, row in enumerate(rows)
    ]
    n = len(events)
    context: Any = FakeLambdaContext()  # duck-typed like Lambda's context object

    # Every variant must give the same answer for the same event before it is timed.
    with stdout_to_devnull():
        for event in events[:50]:
            scores = {
                json.loads(handler(event, context)["body"])["fraud_score"]
                for handler in (naive_app.handler, naive_lifespan_off, silent, plain_handler, shipped.handler)
            }
            assert len(scores) == 1, scores

    variants = {
        "naive baseline (Mangum defaults)": lambda i: naive_app.handler(events[i % n], context),
        "naive + lifespan='off'": lambda i: naive_lifespan_off(events[i % n], context),
        "ours without Powertools calls": lambda i: silent(events[i % n], context),
        "ours + Powertools the plain way (logger.info, add_metric, decorators)": lambda i: plain_handler(
            events[i % n], context
        ),
        "ours, shipped handler (logs + EMF)": lambda i: shipped.handler(events[i % n], context),
        "ours, shipped handler, explain=3 (reasons on every row)": lambda i: shipped.handler(explained[i % n], context),
    }
    with stdout_to_devnull():
        interleaved(variants, min(calls, 200), 1)  # warm-up
        times = interleaved(variants, calls, rounds)
    return {name: summary(values) for name, values in times.items()}


def bench_parsing(model_dir: Path, rows: list[list[float]], calls: int, rounds: int) -> dict[str, Any]:
    """Request parsing alone: the naive pydantic model vs the service's declared contract."""
    import benchmarks.naive_baseline.naive_app as naive_app
    from fraud_api.contract import Contract
    from fraud_scoring.manifest import load_manifest

    manifest = load_manifest(model_dir)
    contract = Contract(manifest.feature_names, 1000)
    bodies = [json.dumps({"features": row, "transaction_id": f"tx-{i}"}).encode() for i, row in enumerate(rows)]
    n = len(bodies)
    limit = 6 * 1024 * 1024
    times = interleaved(
        {
            "pydantic Transaction (List[float])": lambda i: naive_app.Transaction.model_validate_json(bodies[i % n]),
            "contract.py (pydantic, float32 bounds, errors by field, duplicate keys)": lambda i: contract.parse_predict(
                bodies[i % n], limit
            ),
        },
        calls,
        rounds,
    )
    return {name: summary(values) for name, values in times.items()}


# ------------------------------------------------------------------------------------------ 3: cold start

COLD_CHILD = r"""
import sys, time
t0 = time.perf_counter()
import json, os, importlib
kind = sys.argv[1]
if kind == "powertools-import":
    import numpy, onnxruntime, fastapi, mangum, orjson  # everything else first
    t1 = time.perf_counter()
    from aws_lambda_powertools import Logger, Metrics
    Logger(service="bench"); Metrics(service="bench", namespace="Bench")
    t2 = time.perf_counter()
    print(json.dumps({"powertools_ms": (t2 - t1) * 1000}), flush=True)
    raise SystemExit(0)
if kind.startswith("floor-"):
    # What any FastAPI + Mangum + ONNX Runtime handler must import, with our pydantic start-up options.
    import fraud_api, fastapi
    if kind == "floor-all":
        import numpy, onnxruntime, mangum
        fastapi.FastAPI()
        model_dir = os.environ["MODEL_DIR"]
        with open(os.path.join(model_dir, "manifest.json")) as handle:
            onnx_file = json.load(handle)["onnx_file"]
        onnxruntime.InferenceSession(os.path.join(model_dir, onnx_file), providers=["CPUExecutionProvider"])
    t1 = time.perf_counter()
    sys.__stdout__.write(json.dumps({"import_ms": (t1 - t0) * 1000, "first_ms": 0.0,
                                     "in_process_ms": (t1 - t0) * 1000, "body": None}) + "\n")
    raise SystemExit(0)
module = importlib.import_module(kind)
t1 = time.perf_counter()
event = json.loads(os.environ["BENCH_EVENT"])
result = module.handler(event, None)
t2 = time.perf_counter()
assert result["statusCode"] == 200, result
sys.__stdout__.write(json.dumps({"import_ms": (t1 - t0) * 1000, "first_ms": (t2 - t1) * 1000,
                                 "in_process_ms": (t2 - t0) * 1000, "body": result["body"]}) + "\n")
sys.__stdout__.flush()
"""


FLOOR_ALL = "floor: import numpy, onnxruntime, fastapi, mangum + FastAPI() + InferenceSession"
FLOOR_FASTAPI = "floor: import fastapi alone"
NAIVE_NO_PYC = "naive baseline, no .pyc"
OURS_NO_PYC = "ours, shipped handler, no .pyc"


def _layer_env(model_dir: Path, use_layer: bool) -> tuple[list[str], dict[str, str]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYDANTIC_", "FRAUD_API_"))}
    env["MODEL_DIR"] = str(model_dir)
    env.setdefault("POLICY_DIR", str(REPO / "layers" / "policy"))
    if use_layer:
        # Like Lambda: the interpreter's stdlib, the dependency layer and the function code, nothing else.
        env["PYTHONPATH"] = os.pathsep.join([str(LAYER_DIR), str(REPO / "function"), str(REPO)])
        return [sys.executable, "-S"], env
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "function"), str(REPO)])
    return [sys.executable], env


def _run_child(argv: list[str], env: dict[str, str], script: str, kind: str) -> dict[str, Any]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [*argv, script, kind], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO
    )
    assert process.stdout is not None
    lines = [line for line in process.stdout]
    wall_ms = (time.perf_counter() - started) * 1000
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0 or not lines:
        raise RuntimeError(f"cold-start child {kind} failed (status {status})")
    result: dict[str, Any] = json.loads(lines[-1])
    result["wall_ms"] = wall_ms
    result["cpu_ms"] = (usage.ru_utime + usage.ru_stime) * 1000
    return result


def bench_cold_start(model_dir: Path, rows: list[list[float]], reps: int) -> dict[str, Any]:
    from tests.unit.api.lambda_events import rest_event

    use_layer = (LAYER_DIR / ".installed").is_file()
    argv, env = _layer_env(model_dir, use_layer)
    env["BENCH_EVENT"] = json.dumps(rest_event("POST", "/predict", json.dumps({"features": rows[0]}), JSON_HEADERS))
    eager = {**env, "FRAUD_API_EAGER_PYDANTIC": "1"}
    with tempfile.TemporaryDirectory() as scratch:
        # No usable .pyc: bytecode is looked for (and never written) in an empty cache folder, so every
        # module is compiled, as on Lambda when a read-only layer or function zip ships only .py files.
        no_pyc = {**env, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(Path(scratch) / "no-pyc")}
        variants = {
            "naive baseline": (env, "benchmarks.naive_baseline.naive_app"),
            "ours, shipped handler": (env, "fraud_api.lambda_handler"),
            "ours without the lean pydantic start-up": (eager, "fraud_api.lambda_handler"),
            FLOOR_ALL: (env, "floor-all"),
            FLOOR_FASTAPI: (env, "floor-fastapi"),
            NAIVE_NO_PYC: (no_pyc, "benchmarks.naive_baseline.naive_app"),
            OURS_NO_PYC: (no_pyc, "fraud_api.lambda_handler"),
        }
        script = str(Path(scratch) / "cold_child.py")
        Path(script).write_text(COLD_CHILD)
        for child_env, kind in variants.values():  # warm the page cache and write .pyc files
            _run_child(argv, child_env, script, kind)
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        powertools: list[float] = []
        for _ in range(reps):
            for name, (child_env, kind) in variants.items():
                samples[name].append(_run_child(argv, child_env, script, kind))
            powertools.append(_run_child(argv, env, script, "powertools-import")["powertools_ms"])
    bodies = {json.loads(sample[0]["body"])["fraud_score"] for sample in samples.values() if sample[0]["body"]}
    assert len(bodies) == 1, bodies
    out: dict[str, Any] = {"environment": "layer-like (-S, layer packages only)" if use_layer else "dev venv"}
    for name, runs in samples.items():
        out[name] = {
            key: statistics.median(run[key] for run in runs)
            for key in ("wall_ms", "cpu_ms", "import_ms", "first_ms", "in_process_ms")
        }
        out[name]["n"] = len(runs)
    out["powertools import + Logger() + Metrics()"] = {"median_ms": statistics.median(powertools), "n": reps}
    return out


# --------------------------------------------------------------------------------------------- report


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    score = results["score"]
    invoke = results["invocation"]
    parse = results["parsing"]
    cold = results["cold_start"]
    naive_inv = invoke["naive baseline (Mangum defaults)"]["median_us"]
    ours_inv = invoke["ours, shipped handler (logs + EMF)"]["median_us"]
    explained_inv = invoke["ours, shipped handler, explain=3 (reasons on every row)"]["median_us"]
    naive_cold = cold["naive baseline"]
    ours_cold = cold["ours, shipped handler"]
    lines = [
        SECTION,
        "",
        f"Measured by `make bench-function` (`benchmarks/bench_function.py`) on {results['date']}. Machine: "
        f"{m['vcpus']} vCPU ({m['cpu'] or 'unknown CPU'}), Python {m['python']}, {m['platform']}; "
        f"onnxruntime {m['versions']['onnxruntime']}, fastapi {m['versions']['fastapi']}, "
        f"pydantic {m['versions']['pydantic']}, mangum {m['versions']['mangum']}, "
        f"powertools {m['versions']['aws_lambda_powertools']}. Load average at start "
        f"{', '.join(f'{x:.1f}' for x in m['load_average'])} (a shared machine: compare the ratios, which come "
        "from the same run with rounds interleaved). Model: "
        f"`{results['model_version']}` from layers/model. Rows: {results['rows']} varied synthetic "
        "transactions (training's generator), never one constant row.",
        "",
        "**Summary**",
        "",
        "| goal | target | measured | met |",
        "|---|---|---|---|",
        f"| one-row ORT score, median | <= 10 us | {score['ours: score_one']['median_us']:.1f} us | "
        f"{'yes' if score['ours: score_one']['median_us'] <= 10 else 'no'} |",
        f"| in-process Lambda invocation `POST /predict` vs naive | >= 2x faster | "
        f"{naive_inv / ours_inv:.2f}x ({ours_inv:.0f} us vs {naive_inv:.0f} us) | "
        f"{'yes' if naive_inv / ours_inv >= 2 else 'no'} |",
        f"| an explained `POST /predict` (3 reasons) vs an unexplained one | <= 1 ms more | "
        f"+{explained_inv - ours_inv:.0f} us ({explained_inv:.0f} us vs {ours_inv:.0f} us) | "
        f"{'yes' if explained_inv - ours_inv <= 1000 else 'no'} |",
        f"| cold start vs naive (wall, new process -> first response) | <= 0.6x | "
        f"{ours_cold['wall_ms'] / naive_cold['wall_ms']:.2f}x ({ours_cold['wall_ms']:.0f} ms vs "
        f"{naive_cold['wall_ms']:.0f} ms) | {'yes' if ours_cold['wall_ms'] / naive_cold['wall_ms'] <= 0.6 else 'no'} |",
        f"| cold start vs naive (CPU time of the process) | <= 0.6x | "
        f"{ours_cold['cpu_ms'] / naive_cold['cpu_ms']:.2f}x ({ours_cold['cpu_ms']:.0f} ms vs "
        f"{naive_cold['cpu_ms']:.0f} ms) | {'yes' if ours_cold['cpu_ms'] / naive_cold['cpu_ms'] <= 0.6 else 'no'} |",
        "",
        "**1. One-row ONNX Runtime score** (per call, in process)",
        "",
        "| variant | median | p90 | p99 |",
        "|---|---|---|---|",
    ]
    for name, row in score.items():
        lines.append(f"| {name} | {row['median_us']:.2f} us | {row['p90_us']:.2f} us | {row['p99_us']:.2f} us |")
    lines += [
        "",
        "**2. In-process Lambda invocation of `POST /predict`** (API Gateway REST v1 event -> Mangum -> app -> "
        "ONNX Runtime -> response dict; log and EMF lines written to /dev/null)",
        "",
        "| variant | median | p90 | p99 | vs naive |",
        "|---|---|---|---|---|",
    ]
    for name, row in invoke.items():
        lines.append(
            f"| {name} | {row['median_us']:.0f} us | {row['p90_us']:.0f} us | {row['p99_us']:.0f} us | "
            f"{naive_inv / row['median_us']:.2f}x |"
        )
    lines += [
        "",
        "Request parsing alone (30 numbers + id, bytes -> checked row):",
        "",
        "| parser | median |",
        "|---|---|",
    ]
    for name, row in parse.items():
        lines.append(f"| {name} | {row['median_us']:.1f} us |")
    lines += [
        "",
        f"**3. Cold start** ({cold['environment']}; medians of {naive_cold['n']} new processes each, interleaved). "
        "`wall` = process spawn -> first response; `in process` = first line of the script -> first response. "
        "Layer-like = `python -S` with only `build/bench-layer` (pip install --target of "
        "layers/dependencies/requirements.txt, untrimmed), function/ and the repo on the path. On a loaded "
        "machine the wall times are mostly waiting for a CPU; the CPU time of the process is the steadier "
        "figure.",
        "",
        "| variant | wall | CPU | imports + model load | first response | vs naive (wall) | vs naive (CPU) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in (
        "naive baseline",
        "ours, shipped handler",
        "ours without the lean pydantic start-up",
        FLOOR_ALL,
        FLOOR_FASTAPI,
        NAIVE_NO_PYC,
        OURS_NO_PYC,
    ):
        row = cold[name]
        lines.append(
            f"| {name} | {row['wall_ms']:.0f} ms | {row['cpu_ms']:.0f} ms | {row['import_ms']:.0f} ms | "
            f"{row['first_ms']:.1f} ms | {row['wall_ms'] / naive_cold['wall_ms']:.2f}x | "
            f"{row['cpu_ms'] / naive_cold['cpu_ms']:.2f}x |"
        )
    powertools = cold["powertools import + Logger() + Metrics()"]["median_ms"]
    eager = cold["ours without the lean pydantic start-up"]
    floor_all = cold[FLOOR_ALL]
    floor_fastapi = cold[FLOOR_FASTAPI]
    naive_no_pyc = cold[NAIVE_NO_PYC]
    ours_no_pyc = cold[OURS_NO_PYC]
    lifespan_off = invoke["naive + lifespan='off'"]["median_us"]
    silent = invoke["ours without Powertools calls"]["median_us"]
    plain_inv = invoke["ours + Powertools the plain way (logger.info, add_metric, decorators)"]["median_us"]
    naive_score = score["naive: np.array + session.run"]["median_us"]
    ours_score = score["ours: score_one"]["median_us"]
    lines += [
        "",
        f"Powertools' share of the cold start: importing it and building `Logger` + `Metrics` after everything "
        f"else is loaded costs {powertools:.0f} ms (median).",
        "",
        "**What each step bought** (from the tables above, same run)",
        "",
        f'- Mangum `lifespan="off"` (the model loads at import instead): {naive_inv:.0f} -> {lifespan_off:.0f} us '
        "per invocation; with the defaults Mangum runs the ASGI lifespan on every invocation.",
        f"- Lean request path (scoring routes as Starlette routes on the FastAPI app, orjson in and out, "
        f"hand-written checks, I/O binding for the one-row ONNX call, FastAPI's OpenTelemetry hooks off): "
        f"{lifespan_off:.0f} -> {silent:.0f} us.",
        f"- Powertools per invocation (one decision line, EMF metrics, correlation keys): "
        f"+{ours_inv - silent:.0f} us. Written the plain way (`logger.info(..., extra=...)` "
        "per decision, `metrics.add_metric` per value, the `inject_lambda_context`/`log_metrics` "
        f"decorators) the same lines cost +{plain_inv - silent:.0f} us ({plain_inv:.0f} us per invocation); "
        "`fraud_api/telemetry.py` says how the shipped handler produces them cheaply.",
        f"- One-row score: pre-bound I/O buffers instead of a per-call numpy array + `session.run`: "
        f"{naive_score:.1f} -> {ours_score:.1f} us (one constant row, for comparison, in the first table).",
        "- Request parsing alone: pydantic's Rust validator is about as fast as orjson + the hand-written "
        "checks (table above); the hand-written path is kept for its error messages (every bad field named, "
        "bare NaN/Infinity tokens named by position) and because it skips FastAPI's per-request machinery.",
        f"- Cold start, lean pydantic start-up (`defer_build` for FastAPI's ~50 OpenAPI models + no plugin "
        f"scan): {eager['cpu_ms']:.0f} -> {ours_cold['cpu_ms']:.0f} ms CPU.",
        "",
        "**Why the cold start stays above 0.6x with bytecode on both sides: the floor** (same run, CPU time). "
        "The `floor` rows do no "
        "scoring and build no routes: one imports `fastapi` alone, the other imports what any FastAPI + "
        "Mangum + ONNX Runtime handler must import (numpy, onnxruntime, fastapi, mangum), builds an empty "
        "`FastAPI()` and one `InferenceSession` of the model, all with our pydantic start-up options. "
        "A per-package breakdown of the floor is in docs/api.md (section 'Cold start').",
        "",
        f"- `import fastapi` alone: {floor_fastapi['cpu_ms']:.0f} ms = "
        f"{floor_fastapi['cpu_ms'] / naive_cold['cpu_ms']:.2f}x of the naive baseline's whole cold start. "
        "FastAPI's package `__init__` imports its application, routing, params, dependencies, security, "
        "OpenAPI models (~50 pydantic classes, created even with `defer_build`), encoders, exception handlers "
        "and its OpenTelemetry API hooks, plus Starlette, anyio, asyncio, pydantic and `http.client`/`email` "
        "(through `starlette.exceptions`); none of it can be skipped without patching FastAPI.",
        f"- The floor with numpy + ONNX Runtime (which imports all of numpy) + Mangum + a session: "
        f"{floor_all['cpu_ms']:.0f} ms = {floor_all['cpu_ms'] / naive_cold['cpu_ms']:.2f}x. The shipped "
        f"handler is at {ours_cold['cpu_ms']:.0f} ms = {ours_cold['cpu_ms'] / naive_cold['cpu_ms']:.2f}x: "
        f"{ours_cold['cpu_ms'] - floor_all['cpu_ms']:+.0f} ms over the floor, which is Powertools "
        f"({powertools:.0f} ms measured alone, above) plus the app, the checked model load and the first "
        "response. With FastAPI as the framework and `.pyc` on both sides, 0.6x is below the floor; the "
        "levers are outside the import graph: the bytecode the deployed package ships (next point) and, on "
        "AWS, Lambda SnapStart (Python 3.12+), which removes the init phase from the request path.",
        f"- Bytecode: with no usable `.pyc` (Lambda's `/opt` and `/var/task` are read-only, so modules "
        f"shipped as `.py` only are compiled at every cold start) the naive baseline takes "
        f"{naive_no_pyc['cpu_ms']:.0f} ms CPU and ours {ours_no_pyc['cpu_ms']:.0f} ms "
        f"({ours_no_pyc['cpu_ms'] / naive_no_pyc['cpu_ms']:.2f}x); bytecode saves "
        f"{ours_no_pyc['cpu_ms'] - ours_cold['cpu_ms']:.0f} ms CPU per cold start, more than everything "
        "else on this page. `sam build` of a plain requirements.txt function ships no `.pyc` (it unpacks "
        "wheels), while our dependency layer ships bytecode for every module init loads "
        "(`LAYER_BYTECODE=init`, layers/dependencies/bytecode.py): the cold start of the two packages as "
        "deployed is measured by benchmarks/lambda_cold_start.py (section 'Lambda package size').",
        "",
    ]
    return "\n".join(lines)


def update_markdown(text: str) -> None:
    path = REPO / "BENCHMARKS.md"
    current = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if SECTION in current:
        start = current.index(SECTION)
        following = current.find("\n## ", start + len(SECTION))
        end = len(current) if following == -1 else following + 1
        current = current[:start] + text + ("\n" if following != -1 else "") + current[end:]
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=REPO / "layers" / "model")
    parser.add_argument("--quick", action="store_true", help="fewer calls and processes (a smoke run)")
    parser.add_argument("--update-md", action="store_true", help="write the section of BENCHMARKS.md")
    args = parser.parse_args()
    model_dir = args.model_dir.resolve()
    scale = 10 if args.quick else 1
    sys.path[:0] = [str(REPO / "function"), str(REPO)]

    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    results["machine"] = machine()
    rows = varied_rows(2000)
    results["rows"] = len(rows)
    results["model_version"] = json.loads((model_dir / "manifest.json").read_text())["model_version"]
    print("1/3 one-row score ...", file=sys.stderr)
    results["score"] = bench_score(model_dir, rows, 20_000 // scale, 5)
    print("2/3 in-process invocation ...", file=sys.stderr)
    results["invocation"] = bench_invocation(model_dir, rows, 2_000 // scale, 5)
    results["parsing"] = bench_parsing(model_dir, rows, 20_000 // scale, 3)
    print("3/3 cold start ...", file=sys.stderr)
    results["cold_start"] = bench_cold_start(model_dir, rows, max(3, 15 // scale))
    results["machine"]["load_average_end"] = os.getloadavg()

    text = render(results)
    print(text)
    out_dir = REPO / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"function-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(results, indent=2))
    if args.update_md:
        update_markdown(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
