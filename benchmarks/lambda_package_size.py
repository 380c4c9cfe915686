"""Unzipped size of the Lambda function + layers, and what trimming and precompiling cost or save.

Sizes are apparent bytes of the files (what Lambda counts against its 250 MB unzipped limit),
reported in MiB (2**20 bytes) and MB (10**6 bytes).

    python benchmarks/lambda_package_size.py --build-dir .aws-sam/build            # the build
    python benchmarks/lambda_package_size.py --build-dir .aws-sam/build --naive    # + naive install
    python benchmarks/lambda_package_size.py --build-dir .aws-sam/build --naive --cold-starts 7

``--naive`` installs the same pins for the same platform without trimming (pip download, cached
by pip). ``--cold-starts N`` starts N fresh execution environments (Lambda RIE + awslambdaric
under the runtime's Python) for the layer as built and for the layer with ``__pycache__``
precompiled, alternating, and reports the medians of "start to first answer" (init + one
POST /predict). Needs python3.13 (PATH, pyenv or $LAMBDA_PYTHON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from scripts.lambda_rie import (  # noqa: E402  (the repo root is put on the path just above)
    BuiltFunction,
    LambdaEmulator,
    find_python,
    locked_requirement,
    python_with_runtime_client,
)

PARTS = ("ScoringFunction", "ModelLayer", "DependenciesLayer")


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def fmt(size: int) -> str:
    return f"{size / 2**20:.1f} MiB ({size / 1e6:.1f} MB)"


def naive_install(target: Path, python_version: str) -> None:
    flags = [f"--platform=manylinux_{glibc}_x86_64" for glibc in ("2_34", "2_28", "2_17")]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            *flags,
            "--implementation=cp",
            f"--python-version={python_version}",
            "--only-binary=:all:",
            "--target",
            str(target),
            "-r",
            str(REPO_ROOT / "layers" / "dependencies" / "requirements.txt"),
        ],
        check=True,
    )


def compile_tree(python: str, root: Path) -> None:
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(root)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def cold_start_ms(function: BuiltFunction, python: str, event: dict[str, object]) -> float:
    started = time.perf_counter()
    with LambdaEmulator(function, python, timeout_s=120) as emulator:
        result = emulator.invoke(event)
        elapsed = (time.perf_counter() - started) * 1000
    if result.status_code != 200:
        raise SystemExit(f"cold start invocation answered {result.status_code}: {result.body}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, default=REPO_ROOT / ".aws-sam" / "build")
    parser.add_argument("--naive", action="store_true", help="also measure an untrimmed install of the pins")
    parser.add_argument("--cold-starts", type=int, default=0, help="cold starts per variant (0: skip)")
    args = parser.parse_args(argv)
    build_dir = args.build_dir.resolve()
    function = BuiltFunction.from_build_dir(build_dir)
    sizes = {part: tree_bytes(build_dir / part) for part in PARTS}
    total = sum(sizes.values())
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()} (host)")
    print(f"runtime: python{function.runtime_version}\n")
    print("| part | unzipped |")
    print("|---|---|")
    for part, size in sizes.items():
        print(f"| {part} | {fmt(size)} |")
    print(f"| **function + layers (as built)** | **{fmt(total)}** |")

    runtime_python = find_python(function.runtime_version)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        if args.naive:
            naive = scratch / "naive"
            naive_install(naive, function.runtime_version)
            naive_size = tree_bytes(naive)
            print(f"| naive install of the same pins, no `__pycache__` | {fmt(naive_size)} |")
            if runtime_python:
                compile_tree(runtime_python, naive)
                print(f"| naive install + `__pycache__` (what pip leaves by default) | {fmt(tree_bytes(naive))} |")
        if runtime_python:
            precompiled = scratch / "precompiled"
            shutil.copytree(build_dir, precompiled)
            compile_tree(runtime_python, precompiled / "DependenciesLayer")
            pre_total = sum(tree_bytes(precompiled / part) for part in PARTS)
            print(f"| function + layers with `LAYER_PRECOMPILE=1` | {fmt(pre_total)} |")
        if args.cold_starts and runtime_python:
            venv = REPO_ROOT / "build" / f".venv-lambda-py{function.runtime_version}"
            python = python_with_runtime_client(runtime_python, venv, locked_requirement("awslambdaric"))
            event = json.loads((REPO_ROOT / "events" / "predict_ok.json").read_text(encoding="utf-8"))
            built_fn = function
            pre_fn = BuiltFunction.from_build_dir(precompiled)
            timings: dict[str, list[float]] = {"as built": [], "precompiled": []}
            for _ in range(args.cold_starts):  # alternate so machine noise hits both alike
                timings["as built"].append(cold_start_ms(built_fn, python, event))
                timings["precompiled"].append(cold_start_ms(pre_fn, python, event))
            base = statistics.median(timings["as built"])
            print(f"\ncold start (start of execution environment -> first /predict answer), n={args.cold_starts}:")
            for name, values in timings.items():
                median = statistics.median(values)
                print(
                    f"- {name}: median {median:.0f} ms (min {min(values):.0f}, max {max(values):.0f}),"
                    f" {median / base:.2f}x of as-built"
                )
        elif args.cold_starts:
            print(f"\ncold starts skipped: python{function.runtime_version} not found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
