"""The ASGI app, ``fraud_api.app:app``, built around the model from ``$MODEL_DIR``.

Importing this module loads the model: on Lambda that is the init phase, once per execution
environment. A model (or a setting) that cannot be used stops the import with one clear log line,
so nothing ever answers healthy without a model.
"""

from __future__ import annotations

import sys

import orjson
from fastapi import FastAPI

from fraud_api.factory import Settings, create_app
from fraud_api.telemetry import Telemetry
from fraud_scoring.challenger import load_challenger
from fraud_scoring.decision import DecisionPipeline, load_pipeline
from fraud_scoring.model import ModelLoadError
from fraud_scoring.policy import PolicyError


def _build() -> tuple[DecisionPipeline, Telemetry, FastAPI]:
    try:
        settings = Settings.from_env()
        pipeline = load_pipeline()
        telemetry = Telemetry(pipeline.model_version)
        # A challenger that cannot load logs one line and stays off; the champion serves either way.
        pipeline.attach_challenger(load_challenger(pipeline, logger=telemetry.logger))
        return pipeline, telemetry, create_app(pipeline, telemetry=telemetry, settings=settings)
    except (ModelLoadError, ValueError) as exc:  # PolicyError and bad settings (BATCH_*, DRIFT_*) too
        # One JSON line on stderr: Powertools' logger is built around a loaded model version.
        if isinstance(exc, ModelLoadError | PolicyError):
            message = f"{'policy' if isinstance(exc, PolicyError) else 'model'} failed to load; refusing to start"
        else:
            message = "a setting is invalid; refusing to start"
        line = {"level": "CRITICAL", "message": message, "error": str(exc)}
        sys.stderr.write(orjson.dumps(line).decode() + "\n")
        raise


pipeline, telemetry, app = _build()
model = pipeline.model
telemetry.logger.info(
    "model loaded",
    extra={
        "model_version": model.model_version,
        "model_dir": str(model.model_dir),
        "load_ms": model.load_ms,
        "explanations": pipeline.explainer is not None,
        "policy_version": pipeline.policy_version,
        "challenger": None if pipeline.challenger is None else pipeline.challenger.describe(),
    },
)
