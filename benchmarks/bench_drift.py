"""Benchmark the cost of drift signals: in-process ``POST /predict`` with drift on vs off, in the same run.

    make bench-drift        # or: .venv/bin/python benchmarks/bench_drift.py [--quick]

1. A full in-process Lambda invocation of ``POST /predict`` (API Gateway REST event -> Mangum ->
   the app -> decision pipeline -> decision log + EMF) around the committed model and policy layer,
   once with ``DRIFT_ENABLED=false`` and once with drift on (``DRIFT_WINDOW=1000``, the default):
   rounds interleaved, medians per call. Window closes are included (one call in 1,000).
2. The drift work alone: ``DriftMonitor.observe`` per transaction, and closing a 1,000-row window.

The machine is shared: compare numbers from the same run. Results: stdout and
``benchmarks/results/drift.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "function"), str(REPO)]

from benchmarks.bench_function import interleaved, machine, stdout_to_devnull, summary, varied_rows  # noqa: E402

if TYPE_CHECKING:
    from fraud_api.telemetry import LambdaHandler

JSON_HEADERS = {"Content-Type": "application/json"}


def bench(calls: int, rounds: int) -> dict[str, Any]:
    from mangum import Mangum

    from fraud_api.factory import Settings, create_app
    from fraud_api.telemetry import Telemetry
    from fraud_scoring.decision import load_pipeline
    from fraud_scoring.drift import DriftMonitor, DriftReference, DriftSettings
    from tests.unit.api.lambda_events import FakeLambdaContext, rest_event

    pipeline = load_pipeline(REPO / "layers" / "model", REPO / "layers" / "policy")
    handlers: dict[str, LambdaHandler] = {}
    for name, enabled in (("drift off", False), ("drift on (window 1000)", True)):
        telemetry = Telemetry(pipeline.model_version, service=f"bench-{'on' if enabled else 'off'}")
        app = create_app(pipeline, telemetry=telemetry, settings=Settings())
        telemetry.watch_drift(pipeline.model.manifest, DriftSettings(enabled, 1000))
        assert (telemetry.drift is not None) == enabled
        handlers[name] = telemetry.wrap_lambda_handler(Mangum(app, lifespan="off"))
    rows = varied_rows(2000)
    events = [
        rest_event("POST", "/predict", json.dumps({"features": row, "transaction_id": f"tx-{i}"}), JSON_HEADERS)
        for i, row in enumerate(rows)
    ]
    n = len(events)
    context: Any = FakeLambdaContext()

    def caller(handler: LambdaHandler) -> Callable[[int], object]:
        return lambda i: handler(events[i % n], context)

    variants = {name: caller(handler) for name, handler in handlers.items()}
    with stdout_to_devnull():
        interleaved(variants, min(calls, 500), 1)  # warm-up
        times = interleaved(variants, calls, rounds)
    results: dict[str, Any] = {"invocation": {name: summary(values) for name, values in times.items()}}

    manifest = pipeline.model.manifest
    assert manifest.drift_reference is not None
    reference = DriftReference.from_dict(manifest.drift_reference, manifest.feature_names)
    monitor = DriftMonitor(reference, manifest.feature_names, window=1000)
    scores = [0.01] * n
    observe_ns: list[float] = []
    close_ns: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for i in range(calls):
            started = clock()
            closed = monitor.observe(rows[i % n], scores[i % n])
            elapsed = clock() - started
            (close_ns if closed is not None else observe_ns).append(elapsed)
    results["observe"] = summary(observe_ns)
    results["window_close"] = summary(close_ns)
    return results


def render(results: dict[str, Any]) -> str:
    lines = ["| in-process POST /predict | median us | p90 us | p99 us | calls |", "|---|---:|---:|---:|---:|"]
    for name, stats in results["invocation"].items():
        lines.append(
            f"| {name} | {stats['median_us']:.1f} | {stats['p90_us']:.1f} | {stats['p99_us']:.1f} | {stats['n']:,} |"
        )
    on, off = (results["invocation"][k]["median_us"] for k in ("drift on (window 1000)", "drift off"))
    lines.append(f"\nDrift adds {on - off:+.1f} us to the median invocation ({on / off:.3f}x).")
    observe, close = results["observe"], results["window_close"]
    lines.append(
        f"DriftMonitor.observe: median {observe['median_us']:.2f} us; closing a 1,000-row window "
        f"(30 features + score binned, PSI): median {close['median_us']:.0f} us over {close['n']} closes, "
        f"i.e. {close['median_us'] / 1000:.2f} us per transaction amortised."
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "FraudScoring")
    calls, rounds = (1000, 3) if args.quick else (5000, 7)
    started = time.perf_counter()
    results = bench(calls, rounds)
    results["machine"] = machine()
    results["seconds"] = round(time.perf_counter() - started, 1)
    text = render(results)
    print(text)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "drift.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults in {out / 'drift.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
