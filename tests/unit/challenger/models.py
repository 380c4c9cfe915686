"""A second, differently trained model layer to act as the challenger in tests."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from training.pipeline import RunConfig, run
from training.train import TrainingParams

CHALLENGER_ROWS = 20_000
CHALLENGER_SEED = 7


def train_challenger(folder: Path) -> Path:
    """Train a small model (another seed and size than the committed one) into ``folder/model``."""
    out = folder / "model"
    config = RunConfig(
        out_dir=out,
        report_dir=folder / "report",
        rows=CHALLENGER_ROWS,
        params=TrainingParams(seed=CHALLENGER_SEED),
        policy_dir=folder / "policy",  # never the committed policy layer
    )
    with contextlib.redirect_stderr(io.StringIO()):
        run(config)
    return out
