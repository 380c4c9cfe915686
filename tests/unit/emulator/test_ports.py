"""A listen address that cannot be used is one clear sentence, with a port that is free."""

from __future__ import annotations

import re
import socket

import pytest

from gateway_emulator.ports import PortUnavailableError, bind_server_socket, free_port


def test_a_free_port_is_bound_not_yet_listening() -> None:
    port = free_port()
    sock = bind_server_socket("127.0.0.1", port)
    try:
        assert sock.getsockname() == ("127.0.0.1", port)
        with socket.socket() as probe:  # bound only: nothing accepts yet
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    finally:
        sock.close()


def test_a_busy_port_names_the_problem_and_a_free_port_to_use() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PortUnavailableError) as caught:
            bind_server_socket("127.0.0.1", port, "make serve SERVE_PORT={port}")
    message = str(caught.value)
    assert f"port {port} on 127.0.0.1 is already in use" in message
    assert "\n" not in message
    found = re.search(r"port (\d+) is free: make serve SERVE_PORT=(\d+)$", message)
    assert found is not None, message
    assert found.group(1) == found.group(2)
    assert int(found.group(1)) > port
    bind_server_socket("127.0.0.1", int(found.group(1))).close()  # it really is free


def test_an_address_not_on_this_machine_is_named() -> None:
    with pytest.raises(PortUnavailableError, match=r"cannot listen on 192\.0\.2\.1:3000: .*check the host address"):
        bind_server_socket("192.0.2.1", 3000)  # TEST-NET-1: never a local address
