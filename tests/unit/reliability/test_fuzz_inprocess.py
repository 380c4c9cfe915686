"""Schemathesis fuzzing of the OpenAPI operations through the shipped Lambda handler (Mangum events).

The quick run (``make test``) sends a few hundred generated requests; the long run
(``make test-long`` / ``make reliability``) sends more than 10,000.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.unit.api.lambda_events import FakeLambdaContext, rest_event
from tests.unit.reliability.conftest import answer_of
from tests.unit.reliability.fuzzing import fuzz

LONG_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2600"))  # x2 POST routes x2 modes ~ 10,400


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
    tally = fuzz(document, {"lambda": send}, examples=25, tallies={})["lambda"]
    assert tally.requests >= 100
    assert not tally.server_errors
    assert tally.statuses[200] > 0
    assert tally.statuses[422] > 0


@pytest.mark.slow
def test_long_fuzz_through_the_lambda_handler(document: dict[str, Any], send: Any, record_property: Any) -> None:
    tally = fuzz(document, {"lambda": send}, examples=LONG_EXAMPLES, tallies={})["lambda"]
    record_property("fuzz_inprocess", tally.summary())
    print(f"\nFUZZ in-process (Mangum events): {tally.summary()}")
    assert tally.requests >= 10_000 or LONG_EXAMPLES < 2500
    assert not tally.server_errors
