"""Build API Gateway REST (v1 proxy), HTTP API (v2) and Function URL events for handler tests.

Shapes follow ``sam local generate-event apigateway aws-proxy`` / ``http-api-proxy`` and AWS's
documented Function URL payload (version 2.0).
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

_counter = itertools.count(1)


def _request_id() -> str:
    return f"c6af9ac6-7b61-11e6-9a41-{next(_counter):012d}"


def _body_fields(body: bytes | str | None, base64_encoded: bool) -> tuple[str | None, bool]:
    if body is None:
        return None, False
    raw = body.encode() if isinstance(body, str) else body
    try:
        raw.decode()
    except UnicodeDecodeError:  # API Gateway sends bodies that are not UTF-8 text base64-encoded
        base64_encoded = True
    if base64_encoded:
        return base64.b64encode(raw).decode(), True
    return raw.decode(), False


def rest_event(
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    *,
    base64_encoded: bool = False,
    request_id: str | None = None,
    stage: str = "Prod",
) -> dict[str, Any]:
    """An API Gateway REST API (v1) Lambda proxy integration event."""
    all_headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "X-Forwarded-Proto": "https"}
    all_headers.update(headers or {})
    text, encoded = _body_fields(body, base64_encoded)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": request_id or _request_id(),
            "accountId": "123456789012",
            "apiId": "abc123",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
            "requestTimeEpoch": 1700000000000,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def http_api_event(
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    *,
    base64_encoded: bool = False,
    request_id: str | None = None,
    domain: str = "abc123.execute-api.us-east-1.amazonaws.com",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event; Function URLs send the same shape."""
    all_headers = {"host": domain, "x-forwarded-proto": "https"}
    all_headers.update({key.lower(): value for key, value in (headers or {}).items()})
    text, encoded = _body_fields(body, base64_encoded)
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": domain.split(".", 1)[0],
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": request_id or _request_id(),
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "14/Nov/2023:22:13:20 +0000",
            "timeEpoch": 1700000000000,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def function_url_event(
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """A Lambda Function URL event (payload 2.0 with a lambda-url domain and routeKey $default)."""
    event = http_api_event(method, path, body, headers, domain="abcdefg.lambda-url.us-east-1.on.aws", **kwargs)
    event["routeKey"] = "$default"
    event["requestContext"]["routeKey"] = "$default"
    event["requestContext"]["stage"] = "$default"
    return event


class FakeLambdaContext:
    """The attributes of Lambda's context object that Mangum and the handler read."""

    function_name = "fraud-scoring"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fraud-scoring"
    memory_limit_in_mb = 1024
    log_group_name = "/aws/lambda/fraud-scoring"
    log_stream_name = "2026/11/25/[$LATEST]abc"

    def __init__(self) -> None:
        self.aws_request_id = _request_id()

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
