"""Pydantic models that document the request and response bodies in the OpenAPI document.

They describe the contract; they are not run per request (``validation.py`` checks bodies with
the same rules and more precise messages). Built on first use of ``/openapi.json`` only.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from fraud_api.validation import TRANSACTION_ID_MAX_LENGTH


class FieldProblem(BaseModel):
    field: str = Field(description="Where the problem is, e.g. `features[3]` or `transactions[2].features.V4`.")
    problem: str = Field(description="What is wrong with it.")


class ErrorResponse(BaseModel):
    error: str = Field(
        description="Machine-readable code: validation_error, invalid_json, empty_body, "
        "unsupported_media_type, payload_too_large, batch_too_large, not_found, method_not_allowed, "
        "internal_error."
    )
    message: str = Field(description="One line for humans: the first problem and how many more.")
    errors: list[FieldProblem] = Field(description="Every problem found (at most 50).")
    request_id: str | None = Field(description="API Gateway's request id, to find the logs.")


class PredictResponse(BaseModel):
    fraud_score: float = Field(ge=0.0, le=1.0, description="Probability of fraud from the model.")
    is_fraud: bool = Field(description="`fraud_score >= threshold`.")
    threshold: float = Field(description="Decision threshold from the model manifest.")
    model_version: str
    inference_time_ms: float = Field(description="Time spent in ONNX Runtime for this transaction.")
    transaction_id: str | None = Field(default=None, description="Echoed when the request had one.")


class BatchItemResult(BaseModel):
    fraud_score: float = Field(ge=0.0, le=1.0)
    is_fraud: bool
    transaction_id: str | None = Field(default=None, description="Echoed when the item had one.")


class BatchResponse(BaseModel):
    results: list[BatchItemResult] = Field(description="One result per transaction, in request order.")
    count: int
    threshold: float
    model_version: str
    inference_time_ms: float = Field(description="Time spent in ONNX Runtime for the whole batch.")


def component_schemas(feature_names: tuple[str, ...], max_batch_items: int) -> dict[str, Any]:
    """JSON schemas of every model, sized from the manifest's feature list and the batch limit."""
    finite = Field(allow_inf_nan=False)
    named_fields: dict[str, Any] = {name: (Annotated[float, finite], ...) for name in feature_names}
    named = create_model("NamedFeatures", __config__=ConfigDict(extra="forbid"), **named_fields)
    n = len(feature_names)
    feature_array = Annotated[
        list[Annotated[float, finite]],
        Field(min_length=n, max_length=n, description=f"{n} numbers in manifest order"),
    ]
    predict_request = create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid"),
        features=(feature_array | named, ...),
        transaction_id=(
            Annotated[str | None, Field(min_length=1, max_length=TRANSACTION_ID_MAX_LENGTH)],
            None,
        ),
    )
    batch_request = create_model(
        "BatchRequest",
        __config__=ConfigDict(extra="forbid"),
        transactions=(
            Annotated[list[predict_request], Field(min_length=1, max_length=max_batch_items)],  # type: ignore[valid-type]
            ...,
        ),
    )
    schemas: dict[str, Any] = {}
    for model in (
        predict_request,
        batch_request,
        PredictResponse,
        BatchResponse,
        ErrorResponse,
    ):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas
