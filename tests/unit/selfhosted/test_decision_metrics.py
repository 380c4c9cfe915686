"""fraud_decisions_total{outcome}: the self-hosted server counts the real pipeline's decisions per outcome."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from prometheus_client import REGISTRY

from fraud_scoring.decision import load_pipeline
from selfhosted.metrics import PrometheusTelemetry


def counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("fraud_decisions_total", {"outcome": outcome}) or 0.0


def test_decisions_are_counted_per_outcome_for_single_and_batch_requests(model_dir: Path) -> None:
    pipeline = load_pipeline(model_dir)
    telemetry = PrometheusTelemetry(pipeline.model.model_version, service="decision-metrics-test", stream=io.StringIO())
    rows = np.random.default_rng(11).normal(0.0, 3.0, size=(400, pipeline.model.manifest.n_features)).tolist()
    outcomes = pipeline.policy.outcomes
    before = {outcome: counted(outcome) for outcome in outcomes}

    batch, elapsed = pipeline.decide_many(rows[:-1])
    telemetry.decisions("req-1", "/predict/batch", [None] * len(batch), batch, elapsed)
    single, elapsed = pipeline.decide_one(rows[-1])
    telemetry.decisions("req-2", "/predict", [None], [single], elapsed)

    expected = {outcome: 0 for outcome in outcomes}
    for decision in [*batch, single]:
        expected[decision.outcome] += 1
    assert sum(1 for count in expected.values() if count) > 1, expected  # the rows reach several outcomes
    assert {outcome: counted(outcome) - before[outcome] for outcome in outcomes} == expected
