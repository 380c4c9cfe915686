"""`make clean` and `make distclean` on a throwaway copy: clean removes build outputs, caches and run
results and keeps the sources and both venvs; distclean also removes the venvs. Never run on the real tree."""

from __future__ import annotations

import os
from pathlib import Path

from tests.unit.commands.project_copy import copy_command_surface, run

OUTPUTS = [
    ".aws-sam/build/template.yaml",
    "build/sam-cache/x/file",
    "loadtest/results/20261129T000000Z-smoke-local/summary.json",
    "loadtest/payloads.json",
    "benchmarks/results/run.json",
    "training/runs/run-1/metrics.json",
    ".mypy_cache/3.11/x.json",
    ".ruff_cache/x",
    ".pytest_cache/v/x",
    ".hypothesis/examples/x",
    "function/fraud_api/__pycache__/app.cpython-311.pyc",
    ".localstack/localstack.log",
]
SOURCES = ["function/fraud_api/app.py", "loadtest/run.py", "training/data.py", "README.md"]
VENVS = ["venv/bin/python", "venv/lib/site.py", ".venv-localstack/bin/python"]


def make_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(("MAKE", "MFLAGS"))}


def populate(root: Path) -> None:
    for name in OUTPUTS + SOURCES + VENVS:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    # the venvs' own bytecode is theirs: clean must not walk into them
    (root / "venv/lib/__pycache__").mkdir()
    (root / "venv/lib/__pycache__/site.cpython-311.pyc").write_text("x")


def existing(root: Path, names: list[str]) -> list[str]:
    return [name for name in names if (root / name).exists()]


def test_clean_removes_outputs_and_keeps_sources_and_venvs(tmp_path: Path) -> None:
    root = copy_command_surface(tmp_path / "project")
    populate(root)
    result = run(["make", "clean", "VENV=venv"], cwd=root, env=make_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert existing(root, OUTPUTS) == []
    assert existing(root, SOURCES) == SOURCES
    assert existing(root, VENVS) == VENVS
    assert (root / "venv/lib/__pycache__/site.cpython-311.pyc").exists()
    assert (root / "Makefile").exists()
    assert (root / "scripts" / "bootstrap.sh").exists()


def test_distclean_also_removes_both_venvs(tmp_path: Path) -> None:
    root = copy_command_surface(tmp_path / "project")
    populate(root)
    result = run(["make", "distclean", "VENV=venv"], cwd=root, env=make_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert existing(root, OUTPUTS + VENVS) == []
    assert not (root / "venv").exists()
    assert not (root / ".venv-localstack").exists()
    assert existing(root, SOURCES) == SOURCES


def test_clean_keeps_the_state_of_a_running_localstack(tmp_path: Path) -> None:
    root = copy_command_surface(tmp_path / "project")
    populate(root)
    # scripts/localstack.sh status answers "running" only when its pid is alive and the health check passes:
    # a stand-in status that says so is put in its place in the copy.
    (root / "scripts" / "localstack.sh").write_text("#!/usr/bin/env bash\nexit 0\n")
    result = run(["make", "clean", "VENV=venv"], cwd=root, env=make_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / ".localstack/localstack.log").exists()
    assert "kept .localstack/: LocalStack is running (make localstack-down first)" in result.stdout
