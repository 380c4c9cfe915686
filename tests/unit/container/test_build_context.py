"""The small Docker build context holds what container/Dockerfile copies, and nothing big."""

from __future__ import annotations

from pathlib import Path

from container.build_context import make_context
from tests.container_recipe import parse


def test_context_holds_only_what_the_images_copy(tmp_path: Path) -> None:
    context = make_context(tmp_path / "context")
    _, stages = parse()
    copied = {
        source for stage in stages.values() for sources, _, flags in stage.copies if not flags for source in sources
    }
    for source in copied:
        assert (context / source).exists(), f"{source} is copied by the Dockerfile but not in the build context"
    assert not (context / ".venv").exists()
    assert sum(path.stat().st_size for path in context.rglob("*") if path.is_file()) < 5 * 1024 * 1024
