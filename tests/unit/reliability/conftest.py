"""The real app and the real Lambda handler around the real model layer, shared by these tests."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MODEL_DIR
from tests.unit.api.lambda_events import FakeLambdaContext, rest_event

# `fraud_api.app` loads the model from $MODEL_DIR at import (Lambda's init phase).
os.environ.setdefault("MODEL_DIR", str(MODEL_DIR))


@dataclass(frozen=True)
class Answer:
    """What API Gateway would send back to the client for one Lambda proxy response."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Invoke = Callable[..., Answer]


def answer_of(result: dict[str, Any]) -> Answer:
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
    headers = {key.lower(): value for key, value in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ", ".join(values)
    return Answer(int(result["statusCode"]), headers, body)


@pytest.fixture(scope="session")
def lambda_handler() -> Any:
    """The shipped handler object, ``fraud_api.lambda_handler.handler``."""
    from fraud_api.lambda_handler import handler

    return handler


@pytest.fixture(scope="session")
def invoke(lambda_handler: Any) -> Invoke:
    """POST/GET through the Lambda handler with a REST API (v1) proxy event."""

    def call(
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        *,
        base64_encoded: bool = False,
        event: dict[str, Any] | None = None,
    ) -> Answer:
        sent = event if event is not None else rest_event(method, path, body, headers, base64_encoded=base64_encoded)
        return answer_of(lambda_handler(sent, FakeLambdaContext()))

    return call


@pytest.fixture(scope="session")
def feature_names() -> tuple[str, ...]:
    manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
    return tuple(manifest["feature_names"])


@pytest.fixture(scope="session")
def real_model_dir() -> Path:
    return MODEL_DIR
