"""Loopback ports for the local processes this repository starts (emulator, RIE, servers, load tests)."""

from __future__ import annotations

import errno
import socket


class PortUnavailableError(Exception):
    """The listen address cannot be used; the message says why and what to type instead."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` at this moment, picked by the OS (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _next_free(host: str, port: int, tries: int = 100) -> int | None:
    for candidate in range(port + 1, min(port + 1 + tries, 65536)):
        try:
            _bind(host, candidate).close()
        except OSError:
            continue
        return candidate
    return None


def bind_server_socket(host: str, port: int, hint: str = "--port {port}") -> socket.socket:
    """A socket bound to ``host:port`` for a server to listen on, or PortUnavailableError with a one-line
    message (``hint`` formats the option that picks another port, e.g. ``make serve SERVE_PORT={port}``)."""
    try:
        return _bind(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            free = _next_free(host, port)
            instead = f"; port {free} is free: {hint.format(port=free)}" if free is not None else ""
            raise PortUnavailableError(
                f"port {port} on {host} is already in use (another server, or a `make serve` still running): "
                f"stop it or choose another port{instead}"
            ) from None
        if exc.errno == errno.EACCES:
            raise PortUnavailableError(
                f"no permission to listen on port {port} (ports below 1024 need root): {hint.format(port=3000)}"
            ) from None
        raise PortUnavailableError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; check the host address"
        ) from None
