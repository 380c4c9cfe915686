"""`make sam-invoke` (scripts/lambda_rie.py) refuses what it cannot run with one line and exit status 2:
no build, a build for another architecture, a missing or non-JSON event file. No emulator is started."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts import lambda_rie
from scripts.lambda_rie import host_architecture, main

REPO_ROOT = Path(__file__).resolve().parents[3]
EVENT = REPO_ROOT / "events" / "predict_ok.json"


def fake_build(root: Path, arch: str) -> Path:
    """What `make sam-build` leaves that the checks read: the built template and the layer's marker."""
    build = root / "build"
    (build / "DependenciesLayer" / "python").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "template.yaml", build / "template.yaml")
    marker = build / "DependenciesLayer" / "python" / lambda_rie.LAYER_MARKER
    marker.write_text(f"arch={arch}\npython=3.13\nbytecode=init\n")
    return build


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert captured.out == ""
    return lines[0]


def test_no_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--build-dir", str(tmp_path / "nothing"), str(EVENT)]) == 2
    assert "run 'make sam-build' first" in one_error_line(capsys)


def test_a_build_for_the_other_architecture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = "arm64" if host_architecture() == "x86_64" else "x86_64"
    build = fake_build(tmp_path, other)
    assert main(["--build-dir", str(build), str(EVENT)]) == 2
    line = one_error_line(capsys)
    assert f"holds an {other} build and this machine is {host_architecture()}" in line
    assert f"run 'make sam-build ARCH={host_architecture()}' first" in line


def test_a_missing_event_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build = fake_build(tmp_path, host_architecture())
    assert main(["--build-dir", str(build), str(EVENT), "events/no_such_event.json"]) == 2
    line = one_error_line(capsys)
    assert "event file events/no_such_event.json not found" in line
    assert "EVENT=events/<name>.json" in line


@pytest.mark.parametrize(("content", "problem"), [("{not json", "is not JSON"), ("[1, 2]", "holds a list")])
def test_an_event_file_that_is_not_an_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, problem: str
) -> None:
    build = fake_build(tmp_path, host_architecture())
    event = tmp_path / "bad.json"
    event.write_text(content)
    assert main(["--build-dir", str(build), str(event)]) == 2
    assert problem in one_error_line(capsys)


def test_an_image_build_is_not_taken_for_the_zip_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build = fake_build(tmp_path, host_architecture())
    shutil.copy2(REPO_ROOT / "container" / "template.yaml", build / "template.yaml")  # no Handler, no Runtime
    assert main(["--build-dir", str(build), str(EVENT)]) == 2
    assert "is not a zip build of template.yaml" in one_error_line(capsys)


def test_the_architecture_is_read_from_the_layer_marker(tmp_path: Path) -> None:
    assert lambda_rie.built_layer_architecture(fake_build(tmp_path, "arm64")) == "arm64"
    assert lambda_rie.built_layer_architecture(tmp_path / "absent") is None
