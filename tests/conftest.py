"""Fixtures shared by every test: where the repository and the real model layer are."""

from __future__ import annotations

from pathlib import Path

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
