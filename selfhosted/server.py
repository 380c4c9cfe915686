"""Run the protected app under gunicorn with uvicorn workers: ``python -m selfhosted``.

- one worker per usable CPU (``WEB_CONCURRENCY`` overrides): scoring is CPU-bound and each
  worker's event loop already serves many connections;
- graceful shutdown: SIGTERM stops accepting, in-flight requests get ``GRACEFUL_TIMEOUT_SECONDS``;
- keep-alive ``KEEPALIVE_SECONDS``; no ``preload_app``: the ONNX Runtime session is created in
  each worker after the fork (a session's thread pool does not survive ``fork``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from starlette.types import ASGIApp

from fraud_api.factory import Settings as ApiSettings
from fraud_api.telemetry import TelemetrySettings
from fraud_scoring.model import ModelLoadError, RuntimeOptions
from selfhosted.settings import ServerSettings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_dir(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """Point prometheus_client's multiprocess mode at an empty directory before any worker starts.

    Files left by an earlier run would be added to this run's counts, so the directory is emptied.
    """
    configured = environ.get(MULTIPROC_ENV)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix="fraud-metrics-"))
        environ[MULTIPROC_ENV] = str(directory)
    return directory


def _child_exit(server: Any, worker: Any) -> None:
    from selfhosted.metrics import mark_worker_dead

    mark_worker_dead(worker.pid)


class Server(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        super().__init__(prog="python -m selfhosted")

    def gunicorn_options(self) -> dict[str, Any]:
        s = self.settings
        options: dict[str, Any] = {
            "bind": [s.bind],
            "workers": s.workers,
            "worker_class": "selfhosted.worker.ServerWorker",
            "keepalive": s.keepalive_seconds,
            "graceful_timeout": s.graceful_timeout_seconds,
            "timeout": 30,  # a worker silent this long (stuck) is restarted
            "proc_name": "fraud-scoring",
            "child_exit": _child_exit,
            "control_socket_disable": True,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": os.environ.get("GUNICORN_LOG_LEVEL", "info"),
        }
        if Path("/dev/shm").is_dir():  # the heartbeat file; a disk-backed /tmp can stall it
            options["worker_tmp_dir"] = "/dev/shm"
        return options

    def load_config(self) -> None:
        for key, value in self.gunicorn_options().items():
            self.cfg.set(key, value)

    def load(self) -> ASGIApp:
        # Runs in each worker after the fork: the model is loaded once per worker process.
        from selfhosted.app import create_app

        return create_app(self.settings)


def main() -> None:
    try:
        settings = ServerSettings.from_env()
        # The app's own settings, read again by every worker: a bad one is refused here, once, in
        # one line, instead of as a traceback per worker. (Importing the app's modules here is not
        # preloading it: no model and no ONNX Runtime session exist before the fork.)
        ApiSettings.from_env()
        TelemetrySettings.from_env()
        RuntimeOptions.from_env()
    except (ValueError, ModelLoadError) as exc:  # SettingsError is a ValueError
        sys.stderr.write(f"selfhosted: {exc}\n")
        raise SystemExit(2) from exc
    created = MULTIPROC_ENV not in os.environ
    directory = prepare_metrics_dir()
    try:
        Server(settings).run()
    finally:
        if created:
            shutil.rmtree(directory, ignore_errors=True)
