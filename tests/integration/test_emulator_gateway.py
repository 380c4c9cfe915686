"""API Gateway behaviour of the emulator over real HTTP, with the fixture template and handlers."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.emulator_harness import Emulator, run_emulator

API_KEY = "test-key-123"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with run_emulator(tmp_path_factory.mktemp("emu"), "--api-key", API_KEY, "--integration-timeout", "1") as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=30) as c:
        yield c


def _echo(resp: httpx.Response) -> dict:  # type: ignore[type-arg]
    assert resp.status_code == 200, resp.text
    return json.loads(resp.text)  # type: ignore[no-any-return]


def test_proxy_event_shape(client: httpx.Client) -> None:
    resp = client.post(
        "/items/42?x=1&x=2&y=3".replace("/items/42", "/echo"),
        content=b'{"a": 1}',
        headers=[("X-Multi", "one"), ("X-Multi", "two"), ("Content-Type", "application/json")],
    )
    out = _echo(resp)
    event = out["event"]
    assert event["httpMethod"] == "POST"
    assert event["resource"] == "/echo"
    assert event["path"] == "/echo"
    assert event["body"] == '{"a": 1}'
    assert event["isBase64Encoded"] is False
    assert event["headers"]["x-multi"] == "two"
    assert event["multiValueHeaders"]["x-multi"] == ["one", "two"]
    assert event["queryStringParameters"] == {"x": "2", "y": "3"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["3"]}
    ctx = event["requestContext"]
    assert ctx["stage"] == "test"
    assert ctx["path"] == "/test/echo"
    assert re.fullmatch(r"[0-9a-f-]{36}", ctx["requestId"])
    assert resp.headers["x-amzn-requestid"] == ctx["requestId"]
    assert resp.headers.get_list("X-Fixture") == ["a", "b"]
    # the function's configuration reached the runtime
    assert out["greeting"] == "hello"
    assert out["layer"] == "fixture-layer"
    assert out["model_dir"].endswith("tests/fixtures/emulator/model")
    assert out["memory"] == "256"


def test_path_parameters_and_greedy_proxy(client: httpx.Client) -> None:
    event = _echo(client.get("/items/a%20b"))["event"]
    assert event["pathParameters"] == {"id": "a b"}
    assert event["resource"] == "/items/{id}"
    event = _echo(client.delete("/files/x/y/z.txt"))["event"]
    assert event["pathParameters"] == {"proxy": "x/y/z.txt"}


def test_binary_media_types_are_base64_encoded_both_ways(client: httpx.Client) -> None:
    raw = bytes(range(256))
    event = _echo(client.put("/echo", content=raw, headers={"Content-Type": "application/octet-stream"}))["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw
    resp = client.post("/binary")
    assert resp.status_code == 200
    assert resp.content == b"\x00\x01\x02\x03"


def test_unknown_route_and_method_answer_missing_authentication_token(client: httpx.Client) -> None:
    for resp in (client.get("/nope"), client.get("/sleep"), client.post("/items/1")):
        assert resp.status_code == 403
        assert resp.json() == {"message": "Missing Authentication Token"}


def test_api_key_is_enforced(client: httpx.Client) -> None:
    for headers in ({}, {"x-api-key": "wrong"}):
        resp = client.get("/keyed", headers=headers)
        assert resp.status_code == 403
        assert resp.json() == {"message": "Forbidden"}
    event = _echo(client.get("/keyed", headers={"x-api-key": API_KEY}))["event"]
    assert event["requestContext"]["identity"]["apiKey"] == API_KEY


def test_body_over_10_mb_is_refused_with_413(client: httpx.Client) -> None:
    resp = client.post("/echo", content=b"x" * (10 * 1024 * 1024 + 1))
    assert resp.status_code == 413
    assert resp.json()["message"]


def test_function_errors_and_malformed_answers_are_502(client: httpx.Client) -> None:
    for path in ("/error", "/malformed", "/big"):  # /big answers more than Lambda's 6 MB
        resp = client.post(path)
        assert resp.status_code == 502
        assert resp.json() == {"message": "Internal server error"}


def test_integration_timeout_answers_504(tmp_path: Path) -> None:
    # Its own emulator: a 0.5 s integration timeout, below the function's 2 s Timeout.
    with run_emulator(tmp_path, "--integration-timeout", "0.5") as emu, httpx.Client(base_url=emu.url) as c:
        c.get("/echo")  # start the environment (a cold start may itself exceed 0.5 s)
        started = time.monotonic()
        resp = c.post("/sleep", params={"s": "1.5"})
        elapsed = time.monotonic() - started
    assert resp.status_code == 504
    assert resp.json() == {"message": "Endpoint request timed out"}
    assert elapsed < 1.4  # the configured 0.5 s, not the function's run time


def test_method_throttling_burst_and_rate_over_real_http(client: httpx.Client) -> None:
    """GET /throttled: rate 20/s, burst 5. Over a bounded window, what passes is the burst plus
    the rate times the window (loose bounds: real time and a shared machine)."""
    time.sleep(0.5)  # let the bucket fill after earlier tests
    window = 1.5
    statuses: list[int] = []
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        while time.monotonic() - started < window:
            batch = [pool.submit(client.get, "/throttled") for _ in range(4)]
            statuses.extend(f.result().status_code for f in batch)
    elapsed = time.monotonic() - started
    # Admitted by the gateway = everything not answered 429 (with concurrency 2, some admitted
    # requests may still get Lambda's 500, or 504 while a new environment starts).
    refused = statuses.count(429)
    passed = len(statuses) - refused
    expected = 5 + 20 * elapsed
    detail = f"passed {passed}, refused {refused} in {elapsed:.2f} s (bucket allows {expected:.1f})"
    assert refused > 0, detail
    assert 0.6 * expected <= passed <= expected + 2, detail
    resp = client.get("/throttled")
    while resp.status_code != 429:
        resp = client.get("/throttled")
    assert resp.json() == {"message": "Too Many Requests"}


def test_crash_answers_502_and_the_environment_is_replaced(client: httpx.Client, emulator: Emulator) -> None:
    before = _echo(client.get("/echo"))["env"]
    resp = client.post("/crash")
    assert resp.status_code == 502
    assert resp.json() == {"message": "Internal server error"}
    after = [_echo(client.get("/echo"))["env"] for _ in range(3)]
    assert "Status: crash" in emulator.log()
    # Warm environments are reused most-recent-first, so the crash hit the environment that
    # answered `before`; it is gone and no later request can reach it.
    assert before not in after


def test_report_line_per_invocation(client: httpx.Client, emulator: Emulator) -> None:
    _echo(client.get("/echo"))
    time.sleep(0.2)
    reports = [line for line in emulator.log().splitlines() if "REPORT RequestId:" in line]
    assert reports
    pattern = re.compile(
        r"REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 256 MB\tMax Memory Used: (\d+) MB"
    )
    matched = [pattern.search(line) for line in reports if "Status:" not in line]
    assert matched
    assert all(matched)
    assert all(int(m.group(1)) > 5 for m in matched if m)  # a real Python process, measured from /proc
    assert any("Init Duration:" in line for line in reports)


def test_report_carries_the_lambda_request_id(client: httpx.Client, emulator: Emulator) -> None:
    ids = [_echo(client.get("/echo"))["request_id"] for _ in range(3)]
    time.sleep(0.2)
    log = emulator.log()
    # Normally every REPORT names the handler's aws_request_id; when the RIE's START line is read
    # after the answer (a race under heavy load) the emulator uses a fresh id instead.
    assert any(f"REPORT RequestId: {rid}\t" in log for rid in ids)


def test_bad_input_never_loses_the_request(client: httpx.Client) -> None:
    # Not UTF-8 and not a binary media type: passed base64-encoded rather than corrupted.
    event = _echo(client.post("/echo", content=b"\xff\xfe\x00", headers={"Content-Type": "text/plain"}))["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe\x00"


def test_log_shows_template_settings(emulator: Emulator) -> None:
    log = emulator.log()
    assert "stage test" in log
    assert "throttle GET /throttled: rate 20.0, burst 5" in log
    assert "concurrency 2" in log
    assert f"serving on {emulator.url} (Ctrl-C to stop)" in log  # the socket is bound before uvicorn runs
