"""Schemathesis fuzzing through the local API (HTTP to the emulator) and the in-process handler.

Each generated case is sent both ways: over HTTP through the API Gateway emulator to the real
function in its own execution environment, and as a Mangum event to the handler in this process.
The long run (``make reliability``) generates over 5,200 cases, so over 10,400 requests in all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.reliability.emulator import RunningEmulator
from tests.unit.api.lambda_events import FakeLambdaContext, rest_event
from tests.unit.reliability.conftest import answer_of
from tests.unit.reliability.fuzzing import Tally, fuzz

# Cases per POST operation and generation mode: 2 routes x 2 modes x 1300 = 5,200 (+ a few GETs),
# each sent through both transports: over 10,400 requests.
LONG_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1300"))


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from fraud_api.app import app

    return app.openapi()


def http_transport(api: RunningEmulator) -> Any:
    client = httpx.Client(base_url=api.base_url, timeout=60)

    def deliver(method: str, path: str, headers: dict[str, str], body: bytes | None) -> tuple[int, bytes]:
        answer = client.request(method, path, content=body, headers=headers)
        return answer.status_code, answer.content

    return deliver


def lambda_transport() -> Any:
    from fraud_api.lambda_handler import handler

    def deliver(method: str, path: str, headers: dict[str, str], body: bytes | None) -> tuple[int, bytes]:
        event = rest_event(method, path, body, headers, base64_encoded=body is not None)
        answer = answer_of(handler(event, FakeLambdaContext()))
        return answer.status, answer.body

    return deliver


def report(tallies: dict[str, Tally]) -> None:
    for name, tally in tallies.items():
        print(f"\nFUZZ {name}: {tally.summary()}")
    report_dir = os.environ.get("RELIABILITY_REPORT_DIR")
    if report_dir:
        Path(report_dir).mkdir(parents=True, exist_ok=True)
        data = {
            name: {
                "requests": tally.requests,
                "answers_5xx": len(tally.server_errors),
                "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
            }
            for name, tally in tallies.items()
        }
        (Path(report_dir) / "fuzz.json").write_text(json.dumps(data, indent=2) + "\n")


def test_quick_fuzz_through_the_local_api(scoring_api: RunningEmulator, document: dict[str, Any]) -> None:
    tallies = fuzz(document, {"local-api": http_transport(scoring_api)}, examples=15, tallies={})
    tally = tallies["local-api"]
    assert tally.requests >= 60
    assert not tally.server_errors
    assert tally.statuses[200] > 0
    assert tally.statuses[422] > 0


@pytest.mark.slow
def test_long_fuzz_through_the_local_api_and_the_handler(
    scoring_api: RunningEmulator, document: dict[str, Any]
) -> None:
    tallies: dict[str, Tally] = {}
    transports = {
        "local-api (HTTP, emulator)": http_transport(scoring_api),
        "lambda handler (Mangum events)": lambda_transport(),
    }
    try:
        fuzz(document, transports, examples=LONG_EXAMPLES, tallies=tallies)
    finally:
        report(tallies)
    for tally in tallies.values():
        assert not tally.server_errors
        assert tally.requests >= 4 * LONG_EXAMPLES
