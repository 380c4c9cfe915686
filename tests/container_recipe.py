"""Read container/Dockerfile as data (stages, COPY, ENV, CMD) for the container tests."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO_ROOT / "container" / "Dockerfile"


@dataclass
class Stage:
    name: str
    base: str
    copies: list[tuple[list[str], str, list[str]]] = field(default_factory=list)  # (sources, dest, flags)
    env: dict[str, str] = field(default_factory=dict)
    cmd: list[str] = field(default_factory=list)
    healthcheck: str = ""
    user: str = ""


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    return lines


def parse(path: Path = DOCKERFILE) -> tuple[dict[str, str], dict[str, Stage]]:
    """Global build args (name -> default) and the stages by name."""
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    for line in _logical_lines(path.read_text(encoding="utf-8")):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and stage is None:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        elif keyword == "FROM":
            match = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", rest.strip(), flags=re.IGNORECASE)
            assert match, f"every stage is named: {line}"
            stage = stages[match.group(2)] = Stage(name=match.group(2), base=match.group(1))
        elif stage is None:
            continue
        elif keyword == "COPY":
            words = shlex.split(rest)
            flags = [word for word in words if word.startswith("--")]
            paths = [word for word in words if not word.startswith("--")]
            stage.copies.append((paths[:-1], paths[-1], flags))
        elif keyword == "ENV":
            for assignment in shlex.split(rest):
                name, _, value = assignment.partition("=")
                stage.env[name] = value
        elif keyword == "CMD":
            stage.cmd = json.loads(rest)
        elif keyword == "HEALTHCHECK":
            stage.healthcheck = rest
        elif keyword == "USER":
            stage.user = rest.strip()
    return args, stages


def materialise(stage: Stage, root: Path, variables: dict[str, str]) -> None:
    """Lay the stage's build-context COPY instructions out under ``root`` as the image would have them."""
    for sources, dest, flags in stage.copies:
        if any(flag.startswith("--from") for flag in flags):
            continue
        for name, value in variables.items():
            dest = dest.replace(f"${{{name}}}", value)
        target = root / dest.lstrip("/")
        for source in sources:
            src = REPO_ROOT / source
            if src.is_dir():
                shutil.copytree(src, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
            elif dest.endswith("/") or len(sources) > 1:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target / src.name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target)
