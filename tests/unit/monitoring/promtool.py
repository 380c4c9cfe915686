"""Debian's promtool and the metric names the self-hosted server exposes, for the monitoring tests."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

REPO_ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS_DIR = REPO_ROOT / "monitoring" / "prometheus"
GRAFANA_DASHBOARD = REPO_ROOT / "monitoring" / "grafana" / "fraud-scoring.json"
# Exposed by the drift and challenger features (the names agreed for issue 16).
AGREED_ELSEWHERE = frozenset(
    {
        "fraud_drift_psi",
        "fraud_score_drift_psi",
        "fraud_challenger_predictions_total",
        "fraud_challenger_agreements_total",
    }
)
METRIC_NAME = re.compile(r"\bfraud_[a-z_]+\b")
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: `make prometheus` installs Debian's prometheus package (make test does)")
    return found


def run_promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> str:
    done = subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"promtool {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def server_series_names() -> set[str]:
    """The series names selfhosted.metrics declares (what its /metrics can expose)."""
    import selfhosted.metrics  # noqa: F401  (registers the server's metrics)

    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.name.startswith("fraud_"):
            names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
    return names
