"""The emulator's command line as a user meets it: a busy port is one line, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.integration.emulator_harness import FIXTURE_TEMPLATE, ROOT


def test_a_busy_port_is_one_line_that_says_what_to_type() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "gateway_emulator", "--template", str(FIXTURE_TEMPLATE), "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    output = (done.stdout + done.stderr).strip()
    assert "Traceback" not in output
    assert "Errno" not in output
    lines = output.splitlines()
    assert len(lines) == 1, output
    assert f"port {port} on 127.0.0.1 is already in use" in lines[0]
    assert "make serve SERVE_PORT=" in lines[0]
