"""Proxy-response mapping and route selection, without processes."""

from __future__ import annotations

import base64
import json

import pytest

from gateway_emulator.gateway import QUOTA_EXCEEDED, THROTTLED, Gateway, GatewaySettings, _map_proxy_response
from gateway_emulator.template import ApiConfig, AppConfig, Route, UsagePlan
from gateway_emulator.throttling import ThrottleLimits


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


class _Clock:
    now = 50.0

    def __call__(self) -> float:
        return self.now


def _keyed_gateway(plan: UsagePlan, clock: _Clock) -> tuple[Gateway, ApiConfig, Route]:
    from pathlib import Path

    route = Route("/predict", "POST", "F", True)
    api = ApiConfig("Api", "v1", (route,), (), ThrottleLimits(rate=100, burst=100), {}, (plan,), {"Key": "secret"})
    gw = Gateway(AppConfig(Path("t.yaml"), (api,), {}), {}, GatewaySettings(clock=clock))
    return gw, api, route


def test_usage_plan_throttle_applies_per_api_key_before_the_method_limit() -> None:
    clock = _Clock()
    plan = UsagePlan("Plan", ThrottleLimits(rate=1, burst=2), None, None, ("Key",))
    gw, api, route = _keyed_gateway(plan, clock)
    plans = gw._key_plans["secret"]
    verdicts = [gw._throttle(api, route, "secret", plans) for _ in range(3)]
    assert verdicts[:2] == [None, None]
    assert verdicts[2] == (THROTTLED, "usage plan Plan throttle (rate 1/s, burst 2)")
    clock.now += 1.0
    assert gw._throttle(api, route, "secret", plans) is None


def test_usage_plan_quota_answers_limit_exceeded() -> None:
    plan = UsagePlan("Plan", None, 2, "DAY", ("Key",))
    gw, api, route = _keyed_gateway(plan, _Clock())
    plans = gw._key_plans["secret"]
    verdicts = [gw._throttle(api, route, "secret", plans) for _ in range(3)]
    assert verdicts[:2] == [None, None]
    assert verdicts[2] == (QUOTA_EXCEEDED, "usage plan Plan: quota of 2 used up")
    assert QUOTA_EXCEEDED[:2] == (429, b'{"message":"Limit Exceeded"}')


@pytest.mark.parametrize(
    "name", ["Content-Length", "content-length", "Date", "Server", "Transfer-Encoding", "Connection"]
)
def test_headers_the_gateway_sets_itself_come_back_remapped(name: str) -> None:
    """Mangum passes the app's Content-Length on: sent next to the gateway's own, strict clients
    (Node's llhttp) refuse the answer. API Gateway renames such headers x-amzn-Remapped-<name>."""
    for field in ("headers", "multiValueHeaders"):
        value: object = ["7"] if field == "multiValueHeaders" else "7"
        mapped = _map_proxy_response(json.dumps({"statusCode": 200, field: {name: value}, "body": "x"}).encode())
        assert mapped is not None
        _, headers, _ = mapped
        names = [k.lower() for k, _ in headers]
        assert name.lower().encode() not in names
        assert (b"x-amzn-remapped-" + name.lower().encode(), b"7") in headers
