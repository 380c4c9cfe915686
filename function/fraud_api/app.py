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
from fraud_scoring.model import FraudModel, ModelLoadError, load_model


def _build() -> tuple[FraudModel, Telemetry, FastAPI]:
    try:
        settings = Settings.from_env()
        model = load_model()
    except (ModelLoadError, ValueError) as exc:
        # One JSON line on stderr: Powertools' logger is built around a loaded model version.
        line = {"level": "CRITICAL", "message": "model failed to load; refusing to start", "error": str(exc)}
        sys.stderr.write(orjson.dumps(line).decode() + "\n")
        raise
    telemetry = Telemetry(model.model_version)
    return model, telemetry, create_app(model, telemetry=telemetry, settings=settings)


model, telemetry, app = _build()
telemetry.logger.info(
    "model loaded",
    extra={"model_version": model.model_version, "model_dir": str(model.model_dir), "load_ms": model.load_ms},
)
