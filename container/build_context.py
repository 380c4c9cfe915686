"""Copy the build context that ``.dockerignore`` allows into a fresh directory (``build_context.py DIR``).

Docker itself applies ``.dockerignore``; the tests build from this copy instead, so that a path the
Dockerfile needs but the allow-list forgets fails the build instead of working by accident from a
developer's checkout.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE_FILE = ROOT / ".dockerignore"


def allowed_paths() -> list[str]:
    lines = IGNORE_FILE.read_text(encoding="utf-8").splitlines()
    return [line[1:].strip().rstrip("/") for line in lines if line.startswith("!")]


def make_context(destination: Path) -> Path:
    if destination.exists():
        shutil.rmtree(destination)
    for relative in allowed_paths():
        source = ROOT / relative
        target = destination / relative
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        else:
            raise FileNotFoundError(f"{relative} is allow-listed in {IGNORE_FILE.name} but does not exist")
    (destination / "container").mkdir(exist_ok=True)
    shutil.copy2(ROOT / "container" / "Dockerfile", destination / "container" / "Dockerfile")
    return destination


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python container/build_context.py DIR")
    print(make_context(Path(sys.argv[1])))
