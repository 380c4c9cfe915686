"""Hostile requests through the local API (HTTP to the emulator in front of the real function)."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from tests.integration.reliability.conftest import API_KEY
from tests.integration.reliability.emulator import RunningEmulator

ROW = [0.1] * 30


def post(api: RunningEmulator, path: str, content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    sent = {"content-type": "application/json", **(headers or {})}
    return httpx.post(api.base_url + path, content=content, headers=sent, timeout=60)


def test_body_over_10_mb_is_refused_by_the_gateway(scoring_api: RunningEmulator) -> None:
    body = b'{"features": [], "pad": "' + b"x" * (10 * 1024 * 1024 + 10) + b'"}'
    answer = post(scoring_api, "/predict", body)
    assert answer.status_code == 413
    assert answer.json()["message"]


def test_body_between_6_and_10_mb_gets_a_json_answer_not_a_hang(scoring_api: RunningEmulator) -> None:
    """Over Lambda's 6 MB invoke limit but under API Gateway's 10 MB: refused, never scored."""
    body = b'{"features": [], "pad": "' + b"x" * (7 * 1024 * 1024) + b'"}'
    answer = post(scoring_api, "/predict", body)
    assert answer.status_code in (413, 500), answer.text[:200]  # 500 is what AWS answers here
    assert answer.json()["message"]


def test_invalid_utf8_over_http_is_a_400(scoring_api: RunningEmulator) -> None:
    answer = post(scoring_api, "/predict", b'{"features": [' + b"0," * 29 + b'0], "transaction_id": "\xff\xfe"}')
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_json"


def test_deep_nesting_over_http_is_a_4xx(scoring_api: RunningEmulator) -> None:
    answer = post(scoring_api, "/predict", b"[" * 200_000 + b"]" * 200_000)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_json"


def test_batch_limit_over_http(scoring_api: RunningEmulator) -> None:
    at_limit = json.dumps({"transactions": [{"features": ROW}] * 1000}).encode()
    assert post(scoring_api, "/predict/batch", at_limit).json()["count"] == 1000
    over = json.dumps({"transactions": [{"features": ROW}] * 1001}).encode()
    answer = post(scoring_api, "/predict/batch", over)
    assert answer.status_code == 413
    assert answer.json()["error"] == "batch_too_large"


def test_wrong_content_type_over_http_is_a_415(scoring_api: RunningEmulator) -> None:
    answer = post(scoring_api, "/predict", json.dumps({"features": ROW}).encode(), {"content-type": "text/plain"})
    assert answer.status_code == 415
    assert answer.json()["error"] == "unsupported_media_type"


def test_crlf_in_a_raw_header_never_comes_back_as_a_header(scoring_api: RunningEmulator) -> None:
    """A request line with CRLF smuggled into a header value: refused or answered, never reflected."""
    host, port = scoring_api.base_url.removeprefix("http://").split(":")
    body = json.dumps({"features": ROW, "transaction_id": "t\r\nSet-Cookie: pwned=1"}).encode()
    request = (
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-Request-Id: a\rSet-Cookie: pwned=1\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(request)
        raw = b""
        while chunk := conn.recv(65536):
            raw += chunk
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    assert raw.startswith(b"HTTP/1.1 "), raw[:100]
    assert b"set-cookie" not in head
    assert b"pwned" not in head


@pytest.mark.parametrize("payload", ["a%0d%0aSet-Cookie:%20pwned=1", "a\tX-Injected: 1"])
def test_header_values_are_not_reflected_over_http(scoring_api: RunningEmulator, payload: str) -> None:
    answer = post(scoring_api, "/predict", json.dumps({"features": ROW}).encode(), {"x-request-id": payload})
    assert answer.status_code == 200
    for name, value in answer.headers.items():
        assert "pwned" not in value
        assert "injected" not in name.lower()


# -- API keys (usage plan) ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/predict", "/health"])
def test_api_key_required_routes_refuse_missing_and_wrong_keys(keyed_api: RunningEmulator, path: str) -> None:
    method = "POST" if path == "/predict" else "GET"
    content = json.dumps({"features": ROW}).encode() if method == "POST" else None
    url = keyed_api.base_url + path
    headers = {"content-type": "application/json"}
    missing = httpx.request(method, url, content=content, headers=headers, timeout=60)
    wrong = httpx.request(method, url, content=content, headers={**headers, "x-api-key": "nope"}, timeout=60)
    near = httpx.request(method, url, content=content, headers={**headers, "x-api-key": API_KEY[:-1]}, timeout=60)
    good = httpx.request(method, url, content=content, headers={**headers, "x-api-key": API_KEY}, timeout=60)
    for refused in (missing, wrong, near):
        assert refused.status_code == 403
        assert refused.json() == {"message": "Forbidden"}
    assert good.status_code == 200, good.text
