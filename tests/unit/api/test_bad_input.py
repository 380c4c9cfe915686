"""Every bad request gets a 4xx JSON answer naming the field and the problem, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fraud_api.factory import Settings
from fraud_scoring.model import FraudModel
from tests.unit.api.conftest import Answer, Invoke, build_invoke
from tests.unit.api.lambda_events import http_api_event, rest_event

JSON = {"Content-Type": "application/json"}
ROW = "0.5," * 29 + "100.0"  # 30 numbers as JSON text


def _features_with(position: int, token: str) -> str:
    values = ROW.split(",")
    values[position] = token
    return '{"features": [' + ",".join(values) + "]}"


def _named(model_names: tuple[str, ...], **changes: Any) -> str:
    features: dict[str, Any] = dict.fromkeys(model_names, 0.25)
    for key, value in changes.items():
        if value is _DROP:
            features.pop(key)
        else:
            features[key] = value
    return json.dumps({"features": features})


_DROP = object()
NAMES = ("Time", *(f"V{i}" for i in range(1, 29)), "Amount")

# (case id, body, headers, status, error code, field, words in the problem)
CASES: list[tuple[str, str | bytes, dict[str, str], int, str, str, str]] = [
    ("empty body", "", JSON, 400, "empty_body", "body", "empty"),
    ("blank body", "  \n ", JSON, 400, "empty_body", "body", "empty"),
    ("not json", "hello", JSON, 400, "invalid_json", "body", "not valid JSON"),
    ("truncated json", '{"features": [1, 2', JSON, 400, "invalid_json", "body", "not valid JSON"),
    ("invalid utf-8", b'{"features": "\xff\xfe"}', JSON, 400, "invalid_json", "body", "not valid JSON"),
    ("very deep nesting", "[" * 100_000 + "]" * 100_000, JSON, 400, "invalid_json", "body", "not valid JSON"),
    (
        "text/plain",
        '{"features": []}',
        {"Content-Type": "text/plain"},
        415,
        "unsupported_media_type",
        "content-type",
        "application/json",
    ),
    (
        "form encoded",
        "features=1",
        {"Content-Type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
        "content-type",
        "application/json",
    ),
    ("top-level array", "[" + ROW + "]", JSON, 422, "validation_error", "body", "JSON object, got an array"),
    ("top-level string", '"features"', JSON, 422, "validation_error", "body", "got a string"),
    ("top-level null", "null", JSON, 422, "validation_error", "body", "got null"),
    ("no features", "{}", JSON, 422, "validation_error", "features", "is required"),
    ("features null", '{"features": null}', JSON, 422, "validation_error", "features", "got null"),
    ("features string", '{"features": "1,2,3"}', JSON, 422, "validation_error", "features", "got a string"),
    (
        "29 numbers",
        '{"features": [' + ROW.split(",", 1)[1] + "]}",
        JSON,
        422,
        "validation_error",
        "features",
        "exactly 30 numbers, got 29",
    ),
    (
        "31 numbers",
        '{"features": [1,' + ROW + "]}",
        JSON,
        422,
        "validation_error",
        "features",
        "exactly 30 numbers, got 31",
    ),
    ("empty features", '{"features": []}', JSON, 422, "validation_error", "features", "got 0"),
    ("bare NaN token", _features_with(3, "NaN"), JSON, 422, "validation_error", "features[3]", "NaN"),
    ("Infinity token", _features_with(4, "Infinity"), JSON, 422, "validation_error", "features[4]", "Infinity"),
    ("-Infinity token", _features_with(0, "-Infinity"), JSON, 422, "validation_error", "features[0]", "-Infinity"),
    ("overflowing float", _features_with(5, "1e400"), JSON, 422, "validation_error", "features[5]", "Infinity"),
    ("beyond float32", _features_with(6, "1e39"), JSON, 422, "validation_error", "features[6]", "out of range"),
    ("huge integer", _features_with(7, "9" * 400), JSON, 422, "validation_error", "features[7]", "out of range"),
    ("boolean", _features_with(1, "true"), JSON, 422, "validation_error", "features[1]", "got a boolean"),
    ("numeric string", _features_with(2, '"1.5"'), JSON, 422, "validation_error", "features[2]", "got a string"),
    ("null value", _features_with(8, "null"), JSON, 422, "validation_error", "features[8]", "got null"),
    ("nested array", _features_with(9, "[1, 2]"), JSON, 422, "validation_error", "features[9]", "got an array"),
    ("nested object", _features_with(10, '{"v": 1}'), JSON, 422, "validation_error", "features[10]", "got an object"),
    ("matrix", '{"features": [[' + ROW + "]]}", JSON, 422, "validation_error", "features", "exactly 30 numbers, got 1"),
    (
        "missing named feature",
        _named(NAMES, V5=_DROP),
        JSON,
        422,
        "validation_error",
        "features",
        "missing 1 feature(s): V5",
    ),
    (
        "unknown named feature",
        _named(NAMES, V29=1.0),
        JSON,
        422,
        "validation_error",
        "features.V29",
        "unknown feature name",
    ),
    (
        "named NaN",
        _named(NAMES).replace('"V3": 0.25', '"V3": NaN'),
        JSON,
        422,
        "validation_error",
        "features.V3",
        "NaN",
    ),
    ("named boolean", _named(NAMES, Amount=False), JSON, 422, "validation_error", "features.Amount", "boolean"),
    ("named nested junk", _named(NAMES, V1={"a": [1]}), JSON, 422, "validation_error", "features.V1", "object"),
    (
        "transaction_id number",
        '{"features": [' + ROW + '], "transaction_id": 7}',
        JSON,
        422,
        "validation_error",
        "transaction_id",
        "must be a string",
    ),
    (
        "transaction_id empty",
        '{"features": [' + ROW + '], "transaction_id": ""}',
        JSON,
        422,
        "validation_error",
        "transaction_id",
        "1 to 128 characters",
    ),
    (
        "transaction_id too long",
        '{"features": [' + ROW + '], "transaction_id": "' + "x" * 129 + '"}',
        JSON,
        422,
        "validation_error",
        "transaction_id",
        "1 to 128 characters",
    ),
    (
        "unknown field",
        '{"features": [' + ROW + '], "amount": 5}',
        JSON,
        422,
        "validation_error",
        "amount",
        "unknown field",
    ),
]


def _check_error(answer: Answer, status: int, code: str, field: str, words: str) -> dict[str, Any]:
    assert answer.status == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body: dict[str, Any] = answer.json
    assert body["error"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["request_id"]
    problems = {entry["field"]: entry["problem"] for entry in body["errors"]}
    assert field in problems, body
    assert words in problems[field], body
    return body


@pytest.mark.parametrize(
    ("body", "headers", "status", "code", "field", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_predict_bad_input(
    invoke: Invoke, body: str | bytes, headers: dict[str, str], status: int, code: str, field: str, words: str
) -> None:
    _check_error(invoke(rest_event("POST", "/predict", body, headers)), status, code, field, words)


@pytest.mark.parametrize(
    ("body", "headers", "status", "code", "field", "words"), [c[1:] for c in CASES[:20]], ids=[c[0] for c in CASES[:20]]
)
def test_batch_items_get_the_same_rules(
    invoke: Invoke, body: str | bytes, headers: dict[str, str], status: int, code: str, field: str, words: str
) -> None:
    if status != 422 or field == "body":
        # Body-level problems are the same for both routes.
        answer = invoke(rest_event("POST", "/predict/batch", body, headers))
        assert answer.status == status
        return
    good = '{"features": [' + ROW + "]}"
    text = body.decode() if isinstance(body, bytes) else body
    batch = '{"transactions": [' + good + "," + text + "]}"
    _check_error(
        invoke(rest_event("POST", "/predict/batch", batch, JSON)), status, code, f"transactions[1].{field}", words
    )


def test_the_request_id_in_errors_is_api_gateways(invoke: Invoke) -> None:
    answer = invoke(rest_event("POST", "/predict", "{}", JSON, request_id="req-123"))
    assert answer.json["request_id"] == "req-123"
    answer = invoke(http_api_event("POST", "/predict", "{}", JSON, request_id="req-456"))
    assert answer.json["request_id"] == "req-456"


def test_all_problems_are_listed(invoke: Invoke) -> None:
    body = '{"features": [' + ",".join(["true"] * 30) + '], "transaction_id": 5, "x": 1}'
    answer = invoke(rest_event("POST", "/predict", body, JSON))
    fields = [entry["field"] for entry in answer.json["errors"]]
    assert fields[0] == "x"
    assert sorted(fields[1:]) == sorted(["transaction_id", *(f"features[{i}]" for i in range(30))])
    assert answer.json["message"].endswith("(and 31 more)")


def test_body_larger_than_the_limit_is_413(model: FraudModel) -> None:
    small = build_invoke(model, Settings(max_body_bytes=2048))
    body = '{"features": [' + ROW + '], "transaction_id": "' + "x" * 100 + '"}'
    padded = body + " " * 3000
    _check_error(
        small(rest_event("POST", "/predict", padded, JSON)), 413, "payload_too_large", "body", "at most 2048 bytes"
    )
    assert small(rest_event("POST", "/predict", body, JSON)).status == 200  # under the limit


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/predict", 405, "method_not_allowed"),
        ("DELETE", "/health", 405, "method_not_allowed"),
        ("GET", "/nope", 404, "not_found"),
        ("POST", "/predict/batch/x", 404, "not_found"),
    ],
)
def test_unknown_routes_and_methods_answer_json(invoke: Invoke, method: str, path: str, status: int, code: str) -> None:
    answer = invoke(rest_event(method, path))
    assert answer.status == status
    assert answer.json["error"] == code
    assert path in answer.json["message"]
