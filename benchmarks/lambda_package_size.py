"""Unzipped size of the Lambda function + layers, and what trimming saves.

Sizes are apparent bytes of the files (what Lambda counts against its 250 MB unzipped limit),
reported in MiB (2**20 bytes) and MB (10**6 bytes).

    python benchmarks/lambda_package_size.py --build-dir .aws-sam/build            # the build
    python benchmarks/lambda_package_size.py --build-dir .aws-sam/build --naive    # + naive install

``--naive`` installs the same pins for the same platform without trimming (pip download, cached
by pip), and, where the runtime's Python is found, measures it again with ``__pycache__`` as pip
leaves it by default. Cold starts: ``benchmarks/lambda_cold_start.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from scripts.lambda_rie import (  # noqa: E402  (the repo root is put on the path just above)
    BuiltFunction,
    find_python,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, default=REPO_ROOT / ".aws-sam" / "build")
    parser.add_argument("--naive", action="store_true", help="also measure an untrimmed install of the pins")
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
    marker = build_dir / "DependenciesLayer" / "python" / ".fraud-scoring-layer"
    bytecode = dict(line.split("=", 1) for line in marker.read_text().splitlines() if "=" in line).get("bytecode", "?")
    print(f"| **function + layers (as built, LAYER_BYTECODE={bytecode})** | **{fmt(total)}** |")

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
