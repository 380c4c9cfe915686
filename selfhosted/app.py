"""The self-hosted ASGI app: the fraud API's own app (``fraud_api.factory.create_app``) around the
model from ``$MODEL_DIR``, wrapped in metrics, throttling and the body limit.

``create_app()`` is also an app factory for other ASGI servers: ``uvicorn --factory selfhosted.app:create_app``.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from fraud_api.factory import Settings as ApiSettings
from fraud_api.factory import create_app as create_api
from fraud_scoring.challenger import load_challenger
from fraud_scoring.decision import load_pipeline
from selfhosted.metrics import MetricsMiddleware, PrometheusTelemetry
from selfhosted.protection import BodyLimitMiddleware, RequestIdMiddleware, ThrottleMiddleware
from selfhosted.settings import ServerSettings


def create_app(settings: ServerSettings | None = None) -> ASGIApp:
    """Load the model and build the protected app (one call per worker process)."""
    config = settings if settings is not None else ServerSettings.from_env()
    pipeline = load_pipeline()
    model = pipeline.model
    telemetry = PrometheusTelemetry(model.model_version)
    # CHALLENGER_* (docs/rollout.md): a challenger that cannot load logs one line and stays off.
    pipeline.attach_challenger(load_challenger(pipeline, logger=telemetry.logger))
    api_settings = ApiSettings.from_env()
    app: ASGIApp = create_api(pipeline, telemetry=telemetry, settings=api_settings)
    app = BodyLimitMiddleware(app, min(config.max_body_bytes, api_settings.max_body_bytes))
    if config.throttle is not None:
        app = ThrottleMiddleware(app, config.throttle, config.workers)
    telemetry.logger.info(
        "self-hosted app ready",
        extra={
            "model_version": model.model_version,
            "model_dir": str(model.model_dir),
            "policy_version": pipeline.policy_version,
            "challenger": None if pipeline.challenger is None else pipeline.challenger.describe(),
            "load_ms": model.load_ms,
            "workers": config.workers,
            "throttle": None if config.throttle is None else repr(config.throttle),
            "max_body_bytes": config.max_body_bytes,
        },
    )
    return RequestIdMiddleware(MetricsMiddleware(app))
