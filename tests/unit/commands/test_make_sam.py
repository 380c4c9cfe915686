"""What the SAM make targets run (`make -n` on a throwaway copy: nothing is built)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from tests.unit.commands.project_copy import copy_command_surface, run


def ready_copy(root: Path) -> Path:
    """A copy whose venv stamp is up to date and whose model exists, so make goes straight to the target."""
    copy_command_surface(root)
    (root / "requirements.lock").write_text("")
    (root / "layers" / "model").mkdir(parents=True)
    (root / "layers" / "model" / "model.onnx").write_text("")
    (root / "venv").mkdir()
    stamp = root / "venv" / ".installed"
    stamp.write_text("")
    newest = max(p.stat().st_mtime for p in (root / "requirements.lock", root / "pyproject.toml", root / "scripts"))
    os.utime(stamp, (newest + 1, newest + 1))
    return root


def make_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(("MAKE", "MFLAGS"))}


def sam_build_line(root: Path, *args: str) -> list[str]:
    result = run(["make", "-n", *args], cwd=root, env=make_env())
    assert result.returncode == 0, result.stdout + result.stderr
    joined = result.stdout.replace("\\\n", " ")
    lines = [line for line in joined.splitlines() if "/sam build" in line or " sam build" in line]
    assert len(lines) == 1, result.stdout
    return shlex.split(lines[0])


def test_the_image_variant_builds_into_its_own_directory(tmp_path: Path) -> None:
    root = ready_copy(tmp_path / "project")
    words = sam_build_line(root, "container-sam-build", "VENV=venv")
    assert words[words.index("-t") + 1] == "container/template.yaml"
    build_dir = words[words.index("--build-dir") + 1]
    assert not build_dir.startswith(".aws-sam")  # where the zip build, sam local and make deploy look


def test_container_builds_pass_the_layer_settings_into_the_build_containers(tmp_path: Path) -> None:
    root = ready_copy(tmp_path / "project")
    words = sam_build_line(root, "sam-build", "VENV=venv", "ARCH=arm64", "USE_CONTAINER=1", "LAYER_BYTECODE=all")
    assert "--use-container" in words
    passed = [words[i + 1] for i, word in enumerate(words) if word == "--container-env-var"]
    assert passed == ["LAYER_ARCH=arm64", "LAYER_BYTECODE=all", "FUNCTION_BYTECODE=yes"]
    assert words[words.index("--parameter-overrides") + 1] == "Architecture=arm64"
    assert "arm64-all-yes-container" in words[words.index("--cache-dir") + 1]


def test_host_builds_use_no_container(tmp_path: Path) -> None:
    root = ready_copy(tmp_path / "project")
    for setting in ([], ["USE_CONTAINER=0"]):
        words = sam_build_line(root, "sam-build", "VENV=venv", *setting)
        assert "--use-container" not in words
        assert "--container-env-var" not in words


def test_an_unknown_architecture_is_refused_in_one_line(tmp_path: Path) -> None:
    root = ready_copy(tmp_path / "project")
    result = run(["make", "sam-build", "VENV=venv", "ARCH=amd64"], cwd=root, env=make_env())
    assert result.returncode == 2
    assert "error: ARCH=amd64 is not a Lambda architecture: use ARCH=x86_64 or ARCH=arm64" in result.stderr
