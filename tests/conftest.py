"""Fixtures shared by every test: where the repository and the real model layer are."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO_ROOT / "layers" / "model"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The real model layer (`make test` trains it first when it is missing)."""
    if not (MODEL_DIR / "model.onnx").is_file():
        pytest.fail(f"no model at {MODEL_DIR}: run `make train` (make test does this itself)")
    return MODEL_DIR


@pytest.fixture(scope="session")
def lambda_module(model_dir: Path) -> Iterator[ModuleType]:
    """The shipped handler module itself, imported with MODEL_DIR pointing at the real layer."""
    previous = os.environ.get("MODEL_DIR")
    os.environ["MODEL_DIR"] = str(model_dir)
    try:
        import fraud_api.lambda_handler as module

        yield module
    finally:
        if previous is None:
            os.environ.pop("MODEL_DIR", None)
        else:
            os.environ["MODEL_DIR"] = previous
