"""The Lambda handler, ``fraud_api.lambda_handler.handler``: Mangum around the FastAPI app.

Mangum serves API Gateway REST (v1 proxy), HTTP API (v2) and Function URL events. ``lifespan="off"``
because Mangum would otherwise run the ASGI lifespan on every invocation; the model is loaded at
import (``fraud_api.app``), which is Lambda's init phase.
"""

from __future__ import annotations

from mangum import Mangum

from fraud_api.app import app, telemetry

asgi_handler = Mangum(app, lifespan="off")
handler = telemetry.wrap_lambda_handler(asgi_handler)
