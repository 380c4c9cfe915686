"""The Lambda handler, ``fraud_api.lambda_handler.handler``: Mangum around the FastAPI app.

Mangum serves API Gateway REST (v1 proxy), HTTP API (v2) and Function URL events. ``lifespan="off"``
because Mangum would otherwise run the ASGI lifespan on every invocation; the model is loaded at
import (``fraud_api.app``), which is Lambda's init phase.
"""

from __future__ import annotations

import binascii
from typing import Any

import orjson
from mangum import Mangum

from fraud_api.app import app, telemetry
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
        context_of_request = event.get("requestContext") if type(event) is dict else None
        body = error.body()
        body["request_id"] = context_of_request.get("requestId") if type(context_of_request) is dict else None
        return {
            "statusCode": error.status,
            "headers": {"content-type": "application/json"},
            "body": orjson.dumps(body).decode(),
            "isBase64Encoded": False,
        }


handler = telemetry.wrap_lambda_handler(asgi_handler)
