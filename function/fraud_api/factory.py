"""Build the FastAPI app around a loaded model: ``create_app(model)``.

The Lambda handler, the local emulator, the self-hosted server and the tests all build the same
app through this function; only ``fraud_api.app`` loads the model from the environment.

Speed notes (measured in benchmarks/bench_function.py, figures in BENCHMARKS.md):
- the two scoring routes are Starlette ``Route``s on the FastAPI app's router: FastAPI's
  per-request dependency solving is skipped, while its middleware, exception handlers and
  documentation still apply (their OpenAPI operations are merged in by ``openapi_spec.py``);
- the body is parsed with orjson and checked by ``validation.py`` with precise messages, and the
  answer is serialised with orjson, so no pydantic model runs per request;
- the pydantic models that document the contract are imported only when the OpenAPI document is
  first asked for (``openapi.py``), not at cold start.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from fraud_api.telemetry import Telemetry
from fraud_api.validation import (
    RequestError,
    check_content_type,
    parse_batch,
    parse_predict,
)
from fraud_scoring.model import FraudModel

# Lambda's synchronous invocation payload limit is 6 MB; the app enforces it on every host.
DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024
# 1,000 transactions of named features are ~1 MB in and ~0.2 MB out: far inside Lambda's 6 MB
# both ways, and scored in one ONNX Runtime call of about a millisecond.
DEFAULT_MAX_BATCH_ITEMS = 1000
HARD_MAX_BATCH_ITEMS = 5000


@dataclass(frozen=True)
class Settings:
    max_batch_items: int = DEFAULT_MAX_BATCH_ITEMS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @classmethod
    def from_env(cls) -> Settings:
        items = _int_setting("BATCH_MAX_ITEMS", DEFAULT_MAX_BATCH_ITEMS)
        if not 1 <= items <= HARD_MAX_BATCH_ITEMS:
            raise ValueError(f"BATCH_MAX_ITEMS={items} must be between 1 and {HARD_MAX_BATCH_ITEMS}")
        body = _int_setting("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)
        if body < 1024:
            raise ValueError(f"MAX_BODY_BYTES={body} must be at least 1024")
        return cls(max_batch_items=items, max_body_bytes=body)


def _int_setting(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None


_JSON = "application/json"


def _json_response(data: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=_JSON)


def request_id_of(request: Request) -> str | None:
    """API Gateway's request id (REST, HTTP API, Function URL) or the caller's ``x-request-id``."""
    event = request.scope.get("aws.event")
    if type(event) is dict:
        context = event.get("requestContext")
        if type(context) is dict:
            value = context.get("requestId")
            if isinstance(value, str):
                return value
    return request.headers.get("x-request-id")


def create_app(model: FraudModel, *, telemetry: Telemetry | None = None, settings: Settings | None = None) -> FastAPI:
    config = settings if settings is not None else Settings.from_env()
    observe = telemetry if telemetry is not None else Telemetry(model.model_version)
    names = model.feature_names
    index = {name: position for position, name in enumerate(names)}
    threshold = model.threshold
    version = model.model_version
    max_body = config.max_body_bytes
    max_items = config.max_batch_items

    app = FastAPI(
        title="Fraud scoring API",
        version=version,
        description=(
            "Real-time card-fraud scoring. Feature names, their order and the decision threshold come "
            "from the model manifest (`GET /model`). Errors are JSON: `error`, `message` and `errors` "
            "(one entry per bad field, naming the field and the problem)."
        ),
        docs_url="/docs",
        redoc_url=None,
        # Observability is Powertools' job here; FastAPI's native OpenTelemetry hooks would only add
        # a per-request provider check.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.model = model
    app.state.telemetry = observe
    app.state.settings = config

    def refuse(request: Request, route: str, error: RequestError) -> Response:
        body = error.body()
        request_id = request_id_of(request)
        body["request_id"] = request_id
        observe.rejected(request_id, route, error.status, error.code, error.message)
        return _json_response(body, error.status)

    async def predict(request: Request) -> Response:
        try:
            check_content_type(request.headers.get("content-type"))
            transaction = parse_predict(await request.body(), names, index, max_body)
        except RequestError as error:
            return refuse(request, "/predict", error)
        started = time.perf_counter()
        score = model.score_one(transaction.features)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        is_fraud = score >= threshold
        answer: dict[str, Any] = {
            "fraud_score": score,
            "is_fraud": is_fraud,
            "threshold": threshold,
            "model_version": version,
            "inference_time_ms": round(elapsed_ms, 4),
        }
        if transaction.transaction_id is not None:
            answer["transaction_id"] = transaction.transaction_id
        observe.decisions(
            request_id_of(request),
            "/predict",
            (transaction.transaction_id,),
            (score,),
            threshold,
            elapsed_ms,
            (transaction.features,),
        )
        return _json_response(answer)

    async def predict_batch(request: Request) -> Response:
        try:
            check_content_type(request.headers.get("content-type"))
            transactions = parse_batch(await request.body(), names, index, max_body, max_items)
        except RequestError as error:
            return refuse(request, "/predict/batch", error)
        rows = [transaction.features for transaction in transactions]
        ids = [transaction.transaction_id for transaction in transactions]
        started = time.perf_counter()
        scores = model.score_many(rows)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        results = []
        for transaction_id, score in zip(ids, scores, strict=True):
            item: dict[str, Any] = {"fraud_score": score, "is_fraud": score >= threshold}
            if transaction_id is not None:
                item["transaction_id"] = transaction_id
            results.append(item)
        observe.decisions(request_id_of(request), "/predict/batch", ids, scores, threshold, elapsed_ms, rows)
        return _json_response(
            {
                "results": results,
                "count": len(results),
                "threshold": threshold,
                "model_version": version,
                "inference_time_ms": round(elapsed_ms, 4),
            }
        )

    app.router.routes.append(Route("/predict", predict, methods=["POST"], name="predict"))
    app.router.routes.append(Route("/predict/batch", predict_batch, methods=["POST"], name="predict_batch"))

    health_body = orjson.dumps({"status": "ok", "model_version": version})

    @app.get("/health", summary="Liveness and the loaded model's version", tags=["service"])
    async def health() -> Response:
        return Response(health_body, media_type=_JSON)

    model_body = orjson.dumps(model.describe())

    @app.get("/model", summary="The loaded model: version, features, threshold, metrics", tags=["service"])
    async def model_info() -> Response:
        return Response(model_body, media_type=_JSON)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed"}
        code = codes.get(exc.status_code, "http_error")
        message = f"{request.method} {request.url.path}: {exc.detail}"
        body: dict[str, Any] = {
            "error": code,
            "message": message,
            "errors": [],
            "request_id": request_id_of(request),
        }
        return Response(orjson.dumps(body), status_code=exc.status_code, media_type=_JSON, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        observe.logger.exception("unhandled error", extra={"path": request.url.path})
        body: dict[str, Any] = {
            "error": "internal_error",
            "message": "the service failed to handle this request; it has been logged",
            "errors": [],
            "request_id": request_id_of(request),
        }
        return _json_response(body, 500)

    from fraud_api.openapi_spec import install_openapi

    install_openapi(app, model, config)
    return app
