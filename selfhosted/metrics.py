"""Prometheus metrics for the self-hosted server, correct across gunicorn's worker processes.

With several workers each process counts on its own; prometheus_client's multiprocess mode keeps
the values in memory-mapped files under ``$PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` (answered by
any worker) adds them up. That variable must be set before ``prometheus_client`` is imported, so
the server entry point (``python -m selfhosted``) sets it in the master before any worker starts,
and marks a dead worker's files (``mark_worker_dead``) so its live gauges disappear.
Without the variable (one process, tests) the ordinary in-process registry is used.

Series (all prefixed ``fraud_``):
- ``http_requests_total{method,route,status}``: every answer, including 429 and 413 from the protection layer;
- ``http_request_duration_seconds{method,route}``: time in the server, from the first byte the
  application sees to the last byte it sends (a histogram with sub-millisecond buckets);
- ``predictions_total`` and ``flagged_total``: transactions scored and those at or above the threshold;
- ``decisions_total{outcome}``: transactions per policy outcome (APPROVE, REVIEW, DECLINE by default);
- ``inference_duration_seconds``: ONNX Runtime time per scoring call;
- ``model_info{model_version}``: 1 for the loaded model;
- ``drift_psi{feature}`` and ``score_drift_psi``: the PSI of the last closed drift window (any worker's
  latest: each worker counts its own windows of ``DRIFT_WINDOW`` transactions; docs/monitoring.md).
- ``challenger_predictions_total{mode}`` and ``challenger_agreements_total``: transactions a challenger
  model also decided (mode shadow or ab) and those where it reached the champion's outcome (their
  ratio is the agreement rate; docs/rollout.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fraud_api.telemetry import Telemetry
from fraud_scoring.decision import Decision
from fraud_scoring.drift import DriftWindow

METRICS_PATH = "/metrics"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
ROUTES = frozenset({"/predict", "/predict/batch", "/health", "/model", "/docs", "/openapi.json", METRICS_PATH})
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
# One row scores in ~10 us and a request takes well under a millisecond: resolve that range.
LATENCY_BUCKETS = (0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

REQUESTS = Counter("fraud_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "fraud_http_request_duration_seconds", "Time to answer a request", ["method", "route"], buckets=LATENCY_BUCKETS
)
PREDICTIONS = Counter("fraud_predictions", "Transactions scored")
FLAGGED = Counter("fraud_flagged", "Transactions scored at or above the fraud threshold")
DECISIONS = Counter("fraud_decisions", "Transactions decided, per policy outcome", ["outcome"])
INFERENCE = Histogram("fraud_inference_duration_seconds", "ONNX Runtime time per scoring call", buckets=LATENCY_BUCKETS)
CHALLENGER_PREDICTIONS = Counter(
    "fraud_challenger_predictions", "Transactions also decided by the challenger model", ["mode"]
)
CHALLENGER_AGREEMENTS = Counter(
    "fraud_challenger_agreements", "Transactions where the challenger reached the champion's outcome"
)
MODEL_INFO = Gauge("fraud_model_info", "The loaded model (value 1)", ["model_version"], multiprocess_mode="max")
# The most recent window of any live worker: a gauge per worker would show stale windows side by side.
DRIFT_PSI = Gauge(
    "fraud_drift_psi", "PSI of each feature over the last drift window", ["feature"], multiprocess_mode="livemostrecent"
)
SCORE_DRIFT_PSI = Gauge(
    "fraud_score_drift_psi", "PSI of the fraud score over the last drift window", multiprocess_mode="livemostrecent"
)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def render() -> bytes:
    """The exposition text: summed over all workers in multiprocess mode."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def mark_worker_dead(pid: int) -> None:
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class PrometheusTelemetry(Telemetry):
    """The app's telemetry (decision logs) with Prometheus counters in place of EMF metrics."""

    def __init__(self, model_version: str, **kwargs: Any) -> None:
        super().__init__(model_version, **kwargs)
        MODEL_INFO.labels(model_version=model_version).set(1)
        self._decision_counters: dict[str, Any] = {}

    def decisions(
        self,
        request_id: str | None,
        route: str,
        transaction_ids: Sequence[str | None],
        decisions: Sequence[Decision],
        latency_ms: float,
        features: Sequence[Sequence[float]] | None = None,
    ) -> int:
        flagged = super().decisions(request_id, route, transaction_ids, decisions, latency_ms, features)
        PREDICTIONS.inc(len(decisions))
        if flagged:
            FLAGGED.inc(flagged)
        INFERENCE.observe(latency_ms / 1000.0)
        return flagged

    def drift_window_closed(self, window: DriftWindow) -> None:
        super().drift_window_closed(window)  # the drift log line
        for feature, value in window.feature_psi.items():
            DRIFT_PSI.labels(feature=feature).set(value)
        SCORE_DRIFT_PSI.set(window.score_psi)

    def challenger_decisions(self, scored: int, agreed: int) -> None:
        CHALLENGER_PREDICTIONS.labels(mode=self.challenger_mode).inc(scored)
        if agreed:
            CHALLENGER_AGREEMENTS.inc(agreed)

    def count_outcomes(self, decisions: Sequence[Decision]) -> None:
        if len(decisions) == 1:
            outcomes = {decisions[0].outcome: 1}
        else:  # one increment per outcome: each one writes the worker's memory-mapped file
            outcomes = {}
            for decision in decisions:
                outcomes[decision.outcome] = outcomes.get(decision.outcome, 0) + 1
        counters = self._decision_counters
        for outcome, count in outcomes.items():
            counter = counters.get(outcome)
            if counter is None:
                counter = counters[outcome] = DECISIONS.labels(outcome=outcome)
            counter.inc(count)

    def add_metric(self, name: str, unit: str, value: float) -> None:
        """CloudWatch EMF values are dropped: on Lambda they are flushed once per invocation, in a
        long-lived server they would be printed every 100 values to no one; Prometheus carries them."""
        return None


class MetricsMiddleware:
    """Counts and times every HTTP request and answers ``GET /metrics``; the outermost layer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._histograms: dict[tuple[str, str], Any] = {}

    def _record(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = REQUESTS.labels(method=method, route=route, status=str(status))
        counter.inc()
        histogram = self._histograms.get((method, route))
        if histogram is None:
            histogram = self._histograms[(method, route)] = LATENCY.labels(method=method, route=route)
        histogram.observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        method = scope["method"] if scope["method"] in METHODS else "other"
        route = path if path in ROUTES else "other"
        if path == METRICS_PATH and method in ("GET", "HEAD"):
            body = render()
            headers = [(b"content-type", CONTENT_TYPE_LATEST.encode()), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body if method == "GET" else b""})
            self._record(method, route, 200, time.perf_counter() - started)
            return
        status = 500  # what the client gets if the app fails before it starts a response

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            self._record(method, route, status, time.perf_counter() - started)
