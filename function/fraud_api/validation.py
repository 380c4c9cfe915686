"""The service's error shape and the checks that come before the contract is applied.

``RequestError`` is every refusal (status, code, message, one entry per bad field); the body's
size, emptiness and content type are checked here, its JSON against the declared contract in
``contract.py``. No web framework is imported, so the rules can be tested and reused on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Scores are computed in float32: a finite float64 beyond this would turn into infinity.
FLOAT32_MAX = 3.4028234663852886e38
MAX_ERRORS_REPORTED = 50


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


def check_body(body: bytes, max_bytes: int) -> None:
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


def type_name(value: Any) -> str:
    """How a JSON value is named in problems: ``a string``, ``an array``, ``null``..."""
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
