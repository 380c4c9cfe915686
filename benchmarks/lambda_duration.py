"""Warm Lambda duration of POST /predict and POST /predict/batch, as the Lambda RIE reports it.

Runs the built artifact (``sam build`` output) in one execution environment (the Lambda RIE from
the aws-sam-cli wheel + awslambdaric under the runtime's Python), sends varied transactions
(rows of the seeded synthetic data, so tree paths differ), and reads the RIE's REPORT lines:
``Duration`` and ``Billed Duration`` (1 ms granularity, as on Lambda). Those feed the cost
estimate in docs/deploy.md. The host CPU is not Lambda's: 1024 MB on Lambda is ~0.58 vCPU.

    python benchmarks/lambda_duration.py --build-dir build/sam-test/x86_64/build --n 400
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import re
import statistics
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from scripts.lambda_rie import (  # noqa: E402  (the repo root is put on the path just above)
    BuiltFunction,
    LambdaEmulator,
    find_python,
    locked_requirement,
    python_with_runtime_client,
)
from training.data import generate_synthetic  # noqa: E402

REPORT = re.compile(r"REPORT RequestId: \S+\s+Duration: ([\d.]+) ms\s+Billed Duration: (\d+) ms")


def event_with_body(template: dict[str, Any], body: dict[str, Any], number: int) -> dict[str, Any]:
    event = copy.deepcopy(template)
    event["body"] = json.dumps(body)
    event["isBase64Encoded"] = False
    event["requestContext"]["requestId"] = f"bench-{number:08d}"
    return event


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, default=REPO_ROOT / ".aws-sam" / "build")
    parser.add_argument("--n", type=int, default=400, help="invocations per route")
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)
    function = BuiltFunction.from_build_dir(args.build_dir.resolve())
    runtime_python = find_python(function.runtime_version)
    if runtime_python is None:
        print(f"python{function.runtime_version} not found (PATH, pyenv, $LAMBDA_PYTHON)", file=sys.stderr)
        return 1
    venv = REPO_ROOT / "build" / f".venv-lambda-py{function.runtime_version}"
    python = python_with_runtime_client(runtime_python, venv, locked_requirement("awslambdaric"))
    rows = generate_synthetic(n_rows=20_000, fraud_rate=0.01, seed=23).X
    predict = json.loads((REPO_ROOT / "events" / "predict_ok.json").read_text())
    batch = json.loads((REPO_ROOT / "events" / "predict_batch_ok.json").read_text())
    results: dict[str, list[tuple[float, int]]] = {}
    with LambdaEmulator(function, python, timeout_s=60) as emulator:
        emulator.invoke(predict)  # the cold start, not counted
        skip = len(REPORT.findall(emulator.log(tail_chars=None)))
        for i in range(args.n):
            one: dict[str, Any] = {"features": [float(v) for v in rows[i % len(rows)]]}
            assert emulator.invoke(event_with_body(predict, one, i)).status_code == 200
        found = REPORT.findall(emulator.log(tail_chars=None))[skip:]
        results["POST /predict"] = [(float(d), int(b)) for d, b in found]
        skip += len(found)
        for i in range(args.n // 4):
            start = (i * args.batch_size) % (len(rows) - args.batch_size)
            many: dict[str, Any] = {
                "transactions": [{"features": [float(v) for v in r]} for r in rows[start : start + args.batch_size]]
            }
            assert emulator.invoke(event_with_body(batch, many, 10**6 + i)).status_code == 200
        found = REPORT.findall(emulator.log(tail_chars=None))[skip:]
        results[f"POST /predict/batch ({args.batch_size} rows)"] = [(float(d), int(b)) for d, b in found]
    print(
        f"host: {platform.machine()}, {os.cpu_count()} CPUs, shared and noisy; runtime python{function.runtime_version}"
    )
    print("| route | n | Duration median | p90 | p99 | Billed median | Billed mean |")
    print("|---|---|---|---|---|---|---|")
    for route, pairs in results.items():
        durations = [d for d, _ in pairs]
        billed = [b for _, b in pairs]
        print(
            f"| {route} | {len(pairs)} | {statistics.median(durations):.2f} ms | {percentile(durations, 0.9):.2f} ms"
            f" | {percentile(durations, 0.99):.2f} ms | {statistics.median(billed):.0f} ms"
            f" | {statistics.fmean(billed):.2f} ms |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
