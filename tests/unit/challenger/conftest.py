"""Fixtures: the committed champion (with its policy layer) and a trained challenger."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fraud_scoring.decision import DecisionPipeline, load_pipeline
from tests.unit.challenger.models import train_challenger
from training.data import generate_synthetic


@pytest.fixture(scope="session")
def policy_dir(repo_root: Path) -> Path:
    return repo_root / "layers" / "policy"


@pytest.fixture(scope="session")
def challenger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_challenger(tmp_path_factory.mktemp("challenger"))


@pytest.fixture
def champion(model_dir: Path, policy_dir: Path) -> DecisionPipeline:
    """A fresh champion pipeline per test: tests attach challengers to it."""
    return load_pipeline(model_dir, policy_dir)


@pytest.fixture(scope="session")
def traffic() -> np.ndarray:
    """Varied transactions, a few percent of them fraud-like."""
    return generate_synthetic(n_rows=4000, fraud_rate=0.05, seed=31).X
