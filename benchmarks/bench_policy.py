"""Benchmark the decision policy and offline scoring, each against its baseline in the same run.

    make bench-policy        # or: .venv/bin/python benchmarks/bench_policy.py [--quick] [--skip-decide]

1. ``Policy.decide`` on real rows and real scores of the default data set (a 20-rule policy):
   as shipped (rules gated by ``min_score``, so clean traffic costs a band lookup), the same 20
   rules with every rule evaluated on every row (the worst case), ALL_MATCHED, and the bands-only
   policy as the floor. Budget: <= 10 us per transaction.
2. Offline scoring of the 200,000-row default data set end to end (read, check, score, decide,
   write, backtest) with ``fraud-score``, CSV and Parquet, against two baselines on the same rows
   and threads: ONNX Runtime's own batch rate (``session.run`` over 50,000-row chunks of an
   in-memory float32 matrix; budget: >= 0.8x) and the minimal pipeline anyone would write with
   the same libraries (pyarrow read of the feature columns, float32 matrix, ONNX Runtime in
   50,000-row chunks, pyarrow write of one score column). Also ``fraud-score``'s thread layouts:
   (a) reader and writer threads with every core to ONNX Runtime, (b) one thread for everything,
   (c) reader and writer threads with one core less to ONNX Runtime (the default). Each run is a
   separate process that reports its own peak RSS; ``fraud-score`` also reports its seconds per
   stage (load, read, check, score, decide, output table, write).

The machine is shared: compare ratios from the same run (rounds are interleaved). Results: stdout
and ``benchmarks/results/policy.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "function"), str(REPO)]

import numpy as np  # noqa: E402

from fraud_scoring.model import load_model  # noqa: E402
from fraud_scoring.policy import Policy, default_policy, policy_from_document  # noqa: E402
from training.data import generate_synthetic  # noqa: E402

MODEL_DIR = REPO / "layers" / "model"


def twenty_rules(gated: bool, mode: str = "FIRST_MATCHED") -> dict[str, Any]:
    """A plausible 20-rule policy over the score, named features and the request id."""
    specs: list[tuple[str, str, str, float]] = [
        ("huge-amount", "Amount > 10000.0", "REVIEW", 0.0),
        ("test-card", "transaction_id.startsWith('test-')", "APPROVE", 0.0),
        ("big-and-risky", "Amount > 5000.0 && score > 0.1", "REVIEW", 0.1),
        ("night-small", "Time < 18000.0 && Amount < 3.0 && score > 0.15", "DECLINE", 0.15),
        ("v14-ring", "V14 < -4.0 && score > 0.2", "DECLINE", 0.2),
        ("v10-ring", "V10 > 4.0 && score > 0.2", "DECLINE", 0.2),
        ("v12-ring", "V12 < -4.0 && score > 0.2", "DECLINE", 0.2),
        ("xor-pos", "V4 > 3.0 && V11 > 2.0 && score > 0.25", "DECLINE", 0.25),
        ("xor-neg", "V4 < -3.0 && V11 < -2.0 && score > 0.25", "DECLINE", 0.25),
        ("v17-night", "V17 > 2.0 && Time < 18000.0", "REVIEW", 0.3),
        ("v7-night", "V7 < -2.0 && Time < 18000.0", "REVIEW", 0.3),
        ("v1-shift", "V1 < -3.0 && score > 0.3", "REVIEW", 0.3),
        ("mid-amount", "Amount > 1000.0 && score > 0.35", "DECLINE", 0.35),
        ("v3-high", "V3 > 3.5 && score > 0.4", "DECLINE", 0.4),
        ("v2-low", "V2 < -3.5 && score > 0.4", "REVIEW", 0.4),
        ("positional", "f29 > 2500.0 && score > 0.45", "DECLINE", 0.45),
        ("positional-v14", "f14 < -5.0 && score > 0.45", "DECLINE", 0.45),
        ("tiny-risky", "Amount < 1.0 && score > 0.5", "DECLINE", 0.5),
        ("risky", "score > 0.55 && Amount > 50.0", "DECLINE", 0.55),
        ("very-risky", "score > 0.7", "DECLINE", 0.7),
    ]
    rules = []
    for rule_id, when, outcome, min_score in specs:
        rule: dict[str, Any] = {"id": rule_id, "description": rule_id, "when": when, "outcome": outcome}
        if gated and min_score > 0:
            rule["min_score"] = min_score
        rules.append(rule)
    return {
        "schema_version": 1,
        "version": f"bench-20-{'gated' if gated else 'ungated'}-{mode.lower()}",
        "outcomes": ["APPROVE", "REVIEW", "DECLINE"],
        "mode": mode,
        "bands": [
            {"outcome": "APPROVE", "min": 0.0, "max": 0.17},
            {"outcome": "REVIEW", "min": 0.17, "max": 0.64},
            {"outcome": "DECLINE", "min": 0.64, "max": 1.0},
        ],
        "rules": rules,
    }


def per_row_us(policy: Policy, scores: list[float], rows: list[list[float]], requests: list[dict[str, str]]) -> float:
    decide = policy.decide
    started = time.perf_counter_ns()
    for score, row, request in zip(scores, rows, requests, strict=True):
        decide(score, row, request)
    return (time.perf_counter_ns() - started) / len(scores) / 1000.0


def bench_decide(rounds: int, n_rows: int) -> dict[str, Any]:
    model = load_model(MODEL_DIR)
    data = generate_synthetic(seed=7)
    pick = np.random.default_rng(0).choice(data.n_rows, n_rows, replace=False)
    X = data.X[pick]
    scores = model.score_many(X)
    rows = X.tolist()
    requests = [{"transaction_id": f"tx-{i}"} for i in range(n_rows)]
    names = model.feature_names
    policies = {
        "bands only (floor)": default_policy(model.threshold, names),
        "20 rules, min_score gates (as shipped)": policy_from_document(twenty_rules(True), names),
        "20 rules, ALL_MATCHED, gated": policy_from_document(twenty_rules(True, "ALL_MATCHED"), names),
        "20 rules, every rule on every row": policy_from_document(twenty_rules(False), names),
        "20 rules, ALL_MATCHED, every rule": policy_from_document(twenty_rules(False, "ALL_MATCHED"), names),
    }
    # Rows where a gated policy reaches the engine at all (score >= the lowest min_score among gated rules).
    lowest_gate = 0.0  # two rules have no gate, so every row runs at least those two
    times: dict[str, list[float]] = {name: [] for name in policies}
    for _ in range(rounds):  # interleaved rounds, medians
        for name, policy in policies.items():
            times[name].append(per_row_us(policy, scores, rows, requests))
    high = [i for i, s in enumerate(scores) if s >= 0.17]
    high_scores = [scores[i] for i in high]
    high_rows = [rows[i] for i in high]
    high_requests = [requests[i] for i in high]
    gated = policies["20 rules, min_score gates (as shipped)"]
    risky = [per_row_us(gated, high_scores, high_rows, high_requests) for _ in range(rounds)] if high else []
    # Best round and median round: on a shared machine the best round is the least disturbed one.
    result = {name: {"best": round(min(v), 3), "median": round(statistics.median(v), 3)} for name, v in times.items()}
    if risky:
        label = f"20 rules, gated, only rows with score >= 0.17 ({len(high)} rows)"
        result[label] = {"best": round(min(risky), 3), "median": round(statistics.median(risky), 3)}
    return {"rows": n_rows, "rounds": rounds, "lowest_gate": lowest_gate, "per_transaction_us": result}


ORT_BASELINE = """
import json, resource, sys, time, numpy as np, onnxruntime as ort
sys.path[:0] = [sys.argv[1] + "/function", sys.argv[1]]
from training.data import generate_synthetic
X = generate_synthetic(seed=7).X.astype(np.float32)
so = ort.SessionOptions(); so.intra_op_num_threads = int(sys.argv[2]); so.inter_op_num_threads = 1
s = ort.InferenceSession(sys.argv[1] + "/layers/model/model.onnx", so, providers=["CPUExecutionProvider"])
s.run(["probabilities"], {"input": X[:100]})
t = time.perf_counter()
for i in range(0, len(X), 50000):
    s.run(["probabilities"], {"input": X[i:i + 50000]})
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# The minimal pipeline anyone would write with the same libraries: the whole file's feature columns
# read with pyarrow, a float32 matrix, ONNX Runtime over 50,000-row chunks, one score column written
# with pyarrow. No checks, no decisions, memory not bounded by a chunk. Timed from the read (the
# session is made and warmed first, as for ONNX Runtime alone).
MINIMAL_PIPELINE = """
import json, resource, sys, time, numpy as np, onnxruntime as ort
import pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq
import pyarrow.dataset  # pq.read_table imports it on first use (0.3-0.4 s here): not the pipeline's time
repo, threads, source, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
manifest = json.load(open(repo + "/layers/model/manifest.json"))
names, positive = manifest["feature_names"], manifest["positive_class_index"]
so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.inter_op_num_threads = 1
s = ort.InferenceSession(repo + "/layers/model/" + manifest["onnx_file"], so, providers=["CPUExecutionProvider"])
output, feed = [manifest["probability_output"]], manifest["input_name"]
s.run(output, {feed: np.zeros((100, len(names)), np.float32)})
t0 = time.perf_counter()
if source.endswith(".parquet"):
    table = pq.read_table(source, columns=names)
else:
    table = pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(include_columns=names))
t1 = time.perf_counter()
X = np.empty((table.num_rows, len(names)), np.float32)
for j, name in enumerate(names):
    X[:, j] = table.column(name).to_numpy()
t2 = time.perf_counter()
scores = np.concatenate([s.run(output, {feed: X[i:i + 50000]})[0][:, positive] for i in range(0, len(X), 50000)])
t3 = time.perf_counter()
result = pa.table({"fraud_score": scores})
pq.write_table(result, target) if target.endswith(".parquet") else pacsv.write_csv(result, target)
t4 = time.perf_counter()
print(json.dumps({
    "seconds": t4 - t0, "read": t1 - t0, "matrix": t2 - t1, "score": t3 - t2, "write": t4 - t3,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def run_child(command: list[str]) -> tuple[float, str, float]:
    """Wall seconds, output, and the peak RSS (MiB) of the biggest child so far (an upper bound for this one)."""
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "function"), str(REPO)])}
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, done.stdout + done.stderr, peak / 1024.0


def last_json(log: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(log.strip().splitlines()[-1])
    return found


# fraud-score as shipped, and the thread layouts it was chosen from (--threads is ONNX Runtime's).
# name -> (input format, extra arguments, with the backtest)
OFFLINE_VARIANTS: dict[str, tuple[str, list[str], bool]] = {
    "csv": ("csv", [], False),
    "parquet": ("parquet", [], False),
    "csv + backtest": ("csv", [], True),
}


def thread_layouts(threads: int) -> dict[str, tuple[str, list[str], bool]]:
    """(a) reader + writer threads and every core to ONNX Runtime, (b) one thread for everything,
    (c) reader + writer threads and one core less to ONNX Runtime (the default)."""
    layouts: dict[str, tuple[str, list[str], bool]] = {}
    for suffix in ("parquet", "csv"):
        layouts[f"{suffix}, (a) overlapped I/O, {threads} ORT threads"] = (
            suffix, ["--overlap-io", "--threads", str(threads)], False,
        )  # fmt: skip
        layouts[f"{suffix}, (b) sequential, {threads} ORT threads"] = (
            suffix, ["--no-overlap-io", "--threads", str(threads)], False,
        )  # fmt: skip
    return layouts


def bench_offline(rounds: int, threads: int) -> dict[str, Any]:
    env_python = sys.executable
    rows = 200_000
    results: dict[str, Any] = {"threads": threads, "rows": rows}
    variants = {**OFFLINE_VARIANTS, **thread_layouts(threads)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for suffix in ("csv", "parquet"):
            run_child([env_python, "-m", "scoring_cli", "export-synthetic", str(folder / f"in.{suffix}")])
        ort_runs: list[dict[str, float]] = []
        minimal_runs: dict[str, list[dict[str, float]]] = {"parquet": [], "csv": []}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        ort_peak = 0.0
        for _ in range(rounds):  # interleaved rounds: every variant sees the same machine
            _, out, ort_peak = run_child([env_python, "-c", ORT_BASELINE, str(REPO), str(threads)])
            ort_runs.append(last_json(out))
            for suffix, items in minimal_runs.items():
                source, target = folder / f"in.{suffix}", folder / f"minimal.{suffix}"
                _, out, _ = run_child(
                    [env_python, "-c", MINIMAL_PIPELINE, str(REPO), str(threads), str(source), str(target)]
                )
                items.append(last_json(out))
            for name, (suffix, extra, backtest) in variants.items():
                command = [
                    env_python, "-m", "scoring_cli", "score", str(folder / f"in.{suffix}"),
                    str(folder / f"out.{suffix}"), "--no-progress", *extra,
                    *(["--label", "Class"] if backtest else []),
                ]  # fmt: skip
                wall, log, _ = run_child(command)
                summary = last_json(log)
                runs[name].append({**summary, "wall_seconds": wall})
        ort_seconds = statistics.median(run["seconds"] for run in ort_runs)
        ort_rate = rows / ort_seconds
        results["ort_batch_rows_per_s"] = round(ort_rate)
        results["ort_batch_seconds"] = round(ort_seconds, 4)
        results["ort_peak_rss_mib"] = round(max(run["peak_rss_mib"] for run in ort_runs), 1)
        results["ort_peak_rss_mib_upper_bound"] = round(ort_peak, 1)
        minimal: dict[str, Any] = {}
        for suffix, items in minimal_runs.items():
            minimal[suffix] = {
                "seconds": round(statistics.median(item["seconds"] for item in items), 4),
                "rows_per_s": round(rows / statistics.median(item["seconds"] for item in items)),
                "stage_seconds": {
                    stage: round(statistics.median(item[stage] for item in items), 4)
                    for stage in ("read", "matrix", "score", "write")
                },
                "peak_rss_mib": round(max(item["peak_rss_mib"] for item in items), 1),
            }
        results["minimal_pipeline"] = minimal
        for name, summaries in runs.items():
            suffix = variants[name][0]
            seconds = statistics.median(item["seconds"] for item in summaries)
            # Without the model and policy load: the same span as both baselines (read to written file).
            pipeline = statistics.median(item["seconds"] - item["stage_seconds"]["load"] for item in summaries)
            stages = {stage for item in summaries for stage in item["stage_seconds"]}
            results[name] = {
                "end_to_end_seconds": round(seconds, 3),
                "rows_per_s": round(rows / seconds),
                "ratio_to_ort": round(rows / seconds / ort_rate, 3),
                "seconds_without_load": round(pipeline, 3),
                "ratio_to_ort_without_load": round(ort_seconds / pipeline, 3),
                "ratio_to_minimal_pipeline": round(minimal[suffix]["seconds"] / pipeline, 3),
                "ort_threads": summaries[0]["threads"],
                "overlap_io": summaries[0]["overlap_io"],
                "stage_seconds": {
                    stage: round(statistics.median(item["stage_seconds"].get(stage, 0.0) for item in summaries), 4)
                    for stage in sorted(stages)
                },
                "process_wall_seconds_with_imports": round(
                    statistics.median(item["wall_seconds"] for item in summaries), 3
                ),
                "peak_rss_mib": max(item["peak_rss_mib"] for item in summaries),
            }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rows and rounds")
    parser.add_argument("--skip-offline", action="store_true")
    parser.add_argument("--skip-decide", action="store_true", help="only the offline scoring part")
    args = parser.parse_args()
    rounds = 3 if args.quick else 7
    report: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg": os.getloadavg()},
    }
    if not args.skip_decide:
        report["decide"] = bench_decide(rounds, 5_000 if args.quick else 20_000)
        print(json.dumps(report["decide"], indent=2))
    if not args.skip_offline:
        report["offline"] = bench_offline(1 if args.quick else 3, os.cpu_count() or 1)
        print(json.dumps(report["offline"], indent=2))
    report["machine"]["load_avg_after"] = os.getloadavg()
    out = REPO / "benchmarks" / "results" / "policy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
