"""Run the local API Gateway + Lambda emulator (``python -m gateway_emulator``) as a real server.

The emulator runs in its own process group, like ``make serve``. Before stopping it, the runner
records every process below it (RIEs, Lambda runtimes); after it stopped, none of them may be
left: that is the orphan check, done by scanning /proc (no psutil needed).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gateway_emulator.ports import free_port
from tests.conftest import REPO_ROOT


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name is in parentheses and may hold spaces: split after the last ')'
    return int(stat.rsplit(")", 1)[1].split()[1])


def is_running(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def descendants(root: int) -> set[int]:
    """Every live process below ``root`` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parent = parent_of(int(entry))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry))
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return {pid for pid in found if is_running(pid)}


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class RunningEmulator:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    seen_below: set[int] = field(default_factory=set)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def note_processes(self) -> set[int]:
        """Remember the processes below the emulator now (for the orphan check at shutdown)."""
        now = descendants(self.process.pid)
        self.seen_below |= now
        return now


def wait_listening(port: int, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the emulator did not listen on {port} within {timeout_s} s:\n{log_path.read_text()[-3000:]}")


@contextmanager
def emulator(
    tmp_dir: Path,
    *args: str,
    template: Path = REPO_ROOT / "template.yaml",
    startup_timeout_s: float = 120.0,
) -> Iterator[RunningEmulator]:
    """Start the emulator on a free port with ``args``; stop it and prove nothing was left behind."""
    port = free_port()
    log_path = tmp_dir / f"emulator-{port}.log"
    command = [sys.executable, "-m", "gateway_emulator", "--template", str(template), "--port", str(port)]
    command += ["--log-level", "info", *args]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = RunningEmulator(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_listening(port, process, log_path, startup_timeout_s)
        running.note_processes()
        yield running
    finally:
        running.note_processes()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # what Ctrl-C on `make serve` sends
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        deadline = time.monotonic() + 5.0
        left = {pid for pid in running.seen_below if is_running(pid)}
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = {pid for pid in left if is_running(pid)}
        for pid in left:  # clean up before failing, so a failure leaves nothing behind either
            os.kill(pid, signal.SIGKILL)
        assert not left, "orphan processes after the emulator stopped: " + "; ".join(
            f"{pid}: {command_line(pid)[:200]}" for pid in left
        )
