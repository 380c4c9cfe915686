"""Lambda execution environments on the host, without Docker.

Each environment is one Runtime Interface Emulator process (the ``aws-lambda-rie`` binary shipped
inside the aws-sam-cli wheel) that runs ``python -m awslambdaric <handler>`` with the task root as
working directory: the same runtime interface client Lambda's Python runtime uses. The RIE serves
one invocation at a time (it fails on a concurrent one), which is exactly Lambda's model: an
execution environment handles one request at a time, and concurrency means more environments
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import logging
import math
import os
import platform
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from gateway_emulator.ports import free_port
from gateway_emulator.template import FunctionConfig

log = logging.getLogger("gateway_emulator.lambda")
report_log = logging.getLogger("gateway_emulator.report")

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
# Lambda's init phase may take up to 10 s before the invocation itself starts
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
INIT_TIMEOUT_S = 10.0
_KILL_GRACE_S = 2.0
_INIT_REPORT = re.compile(rb"INIT REPORT\(durationMs: ([0-9.]+)\)")
_START_LINE = re.compile(rb"^START RequestId: ([0-9a-f-]+)")
_RIE_SUMMARY = (b"START RequestId:", b"END RequestId:", b"REPORT RequestId:")


class Outcome(Enum):
    OK = "ok"  # the function returned (its payload may still be a malformed proxy response)
    FUNCTION_ERROR = "function_error"  # unhandled exception in the handler
    TIMEOUT = "timeout"  # the function ran past its configured timeout
    CRASH = "crash"  # the runtime process died (os._exit, segfault, OOM kill, ...)
    THROTTLED = "throttled"  # no environment free and the concurrency limit reached
    START_FAILED = "start_failed"  # the environment could not be created


@dataclass
class InvocationResult:
    outcome: Outcome
    payload: bytes = b""
    request_id: str = ""
    duration_ms: float = 0.0
    init_ms: float | None = None
    max_memory_mb: int = 0
    env_id: str = ""


def find_rie_binary() -> Path:
    """The RIE binary for this machine inside the installed samcli package."""
    spec = importlib.util.find_spec("samcli")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("aws-sam-cli is not installed: the Lambda RIE binary ships inside it")
    machine = platform.machine().lower()
    arch = "arm64" if machine in ("aarch64", "arm64") else "x86_64"
    binary = Path(next(iter(spec.submodule_search_locations))) / "local" / "rapid" / f"aws-lambda-rie-{arch}"
    if not binary.is_file():
        raise RuntimeError(f"RIE binary not found at {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # PR_SET_PDEATHSIG: the RIE gets SIGKILL if the emulator dies without cleaning up.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    # Go programs like the RIE fork from any thread: read every thread's children list.
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as fh:
                out.extend(int(p) for p in fh.read().split())
        except (OSError, ValueError):
            continue
    return out


def _peak_rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


@dataclass
class RuntimeSettings:
    """How environments are built: the Python running awslambdaric, region, extra variables."""

    python: str = sys.executable
    region: str = "us-east-1"
    host: str = "127.0.0.1"
    extra_env: dict[str, str] = field(default_factory=dict)


def map_opt_path(value: str, layer_dirs: Mapping[str, Path]) -> str:
    """Map ``/opt/<folder>/...`` onto a local layer: a layer's content is extracted under /opt on
    Lambda. Source layout: the layer folder *is* ``<folder>`` (``layers/model`` for /opt/model).
    Built layout (``sam build``): ``<folder>`` is inside the layer folder
    (``.aws-sam/build/ModelLayer/model``)."""
    if not value.startswith("/opt/"):
        return value
    head, _, rest = value[len("/opt/") :].partition("/")
    target = layer_dirs.get(head)
    if target is None:
        target = next((d / head for d in layer_dirs.values() if (d / head).is_dir()), None)
    if target is None:
        return value
    return str(target / rest) if rest else str(target)


def build_environment(fn: FunctionConfig, settings: RuntimeSettings) -> dict[str, str]:
    """The process environment of an execution environment (Lambda's reserved variables + the
    function's own, with /opt paths mapped to the layers' local folders)."""
    layer_dirs = {layer.source_dir.name: layer.source_dir for layer in fn.layers}
    python_paths = [str(fn.code_dir)]
    # The Python runtime puts /opt/python (and the versioned site-packages) of layers on sys.path.
    for layer in fn.layers:
        for sub in ("python", f"python/lib/{fn.runtime}/site-packages"):
            candidate = layer.source_dir / sub
            if candidate.is_dir():
                python_paths.append(str(candidate))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": os.pathsep.join(python_paths),
        "PYTHONUNBUFFERED": "1",
        "LAMBDA_TASK_ROOT": str(fn.code_dir),
        "_HANDLER": fn.handler,
        "AWS_REGION": settings.region,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": fn.logical_id,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(math.ceil(fn.timeout_s)),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.logical_id}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
    }
    for name, value in fn.environment.items():
        env[name] = map_opt_path(value, layer_dirs)
    # The model layer is mounted at /opt/model on Lambda; locally its folder is the model dir.
    if "MODEL_DIR" not in fn.environment:
        for layer in fn.layers:
            d = layer.source_dir
            if d.name == "model" or (d / "model.onnx").exists() or (d / "manifest.json").exists():
                env["MODEL_DIR"] = str(d)
                break
    env.update(settings.extra_env)
    return env


class ExecutionEnvironment:
    """One RIE + runtime process group; serves one invocation at a time."""

    def __init__(self, fn: FunctionConfig, settings: RuntimeSettings, rie: Path, index: int) -> None:
        self.fn = fn
        self.settings = settings
        self.rie = rie
        self.env_id = f"{fn.logical_id}-{index}"
        self.generation = 0  # the pool's generation it was started in (watch mode)
        self.proc: asyncio.subprocess.Process | None = None
        self.invocations = 0
        self.healthy = True
        self.last_used = time.monotonic()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._port = 0
        self._log_task: asyncio.Task[None] | None = None
        self._init_ms: float | None = None
        self._init_seen = asyncio.Event()
        self._rie_request_id = ""
        self._mem_pids: list[int] = []
        self._starts_seen = 0
        self._peak_mb = 0
        self._mem_sampled = 0.0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(self) -> None:
        self.healthy = True
        host = self.settings.host
        self._port = free_port(host)
        api_port = free_port(host)
        cmd = [
            str(self.rie),
            "--runtime-interface-emulator-address",
            f"{host}:{self._port}",
            "--runtime-api-address",
            f"{host}:{api_port}",
            self.settings.python,
            "-m",
            "awslambdaric",
            self.fn.handler,
        ]
        self.proc = await asyncio.create_subprocess_exec(
            *cmd,
            cwd=str(self.fn.code_dir),
            env=build_environment(self.fn, self.settings),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill the RIE and the runtime together
            preexec_fn=_die_with_parent,
        )
        _LIVE_GROUPS.add(self.proc.pid)
        self._log_task = asyncio.create_task(self._pump_logs())
        deadline = time.monotonic() + 10.0
        while True:
            try:
                self._reader, self._writer = await asyncio.open_connection(host, self._port)
                break
            except OSError:
                if self.proc.returncode is not None or time.monotonic() > deadline:
                    await self.stop()
                    raise RuntimeError(f"{self.env_id}: the RIE did not start listening") from None
                await asyncio.sleep(0.01)
        log.debug("%s: started RIE pid %s on port %s", self.env_id, self.proc.pid, self._port)

    async def _pump_logs(self) -> None:
        """Read the RIE's output in chunks (cheaper than a readline per line under load): pick up
        the init duration and request ids, forward the function's own lines to the log."""
        assert self.proc is not None
        assert self.proc.stdout is not None
        fn_log = logging.getLogger(f"gateway_emulator.function.{self.fn.logical_id}")
        debug = log.isEnabledFor(logging.DEBUG)
        stream = self.proc.stdout
        pending = b""
        while True:
            chunk = await stream.read(1 << 16)
            if not chunk:
                return
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if b"(rapid)" in line[:48]:
                    if not self._init_seen.is_set():
                        found = _INIT_REPORT.search(line)
                        if found:
                            self._init_ms = float(found.group(1))
                            self._init_seen.set()
                    if debug:
                        log.debug("%s: %s", self.env_id, line.decode(errors="replace").rstrip())
                elif line.startswith(_RIE_SUMMARY):
                    if line.startswith(b"START"):
                        started = _START_LINE.match(line)
                        if started:
                            self._rie_request_id = started.group(1).decode()
                            self._starts_seen += 1
                elif line:
                    fn_log.info("%s", line.decode(errors="replace").rstrip())

    async def _roundtrip(self, payload: bytes) -> tuple[int, bytes]:
        assert self._reader is not None
        assert self._writer is not None
        head = (
            f"POST {INVOKE_PATH} HTTP/1.1\r\nHost: {self.settings.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        self._writer.write(head + payload)
        await self._writer.drain()
        raw = await self._reader.readuntil(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, chunked = None, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value.strip())
            elif key == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            parts = []
            while True:
                size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    await self._reader.readuntil(b"\r\n")
                    break
                parts.append(await self._reader.readexactly(size))
                await self._reader.readexactly(2)
            return status, b"".join(parts)
        if length is None:
            return status, await self._reader.read()
        return status, await self._reader.readexactly(length)

    async def invoke(self, payload: bytes) -> InvocationResult:
        cold = self.invocations == 0
        self.invocations += 1
        started = time.perf_counter()
        limit = self.fn.timeout_s + (INIT_TIMEOUT_S if cold else 0.0) + _KILL_GRACE_S
        try:
            status, body = await asyncio.wait_for(self._roundtrip(payload), limit)
        except TimeoutError:
            outcome, body = Outcome.TIMEOUT, b""
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            outcome, body = Outcome.CRASH, b""
        else:
            if status != 200:
                outcome = Outcome.CRASH  # e.g. 502 Runtime.ExitError from the RIE
            elif body.startswith(b"Task timed out after"):
                outcome = Outcome.TIMEOUT
            elif body.startswith(b'{"errorMessage"') or body.startswith(b'{"errorType"'):
                outcome = Outcome.FUNCTION_ERROR
            else:
                outcome = Outcome.OK
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        init_ms = None
        if cold:
            # The RIE logs the init duration before it answers; give the log reader a moment.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._init_seen.wait(), 0.2)
            init_ms = self._init_ms
        if outcome in (Outcome.TIMEOUT, Outcome.CRASH):
            # Lambda discards an environment whose runtime timed out or died; the next request
            # gets a fresh one (cold start).
            self.healthy = False
        duration = max(0.0, elapsed_ms - (init_ms or 0.0))
        if outcome is Outcome.TIMEOUT:
            duration = self.fn.timeout_s * 1000.0  # Lambda reports the timeout itself
        # VmHWM only grows: sample it on cold starts, failures and at most every 250 ms (reading
        # /proc/<pid>/status on every request costs more than the rest of the bookkeeping).
        # A dead runtime has no /proc entry left: the peak seen so far is kept.
        now = time.monotonic()
        if cold or outcome is not Outcome.OK or now - self._mem_sampled >= 0.25:
            self._mem_sampled = now
            self._peak_mb = max(self._peak_mb, self.max_memory_mb(refresh=cold))
        return InvocationResult(
            outcome=outcome,
            payload=body,
            # The RIE's request id (the handler's context.aws_request_id) once its START line for
            # this invocation has been read; otherwise a fresh id rather than a stale one.
            request_id=self._rie_request_id if self._starts_seen == self.invocations else str(uuid.uuid4()),
            duration_ms=duration,
            init_ms=init_ms,
            max_memory_mb=self._peak_mb,
            env_id=self.env_id,
        )

    def max_memory_mb(self, refresh: bool = False) -> int:
        """Peak resident memory (VmHWM) of the runtime's processes: Lambda's Max Memory Used.
        The process tree is looked up again after a cold start (``refresh``), else reused."""
        if self.proc is None:
            return 0
        if refresh or not self._mem_pids:
            found, todo = [], _children(self.proc.pid)
            while todo:
                pid = todo.pop()
                found.append(pid)
                todo.extend(_children(pid))
            self._mem_pids = found
        return math.ceil(sum(_peak_rss_kb(pid) for pid in self._mem_pids) / 1024)

    async def stop(self) -> None:
        self.healthy = False
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), _KILL_GRACE_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        # The runtime may outlive the RIE for a moment: kill whatever is left in the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        _LIVE_GROUPS.discard(proc.pid)
        if self._log_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._log_task, 1.0)


# Process groups still alive, for the last-resort cleanup at interpreter exit.
_LIVE_GROUPS: set[int] = set()


def kill_all_groups() -> None:
    """Synchronous last resort (atexit, signal handlers): SIGKILL every environment's group."""
    for pgid in list(_LIVE_GROUPS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        _LIVE_GROUPS.discard(pgid)


@dataclass
class PoolSettings:
    concurrency: int | None = None  # None: the function's reserved concurrency, else DEFAULT
    warm_pool: int = 0  # environments started and initialised eagerly, kept through idle reaping
    idle_timeout_s: float = 600.0


DEFAULT_CONCURRENCY = 10


class FunctionPool:
    """The execution environments of one function: warm reuse, on-demand scale-out up to the
    concurrency limit, replacement after timeouts and crashes, reaping of idle environments."""

    def __init__(
        self, fn: FunctionConfig, runtime: RuntimeSettings, pool: PoolSettings, rie: Path | None = None
    ) -> None:
        self.fn = fn
        self.runtime = runtime
        self.settings = pool
        self.rie = rie or find_rie_binary()
        if pool.concurrency is not None:
            self.limit = pool.concurrency
        elif fn.reserved_concurrency is not None:
            self.limit = fn.reserved_concurrency
        else:
            self.limit = DEFAULT_CONCURRENCY
        self._envs: set[ExecutionEnvironment] = set()
        self._idle: list[ExecutionEnvironment] = []  # LIFO: the most recently used is reused first
        self._counter = 0
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False
        # The event of the warm-up invocation that initialises warm-pool environments (set by the
        # gateway: a GET route without side effects). None: warm-pool environments only get their
        # RIE started, and the runtime's init runs on their first real request.
        self.warm_up_event: bytes | None = None
        self._preparing: set[asyncio.Task[float | None]] = set()
        # Watch mode: renew() starts a new generation; environments of an older one are stopped
        # when idle, or once their in-flight invocation has answered.
        self.generation = 0
        self._stopping: set[asyncio.Task[None]] = set()

    @property
    def size(self) -> int:
        return len(self._envs)

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    def pids(self) -> list[int]:
        return [e.pid for e in self._envs if e.pid is not None]

    def _new_env(self) -> ExecutionEnvironment:
        self._counter += 1
        env = ExecutionEnvironment(self.fn, self.runtime, self.rie, self._counter)
        env.generation = self.generation
        self._envs.add(env)
        return env

    def _stop_later(self, env: ExecutionEnvironment) -> None:
        # The event loop keeps only weak references to tasks: hold the stop until it is done.
        task = asyncio.get_running_loop().create_task(env.stop())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    def renew(self, reason: str, fn: FunctionConfig | None = None) -> None:
        """New requests go to environments started from the current files (and ``fn``, the
        function's settings from a changed template): idle environments are stopped now, busy
        ones once their invocation has answered, so no in-flight request fails."""
        if fn is not None:
            self.fn = fn
        self.generation += 1
        stale_idle, self._idle = self._idle, []
        for env in stale_idle:
            self._envs.discard(env)
            self._stop_later(env)
        busy = sum(1 for env in self._envs if env.generation != self.generation)
        log.info(
            "function %s: %s: new environments start from the changed files (%d idle stopped, %d busy retire "
            "after their request)",
            self.fn.logical_id,
            reason,
            len(stale_idle),
            busy,
        )
        if not self._closed:
            self._replenish()

    async def start(self) -> None:
        """Start the warm pool and initialise it, like provisioned concurrency: the RIE only runs
        the runtime's init (imports, model load) on an environment's first invocation, so each
        warm-pool environment gets one warm-up invocation before it takes traffic."""
        eager = min(self.settings.warm_pool, self.limit)
        envs = [self._new_env() for _ in range(eager)]
        inits = await asyncio.gather(*(self._prepare(e) for e in envs))
        ready = [ms for ms in inits if ms is not None]
        if eager:
            shown = ", ".join(f"{ms:.0f}" for ms in ready if not math.isnan(ms)) or "-"
            log.info(
                "function %s: warm pool %d/%d ready (%s), Init Duration ms: %s",
                self.fn.logical_id,
                len(ready),
                eager,
                "initialised by a warm-up invocation" if self.warm_up_event is not None else "RIE started only",
                shown,
            )
        self._reaper = asyncio.create_task(self._reap_idle())

    async def _prepare(self, env: ExecutionEnvironment) -> float | None:
        """Start a warm-pool environment and run the warm-up invocation on it; on success it joins
        the idle list and its Init Duration (NaN when not initialised) is returned, else None.
        The warm-up is logged on its own line, never as a REPORT (it is not a client request)."""
        try:
            await env.start()
        except Exception as exc:
            self._envs.discard(env)
            log.error("%s: could not start: %s", env.env_id, exc)
            return None
        init_ms = math.nan
        if self.warm_up_event is not None:
            result = await env.invoke(self.warm_up_event)
            if result.outcome is not Outcome.OK:
                log.error("%s: warm-up invocation failed (%s): environment discarded", env.env_id, result.outcome.value)
                self._envs.discard(env)
                await env.stop()
                return None
            init_ms = result.init_ms if result.init_ms is not None else math.nan
            log.info(
                "%s: WARM-UP (not a REPORT) Init Duration: %.2f ms\twarm-up invocation: %.2f ms",
                env.env_id,
                init_ms,
                result.duration_ms,
            )
        if self._closed or env.generation != self.generation:
            # closed, or the files changed while it initialised (watch mode): never serve old code
            self._envs.discard(env)
            await env.stop()
            if not self._closed:
                self._replenish()
            return None
        env.last_used = time.monotonic()
        self._idle.append(env)
        return init_ms

    def _replenish(self) -> None:
        """Keep the warm pool at its size after a timeout, a crash or watch mode discarded an
        environment: the replacement is started and initialised in the background, off the request path."""
        missing = min(self.settings.warm_pool, self.limit) - len(self._envs)
        for _ in range(max(0, missing)):
            env = self._new_env()
            log.info("%s: replacing a lost or retired warm-pool environment", env.env_id)
            task = asyncio.get_running_loop().create_task(self._prepare(env))
            self._preparing.add(task)
            task.add_done_callback(self._preparing.discard)

    async def _reap_idle(self) -> None:
        period = max(0.05, min(5.0, self.settings.idle_timeout_s / 4))
        while not self._closed:
            await asyncio.sleep(period)
            now = time.monotonic()
            keep = self.settings.warm_pool
            for env in list(self._idle):
                if len(self._envs) <= keep:
                    break
                if now - env.last_used >= self.settings.idle_timeout_s:
                    self._idle.remove(env)
                    self._envs.discard(env)
                    log.info("%s: reaped after %.0f s idle", env.env_id, now - env.last_used)
                    await env.stop()

    async def invoke(self, payload: bytes) -> InvocationResult:
        if self._closed:
            return InvocationResult(Outcome.START_FAILED)
        env = self._idle.pop() if self._idle else None
        # A warm-pool replacement still initialising holds a slot of the limit: wait for it rather
        # than refuse the request (it stands for an environment Lambda would already have ready).
        while env is None and len(self._envs) >= self.limit and self._preparing:
            await asyncio.wait(set(self._preparing), return_when=asyncio.FIRST_COMPLETED)
            env = self._idle.pop() if self._idle else None
        if env is None:
            if len(self._envs) >= self.limit:
                return InvocationResult(Outcome.THROTTLED)
            env = self._new_env()
            for attempt in (1, 2):  # a second try covers losing a free port to another process
                try:
                    await env.start()
                    break
                except Exception as exc:
                    log.error("%s: could not start (attempt %d): %s", env.env_id, attempt, exc)
                    if attempt == 2:
                        self._envs.discard(env)
                        return InvocationResult(Outcome.START_FAILED)
        try:
            result = await env.invoke(payload)
        except BaseException:
            env.healthy = False
            raise
        finally:
            env.last_used = time.monotonic()
            if env.healthy and not self._closed and env.generation == self.generation:
                self._idle.append(env)
            else:  # failed, or retired by renew() while it served this request
                self._envs.discard(env)
                self._stop_later(env)
                if not self._closed:
                    self._replenish()
        self._report(result)
        return result

    def _report(self, r: InvocationResult) -> None:
        billed = math.ceil(r.duration_ms)
        line = (
            f"REPORT RequestId: {r.request_id}\tDuration: {r.duration_ms:.2f} ms\t"
            f"Billed Duration: {billed} ms\tMemory Size: {self.fn.memory_mb} MB\t"
            f"Max Memory Used: {r.max_memory_mb} MB"
        )
        if r.init_ms is not None:
            line += f"\tInit Duration: {r.init_ms:.2f} ms"
        if r.outcome is not Outcome.OK:
            line += f"\tStatus: {r.outcome.value}"
        report_log.info("%s", line)
        if r.max_memory_mb > self.fn.memory_mb:
            log.warning(
                "%s used %d MB, over its %d MB MemorySize (Lambda would have killed it)",
                r.env_id,
                r.max_memory_mb,
                self.fn.memory_mb,
            )

    async def close(self) -> None:
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        preparing = list(self._preparing)
        for task in preparing:
            task.cancel()
        await asyncio.gather(*preparing, return_exceptions=True)
        envs = list(self._envs)
        self._envs.clear()
        self._idle.clear()
        await asyncio.gather(*(e.stop() for e in envs), *self._stopping, return_exceptions=True)
