"""Hand-written hostile requests through the shipped Lambda handler (REST API proxy events).

Every one must get a deliberate answer: 200 for what is valid, a 4xx whose JSON body names the
problem for what is not, never a 5xx and never an exception out of the handler.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.api.lambda_events import FakeLambdaContext, rest_event
from tests.unit.reliability.conftest import Answer, Invoke, answer_of

JSON = {"Content-Type": "application/json"}


def body_of(payload: Any) -> str:
    return json.dumps(payload)


def row(value: float = 0.5, n: int = 30) -> list[float]:
    return [value] * n


def assert_refused(answer: Answer, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """A 4xx with a JSON error body: machine code, a message, and the field it is about."""
    assert answer.status == status, answer.body[:500]
    assert answer.headers.get("content-type", "").startswith("application/json")
    data: dict[str, Any] = answer.json()
    assert data["error"] == code
    assert isinstance(data["message"], str)
    assert data["message"]
    assert isinstance(data["errors"], list)
    if field is not None:
        fields = [error["field"] for error in data["errors"]]
        assert field in fields, fields
    return data


def assert_scored(answer: Answer) -> dict[str, Any]:
    assert answer.status == 200, answer.body[:500]
    data: dict[str, Any] = answer.json()
    assert 0.0 <= data["fraud_score"] <= 1.0
    assert data["is_fraud"] == (data["fraud_score"] >= data["threshold"])
    return data


# -- numbers at the edges -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [5e-324, -5e-324, -0.0, 0.0, 3.4028234663852886e38, -3.4028234663852886e38, 1e-45])
def test_representable_extremes_are_scored(invoke: Invoke, value: float) -> None:
    assert_scored(invoke("POST", "/predict", body_of({"features": row(value)}), JSON))


@pytest.mark.parametrize("value", [1e308, -1e308, 3.5e38, 1.7976931348623157e308])
def test_finite_numbers_beyond_float32_are_refused_by_field(invoke: Invoke, value: float) -> None:
    features = row()
    features[7] = value
    data = assert_refused(invoke("POST", "/predict", body_of({"features": features}), JSON), 422, "validation_error")
    assert data["errors"] == [{"field": "features[7]", "problem": data["errors"][0]["problem"]}]
    assert "range" in data["errors"][0]["problem"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_tokens_are_refused_by_field(invoke: Invoke, token: str) -> None:
    text = '{"features": [' + ", ".join(["0.1"] * 29 + [token]) + "]}"
    data = assert_refused(invoke("POST", "/predict", text, JSON), 422, "validation_error", "features[29]")
    assert "finite" in data["message"]


def test_overflowing_literal_1e400_is_refused(invoke: Invoke) -> None:
    # 1e400 parses to infinity in Python's json: it must be named, not scored as +inf.
    text = '{"features": [' + ", ".join(["1e400"] + ["0"] * 29) + "]}"
    assert_refused(invoke("POST", "/predict", text, JSON), 422, "validation_error", "features[0]")


def test_huge_integer_literals_are_refused(invoke: Invoke) -> None:
    big = "9" * 400  # a valid JSON integer far beyond float32
    text = '{"features": [' + ", ".join([big] + ["0"] * 29) + "]}"
    assert_refused(invoke("POST", "/predict", text, JSON), 422, "validation_error", "features[0]")
    enormous = "9" * 5000  # beyond Python's int-from-string digit limit as well
    text = '{"features": [' + ", ".join([enormous] + ["0"] * 29) + "]}"
    answer = invoke("POST", "/predict", text, JSON)
    assert answer.status in (400, 422)
    assert_refused(answer, answer.status, answer.json()["error"])


@pytest.mark.parametrize("value", [True, False, None, "0.5", [0.5], {"v": 0.5}])
def test_non_numbers_in_features_are_refused(invoke: Invoke, value: Any) -> None:
    features: list[Any] = row()
    features[3] = value
    assert_refused(
        invoke("POST", "/predict", body_of({"features": features}), JSON), 422, "validation_error", "features[3]"
    )


# -- structure ------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [64, 1000, 100_000])
def test_deeply_nested_json_is_refused(invoke: Invoke, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    answer = invoke("POST", "/predict", nested, JSON)
    assert answer.status in (400, 422)
    assert_refused(answer, answer.status, answer.json()["error"])
    inside = '{"features": ' + nested + "}"
    answer = invoke("POST", "/predict", inside, JSON)
    assert answer.status in (400, 422)
    assert_refused(answer, answer.status, answer.json()["error"])


def test_deep_nesting_in_a_batch_item_is_refused(invoke: Invoke) -> None:
    nested = "{" + '"a":{' * 5000 + "}" * 5000
    answer = invoke("POST", "/predict/batch", '{"transactions": [' + nested + "]}", JSON)
    assert answer.status in (400, 422)
    assert_refused(answer, answer.status, answer.json()["error"])


@pytest.mark.parametrize(
    "text",
    ["", "   ", "null", "0", '"features"', "[]", "{}", "{", '{"features": [1,2,', "\x00", "{'features': []}"],
)
def test_malformed_or_wrong_shape_bodies_are_refused(invoke: Invoke, text: str) -> None:
    answer = invoke("POST", "/predict", text, JSON)
    assert answer.status in (400, 422), answer.body
    assert_refused(answer, answer.status, answer.json()["error"])


def test_body_over_the_lambda_payload_limit_is_refused_with_413(invoke: Invoke) -> None:
    text = '{"features": [' + ", ".join(["0.1"] * 30) + '], "transaction_id": "' + "x" * (7 * 1024 * 1024) + '"}'
    assert_refused(invoke("POST", "/predict", text, JSON), 413, "payload_too_large", "body")


def test_duplicate_keys_are_refused_by_name(invoke: Invoke, feature_names: tuple[str, ...]) -> None:
    """Parsers disagree on repeated keys (first wins, last wins): a fraud API must not guess."""
    bad = body_of({"features": row(1e308)})[1:-1]
    good = body_of({"features": row(0.25)})[1:-1]
    for text in ("{" + bad + ", " + good + "}", "{" + good + ", " + good + "}"):
        data = assert_refused(invoke("POST", "/predict", text, JSON), 422, "validation_error")
        assert {error["field"] for error in data["errors"]} == {"features"}
        assert "more than once" in data["errors"][0]["problem"]
    named = ", ".join(f'"{name}": 0.25' for name in feature_names)
    text = '{"features": {"V1": 1.5, ' + named + "}}"
    data = assert_refused(invoke("POST", "/predict", text, JSON), 422, "validation_error")
    assert [error["field"] for error in data["errors"]] == ["features.V1"]
    text = (
        '{"transactions": [{"features": {'
        + named
        + '}}, {"transaction_id": "a", "transaction_id": "b", '
        + good
        + "}]}"
    )
    data = assert_refused(invoke("POST", "/predict/batch", text, JSON), 422, "validation_error")
    assert [error["field"] for error in data["errors"]] == ["transactions[1].transaction_id"]


def test_colons_inside_strings_are_not_mistaken_for_keys(invoke: Invoke) -> None:
    """The duplicate check counts colons first; ids with colons take the exact path and are scored."""
    body = body_of({"features": row(0.25), "transaction_id": "card:4242:tx:1"})
    assert assert_scored(invoke("POST", "/predict", body, JSON))["transaction_id"] == "card:4242:tx:1"


def test_unknown_and_missing_fields_are_named(invoke: Invoke, feature_names: tuple[str, ...]) -> None:
    named = {name: 0.1 for name in feature_names}
    del named["V4"]
    named["V99"] = 1.0
    data = assert_refused(
        invoke("POST", "/predict", body_of({"features": named, "extra": 1}), JSON), 422, "validation_error"
    )
    fields = {error["field"] for error in data["errors"]}
    assert {"extra", "features.V99", "features"} <= fields
    assert any("V4" in error["problem"] for error in data["errors"])


# -- encodings and content types ------------------------------------------------------------------


def test_invalid_utf8_is_refused_as_invalid_json(invoke: Invoke) -> None:
    raw = b'{"features": [' + b", ".join([b"0.1"] * 30) + b'], "transaction_id": "\xff\xfe\xc3"}'
    assert_refused(invoke("POST", "/predict", raw, JSON, base64_encoded=True), 400, "invalid_json", "body")
    assert_refused(invoke("POST", "/predict", b"\x80\x81\x82", JSON, base64_encoded=True), 400, "invalid_json")


@pytest.mark.parametrize(
    "where",
    [
        '{"features": [FEATURES], "transaction_id": "\\ud800"}',
        '{"features": {"\\udfff": 1}}',
        '{"features": [FEATURES], "\\ud83d": 1}',
        '{"transactions": [{"features": [FEATURES], "transaction_id": "a\\udc00"}]}',
    ],
)
def test_unpaired_surrogate_escapes_are_refused(invoke: Invoke, where: str) -> None:
    """Valid JSON grammar, but not Unicode: echoing it used to fail the answer with a 500."""
    text = where.replace("FEATURES", ", ".join(["0.1"] * 30))
    path = "/predict/batch" if "transactions" in text else "/predict"
    assert_refused(invoke("POST", path, text, JSON), 400, "invalid_json", "body")


def test_utf16_bodies_are_refused(invoke: Invoke) -> None:
    """JSON on the wire is UTF-8 (RFC 8259); a UTF-16 body is not silently re-decoded."""
    raw = body_of({"features": row()}).encode("utf-16")
    assert_refused(invoke("POST", "/predict", raw, JSON, base64_encoded=True), 400, "invalid_json", "body")


def test_base64_encoded_bodies_are_decoded(invoke: Invoke) -> None:
    payload = body_of({"features": row(0.3), "transaction_id": "b64"})
    encoded = invoke("POST", "/predict", payload, JSON, base64_encoded=True)
    plain = invoke("POST", "/predict", payload, JSON)
    assert assert_scored(encoded)["fraud_score"] == assert_scored(plain)["fraud_score"]
    assert encoded.json()["transaction_id"] == "b64"


def test_base64_flag_with_a_body_that_is_not_base64(invoke: Invoke) -> None:
    """A hand-made event claiming base64 with a body that is not: should be a 400, not an exception."""
    event = rest_event("POST", "/predict", body_of({"features": row()}), JSON)
    event["isBase64Encoded"] = True
    event["body"] = "%%% not base64 %%%"
    from fraud_api.lambda_handler import handler

    result = handler(event, FakeLambdaContext())
    answer = answer_of(result)
    assert answer.status == 400, answer.body
    body = answer.json()
    assert body["error"] == "invalid_body"
    assert "base64" in body["message"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "image/png",
    ],
)
def test_wrong_content_types_are_refused_with_415(invoke: Invoke, content_type: str) -> None:
    answer = invoke("POST", "/predict", body_of({"features": row()}), {"Content-Type": content_type})
    assert_refused(answer, 415, "unsupported_media_type", "content-type")


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", None]
)
def test_json_content_types_are_accepted(invoke: Invoke, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert_scored(invoke("POST", "/predict", body_of({"features": row()}), headers))


# -- batches --------------------------------------------------------------------------------------


def test_batch_at_the_limit_is_scored(invoke: Invoke) -> None:
    items = [{"features": row(i / 1000.0), "transaction_id": f"t{i}"} for i in range(1000)]
    answer = invoke("POST", "/predict/batch", body_of({"transactions": items}), JSON)
    assert answer.status == 200, answer.body[:300]
    data = answer.json()
    assert data["count"] == 1000
    assert [item["transaction_id"] for item in data["results"]] == [f"t{i}" for i in range(1000)]


def test_batch_over_the_limit_is_refused_with_413(invoke: Invoke) -> None:
    items = [{"features": row()}] * 1001
    assert_refused(invoke("POST", "/predict/batch", body_of({"transactions": items}), JSON), 413, "batch_too_large")


def test_empty_batch_and_bad_items_are_refused(invoke: Invoke) -> None:
    assert_refused(invoke("POST", "/predict/batch", body_of({"transactions": []}), JSON), 422, "validation_error")
    items: list[Any] = [{"features": row()}, {"features": row(1e308)}, 7]
    data = assert_refused(
        invoke("POST", "/predict/batch", body_of({"transactions": items}), JSON), 422, "validation_error"
    )
    fields = {error["field"] for error in data["errors"]}
    assert "transactions[1].features[0]" in fields
    assert "transactions[2]" in fields


# -- routes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/predict", 405), ("DELETE", "/predict", 405), ("GET", "/nope", 404), ("POST", "/health", 405)],
)
def test_unknown_routes_and_methods_answer_json(invoke: Invoke, method: str, path: str, status: int) -> None:
    answer = invoke(method, path, None, JSON)
    assert answer.status == status
    assert answer.json()["message"]


# -- header and log injection ---------------------------------------------------------------------

CRLF_PAYLOADS = [
    "a\r\nSet-Cookie: pwned=1",
    "a\r\n\r\n<script>alert(1)</script>",
    "a\nX-Injected: 1",
    "%0d%0aSet-Cookie:%20pwned=1",
    "a\u2028b\u0000c",
]


@pytest.mark.parametrize("payload", CRLF_PAYLOADS)
def test_transaction_id_is_echoed_only_inside_json(invoke: Invoke, payload: str) -> None:
    answer = invoke("POST", "/predict", body_of({"features": row(), "transaction_id": payload}), JSON)
    assert assert_scored(answer)["transaction_id"] == payload
    for name, value in answer.headers.items():
        assert "pwned" not in name.lower()
        assert "injected" not in name.lower()
        assert "\r" not in value
        assert "\n" not in value
        assert "pwned" not in value
    assert b"\r\n" not in answer.body  # escaped by the JSON encoder, never raw


@pytest.mark.parametrize("payload", CRLF_PAYLOADS)
def test_header_values_are_never_reflected_into_headers(invoke: Invoke, payload: str) -> None:
    headers = {**JSON, "X-Request-Id": payload, "X-Forwarded-For": payload, "User-Agent": payload}
    answer = invoke("POST", "/predict", body_of({"features": row()}), headers)
    assert_scored(answer)
    for name, value in answer.headers.items():
        assert payload not in value, name
        assert "\r" not in value
        assert "\n" not in value
