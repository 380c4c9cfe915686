"""Render the Kubernetes overlays with the pinned kubectl's kustomize."""

from __future__ import annotations

import functools
import subprocess
from typing import Any

import yaml

from .tools import REPO_ROOT, tool

K8S_DIR = REPO_ROOT / "container" / "k8s"
OVERLAYS = ("dev", "prod", "prod-keda")


@functools.cache
def rendered_text(overlay: str) -> str:
    done = subprocess.run(
        [str(tool("kubectl")), "kustomize", str(K8S_DIR / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def rendered(overlay: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(rendered_text(overlay)) if doc]


def by_kind(overlay: str) -> dict[str, dict[str, Any]]:
    docs = rendered(overlay)
    kinds = {doc["kind"]: doc for doc in docs}
    assert len(kinds) == len(docs), "one object of each kind"
    return kinds
