"""Reading settings from the environment: one meaning for a yes/no setting on every host."""

from __future__ import annotations

import os
from collections.abc import Mapping

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def env_flag(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    """A yes/no setting: unset or empty gives ``default``; any other word than the usual spellings of
    true and false is an error naming the variable (a typo must not silently turn a feature off)."""
    raw = (os.environ if environ is None else environ).get(name)
    word = (raw or "").strip().lower()
    if not word:
        return default
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{name}={raw!r} must be true or false (or 1/0, yes/no, on/off)")
