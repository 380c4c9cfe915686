"""`make setup` / scripts/bootstrap.sh on a throwaway copy with a fake lock file and an offline package
index served on loopback: a failed install fails make, leaves no stamp and is retried by the next
run; a good one shows progress and writes the stamp; PYTHON= naming another interpreter than the
venv's is refused in one line. Nothing here touches the project's .venv."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scripts.lambda_rie import find_python
from tests.unit.commands.project_copy import PACKAGE, VERSION, copy_command_surface, offline_env, publish, run

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def project(tmp_path: Path, index: tuple[Path, str]) -> Path:
    root = copy_command_surface(tmp_path / "project")
    (root / "requirements.lock").write_text(f"# fake lock for the test\n{PACKAGE}=={VERSION}\n")
    return root


def make_setup(root: Path, index_url: str, *extra: str) -> tuple[int, str]:
    result = run(["make", "setup", "VENV=venv", *extra], cwd=root, env=offline_env(index_url), timeout_s=240)
    return result.returncode, result.stdout + result.stderr


def test_failed_install_fails_leaves_no_stamp_and_is_retried(project: Path, index: tuple[Path, str]) -> None:
    index_dir, index_url = index
    python = f"PYTHON={sys.executable}"
    status, output = make_setup(project, index_url, python)
    assert status != 0, output
    assert not (project / "venv" / ".installed").exists()
    assert "first install downloads ~1 packages and takes a minute or two" in output
    assert "No matching distribution found" in output  # pip's own reason is shown
    assert "error: installing requirements.lock into venv failed" in output

    status, output = make_setup(project, index_url, python)  # not "nothing to be done": it tries again
    assert status != 0, output
    assert "checking the 1 locked packages in venv" in output
    assert not (project / "venv" / ".installed").exists()

    publish(index_dir)  # the package becomes available
    status, output = make_setup(project, index_url, python)
    assert status == 0, output
    assert f"[1/1] {PACKAGE}=={VERSION}" in output
    assert "==> installed 1 packages" in output
    stamp = (project / "venv" / ".installed").read_text()
    assert stamp.split()[0] == ".".join(map(str, sys.version_info[:3]))  # the interpreter that made it
    probe = run([str(project / "venv" / "bin" / "python"), "-c", "import fraud_scoring_bootstrap_probe"], project, {})
    assert probe.returncode == 0, probe.stderr

    status, output = make_setup(project, index_url, python)  # up to date: bootstrap does not run again
    assert status == 0, output
    assert "==>" not in output


def test_another_python_than_the_venvs_is_refused_in_one_line(project: Path, index: tuple[Path, str]) -> None:
    index_dir, index_url = index
    mine = f"{sys.version_info.major}.{sys.version_info.minor}"
    other = next((v for v in ("3.12", "3.13", "3.11") if v != mine and find_python(v)), None)
    if other is None:
        pytest.skip("no second Python (3.11-3.13) on this machine to compare with")
    other_python = find_python(other)
    publish(index_dir)
    status, output = make_setup(project, index_url, f"PYTHON={sys.executable}")
    assert status == 0, output

    status, output = make_setup(project, index_url, f"PYTHON={other_python}")
    assert status == 2, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert f"not PYTHON={other_python} ({other}." in errors[0]
    assert "run 'make distclean' then 'make setup PYTHON=" in errors[0]
    assert (project / "venv" / ".installed").exists()  # the working venv is left alone

    by_hand = run(  # the script run by hand: a PYTHON in the environment counts as given
        [str(project / "scripts" / "bootstrap.sh")],
        cwd=project,
        env={**offline_env(index_url), "PYTHON": str(other_python), "VENV": "venv"},
    )
    assert by_hand.returncode == 2, by_hand.stdout + by_hand.stderr
    assert by_hand.stderr.startswith("error: venv was made with Python")

    status, output = make_setup(project, index_url)  # without PYTHON= the existing venv is used as it is
    assert status == 0, output
