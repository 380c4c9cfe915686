"""Emulators shared by the reliability tests (each started once per session, stopped with an orphan check)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.integration.reliability.emulator import RunningEmulator, emulator

FAULT_TEMPLATE = REPO_ROOT / "tests" / "fixtures" / "reliability" / "template.yaml"
API_KEY = "reliability-test-key-0123456789"


@pytest.fixture(scope="session")
def scoring_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """The real template, throttling off: what the fuzzers and hostile-input tests talk to."""
    with emulator(tmp_path_factory.mktemp("emu"), "--no-throttling", "--concurrency", "2", "--warm-pool", "2") as api:
        yield api


@pytest.fixture(scope="session")
def keyed_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """The real template with ApiKeyRequired=true (usage plan + key), one accepted key."""
    with emulator(
        tmp_path_factory.mktemp("emu-key"),
        "--parameter-overrides",
        "ApiKeyRequired=true",
        "--api-key",
        API_KEY,
        "--concurrency",
        "1",
        "--warm-pool",
        "1",
    ) as api:
        yield api


@pytest.fixture
def fault_template() -> Path:
    return FAULT_TEMPLATE
