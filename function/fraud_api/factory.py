"""Build the FastAPI app around a loaded model: ``create_app(model)``.

The Lambda handler, the local emulator, the self-hosted server and the tests all build the same
app through this function; only ``fraud_api.app`` loads the model from the environment.

Speed notes (measured in benchmarks/bench_function.py, figures in BENCHMARKS.md):
- the two scoring routes are Starlette ``Route``s on the FastAPI app's router: FastAPI's
  per-request dependency solving is skipped, while its middleware, exception handlers and
  documentation still apply (their operations are declared in ``openapi.py``);
- the body is validated by pydantic-core against the declared contract (``contract.py``) straight
  from the JSON bytes, and the answer is serialised with orjson;
- the OpenAPI document is generated when it is first asked for, not at cold start.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from fraud_api import docs_page
from fraud_api.contract import Contract
from fraud_api.openapi import build_openapi
from fraud_api.telemetry import Telemetry, event_request_id
from fraud_api.validation import FieldError, RequestError, check_content_type
from fraud_scoring.decision import Decision, DecisionPipeline, ExplanationUnavailableError, pipeline_for
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


REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_SCOPE_KEY = "fraud_api.request_id"


def _json_response(data: dict[str, Any], status: int, request_id: str) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=_JSON, headers={REQUEST_ID_HEADER: request_id})


def request_id_of(request: Request) -> str:
    """API Gateway's request id (REST, HTTP API, Function URL), else the caller's ``x-request-id``,
    else a new one: every answer and log line of a request carries the same id."""
    scope = request.scope
    known: str | None = scope.get(REQUEST_ID_SCOPE_KEY)
    if known is not None:
        return known
    value = event_request_id(scope.get("aws.event")) or request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
    scope[REQUEST_ID_SCOPE_KEY] = value
    return value


def create_app(
    scorer: DecisionPipeline | FraudModel, *, telemetry: Telemetry | None = None, settings: Settings | None = None
) -> FastAPI:
    """The app around a decision pipeline (or a bare model: its layer's explainer, the threshold as policy)."""
    pipeline = scorer if isinstance(scorer, DecisionPipeline) else pipeline_for(scorer)
    model = pipeline.model
    decide_one = pipeline.decide_one
    decide_many = pipeline.decide_many
    policy_version = pipeline.policy_version
    base_value = pipeline.base_value
    config = settings if settings is not None else Settings.from_env()
    observe = telemetry if telemetry is not None else Telemetry(model.model_version)
    observe.policy_version = policy_version
    observe.threshold = model.threshold
    observe.watch_drift(model.manifest)
    challenger = pipeline.challenger
    if challenger is not None:
        observe.challenger_mode = challenger.mode
        observe.challenger_model_version = challenger.model_version
    # Answers by an A/B challenger carry its version, threshold and explanation base.
    challenger_model = challenger.pipeline if challenger is not None else None
    ab_test = challenger is not None and not challenger.shadow
    contract = Contract(model.feature_names, config.max_batch_items)
    parse_predict = contract.parse_predict
    parse_batch = contract.parse_batch
    threshold = model.threshold
    version = model.model_version
    max_body = config.max_body_bytes

    app = FastAPI(
        title="Fraud scoring API",
        version=version,
        description=(
            "Real-time card-fraud scoring. Feature names, their order and the decision threshold come "
            "from the model manifest (`GET /model`). Errors are JSON: `error`, `message` and `errors` "
            "(one entry per bad field, naming the field and the problem)."
        ),
        # /docs and /openapi.json are served below: offline assets, relative URLs (docs_page.py).
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # Observability is Powertools' job here; FastAPI's native OpenTelemetry hooks would only add
        # a per-request provider check.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.model = model
    app.state.pipeline = pipeline
    app.state.telemetry = observe
    app.state.settings = config

    def refuse(request: Request, route: str, error: RequestError) -> Response:
        body = error.body()
        request_id = request_id_of(request)
        body["request_id"] = request_id
        observe.rejected(request_id, route, error.status, error.code, error.message)
        return _json_response(body, error.status, request_id)

    def unexplainable(request: Request, route: str, exc: ExplanationUnavailableError) -> Response:
        fields = ["explain"] if route == "/predict" else [f"transactions[{i}].explain" for i in exc.positions]
        errors = [FieldError(field, str(exc)) for field in fields]
        return refuse(request, route, RequestError(422, "validation_error", f"{fields[0]}: {exc}", errors))

    def answer_of(decision: Decision, transaction_id: str | None, base: float | None = base_value) -> dict[str, Any]:
        item: dict[str, Any] = {
            "fraud_score": decision.score,
            "is_fraud": decision.is_fraud,
            "decision": decision.outcome,
            "rules": decision.rules,
        }
        if transaction_id is not None:
            item["transaction_id"] = transaction_id
        if decision.reasons is not None:
            item["reasons"] = decision.reasons
            item["base_value"] = base
        return item

    def served_answer(decision: Decision, transaction_id: str | None) -> dict[str, Any]:
        """An A/B answer: the result of the model that answered, with its version and threshold."""
        assert challenger_model is not None
        if decision.answered_by != "challenger" or decision.challenger is None:
            item = answer_of(decision, transaction_id)
            item["model_version"] = version
            item["threshold"] = threshold
            return item
        item = answer_of(decision.challenger, transaction_id, challenger_model.base_value)
        item["model_version"] = challenger_model.model_version
        item["threshold"] = challenger_model.threshold
        return item

    async def predict(request: Request) -> Response:
        try:
            check_content_type(request.headers.get("content-type"))
            transaction = parse_predict(await request.body(), max_body)
        except RequestError as error:
            return refuse(request, "/predict", error)
        transaction_id = transaction.transaction_id
        try:
            decision, elapsed_ms = decide_one(
                transaction.features, {"transaction_id": transaction_id}, transaction.explain
            )
        except ExplanationUnavailableError as exc:
            return unexplainable(request, "/predict", exc)
        if ab_test:
            answer = served_answer(decision, transaction_id)
        else:
            answer = answer_of(decision, transaction_id)
            answer["threshold"] = threshold
            answer["model_version"] = version
        answer["policy_version"] = policy_version
        answer["inference_time_ms"] = round(elapsed_ms, 4)
        request_id = request_id_of(request)
        observe.decisions(request_id, "/predict", (transaction_id,), (decision,), elapsed_ms, (transaction.features,))
        return _json_response(answer, 200, request_id)

    async def predict_batch(request: Request) -> Response:
        try:
            check_content_type(request.headers.get("content-type"))
            transactions = parse_batch(await request.body(), max_body)
        except RequestError as error:
            return refuse(request, "/predict/batch", error)
        rows = [transaction.features for transaction in transactions]
        ids = [transaction.transaction_id for transaction in transactions]
        try:
            decisions, elapsed_ms = decide_many(
                rows, [{"transaction_id": i} for i in ids], [transaction.explain for transaction in transactions]
            )
        except ExplanationUnavailableError as exc:
            return unexplainable(request, "/predict/batch", exc)
        answer = served_answer if ab_test else answer_of
        results = [answer(decision, transaction_id) for decision, transaction_id in zip(decisions, ids, strict=True)]
        request_id = request_id_of(request)
        observe.decisions(request_id, "/predict/batch", ids, decisions, elapsed_ms, rows)
        return _json_response(
            {
                "results": results,
                "count": len(results),
                "threshold": threshold,
                "policy_version": policy_version,
                "model_version": version,
                "inference_time_ms": round(elapsed_ms, 4),
            },
            200,
            request_id,
        )

    app.router.routes.append(Route("/predict", predict, methods=["POST"], name="predict"))
    app.router.routes.append(Route("/predict/batch", predict_batch, methods=["POST"], name="predict_batch"))

    health_body = orjson.dumps({"status": "ok", "model_version": version})

    async def health(request: Request) -> Response:
        return Response(health_body, media_type=_JSON)

    model_body = orjson.dumps(
        {**model.describe(), "explanations": pipeline.explainer is not None, "policy": pipeline.policy.describe()}
    )

    async def model_info(request: Request) -> Response:
        return Response(model_body, media_type=_JSON)

    # Plain routes too: FastAPI would build their response models at init (~40 ms of cold start);
    # their operations are declared in openapi.py and built with the document.
    app.router.routes.append(Route("/health", health, methods=["GET"], name="health"))
    app.router.routes.append(Route("/model", model_info, methods=["GET"], name="model"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed"}
        code = codes.get(exc.status_code, "http_error")
        message = f"{request.method} {request.url.path}: {exc.detail}"
        request_id = request_id_of(request)
        body: dict[str, Any] = {"error": code, "message": message, "errors": [], "request_id": request_id}
        headers = {**(exc.headers or {}), REQUEST_ID_HEADER: request_id}
        return Response(orjson.dumps(body), status_code=exc.status_code, media_type=_JSON, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        observe.logger.exception("unhandled error", extra={"path": request.url.path})
        request_id = request_id_of(request)
        body: dict[str, Any] = {
            "error": "internal_error",
            "message": "the service failed to handle this request; it has been logged",
            "errors": [],
            "request_id": request_id,
        }
        return _json_response(body, 500, request_id)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, contract)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_document() -> Response:
        return Response(orjson.dumps(openapi()), media_type=_JSON)

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        """The Swagger UI page, or one of its files with ``?asset=`` (see docs_page.py)."""
        name = request.query_params.get("asset")
        if name is None:
            return Response(docs_page.page(app.title), media_type="text/html; charset=utf-8")
        found = docs_page.ASSETS.get(name)
        if found is None:
            known = ", ".join(sorted(docs_page.ASSETS))
            raise StarletteHTTPException(404, f"no docs asset {name!r} (known: {known})")
        return Response(docs_page.asset(name), media_type=found[1], headers={"cache-control": "public, max-age=86400"})

    return app
