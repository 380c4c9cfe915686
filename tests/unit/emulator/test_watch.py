"""Watch mode's file scan: what counts as a change of the sources, and what does not."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from gateway_emulator.watch import changed_paths, drop_stale_bytecode, snapshot, watch_changes


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


def _import_value(folder: Path) -> str:
    # bytecode written as a Lambda runtime writes it (the emulator builds its environment from scratch)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-c", "import mod; print(mod.VALUE)"]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_an_edit_in_the_same_second_with_the_same_size_does_not_run_old_bytecode(tmp_path: Path) -> None:
    """Python trusts a .pyc when the source's mtime (whole seconds) and size match: without
    dropping the cached bytecode, new environments would keep running the previous edit."""
    source = tmp_path / "mod.py"
    source.write_text('VALUE = "v3"\n')
    stamp = source.stat().st_mtime_ns
    assert _import_value(tmp_path) == "v3"  # writes __pycache__/mod.cpython-*.pyc
    source.write_text('VALUE = "v4"\n')  # same size, and (as below) the same second
    os.utime(source, ns=(stamp + 1000, stamp + 1000))
    assert _import_value(tmp_path) == "v3"  # the trap: stale bytecode
    removed = drop_stale_bytecode([str(source), str(tmp_path / "data.json")])
    assert [p.name.split(".")[0] for p in removed] == ["mod"]
    assert _import_value(tmp_path) == "v4"
