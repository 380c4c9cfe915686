"""Schemathesis-driven fuzzing of the app's OpenAPI operations through any transport.

Schemathesis generates cases (valid and invalid) from the app's own OpenAPI document; a ``Send``
function delivers each one (a Mangum event in process, or HTTP to the local API Gateway emulator)
and every answer is checked against the contract:

- never a status of 500 or above;
- a 4xx carries a JSON object whose ``message`` says what is wrong (the app's errors also carry
  ``error`` and per-field ``errors``; API Gateway's own answers carry only ``message``);
- a 200 matches the response schema the document publishes for that operation.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Err

# (method, path, headers, body) -> (status, body)
Send = Callable[[str, str, dict[str, str], bytes | None], tuple[int, bytes]]

GATEWAY_STATUSES = {403, 413, 429}  # answered by API Gateway itself, body {"message": ...}


@dataclass
class Tally:
    """What a fuzz run sent and what came back."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        mix = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        return f"{self.requests} requests, {len(self.server_errors)} answers >= 500 ({mix})"


def operations(document: dict[str, Any]) -> list[Any]:
    schema = schemathesis.openapi.from_dict(document)
    found = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(f"the OpenAPI document has an operation schemathesis cannot read: {result.err()}")
        found.append(result.ok())
    return found


def response_validators(document: dict[str, Any]) -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """The published 200 schema of every operation, ready to validate answers."""
    components = document.get("components", {}).get("schemas", {})
    validators = {}
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            content = spec.get("responses", {}).get("200", {}).get("content", {}).get("application/json")
            if content and "schema" in content:
                root = {**content["schema"], "components": {"schemas": components}}
                validators[(method.upper(), path)] = jsonschema.Draft202012Validator(root)
    return validators


def encode(kwargs: dict[str, Any]) -> bytes | None:
    """The request body schemathesis meant to send, as bytes on the wire."""
    if "json" in kwargs:
        return json.dumps(kwargs["json"], allow_nan=True).encode()
    data = kwargs.get("data")
    if data is None:
        return None
    return data if isinstance(data, bytes) else str(data).encode()


def check_answer(
    method: str, path: str, status: int, body: bytes, validators: dict[tuple[str, str], Any], sent: bytes | None
) -> str | None:
    """None when the answer honours the contract, else what is wrong with it."""
    where = f"{method} {path} <- {(sent or b'')[:200]!r}"
    if status >= 500:
        return f"{where}: status {status}: {body[:300]!r}"
    try:
        data = json.loads(body)
    except ValueError:
        return f"{where}: status {status} with a body that is not JSON: {body[:200]!r}"
    if status == 200:
        validator = validators.get((method, path))
        if validator is not None:
            problem = next(iter(validator.iter_errors(data)), None)
            if problem is not None:
                return f"{where}: 200 body breaks the published schema: {problem.message}"
        return None
    if not 400 <= status < 500:
        return f"{where}: unexpected status {status}"
    if not isinstance(data, dict) or not isinstance(data.get("message"), str) or not data["message"]:
        return f"{where}: {status} without a JSON message: {body[:200]!r}"
    from_app = status not in GATEWAY_STATUSES or "error" in data
    if from_app and (not isinstance(data.get("error"), str) or not isinstance(data.get("errors"), list)):
        return f"{where}: {status} from the app without error/errors: {body[:200]!r}"
    return None


def fuzz(
    document: dict[str, Any],
    transports: dict[str, Send],
    examples: int,
    tallies: dict[str, Tally],
) -> dict[str, Tally]:
    """Generate ``examples`` cases per POST operation and generation mode (a handful per GET route)
    and send each case through every transport; record and check every answer.

    Generating a case costs far more than answering it (~10-30 ms vs ~0.1-1 ms), so one generated
    case is replayed through all transports instead of generating a fresh set for each.
    """
    validators = response_validators(document)

    def campaign(operation: Any, mode: GenerationMode, count: int) -> Callable[[], None]:
        @settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(mode))
        def run(case: Any) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://fuzz")
            headers = {str(k): str(v) for k, v in (kwargs.get("headers") or {}).items()}
            body = encode(kwargs)
            method = str(kwargs["method"]).upper()
            for name, send in transports.items():
                status, answer = send(method, case.formatted_path, headers, body)
                tally = tallies.setdefault(name, Tally())
                tally.requests += 1
                tally.statuses[status] += 1
                problem = check_answer(method, operation.path, status, answer, validators, body)
                if problem is not None:
                    tally.server_errors.append(problem)
                    raise AssertionError(f"[{name}] {problem}")

        return run

    for operation in operations(document):
        is_post = operation.method.upper() == "POST"
        # A GET route without parameters has one meaningful request and no invalid variant.
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if is_post else (GenerationMode.POSITIVE,)
        for mode in modes:
            campaign(operation, mode, examples if is_post else min(examples, 5))()
    return tallies
