"""Proxy-response mapping and route selection, without processes."""

from __future__ import annotations

import base64
import json

import pytest

from gateway_emulator.gateway import Gateway, _map_proxy_response
from gateway_emulator.template import ApiConfig, AppConfig, Route


def _gateway(*routes: Route) -> Gateway:
    api = ApiConfig("Api", "v1", routes, (), None, {}, ())
    from pathlib import Path

    return Gateway(AppConfig(Path("t.yaml"), (api,), {}), {})


def test_literal_beats_parameter_beats_greedy() -> None:
    gw = _gateway(
        Route("/items/{id}", "GET", "F", False),
        Route("/items/special", "GET", "F", False),
        Route("/{proxy+}", "ANY", "F", False),
    )
    found = gw._match("/items/special", "GET")
    assert found is not None
    assert found[0].route.resource == "/items/special"
    found = gw._match("/items/42", "GET")
    assert found is not None
    assert found[1] == {"id": "42"}
    found = gw._match("/a/b/c", "DELETE")
    assert found is not None
    assert found[1] == {"proxy": "a/b/c"}


def test_unknown_method_or_path_does_not_match() -> None:
    gw = _gateway(Route("/predict", "POST", "F", False))
    assert gw._match("/predict", "GET") is None
    assert gw._match("/nope", "POST") is None
    assert gw._match("/predict/", "POST") is None


def test_maps_headers_multi_value_headers_and_body() -> None:
    payload = json.dumps(
        {"statusCode": 201, "headers": {"X-A": "1"}, "multiValueHeaders": {"X-B": ["2", "3"]}, "body": "hi"}
    ).encode()
    mapped = _map_proxy_response(payload)
    assert mapped is not None
    status, headers, body = mapped
    assert status == 201
    assert (b"X-A", b"1") in headers
    assert [v for k, v in headers if k == b"X-B"] == [b"2", b"3"]
    assert (b"content-type", b"application/json") in headers
    assert body == b"hi"


def test_decodes_base64_bodies() -> None:
    raw = bytes(range(256))
    payload = json.dumps({"statusCode": 200, "body": base64.b64encode(raw).decode(), "isBase64Encoded": True})
    mapped = _map_proxy_response(payload.encode())
    assert mapped is not None
    assert mapped[2] == raw


@pytest.mark.parametrize(
    "payload",
    [
        b'"just a string"',
        b"not json",
        b'{"statusCode": "abc"}',
        b'{"statusCode": 700}',
        b'{"statusCode": 200, "body": {"not": "a string"}}',
        b'{"statusCode": 200, "headers": ["x"]}',
        b'{"statusCode": 200, "body": "%%%", "isBase64Encoded": true}',
    ],
)
def test_malformed_proxy_responses_are_refused(payload: bytes) -> None:
    assert _map_proxy_response(payload) is None
