"""Schemathesis fuzzing of the OpenAPI operations through the shipped Lambda handler (Mangum events).

A quick run for ``make test``; the long run (over 10,000 cases, sent through this handler and the
local API alike) is ``tests/integration/reliability/test_fuzz_gateway.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.lambda_events import FakeLambdaContext, rest_event
from tests.unit.reliability.conftest import answer_of
from tests.unit.reliability.fuzzing import fuzz


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from fraud_api.app import app

    return app.openapi()


@pytest.fixture(scope="module")
def send(lambda_handler: Any) -> Any:
    def deliver(method: str, path: str, headers: dict[str, str], body: bytes | None) -> tuple[int, bytes]:
        event = rest_event(method, path, body, headers, base64_encoded=body is not None)
        answer = answer_of(lambda_handler(event, FakeLambdaContext()))
        return answer.status, answer.body

    return deliver


def test_quick_fuzz_through_the_lambda_handler(document: dict[str, Any], send: Any) -> None:
    tally = fuzz(document, {"lambda": send}, examples=15, tallies={})["lambda"]
    assert tally.requests >= 60
    assert not tally.server_errors
    assert tally.statuses[200] > 0
    assert tally.statuses[422] > 0
