"""Which request initialises a warm-pool environment: a GET route of that function, no side
effects, with or without an API key requirement; built like any other proxy event."""

from __future__ import annotations

import json
from pathlib import Path

from gateway_emulator.gateway import WARM_UP_USER_AGENT, Gateway, GatewaySettings
from gateway_emulator.template import ApiConfig, AppConfig, Route


def _gateway(*routes: Route, warm_up_path: str | None = "/health") -> Gateway:
    api = ApiConfig("Api", "v1", routes, (), None, {}, ())
    return Gateway(AppConfig(Path("t.yaml"), (api,), {}), {}, GatewaySettings(warm_up_path=warm_up_path))


def _event(gw: Gateway, function_id: str) -> dict[str, object]:
    raw = gw.warm_up_event(function_id)
    assert raw is not None
    event: dict[str, object] = json.loads(raw)
    return event


def test_the_health_route_is_the_warm_up_request() -> None:
    gw = _gateway(
        Route("/predict", "POST", "F", False), Route("/model", "GET", "F", False), Route("/health", "GET", "F", False)
    )
    event = _event(gw, "F")
    assert (event["httpMethod"], event["path"], event["resource"]) == ("GET", "/health", "/health")
    assert event["body"] is None
    headers = event["headers"]
    assert isinstance(headers, dict)
    assert headers["user-agent"] == WARM_UP_USER_AGENT
    context = event["requestContext"]
    assert isinstance(context, dict)
    assert str(context["requestId"]).startswith("warm-up-")
    assert context["stage"] == "v1"


def test_falls_back_to_the_functions_first_plain_get_route() -> None:
    gw = _gateway(
        Route("/health", "GET", "Other", False),
        Route("/predict", "POST", "F", False),
        Route("/items/{id}", "GET", "F", False),  # needs a parameter value: never guessed
        Route("/echo", "ANY", "F", False),
    )
    assert _event(gw, "F")["path"] == "/echo"
    assert _event(gw, "Other")["path"] == "/health"


def test_no_warm_up_without_a_get_route_or_when_disabled() -> None:
    assert _gateway(Route("/predict", "POST", "F", False)).warm_up_event("F") is None
    assert _gateway(Route("/health", "GET", "F", False), warm_up_path=None).warm_up_event("F") is None


def test_routes_behind_an_api_key_still_warm_up() -> None:
    """With ApiKeyRequired=true every route needs a key; the warm-up invokes the function directly."""
    gw = _gateway(Route("/predict", "POST", "F", True), Route("/health", "GET", "F", True))
    assert _event(gw, "F")["path"] == "/health"
    gw = _gateway(Route("/predict", "POST", "F", True), Route("/model", "GET", "F", True), warm_up_path="/nowhere")
    assert _event(gw, "F")["path"] == "/model"
