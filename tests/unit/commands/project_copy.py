"""A throwaway copy of the project's command surface (Makefile, mk/, scripts/) to run make and the
set-up script against, so that no test touches the real .venv, build outputs or lock file."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
# The package the fake lock files pin; publish() puts it on the test's package index.
PACKAGE, VERSION = "fraud-scoring-bootstrap-probe", "1.0"


def copy_command_surface(root: Path) -> Path:
    """Makefile, mk/*.mk, scripts/ and pyproject.toml under ``root``; the caller writes requirements.lock."""
    (root / "mk").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "Makefile", root / "Makefile")
    for makefile in (REPO_ROOT / "mk").glob("*.mk"):
        shutil.copy2(makefile, root / "mk" / makefile.name)
    shutil.copytree(REPO_ROOT / "scripts", root / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def write_wheel(directory: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel (one module) that pip installs offline with --find-links."""
    directory.mkdir(parents=True, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": b"VALUE = 1\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    records = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        records.append(f"{path},sha256={digest},{len(data)}")
    records.append(f"{dist_info}/RECORD,,")
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    return wheel


def run(command: list[str], cwd: Path, env: dict[str, str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)


def offline_env(index_url: str) -> dict[str, str]:
    """This environment without pip settings or make's, with the test's index as the only one."""
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
