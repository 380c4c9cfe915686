"""Body size limits over raw sockets: API Gateway's 10 MB quota (413) and Lambda's 6 MB event
quota (500), answered completely and never by a dropped connection; each gateway answer logged."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from tests.integration.emulator_harness import Emulator, run_emulator

TEN_MB = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with run_emulator(tmp_path_factory.mktemp("limits"), "--api-key", "k", "--warm-pool", "1") as emu:
        yield emu


class RawClient:
    """HTTP/1.1 over a plain socket: sends exactly what it is told, reads exactly one answer."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.pending = b""

    def send(self, head: str, body: bytes = b"") -> None:
        self.sock.sendall(head.encode("latin-1") + b"\r\n\r\n")
        view = memoryview(body)
        for start in range(0, len(body), 1 << 20):  # written while the server may already answer
            self.sock.sendall(view[start : start + (1 << 20)])

    def _more(self) -> bytes:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise AssertionError(f"connection closed in the middle of an answer: {self.pending[:300]!r}")
        return chunk

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.pending:
            self.pending += self._more()
        head, _, rest = self.pending.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            # (the fixture function sends X-Fixture twice on purpose, as multiValueHeaders)
            assert name.lower() not in headers or name.lower() == "x-fixture", f"{name} twice in {head!r}"
            headers[name.lower()] = value.strip()
        length = int(headers["content-length"])
        while len(rest) < length:
            rest += self._more()
        self.pending = rest[length:]
        return int(status_line.split()[1]), headers, rest[:length]

    def assert_closed_cleanly(self) -> None:
        """The server closed with a FIN after the answer, not with a reset (ECONNRESET)."""
        assert self.sock.recv(1 << 16) == b""

    def close(self) -> None:
        self.sock.close()


def _post(path: str, length: int, *extra: str) -> str:
    return "\r\n".join([f"POST {path} HTTP/1.1", "Host: localhost", f"Content-Length: {length}", *extra])


def test_body_over_10_mb_with_connection_close_gets_a_complete_413(emulator: Emulator) -> None:
    client = RawClient(emulator.port)
    try:
        body = b"x" * (TEN_MB + 1)
        client.send(_post("/echo", len(body), "Connection: close"), body)
        status, headers, answer = client.answer()
        assert status == 413
        assert answer == b'{"message":"Request Too Long"}'
        assert headers["x-amzn-errortype"] == "RequestTooLongException"
        client.assert_closed_cleanly()
    finally:
        client.close()


def test_chunked_body_over_10_mb_with_connection_close_gets_a_complete_413(emulator: Emulator) -> None:
    client = RawClient(emulator.port)
    try:
        chunk = b"y" * (1 << 20)
        framed = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 11 + b"0\r\n\r\n"
        head = "\r\n".join(
            ["POST /echo HTTP/1.1", "Host: localhost", "Transfer-Encoding: chunked", "Connection: close"]
        )
        client.send(head, framed)
        status, _, answer = client.answer()
        assert (status, answer) == (413, b'{"message":"Request Too Long"}')
        client.assert_closed_cleanly()
    finally:
        client.close()


def test_a_refused_request_with_an_unread_body_keeps_its_answer(emulator: Emulator) -> None:
    """403s and 429s are decided before the body is read: with Connection: close the body must
    still be read, or the client writing it gets a reset instead of the answer."""
    client = RawClient(emulator.port)
    try:
        body = b"z" * (2 * 1024 * 1024)
        client.send(_post("/no-such-route", len(body), "Connection: close"), body)
        status, _, answer = client.answer()
        assert (status, answer) == (403, b'{"message":"Missing Authentication Token"}')
        client.assert_closed_cleanly()
    finally:
        client.close()


def _escape_heavy_json(size: int) -> bytes:
    """A JSON body whose every other byte is escaped again in the Lambda event: `\\"` -> `\\\\\\"`."""
    return json.dumps({"transaction_id": '"' * (size // 2)}).encode()


def test_an_event_over_6_mb_is_a_500_on_a_connection_that_stays_usable(emulator: Emulator) -> None:
    """A 5 MB body passes API Gateway (10 MB), but its event (body JSON-escaped again, headers,
    requestContext) is ~10 MB: Lambda refuses the invoke and API Gateway answers 500."""
    body = _escape_heavy_json(5 * 1024 * 1024)
    assert 4.9 * 1024 * 1024 < len(body) < TEN_MB
    client = RawClient(emulator.port)
    try:
        client.send(_post("/echo", len(body), "Content-Type: application/json"), body)
        status, _, answer = client.answer()
        assert (status, answer) == (500, b'{"message": "Internal server error"}')
        client.send("GET /items/7 HTTP/1.1\r\nHost: localhost")  # the same connection still works
        status, _, answer = client.answer()
        assert status == 200
        assert json.loads(answer)["event"]["pathParameters"] == {"id": "7"}
    finally:
        client.close()
    client = RawClient(emulator.port)
    try:
        client.send(_post("/echo", len(body), "Content-Type: application/json", "Connection: close"), body)
        status, _, answer = client.answer()
        assert (status, answer) == (500, b'{"message": "Internal server error"}')
        client.assert_closed_cleanly()
    finally:
        client.close()


def test_the_limit_is_on_the_event_not_the_body(emulator: Emulator) -> None:
    """The same 5 MB without characters to escape makes an event under 6 MB: the function runs."""
    body = b'{"a": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    client = RawClient(emulator.port)
    try:
        client.send(_post("/sleep?s=0", len(body), "Content-Type: application/json"), body)
        status, _, answer = client.answer()
        assert status == 200, answer[:300]
        assert json.loads(answer)["slept"] == 0
    finally:
        client.close()


def test_every_gateway_answer_is_logged(emulator: Emulator) -> None:
    time.sleep(1.1)  # a second of its own: beyond 10 answers a second, the rest are summed up
    client = RawClient(emulator.port)
    try:
        client.send("GET /keyed HTTP/1.1\r\nHost: localhost")
        assert client.answer()[0] == 403
        client.send("GET /nowhere HTTP/1.1\r\nHost: localhost")
        assert client.answer()[0] == 403
        body = _escape_heavy_json(4 * 1024 * 1024)
        client.send(_post("/echo", len(body)), body)
        assert client.answer()[0] == 500
        statuses = []
        for _ in range(8):  # GET /throttled: burst 5
            client.send("GET /throttled HTTP/1.1\r\nHost: localhost")
            statuses.append(client.answer()[0])
        assert 429 in statuses
    finally:
        client.close()
    expected = [
        "gateway answered 403 ForbiddenException to GET /keyed from 127.0.0.1: no x-api-key header",
        "gateway answered 403 MissingAuthenticationTokenException to GET /nowhere from 127.0.0.1: no resource",
        "gateway answered 500 InternalServerErrorException to POST /echo from 127.0.0.1: Lambda refused the invoke",
        "gateway answered 429 TooManyRequestsException to GET /throttled from 127.0.0.1: method throttle",
    ]
    deadline = time.monotonic() + 5
    while not all(line in emulator.log() for line in expected) and time.monotonic() < deadline:
        time.sleep(0.1)
    log = emulator.log()
    for line in expected:
        assert line in log, f"{line!r} not in the log:\n{log[-3000:]}"


def test_the_413_is_logged_with_the_declared_size(emulator: Emulator) -> None:
    time.sleep(1.1)  # a second of its own (see above)
    client = RawClient(emulator.port)
    try:
        client.send(_post("/echo", TEN_MB + 5, "Expect: 100-continue"))  # the body is never sent
        status, _, _ = client.answer()
        assert status == 413
    finally:
        client.close()
    deadline = time.monotonic() + 5
    line = f"to POST /echo from 127.0.0.1: body of {TEN_MB + 5} bytes is over API Gateway's 10 MB payload quota"
    while line not in emulator.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert line in emulator.log()
