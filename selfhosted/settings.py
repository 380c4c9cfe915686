"""Server settings, read once from the environment; every knob has a safe default.

The variables (``HOST``, ``PORT``, ``WEB_CONCURRENCY``, ``THROTTLE_*``, ``BATCH_THROTTLE_*``,
``DOCS_THROTTLE_*``, ``THROTTLE_SCOPE``, ``MAX_BODY_BYTES``, ``KEEPALIVE_SECONDS``,
``GRACEFUL_TIMEOUT_SECONDS``) are described in docs/container.md. The throttling defaults are the
parameter defaults of the API Gateway stage in ``template.yaml`` (a test keeps them equal).

A challenger model (``CHALLENGER_MODE``, ``CHALLENGER_SHARE``, ``CHALLENGER_STICKY_KEY``,
``CHALLENGER_MODEL_DIR``; docs/rollout.md) is read by the app itself
(``fraud_scoring.challenger.ChallengerSettings``), the same way on every host: a bad value disables the
challenger with one log line instead of stopping the server.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 8080
DEFAULT_THROTTLE = (5000.0, 1000)  # template.yaml ThrottleRateLimit / ThrottleBurstLimit
DEFAULT_BATCH_THROTTLE = (500.0, 100)  # BatchThrottleRateLimit / BatchThrottleBurstLimit
DEFAULT_DOCS_THROTTLE = (10.0, 20)  # DocsThrottleRateLimit / DocsThrottleBurstLimit
# Lambda's synchronous payload limit, the same as the app's own default.
DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024
DEFAULT_KEEPALIVE_SECONDS = 75
DEFAULT_GRACEFUL_TIMEOUT_SECONDS = 20
THROTTLE_SCOPES = ("split", "worker")
_OFF = {"off", "none", "disabled", "false"}


class SettingsError(ValueError):
    """An environment variable holds a value the server cannot use."""


def usable_cpus(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may use: the affinity mask, capped by a cgroup v2 CPU quota (containers)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = (cgroup_root / "cpu.max").read_text(encoding="ascii").split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not an integer") from exc
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a number") from exc
    if not (math.isfinite(value) and value > 0):
        raise SettingsError(f"{name}={raw!r} must be a positive number")
    return value


@dataclass(frozen=True)
class Limit:
    """A server-wide steady rate (requests/s) and burst (bucket size), as on an API Gateway stage."""

    rate: float
    burst: int

    def per_worker(self, workers: int, scope: str) -> Limit:
        """What one of ``workers`` processes enforces so that together they add up to this limit."""
        if scope == "worker" or workers <= 1:
            return self
        return Limit(self.rate / workers, max(1, math.ceil(self.burst / workers)))


@dataclass(frozen=True)
class ThrottleSettings:
    default: Limit  # every throttled route without its own limit (the stage's "/*" setting)
    batch: Limit  # POST /predict/batch
    docs: Limit  # GET /docs, GET /openapi.json
    scope: str


def _limit(env: Mapping[str, str], prefix: str, default: tuple[float, int]) -> Limit:
    return Limit(_rate(env, f"{prefix}_RATE", default[0]), _int(env, f"{prefix}_BURST", default[1], 1))


def throttle_from_env(env: Mapping[str, str]) -> ThrottleSettings | None:
    if env.get("THROTTLE_RATE", "").strip().lower() in _OFF:
        return None
    scope = env.get("THROTTLE_SCOPE", "").strip().lower() or "split"
    if scope not in THROTTLE_SCOPES:
        raise SettingsError(f"THROTTLE_SCOPE={scope!r} must be one of {', '.join(THROTTLE_SCOPES)}")
    return ThrottleSettings(
        default=_limit(env, "THROTTLE", DEFAULT_THROTTLE),
        batch=_limit(env, "BATCH_THROTTLE", DEFAULT_BATCH_THROTTLE),
        docs=_limit(env, "DOCS_THROTTLE", DEFAULT_DOCS_THROTTLE),
        scope=scope,
    )


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    workers: int
    throttle: ThrottleSettings | None
    max_body_bytes: int
    keepalive_seconds: int
    graceful_timeout_seconds: int

    @property
    def bind(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if env is None else env
        return cls(
            # In a container the server must listen on all interfaces; on a host, set HOST=127.0.0.1.
            host=env.get("HOST", "").strip() or "0.0.0.0",
            port=_int(env, "PORT", DEFAULT_PORT, 0),
            workers=_int(env, "WEB_CONCURRENCY", usable_cpus(), 1),
            throttle=throttle_from_env(env),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024),
            keepalive_seconds=_int(env, "KEEPALIVE_SECONDS", DEFAULT_KEEPALIVE_SECONDS, 1),
            graceful_timeout_seconds=_int(env, "GRACEFUL_TIMEOUT_SECONDS", DEFAULT_GRACEFUL_TIMEOUT_SECONDS, 1),
        )
