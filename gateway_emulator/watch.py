"""Watch mode: notice edits of the function's code, its layers and the template by polling.

Polling stat() of a few dozen files twice a second costs nothing measurable and needs no library
(inotify-based ones miss edits on some mounted filesystems). Bytecode caches, editor swap files and
hidden folders are not sources and are ignored: the runtime itself writes ``__pycache__``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Callable, Iterable
from pathlib import Path

WATCH_INTERVAL_S = 0.5
# An editor or `cp -r` writes in several steps: a change is acted on once two scans this far
# apart agree, so a half-written edit never starts an environment.
SETTLE_S = 0.2
_IGNORED_DIRS = frozenset({"__pycache__", "node_modules"})
_IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".swx", ".swo", ".tmp", "~")

Snapshot = dict[str, tuple[int, int]]  # path -> (mtime_ns, size)


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.endswith(_IGNORED_SUFFIXES)


def snapshot(roots: Iterable[Path]) -> Snapshot:
    """Modification time and size of every source file under ``roots`` (files or folders)."""
    found: Snapshot = {}

    def note(path: str) -> None:
        try:
            stat = os.stat(path)
        except OSError:  # removed between listing and stat: the next scan sees it gone
            return
        found[path] = (stat.st_mtime_ns, stat.st_size)

    for root in roots:
        if root.is_file():
            note(str(root))
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in _IGNORED_DIRS and not _ignored(d)]
            for name in files:
                if not _ignored(name):
                    note(os.path.join(folder, name))
    return found


def changed_paths(before: Snapshot, after: Snapshot) -> list[str]:
    """Files added, removed or modified between two snapshots, sorted."""
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def drop_stale_bytecode(paths: Iterable[str]) -> list[Path]:
    """Remove the cached bytecode (``__pycache__/<name>.*.pyc``) of the changed ``.py`` files;
    returns what was removed. Python trusts a .pyc whose recorded source mtime, in whole seconds,
    and size match: an edit within the same second that keeps the size (``"v3"`` -> ``"v4"``) would
    go on running the old code in every new environment."""
    removed: list[Path] = []
    for changed in paths:
        source = Path(changed)
        if source.suffix != ".py":
            continue
        for cached in (source.parent / "__pycache__").glob(f"{source.stem}.*.pyc"):
            try:
                cached.unlink()
            except FileNotFoundError:
                continue
            removed.append(cached)
    return removed


async def watch_changes(
    roots: Callable[[], list[Path]], interval_s: float = WATCH_INTERVAL_S, settle_s: float = SETTLE_S
) -> AsyncGenerator[list[str], None]:
    """Yield the changed files each time the files under ``roots()`` change (asked again after each
    change: a template edit may move the code or add a layer)."""
    watched = roots()
    current = await asyncio.to_thread(snapshot, watched)
    while True:
        await asyncio.sleep(interval_s)
        scanned = await asyncio.to_thread(snapshot, watched)
        if scanned == current:
            continue
        while True:
            await asyncio.sleep(settle_s)
            again = await asyncio.to_thread(snapshot, watched)
            if again == scanned:
                break
            scanned = again
        yield changed_paths(current, scanned)
        current = scanned
        if roots() != watched:  # the template moved the code or changed the layers
            watched = roots()
            current = await asyncio.to_thread(snapshot, watched)
