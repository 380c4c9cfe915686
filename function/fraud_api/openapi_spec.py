"""OpenAPI description of the routes: request/response schemas, examples, error answers.

The scoring routes are plain Starlette routes inside the FastAPI app (see ``factory.py``), so their
operations are written here and merged into FastAPI's document. The pydantic models behind the
``$ref`` links (``schemas.py``) are built when ``/openapi.json`` is first asked for, so the cold start
does not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from fraud_api.factory import Settings
    from fraud_scoring.model import FraudModel

_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def example_row(model: FraudModel) -> list[float]:
    """A plausible transaction (the first row of the public data set's schema), manifest-sized."""
    row = [0.0] * model.n_features
    for position, name in enumerate(model.feature_names):
        if name == "Amount":
            row[position] = 149.62
        elif name.startswith("V"):
            row[position] = round(((position * 37) % 19 - 9) / 7.0, 4)
    return row


def _error_responses(extra: dict[str, str]) -> dict[str, dict[str, Any]]:
    described = {
        "400": "The body is empty or not JSON.",
        "413": "The body or the batch is larger than the documented limit.",
        "415": "The content type is not application/json.",
        "422": "The JSON does not match the contract: `errors` names each bad field and the problem.",
    }
    described.update(extra)
    return {
        status: {"description": text, "content": {"application/json": {"schema": _ref("ErrorResponse")}}}
        for status, text in described.items()
    }


def predict_operation(model: FraudModel, settings: Settings) -> dict[str, Any]:
    row = example_row(model)
    named = dict(zip(model.feature_names, row, strict=True))
    return {
        "summary": "Score one transaction",
        "operationId": "predict",
        "description": (
            f"`features` is either an array of the {model.n_features} numbers in manifest order "
            f"({', '.join(model.feature_names[:3])}, ..., {model.feature_names[-1]}) or an object with "
            "exactly those names. `transaction_id` is optional and echoed back. `is_fraud` is "
            "`fraud_score >= threshold`."
        ),
        "tags": ["scoring"],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": _ref("PredictRequest"),
                    "examples": {
                        "array": {
                            "summary": "features as an array (the old service's format)",
                            "value": {"features": row, "transaction_id": "tx-0001"},
                        },
                        "named": {"summary": "features by name", "value": {"features": named}},
                    },
                }
            },
        },
        "responses": {
            "200": {
                "description": "The score and the decision.",
                "content": {"application/json": {"schema": _ref("PredictResponse")}},
            },
            **_error_responses({}),
        },
    }


def batch_operation(model: FraudModel, settings: Settings) -> dict[str, Any]:
    row = example_row(model)
    return {
        "summary": f"Score up to {settings.max_batch_items} transactions in one call",
        "operationId": "predict_batch",
        "description": (
            f"`transactions` holds 1 to {settings.max_batch_items} items, each shaped like a `/predict` "
            "body. Results come back in the same order. All or nothing: if any item is invalid the whole "
            "batch is refused with 422 and `errors` lists every bad item by index "
            "(`transactions[3].features[7]`), so a client never has to match partial results. "
            f"More than {settings.max_batch_items} items is a 413 (`batch_too_large`)."
        ),
        "tags": ["scoring"],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": _ref("BatchRequest"),
                    "example": {
                        "transactions": [
                            {"features": row, "transaction_id": "tx-0001"},
                            {"features": [0.0] * model.n_features, "transaction_id": "tx-0002"},
                        ]
                    },
                }
            },
        },
        "responses": {
            "200": {
                "description": "One result per transaction, in request order.",
                "content": {"application/json": {"schema": _ref("BatchResponse")}},
            },
            **_error_responses({}),
        },
    }


def install_openapi(app: FastAPI, model: FraudModel, settings: Settings) -> None:
    """Replace ``app.openapi`` with a version that adds the component schemas on first use."""
    build_default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fraud_api.schemas import component_schemas  # deferred: pydantic model building

            document = build_default()
            document["paths"] = {
                "/predict": {"post": predict_operation(model, settings)},
                "/predict/batch": {"post": batch_operation(model, settings)},
                **document.get("paths", {}),
            }
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components.update(component_schemas(model.feature_names, settings.max_batch_items))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
