"""Cold start as deployed: our ``sam build`` output vs the naive baseline's plain ``sam build`` output.

Both are started cold through the Lambda Runtime Interface Emulator (from the aws-sam-cli wheel) with
the runtime's Python (python3.13 + awslambdaric, nothing else), the way Lambda would run the zips:
``PYTHONDONTWRITEBYTECODE=1`` because ``/var/task`` and ``/opt`` are read-only there, so a package
without ``__pycache__`` compiles every module it imports on every cold start.

Variants, alternated round-robin (the order rotates each round) so machine noise hits all alike:

- ``ours (as built)``: ``.aws-sam/build`` (ScoringFunction + DependenciesLayer + ModelLayer);
- ``naive (as sam builds it: no .pyc)``: ``benchmarks/naive_baseline/template.yaml`` built by the
  plain SAM python builder, which unpacks wheels and so ships no bytecode. It loads our ModelLayer's
  model (``MODEL_DIR``), so both sides load the same file;
- ``naive + __pycache__`` and ``ours + __pycache__ for the rest``: scratch copies (build/coldstart-scratch/)
  compiled with the runtime's Python (``compileall --invalidation-mode unchecked-hash``): the naive
  function folder, and our DependenciesLayer + ScoringFunction. The like-for-like comparison.

Each cold start measures the wall time from starting the emulator to the first ``POST /predict``
(events/predict_ok.json) answering 200, and the CPU time (user + sys) of the emulator's process
tree for that start: the ``RUSAGE_CHILDREN`` delta across it (the emulator SIGKILLs and reaps its
runtime when stopped, so the runtime's time reaches us; the delta includes the ~30 ms of stopping,
and the JSON also holds /proc's coarser figure taken at the answer as a cross-check). CPU is the
steady figure on a shared machine; wall time also carries other processes' load. CPU can exceed
wall: the emulator and the runtime's native threads run in parallel on the 2 vCPUs.

    python benchmarks/lambda_cold_start.py [--ours .aws-sam/build] [--naive build/naive-sam] [--runs 9]

The naive build is made with ``sam build`` when it is missing or older than its sources (needs
PyPI); ``make bench-coldstart`` builds ours first. Results: a markdown table on stdout and JSON in
benchmarks/results/.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from scripts.lambda_rie import (  # noqa: E402  (the repo root is put on the path just above)
    MODEL_LAYER_ID,
    BuiltFunction,
    LambdaEmulator,
    RieError,
    find_python,
    locked_requirement,
    python_with_runtime_client,
)

NAIVE_DIR = REPO_ROOT / "benchmarks" / "naive_baseline"
NAIVE_TEMPLATE = NAIVE_DIR / "template.yaml"
NAIVE_FUNCTION_ID = "NaiveFunction"
# Files whose change makes a naive build stale (sam build copies the whole folder into the function).
NAIVE_SOURCES = ("naive_app.py", "requirements.txt", "template.yaml")
EVENT = REPO_ROOT / "events" / "predict_ok.json"
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
SCRATCH_DIR = REPO_ROOT / "build" / "coldstart-scratch"

OURS = "ours (as built)"
NAIVE = "naive (as sam builds it: no .pyc)"
NAIVE_PYC = "naive + __pycache__"
OURS_PYC = "ours + __pycache__ for the rest"


class BenchmarkError(RuntimeError):
    """A build is missing or a cold start did not answer 200."""


@dataclass
class Variant:
    name: str
    function: BuiltFunction
    use_dependency_layer: bool  # False: the dependencies sit in the task root (the naive zip)
    code_dirs: tuple[Path, ...]  # what ships as code + dependencies (the model is the same file for all)
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    cpu_at_answer_ms: list[float] = field(default_factory=list)  # /proc, 10 ms ticks: the cross-check

    def unzipped_bytes(self) -> int:
        return sum(tree_bytes(path) for path in self.code_dirs)

    def pyc_files(self) -> int:
        return sum(1 for path in self.code_dirs for _ in path.rglob("*.pyc"))


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def cpu_children_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def process_tree(root_pid: int) -> tuple[list[int], float]:
    """``root_pid`` and its live descendants from /proc, and their CPU seconds so far (clock ticks:
    user + sys, with their reaped children's)."""
    parents: dict[int, int] = {}
    cpu_ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        fields = text[text.rindex(")") + 2 :].split()
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        cpu_ticks[pid] = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    tree = [root_pid]
    for pid in tree:  # grows while iterated: breadth-first
        tree.extend(child for child, parent in parents.items() if parent == pid)
    return tree, sum(cpu_ticks.get(pid, 0) for pid in tree) / CLOCK_TICKS_PER_S


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def cold_start(variant: Variant, python: str, event: dict[str, Any], timeout_s: int) -> tuple[float, float, float]:
    """One new execution environment up to its first answer: wall ms, CPU ms of its process tree
    (including the few ms of stopping it), and the CPU ms /proc showed at the answer."""
    emulator = LambdaEmulator(
        variant.function, python, use_dependency_layer=variant.use_dependency_layer, timeout_s=timeout_s
    )
    cpu_before = cpu_children_s()
    started = time.perf_counter()
    tree: list[int] = []
    cpu_at_answer_s = 0.0
    try:
        emulator.start(ready_timeout_s=timeout_s, poll_interval_s=0.002)
        result = emulator.invoke(event)
        wall_ms = (time.perf_counter() - started) * 1000
        if emulator.process is not None:
            tree, cpu_at_answer_s = process_tree(emulator.process.pid)
    except RieError as exc:
        raise BenchmarkError(f"{variant.name}: {exc}") from exc
    finally:
        log = emulator.log()
        emulator.stop()
        emulator.log_path.unlink(missing_ok=True)
    leftovers = [pid for pid in tree if alive(pid)]
    if leftovers:  # its CPU time would be missing from ours: refuse the figure, and clean up
        for pid in leftovers:
            os.kill(pid, 9)
        raise BenchmarkError(f"{variant.name}: processes {leftovers} outlived the emulator")
    cpu_ms = (cpu_children_s() - cpu_before) * 1000
    # /proc's figure at the answer (10 ms ticks) cross-checks that the runtime was reaped into ours
    if cpu_ms < cpu_at_answer_s * 1000 - 2 * 1000 / CLOCK_TICKS_PER_S * len(tree):
        raise BenchmarkError(f"{variant.name}: {cpu_ms:.0f} ms CPU counted, /proc saw {cpu_at_answer_s * 1000:.0f} ms")
    if result.status_code != 200:
        raise BenchmarkError(f"{variant.name}: first POST /predict answered {result.status_code}: {result.body}\n{log}")
    return wall_ms, cpu_ms, cpu_at_answer_s * 1000


# -- builds -----------------------------------------------------------------------------------------


def naive_is_stale(build_dir: Path) -> str | None:
    """Why the naive build must be (re)made, or None when it matches its sources."""
    task_root = build_dir / NAIVE_FUNCTION_ID
    if not (build_dir / "template.yaml").is_file() or not task_root.is_dir():
        return f"no naive build in {build_dir}"
    for name in NAIVE_SOURCES:
        built = task_root / name
        if not built.is_file() or built.read_bytes() != (NAIVE_DIR / name).read_bytes():
            return f"{name} changed since the naive build"
    return None


def build_naive(build_dir: Path, runtime_python: str) -> None:
    """``sam build`` of the naive template, no containers: SAM's python builder needs python3.13 on PATH."""
    sam = Path(sys.executable).with_name("sam")
    if not sam.is_file():
        raise BenchmarkError(f"no sam CLI next to {sys.executable}: run `make setup`")
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "PATH": os.pathsep.join([str(sam.parent), str(Path(runtime_python).parent), os.environ.get("PATH", "")]),
    }
    command = [str(sam), "build", "-t", str(NAIVE_TEMPLATE), "--build-dir", str(build_dir)]
    print(f"building the naive baseline: {' '.join(command)}", flush=True)
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise BenchmarkError(
            f"sam build of {NAIVE_TEMPLATE} failed (it downloads wheels from PyPI):\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )


def compiled_copy(source: Path, target: Path, python: str, subdirs: tuple[str, ...]) -> Path:
    """A scratch copy of a build with ``subdirs`` compiled by the runtime's Python."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)
    for subdir in subdirs:
        subprocess.run(
            [
                python,
                "-m",
                "compileall",
                "-q",
                "-j",
                "0",
                "--invalidation-mode",
                "unchecked-hash",
                str(target / subdir),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return target


# -- report -----------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def python_version(python: str) -> str:
    out = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True)
    return out.stdout.strip()


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def markdown_table(variants: list[Variant], base: Variant) -> str:
    base_wall = statistics.median(base.wall_ms)
    base_cpu = statistics.median(base.cpu_ms)
    lines = [
        "| variant | pyc files | code + deps unzipped | wall ms median (min-max) | wall vs naive "
        "| CPU ms median (min-max) | CPU vs naive |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in variants:
        wall, cpu = summary(variant.wall_ms), summary(variant.cpu_ms)
        lines.append(
            f"| {variant.name} | {variant.pyc_files()} | {variant.unzipped_bytes() / 1e6:.1f} MB "
            f"| {wall['median']:.0f} ({wall['min']:.0f}-{wall['max']:.0f}) | {wall['median'] / base_wall:.2f}x "
            f"| {cpu['median']:.0f} ({cpu['min']:.0f}-{cpu['max']:.0f}) | {cpu['median'] / base_cpu:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ours", type=Path, default=REPO_ROOT / ".aws-sam" / "build", help="our sam build dir")
    parser.add_argument("--naive", type=Path, default=REPO_ROOT / "build" / "naive-sam", help="naive sam build dir")
    parser.add_argument("--runs", type=int, default=9, help="recorded cold starts per variant")
    parser.add_argument("--warmup", type=int, default=1, help="unrecorded rounds first (fills the page cache)")
    parser.add_argument("--start-timeout", type=int, default=30, help="seconds one cold start may take")
    parser.add_argument("--rebuild-naive", action="store_true", help="sam build the naive baseline again")
    parser.add_argument("--no-build", action="store_true", help="fail instead of building a missing naive build")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        return run(args)
    finally:
        shutil.rmtree(SCRATCH_DIR, ignore_errors=True)  # the compiled copies (~260 MB) are rebuilt each run


def run(args: argparse.Namespace) -> int:
    ours_dir, naive_dir = args.ours.resolve(), args.naive.resolve()
    if not (ours_dir / "template.yaml").is_file():
        raise BenchmarkError(f"no sam build in {ours_dir}: run `make sam-build` first")
    ours_fn = BuiltFunction.from_build_dir(ours_dir)
    base_python = find_python(ours_fn.runtime_version)
    if base_python is None:
        raise BenchmarkError(f"python{ours_fn.runtime_version} not found (PATH, pyenv or $LAMBDA_PYTHON)")
    stale = "--rebuild-naive" if args.rebuild_naive else naive_is_stale(naive_dir)
    if stale and args.no_build:
        raise BenchmarkError(
            f"{stale}: build it with `sam build -t {NAIVE_TEMPLATE.relative_to(REPO_ROOT)} --build-dir {args.naive}`"
            " (python3.13 on PATH), or drop --no-build"
        )
    if stale:
        print(f"{stale}", flush=True)
        build_naive(naive_dir, base_python)
    naive_fn = BuiltFunction.from_build_dir(naive_dir, function_id=NAIVE_FUNCTION_ID)
    if naive_fn.runtime_version != ours_fn.runtime_version:
        raise BenchmarkError(f"runtimes differ: python{naive_fn.runtime_version} vs python{ours_fn.runtime_version}")
    naive_fn.model_dir = ours_fn.model_dir  # the naive template does not package the model
    shipped_pyc = sum(1 for _ in naive_fn.task_root.rglob("*.pyc"))
    if shipped_pyc:
        raise BenchmarkError(f"{naive_dir} holds {shipped_pyc} .pyc files: sam does not ship them; --rebuild-naive")

    venv = REPO_ROOT / "build" / f".venv-lambda-py{ours_fn.runtime_version}"
    python = python_with_runtime_client(base_python, venv, locked_requirement("awslambdaric"))
    event = json.loads(EVENT.read_text(encoding="utf-8"))

    naive_pyc_dir = compiled_copy(naive_dir, SCRATCH_DIR / "naive-pyc", python, (NAIVE_FUNCTION_ID,))
    naive_pyc_fn = BuiltFunction.from_build_dir(naive_pyc_dir, function_id=NAIVE_FUNCTION_ID)
    naive_pyc_fn.model_dir = ours_fn.model_dir
    ours_pyc_dir = compiled_copy(ours_dir, SCRATCH_DIR / "ours-pyc", python, ("DependenciesLayer", "ScoringFunction"))
    ours_pyc_fn = BuiltFunction.from_build_dir(ours_pyc_dir)
    ours_pyc_fn.model_dir = ours_fn.model_dir  # one model file for every variant

    def ours_code(fn: BuiltFunction) -> tuple[Path, ...]:
        return (fn.task_root, fn.dependencies_dir)

    variants = [
        Variant(OURS, ours_fn, True, ours_code(ours_fn)),
        Variant(NAIVE, naive_fn, False, (naive_fn.task_root,)),
        Variant(NAIVE_PYC, naive_pyc_fn, False, (naive_pyc_fn.task_root,)),
        Variant(OURS_PYC, ours_pyc_fn, True, ours_code(ours_pyc_fn)),
    ]
    base = variants[1]

    load_start = os.getloadavg()
    machine: dict[str, object] = {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "host_python": platform.python_version(),
        "runtime_python": python_version(python),
        "loadavg_start": load_start,
    }
    print(
        f"machine: {machine['cpu']}, {machine['cpus']} CPUs, {machine['platform']}\n"
        f"python: host {machine['host_python']}, runtime {machine['runtime_python']} ({base_python}) + "
        f"{locked_requirement('awslambdaric')}\n"
        f"load average at start: {' '.join(f'{x:.2f}' for x in load_start)}\n"
        f"{args.warmup} warm-up + {args.runs} recorded rounds of {len(variants)} cold starts ...",
        flush=True,
    )
    started = time.monotonic()
    for round_index in range(args.warmup + args.runs):
        shift = round_index % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            wall_ms, cpu_ms, cpu_at_answer_ms = cold_start(variant, python, event, args.start_timeout)
            if round_index >= args.warmup:
                variant.wall_ms.append(wall_ms)
                variant.cpu_ms.append(cpu_ms)
                variant.cpu_at_answer_ms.append(cpu_at_answer_ms)
    elapsed_s = time.monotonic() - started
    load_end = os.getloadavg()
    machine["loadavg_end"] = load_end

    model_bytes = tree_bytes(ours_dir / MODEL_LAYER_ID)
    print(
        f"\ncold start = new execution environment (Lambda RIE + python{ours_fn.runtime_version} + awslambdaric) "
        f"-> imports -> model load -> first POST /predict answered 200; n={args.runs} per variant, "
        f"{elapsed_s:.0f} s in all.\nCPU = user+sys of the emulator and its runtime. The model layer "
        f"({model_bytes / 1e3:.0f} kB) is the same file for all variants and not in the size column.\n"
    )
    print(markdown_table(variants, base))
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in load_end)}")

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"lambda_cold_start-{stamp}.json"
    base_wall, base_cpu = statistics.median(base.wall_ms), statistics.median(base.cpu_ms)
    report = {
        "machine": machine,
        "runs": args.runs,
        "warmup_rounds": args.warmup,
        "event": str(EVENT.relative_to(REPO_ROOT)),
        "baseline": base.name,
        "variants": {
            variant.name: {
                "build_dir": str(variant.function.build_dir),
                "pyc_files": variant.pyc_files(),
                "unzipped_bytes": variant.unzipped_bytes(),
                "wall_ms": variant.wall_ms,
                "cpu_ms": variant.cpu_ms,
                "cpu_at_answer_ms_proc_ticks": variant.cpu_at_answer_ms,
                "wall": summary(variant.wall_ms),
                "cpu": summary(variant.cpu_ms),
                "wall_ratio_to_baseline": statistics.median(variant.wall_ms) / base_wall,
                "cpu_ratio_to_baseline": statistics.median(variant.cpu_ms) / base_cpu,
            }
            for variant in variants
        },
    }
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"results: {out.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
