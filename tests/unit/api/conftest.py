"""Handler fixtures: the app built around the real model, driven through Mangum like on Lambda."""

from __future__ import annotations

import base64
import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mangum import Mangum

from fraud_api.factory import Settings, create_app
from fraud_api.telemetry import Telemetry
from fraud_scoring.model import FraudModel, load_model
from tests.unit.api.lambda_events import FakeLambdaContext
from training.data import generate_synthetic


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


Invoke = Callable[[dict[str, Any]], Answer]


def answer_of(result: dict[str, Any]) -> Answer:
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    headers = {key.lower(): value for key, value in (result.get("headers") or {}).items()}
    return Answer(result["statusCode"], headers, body)


@pytest.fixture(scope="session")
def model(model_dir: Path) -> FraudModel:
    return load_model(model_dir)


@pytest.fixture(scope="session")
def rows() -> np.ndarray:
    return generate_synthetic(n_rows=2000, fraud_rate=0.05, seed=23).X


_services = itertools.count(1)


def new_telemetry(model: FraudModel, log: io.StringIO | None = None, **options: Any) -> Telemetry:
    """Telemetry writing its log lines to ``log`` (Powertools binds a stream per service name)."""
    service = f"fraud-scoring-test-{next(_services)}"
    return Telemetry(model.model_version, service=service, stream=log or io.StringIO(), **options)


def build_invoke(model: FraudModel, settings: Settings | None = None, telemetry: Telemetry | None = None) -> Invoke:
    observe = telemetry or new_telemetry(model)
    app = create_app(model, telemetry=observe, settings=settings or Settings())
    handler = observe.wrap_lambda_handler(Mangum(app, lifespan="off"))

    def invoke(event: dict[str, Any]) -> Answer:
        return answer_of(handler(event, FakeLambdaContext()))

    return invoke


@pytest.fixture(scope="session")
def invoke(model: FraudModel) -> Invoke:
    return build_invoke(model)
