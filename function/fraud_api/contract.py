"""The request and response contract, declared once with pydantic.

The same models validate every request body (``Contract.parse_predict`` / ``parse_batch``, through
pydantic-core's JSON parser) and are the schemas FastAPI publishes in ``/openapi.json``
(``fraud_api.openapi``). Feature names and their count come from the model manifest and the batch
limit from the settings, so the models are built per app, not at import.

pydantic's error list is turned into the service's error shape here: a field path such as
``transactions[3].features[7]`` and a problem written for humans, e.g. ``must be a finite number,
got NaN``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, ValidationError, create_model
from pydantic_core import ErrorDetails

from fraud_api.validation import (
    FLOAT32_MAX,
    MAX_ERRORS_REPORTED,
    FieldError,
    RequestError,
    check_body,
    invalid,
    type_name,
)
from fraud_scoring.explain import DEFAULT_REASONS

TRANSACTION_ID_MAX_LENGTH = 128
# Tags of the two shapes ``features`` may take; they appear in pydantic's error locations only.
_ARRAY = "array"
_NAMED = "named"

FeatureValue = Annotated[
    float,
    Field(
        strict=True,  # numbers only: no numeric strings, no booleans
        allow_inf_nan=False,
        # Scores are computed in float32: a finite float64 beyond this would turn into infinity.
        ge=-FLOAT32_MAX,
        le=FLOAT32_MAX,
    ),
]
TransactionId = Annotated[
    str,
    Field(
        strict=True,
        min_length=1,
        max_length=TRANSACTION_ID_MAX_LENGTH,
        description="Your id for the transaction; echoed back and written to the decision log.",
    ),
]


def _whole_number(value: Any) -> Any:
    """``3.0`` is the integer 3, as JSON Schema counts it; ``2.5`` and ``"3"`` stay refused."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def _features_shape(value: Any) -> str | None:
    if isinstance(value, list):
        return _ARRAY
    if isinstance(value, dict):
        return _NAMED
    return None


# -- responses ----------------------------------------------------------------------------------------


class FieldProblem(BaseModel):
    field: str = Field(description="Where the problem is, e.g. `features[3]` or `transactions[2].features.V4`.")
    problem: str = Field(description="What is wrong with it.")


class ErrorResponse(BaseModel):
    """Every refusal by the service (API Gateway's own answers carry only `message`)."""

    error: str = Field(
        description="Machine-readable code: validation_error, invalid_json, empty_body, "
        "unsupported_media_type, payload_too_large, batch_too_large, not_found, method_not_allowed, "
        "invalid_body, internal_error."
    )
    message: str = Field(description="One line for humans: the first problem and how many more.")
    errors: list[FieldProblem] = Field(description=f"Every problem found (at most {MAX_ERRORS_REPORTED}).")
    request_id: str | None = Field(description="The request id (API Gateway's, or generated), to find the logs.")


class GatewayMessage(BaseModel):
    """API Gateway's own answers (throttling, missing or bad API key, limits, timeouts)."""

    message: str = Field(description="e.g. `Too Many Requests`, `Forbidden`, `Missing Authentication Token`.")


class HealthResponse(BaseModel):
    status: str = Field(description="`ok`: the model is loaded and checked (nothing answers without one).")
    model_version: str


class ModelDescription(BaseModel):
    """What the model manifest says about the loaded model."""

    model_version: str
    feature_names: list[str] = Field(description="The features, in the order an array of `features` uses.")
    n_features: int
    threshold: float = Field(description="`is_fraud` is `fraud_score >= threshold`.")
    threshold_rule: str
    metrics: dict[str, Any]
    parity: dict[str, Any]
    training_data: dict[str, Any]
    library_versions: dict[str, str]
    created_at: str
    onnx_sha256: str
    explanations: bool = Field(description="Whether the model layer carries an explainer (`reasons` can be given).")
    policy: dict[str, Any] = Field(description="The decision policy: version, outcomes, bands and rules.")


class Reason(BaseModel):
    """One feature's push on this transaction's score (exact TreeSHAP, in log-odds)."""

    feature: str = Field(description="The feature's manifest name.")
    value: float = Field(description="The transaction's value of it.")
    contribution: float = Field(
        description="How much it moved the log-odds of fraud away from `base_value` (a contribution, not a cause)."
    )
    direction: Literal["raises", "lowers"] = Field(description="Whether it raises or lowers the risk.")


class _Scored(BaseModel):
    fraud_score: float = Field(ge=0.0, le=1.0, description="Probability of fraud from the model.")
    is_fraud: bool = Field(description="`fraud_score >= threshold` (the manifest's threshold; kept for old clients).")
    decision: str = Field(description="The policy's outcome, e.g. APPROVE, REVIEW or DECLINE (see `/model`).")
    rules: list[str] = Field(description="Ids of the policy rules that matched, in policy order (empty: a score band).")
    transaction_id: str | None = Field(default=None, description="Echoed when the request had one.")
    reasons: list[Reason] | None = Field(
        default=None,
        description="The features that moved the score most, largest first: when `explain` asked for them, and "
        "always when the decision is not the policy's lowest-risk outcome.",
    )
    base_value: float | None = Field(
        default=None,
        description="The model's log-odds before any feature is known; with `reasons`. `base_value` plus every "
        "feature's contribution is the log-odds of `fraud_score`.",
    )


class PredictResponse(_Scored):
    threshold: float = Field(description="Decision threshold from the model manifest.")
    policy_version: str = Field(description="The decision policy's version.")
    model_version: str = Field(description="The answering model's version (an A/B challenger's when it answered).")
    inference_time_ms: float = Field(description="Time spent in ONNX Runtime for this transaction.")


class BatchItemResult(_Scored):
    model_version: str | None = Field(
        default=None,
        description="The answering model's version, when an A/B challenger answers a share of the traffic.",
    )
    threshold: float | None = Field(
        default=None,
        description="The answering model's threshold (what `is_fraud` compares with), in A/B tests only.",
    )


class BatchResponse(BaseModel):
    results: list[BatchItemResult] = Field(description="One result per transaction, in request order.")
    count: int
    threshold: float
    policy_version: str
    model_version: str
    inference_time_ms: float = Field(description="Time spent in ONNX Runtime for the whole batch.")


# -- requests -----------------------------------------------------------------------------------------


class Transaction(NamedTuple):
    """A checked transaction: the row in manifest order (a NamedTuple: cheapest to build per request)."""

    features: list[float]
    transaction_id: str | None
    explain: int | None  # reasons asked for (None: only when flagged)


class Contract:
    """The request models for one model's features and one batch limit, and the parsers built on them."""

    def __init__(self, feature_names: Sequence[str], max_batch_items: int) -> None:
        self.feature_names = tuple(feature_names)
        self.max_batch_items = max_batch_items
        n = len(self.feature_names)
        # Field names are positional (manifest names need not be Python identifiers); the JSON
        # names are the aliases. Definition order is manifest order, so a row is the values in order.
        named_fields: dict[str, Any] = {
            f"f{position}": (FeatureValue, Field(alias=name)) for position, name in enumerate(self.feature_names)
        }
        self.named_features: type[BaseModel] = create_model(
            "NamedFeatures",
            __config__=ConfigDict(extra="forbid"),
            __doc__="Every feature by its manifest name, in any order.",
            **named_fields,
        )
        feature_array = Annotated[
            list[FeatureValue],
            Field(min_length=n, max_length=n, description=f"The {n} feature values in manifest order."),
        ]
        features = Annotated[
            Annotated[feature_array, Tag(_ARRAY)] | Annotated[self.named_features, Tag(_NAMED)],  # type: ignore[name-defined]
            Discriminator(_features_shape),
            Field(description=f"An array of the {n} features in manifest order, or an object of them by name."),
        ]
        explain = Annotated[
            Annotated[bool, Field(strict=True)]
            | Annotated[Annotated[int, Field(strict=True, ge=0, le=n)], BeforeValidator(_whole_number)]
            | None,
            Field(
                description=f"Reasons to return: `true` for {min(DEFAULT_REASONS, n)}, a count from 0 to {n}, `false` "
                f"or absent for none. A flagged decision always carries at least {min(DEFAULT_REASONS, n)}.",
            ),
        ]
        self.predict_request: type[BaseModel] = create_model(
            "PredictRequest",
            __config__=ConfigDict(extra="forbid"),
            __doc__="One transaction to score.",
            features=(features, ...),
            transaction_id=(TransactionId | None, None),
            explain=(explain, None),
        )
        self.batch_request: type[BaseModel] = create_model(
            "BatchRequest",
            __config__=ConfigDict(extra="forbid"),
            __doc__="Transactions to score in one call, each shaped like a `/predict` body.",
            transactions=(
                Annotated[
                    list[self.predict_request],  # type: ignore[name-defined]
                    Field(min_length=1, max_length=max_batch_items),
                ],
                ...,
            ),
        )
        self._n = n
        self._default_reasons = min(DEFAULT_REASONS, n)

    # -- parsing --------------------------------------------------------------------------------------

    def parse_predict(self, body: bytes, max_bytes: int) -> Transaction:
        check_body(body, max_bytes)
        try:
            request = self.predict_request.model_validate_json(body)
        except ValidationError as exc:
            raise self._refusal(exc, body, batch=False) from None
        transaction = self._transaction(request)
        if body.count(b":") != self._keys_of(request):
            _refuse_duplicate_keys(body)
        return transaction

    def parse_batch(self, body: bytes, max_bytes: int) -> list[Transaction]:
        """All transactions of a batch, or one 422 listing every bad item (all or nothing)."""
        check_body(body, max_bytes)
        try:
            request = self.batch_request.model_validate_json(body)
        except ValidationError as exc:
            raise self._refusal(exc, body, batch=True) from None
        items: list[Any] = request.transactions  # type: ignore[attr-defined]
        transactions = [self._transaction(item) for item in items]
        if body.count(b":") != 1 + sum(self._keys_of(item) for item in items):
            _refuse_duplicate_keys(body)
        return transactions

    def _transaction(self, request: Any) -> Transaction:
        features = request.features
        row = features if type(features) is list else list(features.__dict__.values())
        explain = request.explain
        if explain is not None:
            explain = (self._default_reasons if explain else 0) if type(explain) is bool else explain
        return Transaction(row, request.transaction_id, explain)

    def _keys_of(self, request: Any) -> int:
        """Object keys of one transaction as parsed: equal to the body's colons when no key repeats."""
        keys = len(request.model_fields_set)
        if type(request.features) is not list:
            keys += self._n
        return keys

    # -- errors ---------------------------------------------------------------------------------------

    def _refusal(self, exc: ValidationError, body: bytes, *, batch: bool) -> RequestError:
        details = exc.errors(include_url=False)
        if details and details[0]["type"] == "json_invalid":
            return _not_json(body, details[0])
        errors: list[FieldError] = []
        missing: dict[str, list[str]] = {}
        wrong_length = self._wrong_length_arrays(body, details)
        for detail in details:
            kind = detail["type"]
            location = detail["loc"]
            array = _array_of(location)
            if array is not None and array in wrong_length:
                # pydantic checks items before the length; the length is the one problem worth naming
                if wrong_length[array] is not None:
                    errors.append(
                        FieldError(_path(array), f"must have exactly {self._n} numbers, got {wrong_length[array]}")
                    )
                    wrong_length[array] = None
                continue
            if kind == "too_long" and location == ("transactions",):
                actual = detail.get("ctx", {}).get("actual_length", "more")
                return RequestError(
                    413,
                    "batch_too_large",
                    f"transactions has {actual} items; the limit is {self.max_batch_items} per request",
                    [FieldError("transactions", f"at most {self.max_batch_items} items, got {actual}")],
                )
            if kind == "missing" and len(location) >= 2 and location[-2] == _NAMED:
                missing.setdefault(_path(location[:-2]), []).append(str(location[-1]))
                continue
            explain_at = _explain_position(location)
            if explain_at is not None:
                location = location[: explain_at + 1]  # drop the union's branch tag (bool, int)
            problem = FieldError(_path(location), self._problem(detail, batch))
            if problem not in errors:  # `explain` fails both branches of its union with one message
                errors.append(problem)
        for where, names in missing.items():
            shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
            errors.append(FieldError(where, f"missing {len(names)} feature(s): {shown}"))
        return invalid(errors)

    def _wrong_length_arrays(self, body: bytes, details: list[ErrorDetails]) -> dict[tuple[int | str, ...], int | None]:
        """The feature arrays with item errors whose length is wrong too, with their lengths."""
        arrays = {array for detail in details if (array := _array_of(detail["loc"])) is not None}
        if not arrays:
            return {}
        document = json.loads(body.decode("utf-8"))
        found: dict[tuple[int | str, ...], int | None] = {}
        for array in arrays:
            value: Any = document
            for part in array:
                if part in (_ARRAY, _NAMED):
                    continue
                value = value[part]
            if isinstance(value, list) and len(value) != self._n:
                found[array] = len(value)
        return found

    def _problem(self, detail: ErrorDetails, batch: bool) -> str:
        kind = detail["type"]
        value = detail.get("input")
        location = detail["loc"]
        if _explain_position(location) is not None:
            return f"must be true, false or a whole number of reasons from 0 to {self._n}"
        describe = _PROBLEMS.get(kind)
        if describe is not None:
            return describe(value)
        if kind in {"too_short", "too_long"}:
            if location and location[-1] == _ARRAY:
                return f"must have exactly {self._n} numbers, got {len(value)}"
            if location == ("transactions",):
                return "must hold at least one transaction"
            return f"must have 1 to {TRANSACTION_ID_MAX_LENGTH} characters"
        if kind in {"string_too_short", "string_too_long"}:
            return f"must have 1 to {TRANSACTION_ID_MAX_LENGTH} characters"
        if kind == "union_tag_not_found":
            return f"must be an array of {self._n} numbers or an object of named features, got {type_name(value)}"
        if kind == "extra_forbidden":
            if len(location) >= 2 and location[-2] == _NAMED:
                return "unknown feature name"
            allowed = "transactions" if batch and len(location) == 1 else ", ".join(self.predict_request.model_fields)
            return f"unknown field (allowed: {allowed})"
        if kind == "missing":
            return "is required"
        return str(detail["msg"])


def _explain_position(location: tuple[int | str, ...]) -> int | None:
    """Where ``explain`` (the request field, not a feature of that name) is in an error location."""
    for position, part in enumerate(location):
        if part == "explain" and (position == 0 or location[position - 1] != _NAMED):
            return position
    return None


def _array_of(location: tuple[int | str, ...]) -> tuple[int | str, ...] | None:
    """The location of the feature array an item error is in, or None."""
    for position, part in enumerate(location):
        if part == _ARRAY and position + 1 < len(location):
            return location[: position + 1]
    return None


def _path(location: tuple[int | str, ...]) -> str:
    """``('transactions', 3, 'features', 'array', 7)`` -> ``transactions[3].features[7]``."""
    out = ""
    for part in location:
        if part in (_ARRAY, _NAMED) and out.endswith("features"):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _number_problem(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number, got {type_name(value)}"
    if isinstance(value, int):
        return f"integer with {len(str(abs(value)))} digits is out of range for a float32 feature"
    if value != value:
        return "must be a finite number, got NaN"
    if value in (float("inf"), float("-inf")):
        return f"must be a finite number, got {'-' if value < 0 else ''}Infinity"
    return f"{value!r} is out of range (float32 holds magnitudes up to {FLOAT32_MAX:.4g})"


_PROBLEMS: dict[str, Callable[[Any], str]] = {
    "finite_number": _number_problem,
    "less_than_equal": _number_problem,
    "greater_than_equal": _number_problem,
    "float_type": _number_problem,
    "string_type": lambda value: f"must be a string, got {type_name(value)}",
    "list_type": lambda value: f"must be an array, got {type_name(value)}",
    "model_type": lambda value: f"must be a JSON object, got {type_name(value)}",
}


def _not_json(body: bytes, detail: ErrorDetails) -> RequestError:
    reason = str(detail.get("ctx", {}).get("error", detail["msg"]))
    return RequestError(
        400,
        "invalid_json",
        f"the body is not valid JSON: {reason}",
        [FieldError("body", f"not valid JSON: {reason}")],
    )


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers the keys it saw more than once."""

    repeated: list[str]


def _remember_repeats(items: list[tuple[str, Any]]) -> _Object:
    parsed = _Object(items)
    parsed.repeated = []
    if len(parsed) != len(items):
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and key not in parsed.repeated:
                parsed.repeated.append(key)
            seen.add(key)
    return parsed


def _repeated_keys(value: Any, path: str, found: list[FieldError]) -> None:
    if isinstance(value, _Object):
        for key in value.repeated:
            where = f"{path}.{key}" if path else key
            found.append(FieldError(where, "appears more than once in one object; send each key once"))
        for key, item in value.items():
            _repeated_keys(item, f"{path}.{key}" if path else key, found)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            _repeated_keys(item, f"{path}[{position}]", found)


def _refuse_duplicate_keys(body: bytes) -> None:
    """Refuse a body in which an object repeats a key; return if it only had colons inside strings.

    Parsers disagree on repeated keys (first wins, last wins, error), which lets a request mean one
    thing to a gateway or a log pipeline and another to the scorer, so the service refuses them.
    Only bodies whose colon count differs from the parsed key count get here (a colon inside a
    string, or a repeated key), so the common path pays one ``bytes.count``.
    """
    found: list[FieldError] = []
    _repeated_keys(json.loads(body.decode("utf-8"), object_pairs_hook=_remember_repeats), "", found)
    if found:
        raise invalid(found)
