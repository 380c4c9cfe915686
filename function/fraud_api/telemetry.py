"""Logs, metrics and optional tracing with Powertools for AWS Lambda.

- JSON logs (Powertools ``Logger``, serialised with orjson), correlated by the API Gateway request id.
- One decision log line per scored transaction: request id, transaction id, model version, score,
  decision, latency. Raw features only when ``DECISION_LOG_FEATURES=true`` (they are sensitive).
- CloudWatch EMF metrics (Powertools ``Metrics``) with a ``model_version`` dimension: ``Predictions``,
  ``FlaggedFrauds``, ``InferenceLatency``, ``BatchSize``; flushed once per invocation.
- X-Ray tracing through Powertools ``Tracer`` when ``TRACING_ENABLED=true`` (needs ``aws-xray-sdk``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

DEFAULT_SERVICE = "fraud-scoring"
DEFAULT_NAMESPACE = "FraudScoring"

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def env_flag(name: str, default: bool = False, environ: dict[str, str] | None = None) -> bool:
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _orjson_text(data: dict[str, Any]) -> str:
    return orjson.dumps(data, default=str).decode()


class Telemetry:
    """The service's logger, metrics and (optional) tracer, shared by the app and the handler."""

    def __init__(self, model_version: str, *, log_features: bool | None = None, tracing: bool | None = None):
        self.model_version = model_version
        self.service = os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE
        self.logger = Logger(service=self.service, json_serializer=_orjson_text, utc=True)
        self.metrics = Metrics(
            service=self.service,
            namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
        )
        self.metrics.set_default_dimensions(model_version=model_version)
        self.log_features = env_flag("DECISION_LOG_FEATURES") if log_features is None else log_features
        self.tracer: Any = None
        if env_flag("TRACING_ENABLED") if tracing is None else tracing:
            self.tracer = self._make_tracer()
        self._static_context_added = False

    def _make_tracer(self) -> Any:
        try:
            from aws_lambda_powertools import Tracer  # deferred: X-Ray SDK import is slow and optional

            return Tracer(service=self.service)
        except ImportError as exc:
            self.logger.error(
                "TRACING_ENABLED is set but the X-Ray SDK is not installed; tracing stays off",
                extra={"error": str(exc)},
            )
            return None

    # -- per transaction ------------------------------------------------------------------------------

    def decisions(
        self,
        request_id: str | None,
        route: str,
        transaction_ids: Sequence[str | None],
        scores: Sequence[float],
        threshold: float,
        latency_ms: float,
        features: Sequence[Sequence[float]] | None = None,
    ) -> int:
        """Log one decision line per transaction and record the metrics; return the number flagged."""
        flagged = 0
        info = self.logger.info
        for position, score in enumerate(scores):
            is_fraud = score >= threshold
            flagged += is_fraud
            line: dict[str, Any] = {
                "request_id": request_id,
                "route": route,
                "transaction_id": transaction_ids[position],
                "model_version": self.model_version,
                "fraud_score": score,
                "is_fraud": is_fraud,
                "threshold": threshold,
                "latency_ms": latency_ms,
            }
            if self.log_features and features is not None:
                line["features"] = list(features[position])
            info("decision", extra=line)
        add = self.metrics.add_metric
        add(name="Predictions", unit=MetricUnit.Count, value=len(scores))
        add(name="FlaggedFrauds", unit=MetricUnit.Count, value=flagged)
        add(name="InferenceLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
        if route == "/predict/batch":
            add(name="BatchSize", unit=MetricUnit.Count, value=len(scores))
        return flagged

    def rejected(self, request_id: str | None, route: str, status: int, code: str, message: str) -> None:
        self.logger.warning(
            "request rejected",
            extra={
                "request_id": request_id,
                "route": route,
                "status": status,
                "error": code,
                "detail": message,
            },
        )
        self.metrics.add_metric(name="RejectedRequests", unit=MetricUnit.Count, value=1)

    # -- per Lambda invocation ------------------------------------------------------------------------

    def wrap_lambda_handler(self, inner: LambdaHandler) -> LambdaHandler:
        """Correlate logs with the request id, flush metrics after each invocation, trace if enabled.

        Written out instead of stacking the Powertools decorators: the same behaviour in a few
        microseconds per invocation (see BENCHMARKS.md).
        """
        logger = self.logger
        metrics = self.metrics
        cold = [True]

        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            request_context = event.get("requestContext") if type(event) is dict else None
            request_id = request_context.get("requestId") if type(request_context) is dict else None
            logger.set_correlation_id(request_id)
            if context is not None:
                if not self._static_context_added:
                    logger.append_keys(
                        function_name=getattr(context, "function_name", None),
                        function_memory_size=getattr(context, "memory_limit_in_mb", None),
                        function_arn=getattr(context, "invoked_function_arn", None),
                    )
                    self._static_context_added = True
                logger.append_keys(function_request_id=getattr(context, "aws_request_id", None))
            logger.append_keys(cold_start=cold[0])
            cold[0] = False
            try:
                return inner(event, context)
            finally:
                if metrics.metric_set:
                    metrics.flush_metrics()

        if self.tracer is not None:
            traced: LambdaHandler = self.tracer.capture_lambda_handler(handler)
            return traced
        return handler
