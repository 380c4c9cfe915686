from __future__ import annotations

from pathlib import Path

import pytest

from fraud_scoring.manifest import Manifest
from training.pipeline import RunConfig, run
from training.train import TrainingParams

# Small enough to train in a few seconds, rich enough that every split holds frauds.
SMALL = {"rows": 30_000, "fraud_rate": 0.01}


def small_config(tmp: Path, seed: int = 11) -> RunConfig:
    return RunConfig(
        out_dir=tmp / "model",
        report_dir=tmp / "report",
        params=TrainingParams(seed=seed, verbose_every=0),
        **SMALL,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")  # one small training run for every module that reads it
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, RunConfig]:
    config = small_config(tmp_path_factory.mktemp("run"))
    return run(config), config
