"""k6 duration strings ("90s", "1h30m", "500ms") in Python, with the same rules as lib/common.js."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    value = text.strip()
    parts = _PART.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        raise ValueError(f"{text!r} is not a duration like 30s, 10m or 1h30m")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
