"""checkov, offline, on everything that deploys: the SAM templates, the pipeline roles, the rendered
Kubernetes overlays and the workflows. Zero failures; every skip carries its reason, and the skips
are the reviewed ones below (a new skip must be added here, on purpose)."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .kustomize import OVERLAYS, rendered_text
from .tools import REPO_ROOT, tool

# file (relative to the repository, or k8s/<overlay>.yaml) -> the checks skipped in it, with a reason
EXPECTED_SKIPS = {
    "template.yaml": {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173", "CKV_AWS_73", "CKV_AWS_120"},
    "container/template.yaml": {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173", "CKV_AWS_73", "CKV_AWS_120"},
    "pipeline/roles.yaml": {"CKV_AWS_18", "CKV_AWS_109", "CKV_AWS_110", "CKV_AWS_111"},
    **{f"k8s/{overlay}.yaml": {"CKV_K8S_43"} for overlay in OVERLAYS},
}
CLOUDFORMATION = ["template.yaml", "container/template.yaml", "pipeline/roles.yaml"]


def run_checkov(workdir: Path, framework: str, files: list[str], home: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(tool("checkov")), "--framework", framework, "--skip-download", "--output", "json", "--compact"]
        + [arg for f in files for arg in ("-f", f)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=workdir,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),  # its caches go to the scratch directory, not the repository
            "BC_SKIP_MAPPING": "TRUE",
            "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "",
        },
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: findings, reported below
    report = json.loads(done.stdout)
    # one framework -> one report (checkov prints a list only for several)
    assert isinstance(report, dict), done.stdout[:500]
    return report


@functools.cache
def reports(scratch: str) -> dict[str, dict[str, Any]]:
    root = Path(scratch)
    k8s = root / "k8s"
    k8s.mkdir(parents=True, exist_ok=True)
    for overlay in OVERLAYS:
        (k8s / f"{overlay}.yaml").write_text(rendered_text(overlay), encoding="utf-8")
    return {
        "cloudformation": run_checkov(REPO_ROOT, "cloudformation", CLOUDFORMATION, root),
        "kubernetes": run_checkov(root, "kubernetes", [f"k8s/{o}.yaml" for o in OVERLAYS], root),
        "github_actions": run_checkov(
            REPO_ROOT,
            "github_actions",
            sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / ".github/workflows").glob("*.yml")),
            root,
        ),
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return reports(str(tmp_path_factory.mktemp("checkov")))


def file_of(check: dict[str, Any]) -> str:
    return str(check["file_path"]).lstrip("/")


@pytest.mark.parametrize("framework", ["cloudformation", "kubernetes", "github_actions"])
def test_checkov_finds_nothing(results: dict[str, dict[str, Any]], framework: str) -> None:
    report = results[framework]["results"]
    failed = [f"{c['check_id']} {c['resource']} ({file_of(c)})" for c in report["failed_checks"]]
    assert failed == []
    assert len(report["passed_checks"]) >= 20  # the scan did look at the files


def test_every_file_was_scanned(results: dict[str, dict[str, Any]]) -> None:
    scanned = {
        file_of(c)
        for report in results.values()
        for c in report["results"]["passed_checks"] + report["results"]["skipped_checks"]
    }
    assert set(EXPECTED_SKIPS) | {".github/workflows/ci.yml", ".github/workflows/pipeline.yml"} <= scanned


def test_the_skips_are_the_reviewed_ones_each_with_its_reason(results: dict[str, dict[str, Any]]) -> None:
    skips: dict[str, set[str]] = {}
    for report in results.values():
        for check in report["results"]["skipped_checks"]:
            skips.setdefault(file_of(check), set()).add(check["check_id"])
            reason = check["check_result"].get("suppress_comment", "")
            assert len(reason) >= 40, f"{check['check_id']} in {file_of(check)}: no real reason ({reason!r})"
    assert skips == EXPECTED_SKIPS
