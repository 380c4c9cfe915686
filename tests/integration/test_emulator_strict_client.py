"""The emulator read by a strict HTTP client (Node's http module): every route of template.yaml and
every kind of error answer, each header exactly once. curl and httpx accept a doubled
Content-Length; Node refuses the answer (HPE_UNEXPECTED_CONTENT_LENGTH), which made `make serve`
unusable from Node clients."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway_emulator.template import load_app
from tests.integration.emulator_harness import ROOT, Emulator, run_emulator

API_KEY = "strict-client-key-0123456789"
NODE_CLIENT = Path(__file__).with_name("strict_client.mjs")
# The real template with an API key on every route and a tiny docs throttle, so a 429 is cheap.
PARAMETERS = {"ApiKeyRequired": "true", "DocsThrottleRateLimit": "1", "DocsThrottleBurstLimit": "1"}
KEY = {"x-api-key": API_KEY}
JSON_KEY = {**KEY, "content-type": "application/json"}


def _event_body(name: str) -> str:
    body: str = json.loads((ROOT / "events" / name).read_text())["body"]
    return body


# A valid request for each route of template.yaml; a route added to the template without one here fails.
ROUTE_REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/predict"): {"headers": JSON_KEY, "body": _event_body("predict_ok.json")},
    ("POST", "/predict/batch"): {"headers": JSON_KEY, "body": _event_body("predict_batch_ok.json")},
    ("GET", "/health"): {"headers": KEY},
    ("GET", "/model"): {"headers": KEY},
    ("GET", "/docs"): {"headers": KEY},
    ("GET", "/openapi.json"): {"headers": KEY},
}


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is missing (the strict HTTP client of this test): make node, or apt-get install nodejs")
    return found


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    overrides = [f"{name}={value}" for name, value in PARAMETERS.items()]
    args = ["--parameter-overrides", *overrides, "--api-key", API_KEY, "--concurrency", "1", "--warm-pool", "1"]
    with run_emulator(tmp_path_factory.mktemp("strict"), *args, template=ROOT / "template.yaml") as emu:
        yield emu


def _strict_requests(node: str, emu: Emulator, requests: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, Any]]:
    spec = tmp_path / "requests.json"
    spec.write_text(json.dumps(requests))
    done = subprocess.run(
        [node, str(NODE_CLIENT), emu.url, str(spec)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == len(requests), done.stdout
    return answers


def _assert_each_header_once(answer: dict[str, Any], what: str) -> None:
    assert "error" not in answer, f"{what}: the strict client refused the answer: {answer['error']}"
    raw: list[str] = answer["rawHeaders"]
    counts = Counter(name.lower() for name in raw[::2])
    doubled = {name: n for name, n in counts.items() if n > 1}
    assert not doubled, f"{what}: headers sent more than once: {doubled} in {raw}"
    assert counts["content-length"] == 1, f"{what}: {raw}"


def test_every_route_of_the_template_answers_a_strict_client(node: str, emulator: Emulator, tmp_path: Path) -> None:
    app = load_app(ROOT / "template.yaml", PARAMETERS)
    routes = [(route.method, route.resource) for api in app.apis for route in api.routes]
    missing = [route for route in routes if route not in ROUTE_REQUESTS]
    assert not missing, f"routes of template.yaml without a request in this test: {missing}"
    requests = [{"method": method, "path": path, **ROUTE_REQUESTS[(method, path)]} for method, path in routes]
    for (method, path), answer in zip(routes, _strict_requests(node, emulator, requests, tmp_path), strict=True):
        _assert_each_header_once(answer, f"{method} {path}")
        assert answer["status"] == 200, f"{method} {path}: {answer}"


# (what, request, expected status, a fragment of the expected body)
ERROR_ANSWERS: list[tuple[str, dict[str, Any], int, str]] = [
    ("invalid JSON", {"method": "POST", "path": "/predict", "headers": JSON_KEY, "body": "{"}, 400, "invalid_json"),
    ("missing API key", {"method": "GET", "path": "/health"}, 403, '{"message":"Forbidden"}'),
    ("wrong API key", {"method": "GET", "path": "/health", "headers": {"x-api-key": "no"}}, 403, "Forbidden"),
    ("unknown route", {"method": "GET", "path": "/nope", "headers": KEY}, 403, "Missing Authentication Token"),
    (
        "method not on the resource",
        {"method": "GET", "path": "/predict", "headers": KEY},
        403,
        "Missing Authentication",
    ),
    (
        "body over API Gateway's 10 MB",
        {"method": "POST", "path": "/predict", "headers": JSON_KEY, "fill": "x", "size": 10 * 1024 * 1024 + 1},
        413,
        '{"message":"Request Too Long"}',
    ),
    (
        "batch over BATCH_MAX_ITEMS (the app's 413)",
        {
            "method": "POST",
            "path": "/predict/batch",
            "headers": JSON_KEY,
            "body": _event_body("predict_batch_oversized.json"),
        },
        413,
        "batch_too_large",
    ),
    (
        "event over Lambda's 6 MB (Lambda refuses the invoke)",
        {"method": "POST", "path": "/predict", "headers": JSON_KEY, "fill": "x", "size": 7 * 1024 * 1024},
        500,
        '{"message": "Internal server error"}',
    ),
    (
        "wrong content type",
        {"method": "POST", "path": "/predict", "headers": {**KEY, "content-type": "text/plain"}, "body": "{}"},
        415,
        "unsupported_media_type",
    ),
    (
        "wrong feature count",
        {"method": "POST", "path": "/predict", "headers": JSON_KEY, "body": '{"features": [1, 2]}'},
        422,
        "validation_error",
    ),
]


def test_error_answers_reach_a_strict_client_with_each_header_once(
    node: str, emulator: Emulator, tmp_path: Path
) -> None:
    requests = [request for _, request, _, _ in ERROR_ANSWERS]
    answers = _strict_requests(node, emulator, requests, tmp_path)
    for (what, _, status, fragment), answer in zip(ERROR_ANSWERS, answers, strict=True):
        _assert_each_header_once(answer, what)
        assert answer["status"] == status, f"{what}: {answer}"
        assert fragment in answer["body"], f"{what}: {answer}"


def test_throttled_answer_reaches_a_strict_client(node: str, emulator: Emulator, tmp_path: Path) -> None:
    # GET /docs: burst 1, 1 request/s: of three back-to-back requests at least one is refused.
    answers = _strict_requests(node, emulator, [{"method": "GET", "path": "/docs", "headers": KEY}] * 3, tmp_path)
    for answer in answers:
        _assert_each_header_once(answer, "GET /docs")
    throttled = [answer for answer in answers if answer["status"] == 429]
    assert throttled, answers
    assert throttled[0]["body"] == '{"message":"Too Many Requests"}'
