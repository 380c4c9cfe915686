"""`make setup` / scripts/bootstrap.sh on a throwaway copy with a fake lock file and an offline package
index (a --find-links folder): a failed install fails make, leaves no stamp and is retried by the next
run; a good one shows progress and writes the stamp; PYTHON= naming another interpreter than the
venv's is refused in one line. Nothing here touches the project's .venv."""

from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.lambda_rie import find_python
from tests.unit.commands.project_copy import copy_command_surface, run, write_wheel

PACKAGE, VERSION = "fraud-scoring-bootstrap-probe", "1.0"

pytestmark = pytest.mark.timeout(300)


def offline_env(index_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "MAKE", "MFLAGS"))}
    env.pop("PYTHON", None)
    env.pop("VIRTUAL_ENV", None)
    # no machine pip.conf; the only index is the test's own, on loopback
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=index_url, PIP_NO_CACHE_DIR="1", PIP_RETRIES="0")
    return env


def publish(index: Path) -> None:
    """Put the probe package on the local index (before this, the index has no such project)."""
    wheel = write_wheel(index / "wheels", PACKAGE.replace("-", "_"), VERSION)
    project_page = index / "simple" / PACKAGE
    project_page.mkdir(parents=True)
    (project_page / "index.html").write_text(f'<a href="../../wheels/{wheel.name}">{wheel.name}</a>\n')


@pytest.fixture
def index(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A PEP 503 package index served over HTTP on 127.0.0.1 from a temporary folder."""
    root = tmp_path / "index"
    (root / "simple").mkdir(parents=True)
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


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

    status, output = make_setup(project, index_url)  # without PYTHON= the existing venv is used as it is
    assert status == 0, output
