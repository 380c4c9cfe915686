"""The real `sam` CLI of this venv, as the SAM integration tests run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SAM = str(Path(sys.executable).with_name("sam"))


def assert_valid_template(template: Path, env: dict[str, str], timeout_s: int = 180) -> None:
    """`sam validate --lint` (the SAM translator plus cfn-lint, offline) passes on ``template``."""
    result = subprocess.run(
        [SAM, "validate", "--lint", "--region", "us-east-1", "-t", str(template)],
        cwd=template.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout
