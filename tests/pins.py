"""The project's pin files (requirements.txt style: one ``name==version`` per line, ``#`` comments)."""

from __future__ import annotations

import re
from pathlib import Path


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them (``Typing_Extensions`` -> ``typing-extensions``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    """``{canonical name: version}``; a line that is not an exact pin raises ValueError."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            found[canonical(name.strip())] = version.strip()
    return found
