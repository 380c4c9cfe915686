"""The Lambda handler, ``fraud_api.lambda_handler.handler``: Mangum around the FastAPI app.

Mangum serves API Gateway REST (v1 proxy), HTTP API (v2) and Function URL events. ``lifespan="off"``
because Mangum would otherwise run the ASGI lifespan on every invocation; the model is loaded at
import (``fraud_api.app``), which is Lambda's init phase.

With SnapStart (``SnapStart=true`` in template.yaml), Lambda snapshots the initialised environment
when it publishes a version and restores copies of it. Two runtime hooks (``snapshot-restore-py``,
which the Lambda runtime calls only under SnapStart) make restored copies answer like warm ones:
before the snapshot, a warm-up scoring runs every code path a request takes (Mangum's event parsing,
FastAPI's routing and validation, the model, the response), so nothing is imported or built lazily
on the first real request; after each restore, what must differ between environments is refreshed.
"""

from __future__ import annotations

import binascii
import logging
import random
import time
from typing import Any

import orjson
from mangum import Mangum
from snapshot_restore_py import register_after_restore, register_before_snapshot

from fraud_api.app import app, model, telemetry
from fraud_api.telemetry import event_request_id
from fraud_api.validation import RequestError

mangum_handler = Mangum(app, lifespan="off")


def asgi_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Mangum, plus the one bad event it cannot turn into a response itself.

    An event flagged ``isBase64Encoded`` whose body is not base64 makes Mangum raise while it
    decodes the body, before the app runs: answer 400 in the app's error shape instead of
    failing the invocation (a 502 at the gateway).
    """
    try:
        return mangum_handler(event, context)
    except binascii.Error as exc:
        error = RequestError(400, "invalid_body", f"body: isBase64Encoded is true but the body is not base64 ({exc})")
        body = error.body()
        body["request_id"] = event_request_id(event)
        return {
            "statusCode": error.status,
            "headers": {"content-type": "application/json"},
            "body": orjson.dumps(body).decode(),
            "isBase64Encoded": False,
        }


handler = telemetry.wrap_lambda_handler(asgi_handler)


# -- SnapStart -------------------------------------------------------------------------------------

WARMUP_REQUEST_ID = "snapstart-warmup"


def _warmup_event(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """An API Gateway REST (v1 proxy) event, as the real stage sends it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json", "host": "snapstart.invalid"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": WARMUP_REQUEST_ID,
            "resourcePath": path,
            "httpMethod": method,
            "path": path,
            "stage": "snapstart",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": None if body is None else orjson.dumps(body).decode(),
        "isBase64Encoded": False,
    }


def warm_up() -> dict[str, int]:
    """Send one request of each kind through the handler; refuse the snapshot if any fails.

    The warm-up scores no real transaction, so its decision lines are not logged and its metric
    values are dropped: the audit trail and the Predictions count hold real traffic only.
    """
    row = [0.0] * model.n_features
    requests = {
        "GET /health": _warmup_event("GET", "/health"),
        "POST /predict": _warmup_event("POST", "/predict", {"transaction_id": WARMUP_REQUEST_ID, "features": row}),
        "POST /predict/batch": _warmup_event(
            "POST", "/predict/batch", {"transactions": [{"transaction_id": WARMUP_REQUEST_ID, "features": row}] * 2}
        ),
    }
    std_logger = logging.getLogger(telemetry.logger.name)
    level = std_logger.level
    std_logger.setLevel(logging.WARNING)
    started = time.perf_counter()
    try:
        statuses = {name: int(asgi_handler(event, None)["statusCode"]) for name, event in requests.items()}
    finally:
        std_logger.setLevel(level)
        telemetry.discard_metrics()
    failed = {name: status for name, status in statuses.items() if status != 200}
    if failed:
        raise RuntimeError(f"SnapStart warm-up failed, no snapshot of a broken environment: {failed}")
    telemetry.logger.info(
        "snapstart warm-up done",
        extra={"requests": statuses, "warmup_ms": round((time.perf_counter() - started) * 1000, 2)},
    )
    return statuses


def refresh_after_restore() -> None:
    """Every restored copy starts from the same memory: give each its own random state.

    The service itself draws no random numbers; libraries may (e.g. Powertools' log sampling).
    """
    random.seed()  # from os.urandom, which the kernel keeps distinct per restored environment


register_before_snapshot(warm_up)
register_after_restore(refresh_after_restore)
