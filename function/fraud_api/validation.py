"""Parse and check request bodies by hand, with errors that name the field and the problem.

This is the request fast path: the body is parsed with orjson and checked here instead of through
pydantic models (those still describe the contract in the OpenAPI document, see ``openapi.py``).
No web framework is imported, so the rules can be tested and reused on their own.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

# Scores are computed in float32: a finite float64 beyond this would turn into infinity.
FLOAT32_MAX = 3.4028234663852886e38
TRANSACTION_ID_MAX_LENGTH = 128
MAX_ERRORS_REPORTED = 50
PREDICT_KEYS = frozenset({"features", "transaction_id"})
BATCH_KEYS = frozenset({"transactions"})


@dataclass(frozen=True)
class FieldError:
    field: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem}


class RequestError(Exception):
    """A request the service refuses: HTTP status, a machine-readable code and the field errors."""

    def __init__(self, status: int, code: str, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or []

    def body(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": self.message,
            "errors": [error.as_dict() for error in self.errors[:MAX_ERRORS_REPORTED]],
        }


class Transaction(NamedTuple):
    """A checked transaction: the row in manifest order (a NamedTuple: cheapest to build per request)."""

    features: list[float]
    transaction_id: str | None


def invalid(errors: list[FieldError]) -> RequestError:
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return RequestError(422, "validation_error", f"{first.field}: {first.problem}{more}", errors)


def check_content_type(content_type: str | None) -> None:
    """JSON only; a missing header is read as JSON, as FastAPI does for the old service's clients."""
    if not content_type:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return
    raise RequestError(
        415,
        "unsupported_media_type",
        f"content-type {media!r} is not supported; send application/json",
        [FieldError("content-type", f"must be application/json, got {media!r}")],
    )


def parse_json(body: bytes, max_bytes: int) -> Any:
    if len(body) > max_bytes:
        raise RequestError(
            413,
            "payload_too_large",
            f"the body has {len(body)} bytes; the limit is {max_bytes}",
            [FieldError("body", f"at most {max_bytes} bytes")],
        )
    if not body.strip():
        raise RequestError(
            400,
            "empty_body",
            "the request body is empty; send a JSON object",
            [FieldError("body", "is empty")],
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as fast_error:
        # orjson is strict JSON. Python's json also takes NaN / Infinity tokens and huge integers:
        # parse those so that validation can name the exact field instead of a byte offset.
        # Only UTF-8 (json.loads would also sniff UTF-16/32), and no unpaired surrogate escapes
        # ("\ud800"): orjson cannot write those back, so echoing one would fail the answer.
        try:
            data = json.loads(body.decode("utf-8"))
            json.dumps(data, ensure_ascii=False).encode("utf-8")
            return data
        except (ValueError, RecursionError):
            pass
        raise RequestError(
            400,
            "invalid_json",
            f"the body is not valid JSON: {fast_error}",
            [FieldError("body", f"not valid JSON: {fast_error}")],
        ) from None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _number_problem(value: Any) -> str | None:
    """None when ``value`` is a usable feature value, else what is wrong with it."""
    kind = type(value)
    if kind is float:
        if -FLOAT32_MAX <= value <= FLOAT32_MAX:
            return None
        if math.isnan(value):
            return "must be a finite number, got NaN"
        if math.isinf(value):
            return f"must be a finite number, got {'-' if value < 0 else ''}Infinity"
        return f"{value!r} is out of range (float32 holds magnitudes up to {FLOAT32_MAX:.4g})"
    if kind is int:
        if -FLOAT32_MAX <= value <= FLOAT32_MAX:
            return None
        return f"integer with {len(str(abs(value)))} digits is out of range for a float32 feature"
    return f"must be a number, got {_type_name(value)}"


def parse_features(
    value: Any, names: tuple[str, ...], index: dict[str, int], path: str
) -> tuple[list[float], list[FieldError]]:
    """The feature row in manifest order and the problems found (the row is only usable without)."""
    errors: list[FieldError] = []
    if type(value) is list:
        if len(value) != len(names):
            return [], [FieldError(path, f"must have exactly {len(names)} numbers, got {len(value)}")]
        # Fast path, inlined: every item a float or int (bool is neither) within float32's finite range
        # (NaN fails the comparison). Only a row that fails it pays for the per-item messages below.
        for item in value:
            kind = type(item)
            if not ((kind is float or kind is int) and -FLOAT32_MAX <= item <= FLOAT32_MAX):
                break
        else:
            return value, errors
        for position, item in enumerate(value):
            problem = _number_problem(item)
            if problem is not None:
                errors.append(FieldError(f"{path}[{position}]", problem))
        return value, errors
    if type(value) is dict:
        row: list[Any] = [None] * len(names)
        unknown: list[str] = []
        for name, item in value.items():
            found = index.get(name)
            if found is None:
                unknown.append(name)
                continue
            problem = _number_problem(item)
            if problem is not None:
                errors.append(FieldError(f"{path}.{name}", problem))
            row[found] = item
        for name in unknown[:MAX_ERRORS_REPORTED]:
            errors.append(FieldError(f"{path}.{name}", "unknown feature name"))
        missing = [name for name, item in zip(names, row, strict=True) if item is None and name not in value]
        if missing:
            shown = ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else "")
            errors.append(FieldError(path, f"missing {len(missing)} feature(s): {shown}"))
        return row, errors
    return [], [
        FieldError(
            path,
            f"must be an array of {len(names)} numbers or an object of named features, got {_type_name(value)}",
        )
    ]


def parse_transaction(
    data: Any, names: tuple[str, ...], index: dict[str, int], prefix: str = ""
) -> Transaction | list[FieldError]:
    if type(data) is not dict:
        where = prefix.rstrip(".") or "body"
        return [FieldError(where, f"must be a JSON object, got {_type_name(data)}")]
    errors: list[FieldError] = []
    if not PREDICT_KEYS.issuperset(data):
        for key in data:
            if key not in PREDICT_KEYS:
                errors.append(FieldError(f"{prefix}{key}", "unknown field (allowed: features, transaction_id)"))
    transaction_id = data.get("transaction_id")
    if transaction_id is not None:
        if type(transaction_id) is not str:
            errors.append(FieldError(f"{prefix}transaction_id", f"must be a string, got {_type_name(transaction_id)}"))
            transaction_id = None
        elif not 1 <= len(transaction_id) <= TRANSACTION_ID_MAX_LENGTH:
            errors.append(
                FieldError(f"{prefix}transaction_id", f"must have 1 to {TRANSACTION_ID_MAX_LENGTH} characters")
            )
    if "features" not in data:
        errors.append(FieldError(f"{prefix}features", "is required"))
        return errors
    row, feature_errors = parse_features(data["features"], names, index, f"{prefix}features")
    errors.extend(feature_errors)
    if errors:
        return errors
    return Transaction(row, transaction_id)


def parse_predict(body: bytes, names: tuple[str, ...], index: dict[str, int], max_bytes: int) -> Transaction:
    result = parse_transaction(parse_json(body, max_bytes), names, index)
    if isinstance(result, Transaction):
        return result
    raise invalid(result)


def parse_batch(
    body: bytes, names: tuple[str, ...], index: dict[str, int], max_bytes: int, max_items: int
) -> list[Transaction]:
    """All transactions of a batch, or one 422 listing every bad item (all or nothing)."""
    data = parse_json(body, max_bytes)
    if type(data) is not dict:
        raise invalid([FieldError("body", f"must be a JSON object, got {_type_name(data)}")])
    unknown = [key for key in data if key not in BATCH_KEYS]
    if unknown:
        raise invalid([FieldError(key, "unknown field (allowed: transactions)") for key in unknown])
    items = data.get("transactions")
    if items is None:
        raise invalid([FieldError("transactions", "is required")])
    if type(items) is not list:
        raise invalid([FieldError("transactions", f"must be an array, got {_type_name(items)}")])
    if not items:
        raise invalid([FieldError("transactions", "must hold at least one transaction")])
    if len(items) > max_items:
        raise RequestError(
            413,
            "batch_too_large",
            f"transactions has {len(items)} items; the limit is {max_items} per request",
            [FieldError("transactions", f"at most {max_items} items, got {len(items)}")],
        )
    transactions: list[Transaction] = []
    errors: list[FieldError] = []
    for position, item in enumerate(items):
        result = parse_transaction(item, names, index, f"transactions[{position}].")
        if isinstance(result, Transaction):
            transactions.append(result)
        else:
            errors.extend(result)
    if errors:
        raise invalid(errors)
    return transactions
