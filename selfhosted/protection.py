"""In-process protection for the self-hosted server: what API Gateway does in front of Lambda.

- Throttling: the token bucket of ``gateway_emulator.throttling`` (the same code the local
  emulator uses), one bucket per method and route as API Gateway keeps one per method, and the same
  ``429 {"message":"Too Many Requests"}``. Buckets live in each worker process: with
  ``THROTTLE_SCOPE=split`` (default) each of N workers enforces rate/N and burst/N, so the server
  as a whole admits about the configured limits when the kernel spreads connections evenly (it
  spreads connections, not requests: one hot keep-alive client lands on one worker and meets that
  worker's share first). ``worker`` gives each worker the full limits (the server admits up to N
  times them). Neither is a shared global counter: put a gateway or load balancer in front when
  an exact cluster-wide limit matters.
- Body limit: a ``Content-Length`` over ``MAX_BODY_BYTES`` is refused with 413 before the app
  reads a byte; a chunked body is read up to the limit and refused as soon as it passes it.
  The 413 has the app's own error shape (the app enforces the same variable on every host).
- ``/health`` and ``/metrics`` are never throttled: a liveness probe or a scrape refused under
  load would make an orchestrator restart a healthy server (API Gateway would throttle
  ``/health``; nothing probes a Lambda through it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fraud_api.factory import REQUEST_ID_HEADER, REQUEST_ID_SCOPE_KEY
from fraud_api.validation import FieldError, RequestError
from gateway_emulator.throttling import THROTTLED_BODY, THROTTLED_STATUS, ThrottleLimits, TokenBucket
from selfhosted.settings import Limit, ThrottleSettings

UNTHROTTLED_PATHS = frozenset({"/health", "/metrics"})
# Method + route -> which configured limit applies (template.yaml's MethodSettings).
KNOWN_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/predict"): "default",
    ("POST", "/predict/batch"): "batch",
    ("GET", "/model"): "default",
    ("GET", "/docs"): "docs",
    ("GET", "/openapi.json"): "docs",
}
_JSON_HEADERS = [(b"content-type", b"application/json")]


async def send_json(
    send: Send, status: int, body: bytes, request_id: str | None = None, *, then_drain: Receive | None = None
) -> None:
    """A JSON answer; with ``then_drain``, a refusal that reads the rest of the request body first.

    The server stops reading a request once its response is complete, so a draining answer sends
    all of its bytes, drains, and only then its last (empty) part.
    """
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    if then_drain is not None:
        headers.append((b"connection", b"close"))
    if request_id is not None:
        headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if then_drain is None:
        await send({"type": "http.response.body", "body": body})
        return
    await send({"type": "http.response.body", "body": body, "more_body": True})
    await drain(then_drain)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


class ThrottleMiddleware:
    """429 when the request's token bucket is empty; one bucket per known method + route."""

    def __init__(
        self, app: ASGIApp, settings: ThrottleSettings, workers: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app

        def bucket(limit: Limit) -> TokenBucket:
            share = limit.per_worker(workers, settings.scope)
            return TokenBucket(ThrottleLimits(rate=share.rate, burst=share.burst), clock)

        limits = {"default": settings.default, "batch": settings.batch, "docs": settings.docs}
        self._buckets = {route: bucket(limits[kind]) for route, kind in KNOWN_ROUTES.items()}
        # Unknown routes share one bucket: a scan of random paths cannot create buckets without end.
        self._other = bucket(settings.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path not in UNTHROTTLED_PATHS:
                found = self._buckets.get((scope["method"], path), self._other)
                if not found.try_acquire():
                    await send_json(send, THROTTLED_STATUS, THROTTLED_BODY, scope.get(REQUEST_ID_SCOPE_KEY))
                    return
        await self.app(scope, receive, send)


def payload_too_large(limit: int, declared: int | None = None, request_id: str | None = None) -> bytes:
    """The app's own 413 body; ``declared`` is the Content-Length (None: a chunked body cut short)."""
    size = f"{declared} bytes" if declared is not None else f"more than {limit} bytes"
    error = RequestError(
        413,
        "payload_too_large",
        f"the body has {size}; the limit is {limit}",
        [FieldError("body", f"at most {limit} bytes")],
    )
    body = error.body()
    body["request_id"] = request_id
    return orjson.dumps(body)


DRAIN_SECONDS = 30.0


async def drain(receive: Receive, seconds: float = DRAIN_SECONDS) -> None:
    """Read and drop the rest of a refused body, so the client reads the answer instead of a reset.

    Closing a connection with unread data makes the kernel send RST, and a client still writing
    (``Connection: close``, a large upload) sees a reset or broken pipe, not the 413. Bounded in
    time so a slow sender cannot hold a worker.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


class BodyLimitMiddleware:
    """413 for request bodies over ``max_bytes``, decided before the app sees the request."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None  # the HTTP parser has already refused a malformed length
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if length is not None:
            if length > self.max_bytes:
                request_id = scope.get(REQUEST_ID_SCOPE_KEY)
                body = payload_too_large(self.max_bytes, length, request_id)
                await send_json(send, 413, body, request_id, then_drain=receive)
                return
            await self.app(scope, receive, send)
            return
        if not chunked:
            await self.app(scope, receive, send)
            return
        # A chunked body announces no size: read it here, up to the limit, then replay it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                request_id = scope.get(REQUEST_ID_SCOPE_KEY)
                body = payload_too_large(self.max_bytes, None, request_id)
                await send_json(send, 413, body, request_id, then_drain=receive)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class RequestIdMiddleware:
    """Give every request an id before anything answers: the caller's ``x-request-id`` or a new one.

    The app (``fraud_api.factory.request_id_of``) and the answers above it (413, 429) read it from
    the scope, so the error body, the ``x-request-id`` header and the decision log agree.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"x-request-id" and value:
                    scope[REQUEST_ID_SCOPE_KEY] = value.decode("latin-1")
                    break
            else:
                scope[REQUEST_ID_SCOPE_KEY] = uuid.uuid4().hex
        await self.app(scope, receive, send)
