"""Watch mode's file scan: what counts as a change of the sources, and what does not."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from gateway_emulator.watch import changed_paths, snapshot, watch_changes


def _tree(root: Path) -> None:
    (root / "app" / "pkg").mkdir(parents=True)
    (root / "app" / "pkg" / "mod.py").write_text("A = 1\n")
    (root / "app" / "handler.py").write_text("B = 2\n")
    (root / "template.yaml").write_text("Resources: {}\n")


def test_added_removed_and_modified_files_are_changes(tmp_path: Path) -> None:
    _tree(tmp_path)
    roots = [tmp_path / "app", tmp_path / "template.yaml"]
    before = snapshot(roots)
    assert sorted(before) == sorted(
        str(p) for p in (tmp_path / "app/pkg/mod.py", tmp_path / "app/handler.py", tmp_path / "template.yaml")
    )
    (tmp_path / "app" / "pkg" / "mod.py").write_text("A = 10\n")  # same mtime second, other size
    (tmp_path / "app" / "handler.py").unlink()
    (tmp_path / "app" / "new.py").write_text("")
    stamp = (tmp_path / "template.yaml").stat().st_mtime_ns + 1_000_000
    os.utime(tmp_path / "template.yaml", ns=(stamp, stamp))  # same size, newer mtime
    assert changed_paths(before, snapshot(roots)) == sorted(
        str(tmp_path / p) for p in ("app/handler.py", "app/new.py", "app/pkg/mod.py", "template.yaml")
    )


def test_bytecode_hidden_files_and_editor_files_are_not_sources(tmp_path: Path) -> None:
    _tree(tmp_path)
    roots = [tmp_path / "app"]
    before = snapshot(roots)
    (tmp_path / "app" / "__pycache__").mkdir()
    (tmp_path / "app" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "app" / "pkg" / "mod.pyc").write_bytes(b"\0")
    (tmp_path / "app" / ".handler.py.swp").write_bytes(b"\0")
    (tmp_path / "app" / "handler.py~").write_text("")
    (tmp_path / "app" / ".git").mkdir()
    (tmp_path / "app" / ".git" / "index").write_text("")
    assert changed_paths(before, snapshot(roots)) == []


def test_a_change_is_reported_once_it_has_settled(tmp_path: Path) -> None:
    _tree(tmp_path)
    target = tmp_path / "app" / "handler.py"

    async def scenario() -> list[list[str]]:
        changes = watch_changes(lambda: [tmp_path / "app"], interval_s=0.02, settle_s=0.02)
        seen: list[list[str]] = []

        async def edit() -> None:
            await asyncio.sleep(0.1)
            target.write_text("B = 3\n")
            (tmp_path / "app" / "pkg" / "mod.py").write_text("A = 300\n")

        task = asyncio.create_task(edit())
        seen.append(await asyncio.wait_for(anext(changes), 5))
        await task
        await changes.aclose()
        return seen

    (report,) = asyncio.run(scenario())
    assert str(target) in report
