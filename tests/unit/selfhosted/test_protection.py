"""The protection middleware in process, with a driven clock: API Gateway's token-bucket semantics
(burst, refill, one bucket per method and route), its 429 body, and the body limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from selfhosted.protection import BodyLimitMiddleware, ThrottleMiddleware
from selfhosted.settings import Limit, ThrottleSettings

THROTTLED = b'{"message":"Too Many Requests"}'
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers 200 with the body it read (to check what reached the app)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def client_for(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")  # type: ignore[arg-type]


def throttled_app(clock: Clock, workers: int = 1, scope: str = "split") -> ThrottleMiddleware:
    settings = ThrottleSettings(default=Limit(10.0, 3), batch=Limit(1.0, 1), docs=Limit(1.0, 2), scope=scope)
    return ThrottleMiddleware(echo_app, settings, workers, clock)


async def statuses(client: httpx.AsyncClient, method: str, path: str, count: int) -> list[int]:
    return [(await client.request(method, path)).status_code for _ in range(count)]


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_burst_then_429_with_api_gateways_body_then_refill(clock: Clock) -> None:
    async with client_for(throttled_app(clock)) as client:
        assert await statuses(client, "POST", "/predict", 3) == [200, 200, 200]
        refused = await client.post("/predict")
        assert refused.status_code == 429
        assert refused.content == THROTTLED
        assert refused.headers["content-type"] == "application/json"
        clock.now += 0.1  # 10 req/s: one token back
        assert await statuses(client, "POST", "/predict", 2) == [200, 429]
        clock.now += 60  # refill never exceeds the burst
        assert await statuses(client, "POST", "/predict", 4) == [200, 200, 200, 429]


async def test_each_method_and_route_has_its_own_bucket(clock: Clock) -> None:
    async with client_for(throttled_app(clock)) as client:
        assert await statuses(client, "POST", "/predict/batch", 2) == [200, 429]
        assert await statuses(client, "GET", "/docs", 3) == [200, 200, 429]
        assert await statuses(client, "GET", "/openapi.json", 3) == [200, 200, 429]
        assert await statuses(client, "POST", "/predict", 3) == [200, 200, 200]


async def test_unknown_routes_share_one_bucket(clock: Clock) -> None:
    async with client_for(throttled_app(clock)) as client:
        assert await statuses(client, "GET", "/a", 2) + await statuses(client, "GET", "/b", 2) == [200, 200, 200, 429]


async def test_health_and_metrics_are_never_throttled(clock: Clock) -> None:
    async with client_for(throttled_app(clock)) as client:
        assert set(await statuses(client, "GET", "/health", 20)) == {200}
        assert set(await statuses(client, "GET", "/metrics", 20)) == {200}


async def test_split_scope_gives_each_worker_its_share(clock: Clock) -> None:
    # burst 3 over 2 workers: ceil(3/2) = 2 per worker; rate 10 -> 5 per worker
    async with client_for(throttled_app(clock, workers=2)) as client:
        assert await statuses(client, "POST", "/predict", 3) == [200, 200, 429]
        clock.now += 0.1  # half a token at 5 req/s
        assert await statuses(client, "POST", "/predict", 1) == [429]
        clock.now += 0.1
        assert await statuses(client, "POST", "/predict", 1) == [200]


async def test_worker_scope_gives_each_worker_the_full_limits(clock: Clock) -> None:
    async with client_for(throttled_app(clock, workers=2, scope="worker")) as client:
        assert await statuses(client, "POST", "/predict", 4) == [200, 200, 200, 429]


async def test_declared_length_over_the_limit_never_reaches_the_app() -> None:
    reached: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(True)
        await echo_app(scope, receive, send)

    async with client_for(BodyLimitMiddleware(app, 1024)) as client:
        response = await client.post("/predict", content=b"x" * 1025)
        assert response.status_code == 413
        assert response.json()["message"] == "the body has 1025 bytes; the limit is 1024"
        assert response.json()["errors"] == [{"field": "body", "problem": "at most 1024 bytes"}]
        assert not reached
        ok = await client.post("/predict", content=b"y" * 1024)
        assert ok.status_code == 200
        assert ok.content == b"y" * 1024


async def test_chunked_bodies_are_counted_and_replayed_whole() -> None:
    async def parts(count: int) -> AsyncIterator[bytes]:
        for index in range(count):
            yield bytes([65 + index]) * 300

    async with client_for(BodyLimitMiddleware(echo_app, 1024)) as client:
        small = await client.post("/predict", content=parts(3))
        assert small.status_code == 200
        assert small.content == b"A" * 300 + b"B" * 300 + b"C" * 300
        big = await client.post("/predict", content=parts(4))
        assert big.status_code == 413
        assert big.json()["message"] == "the body has more than 1024 bytes; the limit is 1024"
