"""`make localstack-venv` (scripts/localstack.sh venv) on a throwaway copy with a lock that cannot be
installed: the command fails with pip's reason and its own line, and writes no stamp."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts.lambda_rie import find_python
from tests.unit.commands.project_copy import PACKAGE, REPO_ROOT, VERSION, offline_env, run

pytestmark = pytest.mark.timeout(300)


def test_a_failed_install_fails_and_leaves_no_stamp(tmp_path: Path, index: tuple[Path, str]) -> None:
    python = find_python("3.13")
    if python is None:
        pytest.skip("no Python 3.13 here: scripts/localstack.sh refuses to make the venv without one")
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "scripts" / "localstack.sh", root / "scripts" / "localstack.sh")
    shutil.copytree(REPO_ROOT / "localstack" / "plugins", root / "localstack" / "plugins")
    (root / "localstack" / "requirements.txt").write_text(f"{PACKAGE}=={VERSION}\n")  # not on the index
    env = {**offline_env(index[1]), "VENV_LS": "venv-ls", "LOCALSTACK_PYTHON": python}
    result = run([str(root / "scripts" / "localstack.sh"), "venv"], cwd=root, env=env, timeout_s=240)
    assert result.returncode != 0, result.stderr
    assert "No matching distribution found" in result.stdout  # pip's reason, through the filter
    assert "error: installing localstack/requirements.txt into venv-ls failed" in result.stderr
    assert (root / "venv-ls" / "bin" / "python").exists()
    assert not (root / "venv-ls" / ".installed").exists()
