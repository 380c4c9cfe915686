"""Training's drift reference: the validation split, binned by the service's own code, has no drift."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fraud_scoring.drift import DriftMonitor, DriftReference
from fraud_scoring.manifest import Manifest, load_manifest
from fraud_scoring.model import load_model
from training.pipeline import RunConfig, load_data
from training.train import time_split


def test_the_validation_split_scores_zero_drift_against_its_own_reference(
    small_run: tuple[Manifest, RunConfig],
) -> None:
    manifest, config = small_run
    assert manifest.drift_reference is not None
    reference = DriftReference.from_dict(manifest.drift_reference, manifest.feature_names)
    split = time_split(load_data(config))
    model = load_model(config.out_dir)
    scores = np.asarray(model.score_many(split.X_val.tolist()), dtype=np.float64)  # the service's scores
    monitor = DriftMonitor(reference, manifest.feature_names, window=split.X_val.shape[0])
    (window,) = monitor.observe_many(split.X_val.tolist(), scores.tolist())
    assert max(window.feature_psi.values()) == 0.0
    assert window.score_psi == pytest.approx(0.0, abs=1e-9)
    assert manifest.drift_reference["rows"] == split.X_val.shape[0]
    # the test split is later in time but the same population: well below the watch level
    test_scores = np.asarray(model.score_many(split.X_test.tolist()), dtype=np.float64)
    later = DriftMonitor(reference, manifest.feature_names, window=split.X_test.shape[0])
    (test_window,) = later.observe_many(split.X_test.tolist(), test_scores.tolist())
    assert test_window.max_feature_psi < 0.1
    assert test_window.score_psi < 0.1


def test_the_clock_is_left_out_and_every_other_feature_is_binned(small_run: tuple[Manifest, RunConfig]) -> None:
    manifest, _ = small_run
    assert manifest.drift_reference is not None
    assert set(manifest.drift_reference["excluded"]) == {"Time"}
    assert list(manifest.drift_reference["features"]) == [n for n in manifest.feature_names if n != "Time"]
    assert manifest.drift_reference["bins"] == 10


def test_the_committed_model_layer_carries_a_usable_reference(model_dir: Path) -> None:
    manifest = load_manifest(model_dir)
    assert manifest.drift_reference is not None
    reference = DriftReference.from_dict(manifest.drift_reference, manifest.feature_names)
    assert len(reference.features) == manifest.n_features - 1
    # scores tie heavily (few trees, most traffic in the same leaves): tied quantiles merge into one bin
    assert 3 <= reference.score.edges.size <= 9
