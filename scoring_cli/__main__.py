"""``fraud-score`` / ``python -m scoring_cli``: offline scoring, backtesting and policy checks.

    fraud-score score IN.csv OUT.csv [--policy P] [--compare P2 ...]   score, decide, backtest
    fraud-score policy-check POLICY                                      load a policy and report errors
    fraud-score policy-stamp DIR                                         refresh DIR/policy.json from DIR/policy.yaml

The model, the policy and the scoring core (fraud_scoring.offline) are the service's own.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from fraud_scoring.manifest import load_manifest
from fraud_scoring.model import ModelLoadError, RuntimeOptions, load_model
from fraud_scoring.offline import ChunkResult, score_and_decide
from fraud_scoring.policy import POLICY_MANIFEST, Policy, PolicyError, default_policy, load_policy, stamp_document
from scoring_cli.backtest import Backtest, PolicyTally
from scoring_cli.io import Chunk, ChunkWriter, InputError, read_chunks
from training.policy_proposal import DEFAULT_DECLINE_COST, DEFAULT_REVIEW_COST, CostModel

DEFAULT_MODEL_DIR = Path("layers/model")
DEFAULT_POLICY_DIR = Path("layers/policy")
T = TypeVar("T")
# Reading and writing in threads of their own while ONNX Runtime scores on the other cores was the
# fastest way to use two cores (benchmarks/bench_policy.py; BENCHMARKS.md, offline scoring).
OVERLAP_IO_DEFAULT = True


def default_threads(overlap_io: bool) -> int:
    """ONNX Runtime's threads when --threads is not given: every core, less one for reading and writing."""
    cores = os.cpu_count() or 1
    return max(1, cores - 1) if overlap_io else cores


def _progress(items: Iterable[T], total: int | None, enabled: bool) -> Iterator[T]:
    """tqdm over chunks when installed and wanted; otherwise silent."""
    if not enabled:
        yield from items
        return
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the dev environment
        yield from items
        return
    yield from tqdm(items, total=total, unit="chunk", file=sys.stderr, dynamic_ncols=True)


def _timed(items: Iterator[T], timings: dict[str, float], stage: str) -> Iterator[T]:
    """``items``, adding the time each one takes to produce to ``timings[stage]``."""
    while True:
        started = time.perf_counter()
        try:
            item = next(items)
        except StopIteration:
            return
        finally:
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started
        yield item


def _prefetch(items: Iterator[T]) -> Iterator[T]:
    """Read the next chunk in a thread while this one is scored (pyarrow and ONNX Runtime release the GIL)."""
    done = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read") as pool:
        pending = pool.submit(next, items, done)
        while True:
            item = pending.result()
            if item is done:
                return
            pending = pool.submit(next, items, done)
            yield item  # type: ignore[misc]


class _Output:
    """Writes output tables in input order, in this thread or (``overlap``) one at a time in a writer thread."""

    def __init__(self, writer: ChunkWriter, overlap: bool, timings: dict[str, float]) -> None:
        self._writer = writer
        self._timings = timings
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="write") if overlap else None
        self._in_flight: Future[None] | None = None

    def _write(self, make_table: Callable[[], pa.Table]) -> None:
        started = time.perf_counter()
        table = make_table()
        built = time.perf_counter()
        self._writer.write(table)
        self._timings["output_table"] = self._timings.get("output_table", 0.0) + built - started
        self._timings["write"] = self._timings.get("write", 0.0) + time.perf_counter() - built

    def write(self, make_table: Callable[[], pa.Table]) -> None:
        """Build the table (with ``overlap``, in the writer thread too) and write it."""
        if self._pool is None:
            self._write(make_table)
            return
        self.wait()  # one write in flight: output order is input order
        self._in_flight = self._pool.submit(self._write, make_table)

    def wait(self) -> None:
        if self._in_flight is not None:
            self._in_flight.result()
            self._in_flight = None

    def close(self) -> None:
        """Wait for the last write, then close the file (also after an error)."""
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self.wait()
        finally:
            self._writer.close()


def _load_policy_arg(value: str | None, feature_names: tuple[str, ...], threshold: float) -> Policy:
    if value == "threshold":
        return default_policy(threshold, feature_names)
    if value is None:
        if (DEFAULT_POLICY_DIR / POLICY_MANIFEST).is_file():
            return load_policy(DEFAULT_POLICY_DIR, feature_names)
        return default_policy(threshold, feature_names)
    return load_policy(value, feature_names)


def _output_table(chunk: Chunk, result: ChunkResult, policy: Policy, threshold: float) -> pa.Table:
    """One chunk's output columns: row, the passthrough columns, score, flags, decision, rules, version, error."""
    n = result.scores.shape[0]
    invalid = ~result.valid
    columns: dict[str, Any] = {"row": pa.array(np.arange(chunk.first_row, chunk.first_row + n))}
    columns.update(chunk.passthrough)
    columns["fraud_score"] = pa.array(result.scores, mask=invalid)
    columns["is_fraud"] = pa.array(result.scores >= threshold, mask=invalid)
    # Few distinct strings: dictionary columns, no Python string per row.
    columns["decision"] = pa.DictionaryArray.from_arrays(
        pa.array(result.outcome_codes, pa.int8(), mask=invalid), pa.array(policy.outcomes, pa.string())
    )
    combos = ["", *sorted({"|".join(ids) for ids in result.rules.values()})]
    combo_index = np.zeros(n, dtype=np.int32)
    where = {combo: k for k, combo in enumerate(combos)}
    for i, ids in result.rules.items():
        combo_index[i] = where["|".join(ids)]
    columns["rules"] = pa.DictionaryArray.from_arrays(
        pa.array(combo_index, mask=invalid), pa.array(combos, pa.string())
    )
    columns["policy_version"] = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int8), mask=invalid), pa.array([policy.version], pa.string())
    )
    if result.errors:
        messages = np.full(n, None, dtype=object)
        for i, message in result.errors.items():
            messages[i] = message
        columns["error"] = pa.array(messages, pa.string())
    else:
        columns["error"] = pa.nulls(n, pa.string())
    return pa.table(columns)


def score_file(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    threads = args.threads or default_threads(args.overlap_io)
    # Idle pool threads sleep rather than spin: between runs this process reads and writes files.
    options = RuntimeOptions(intra_op_threads=threads, inter_op_threads=1, allow_spinning=False)
    model = load_model(args.model_dir, options)
    names = model.feature_names
    policy = _load_policy_arg(args.policy, names, model.threshold)
    compared: list[tuple[str, Policy]] = [("policy used", policy)]
    # The backtest sets the policy used against the proposed one (layers/policy), the manifest's
    # single threshold, and any --compare policy; each appears once.
    candidates: list[tuple[str, str | None]] = [("proposed (layers/policy)", None), ("manifest threshold", "threshold")]
    candidates += [(f"compared: {value}", value) for value in args.compare]
    for label_text, value in candidates:
        if value is None and not (DEFAULT_POLICY_DIR / POLICY_MANIFEST).is_file():
            continue
        other = _load_policy_arg(value, names, model.threshold)
        if all(other.sha256 != p.sha256 for _, p in compared):
            compared.append((label_text, other))
    cost_model = CostModel(args.review_cost, args.decline_cost)
    chunks, total_rows, _ = read_chunks(
        args.input, names, args.label, [c for c in (args.id_column, args.label) if c], args.chunk_rows
    )
    label = args.label
    backtest = Backtest([PolicyTally(name, p) for name, p in compared], cost_model) if label else None
    amount_index = names.index(args.amount_column) if args.amount_column in names else None
    timings: dict[str, float] = {"load": time.perf_counter() - started}
    output = _Output(ChunkWriter(args.output), args.overlap_io, timings)
    rows = errors = 0
    total_chunks = -(-total_rows // args.chunk_rows) if total_rows else None
    reads_request = any(p.request_fields for _, p in compared)
    read = _timed(chunks, timings, "read")
    with contextlib.closing(output):
        for chunk in _progress(_prefetch(read) if args.overlap_io else read, total_chunks, not args.no_progress):
            requests = None
            if reads_request and args.id_column in chunk.passthrough:
                ids = chunk.passthrough[args.id_column].to_pylist()
                requests = [{"transaction_id": None if v is None else str(v)} for v in ids]
            result = score_and_decide(
                model, policy, chunk.matrix, chunk.errors, requests, features=chunk.features, timings=timings
            )
            n = result.scores.shape[0]
            rows += n
            errors += len(result.errors)
            output.write(functools.partial(_output_table, chunk, result, policy, model.threshold))
            if backtest is not None and chunk.labels is not None:
                started_backtest = time.perf_counter()
                valid = result.valid
                index = np.flatnonzero(valid)
                scores = result.scores[index]
                amounts = chunk.matrix[index, amount_index] if amount_index is not None else np.zeros(index.size)
                outcome_codes = [result.outcome_codes[index]]
                for _, other in compared[1:]:
                    other_requests = [requests[i] for i in index.tolist()] if requests is not None else None
                    # A row the compared policy's rules fail on counts in none of its outcomes.
                    other_codes, _ = other.decide_codes(scores, chunk.matrix[index], other_requests, failures={})
                    outcome_codes.append(other_codes)
                backtest.add(scores, chunk.labels[index], amounts, outcome_codes)
                timings["backtest"] = timings.get("backtest", 0.0) + time.perf_counter() - started_backtest
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = {
        "rows": rows,
        "scored": rows - errors,
        "errors": errors,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds, 1) if seconds else None,
        "peak_rss_mib": round(peak_mib, 1),
        "threads": threads,
        "overlap_io": args.overlap_io,
        "model_version": model.model_version,
        "policy_version": policy.version,
        "output": str(args.output),
    }
    if backtest is not None:
        started_report = time.perf_counter()
        report = args.report or args.output.with_name(args.output.stem + "-backtest.md")
        notes = [
            f"Input `{args.input.name}`, model `{model.model_version}`, policy `{policy.version}` "
            f"(sha256 {policy.sha256[:12]}), {rows:,} rows, {errors:,} with errors (not scored).",
        ]
        summary["report"] = str(backtest.write_report(report, "Backtest", notes))
        timings["report"] = time.perf_counter() - started_report  # after "seconds": not part of them
    # Seconds in each stage; with --overlap-io, read and write run in their own threads and overlap the rest.
    summary["stage_seconds"] = {stage: round(value, 4) for stage, value in timings.items()}
    print(json.dumps(summary), file=sys.stderr)
    return 0


def policy_check(args: argparse.Namespace) -> int:
    names = load_manifest(args.model_dir).feature_names
    policy = load_policy(args.policy, names)
    print(
        f"{args.policy}: policy {policy.version} OK "
        f"({len(policy.bands)} bands, {len(policy.rules)} rules, {policy.mode})"
    )
    return 0


def policy_stamp(args: argparse.Namespace) -> int:
    """Check DIR/policy.yaml against the model's features and write DIR/policy.json."""
    from fraud_scoring.policy import read_policy_document

    names = load_manifest(args.model_dir).feature_names
    source = args.directory / "policy.yaml"
    document = read_policy_document(source)
    load_policy(source, names)  # every check, before anything is written
    stamped = stamp_document(document, source.name, source.read_bytes())
    target = args.directory / POLICY_MANIFEST
    target.write_text(json.dumps(stamped, indent=2) + "\n", encoding="utf-8")
    print(f"{target}: policy {stamped['policy_version']} sha256 {stamped['policy_sha256'][:12]}")
    return 0


def export_synthetic(args: argparse.Namespace) -> int:
    """The default data set (training/data.py, the seed training uses) as CSV or Parquet, with its label."""
    from training.data import generate_synthetic
    from training.train import TrainingParams

    frame = generate_synthetic(seed=TrainingParams.seed).to_frame()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    writer = ChunkWriter(args.output)
    writer.write(table)
    writer.close()
    print(f"{args.output}: {table.num_rows:,} rows", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fraud-score", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR, help="model layer (default %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)

    score = commands.add_parser("score", help="score a CSV or Parquet file; with a label column also backtest")
    score.add_argument("input", type=Path, help="transactions (.csv or .parquet) with the model's feature columns")
    score.add_argument("output", type=Path, help="where to write scores and decisions (.csv or .parquet)")
    score.add_argument(
        "--policy",
        help="policy file or layer folder; 'threshold' for the manifest threshold (default: layers/policy)",
    )
    score.add_argument("--compare", action="append", default=[], help="another policy to backtest against (repeat)")
    score.add_argument("--label", default=None, help="label column (0/1) for the backtest, e.g. Class")
    score.add_argument("--id-column", default="transaction_id", help="request id column, copied and given to rules")
    score.add_argument("--amount-column", default="Amount", help="feature holding the amount (cost model)")
    score.add_argument("--report", type=Path, help="backtest report (default: OUTPUT-backtest.md)")
    score.add_argument("--chunk-rows", type=int, default=50_000, help="rows per chunk (bounds memory)")
    score.add_argument(
        "--threads",
        type=int,
        default=0,
        help="ONNX Runtime's intra-op threads for scoring (default: the CPU count less one with --overlap-io, "
        "the CPU count without)",
    )
    score.add_argument(
        "--overlap-io",
        action=argparse.BooleanOptionalAction,
        default=OVERLAP_IO_DEFAULT,
        help="read the next chunk and write the last one in two threads of their own while a chunk is scored "
        "(default: on; with --no-overlap-io one thread reads, scores and writes in turn)",
    )
    score.add_argument("--review-cost", type=float, default=DEFAULT_REVIEW_COST)
    score.add_argument("--decline-cost", type=float, default=DEFAULT_DECLINE_COST)
    score.add_argument("--no-progress", action="store_true", help="no progress bar")
    score.set_defaults(run=score_file)

    check = commands.add_parser("policy-check", help="load a policy file or layer and report the first error")
    check.add_argument("policy", type=Path)
    check.set_defaults(run=policy_check)

    stamp = commands.add_parser("policy-stamp", help="check DIR/policy.yaml and write DIR/policy.json")
    stamp.add_argument("directory", type=Path, nargs="?", default=DEFAULT_POLICY_DIR)
    stamp.set_defaults(run=policy_stamp)

    export = commands.add_parser("export-synthetic", help="write the default synthetic data set (.csv or .parquet)")
    export.add_argument("output", type=Path)
    export.set_defaults(run=export_synthetic)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "chunk_rows", 1) < 1:
        print("error: --chunk-rows must be at least 1", file=sys.stderr)
        return 2
    if getattr(args, "threads", 0) < 0:
        print("error: --threads must be at least 1 (or 0 for the default)", file=sys.stderr)
        return 2
    try:
        code: int = args.run(args)
    except (InputError, PolicyError, ModelLoadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
