"""Hypothesis properties of the request contract, checked through the shipped Lambda handler.

- any JSON value or any byte string as a body gets 200 or a 4xx whose JSON body names the problem;
- every valid transaction is scored, with the same score the model gives the same row;
- the validator and the published JSON schema (OpenAPI components) agree: both come from one
  declaration (``fraud_api.contract``), and this checks the declaration says what is enforced.
"""

from __future__ import annotations

import json
import math
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraud_api.contract import Contract
from fraud_api.validation import FLOAT32_MAX
from tests.unit.reliability.conftest import Answer, Invoke

N_FEATURES = 30
JSON_HEADERS = {"Content-Type": "application/json"}
ERROR_STATUSES = {400, 413, 415, 422}
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite_feature = st.floats(min_value=-FLOAT32_MAX, max_value=FLOAT32_MAX, allow_nan=False, allow_infinity=False)
any_number = st.one_of(st.floats(), st.integers(min_value=-(10**50), max_value=10**50))
json_scalars = st.one_of(st.none(), st.booleans(), any_number, st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6), st.dictionaries(st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=40,
)


def assert_contract(answer: Answer) -> None:
    """200, or a 4xx with a JSON body that says what is wrong; never a 5xx."""
    assert answer.status < 500, answer.body[:500]
    data = answer.json()
    if answer.status == 200:
        return
    assert answer.status in ERROR_STATUSES, answer.status
    assert isinstance(data["error"], str)
    assert data["error"]
    assert isinstance(data["message"], str)
    assert data["message"]
    assert data["errors"], "a 4xx must name at least one field"
    for error in data["errors"]:
        # the field may be "" when the body itself has an empty key: it is still named
        assert isinstance(error["field"], str)
        assert error["problem"]


def dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


@SETTINGS
@given(body=json_values)
def test_any_json_body_gets_a_clear_answer(invoke: Invoke, body: Any) -> None:
    text = dumps(body)
    assert_contract(invoke("POST", "/predict", text, JSON_HEADERS))
    assert_contract(invoke("POST", "/predict/batch", text, JSON_HEADERS))


@SETTINGS
@given(body=st.binary(max_size=300))
def test_any_bytes_get_a_clear_answer(invoke: Invoke, body: bytes) -> None:
    assert_contract(invoke("POST", "/predict", body, JSON_HEADERS, base64_encoded=True))


@SETTINGS
@given(
    features=st.lists(any_number, min_size=N_FEATURES, max_size=N_FEATURES),
    transaction_id=st.one_of(st.none(), st.text(max_size=140)),
)
def test_any_numbers_in_the_right_shape_get_a_clear_answer(
    invoke: Invoke, features: list[float], transaction_id: str | None
) -> None:
    body: dict[str, Any] = {"features": features}
    if transaction_id is not None:
        body["transaction_id"] = transaction_id
    answer = invoke("POST", "/predict", dumps(body), JSON_HEADERS)
    assert_contract(answer)
    usable = all(math.isfinite(value) and abs(value) <= FLOAT32_MAX for value in features)
    id_ok = transaction_id is None or 1 <= len(transaction_id) <= 128
    assert (answer.status == 200) == (usable and id_ok), answer.body[:300]


@SETTINGS
@given(rows=st.lists(st.lists(finite_feature, min_size=N_FEATURES, max_size=N_FEATURES), min_size=1, max_size=8))
def test_valid_transactions_get_the_models_score(
    invoke: Invoke, feature_names: tuple[str, ...], rows: list[list[float]]
) -> None:
    from fraud_api.app import model

    expected = model.score_many(rows)
    for position, row in enumerate(rows):
        # alternate the array and the named form: both are the same transaction
        features: Any = row if position % 2 == 0 else dict(zip(feature_names, row, strict=True))
        answer = invoke("POST", "/predict", dumps({"features": features}), JSON_HEADERS)
        assert answer.status == 200, answer.body[:300]
        data = answer.json()
        assert data["fraud_score"] == pytest.approx(expected[position], abs=1e-6)
        assert data["is_fraud"] == (data["fraud_score"] >= data["threshold"])
    batch = invoke("POST", "/predict/batch", dumps({"transactions": [{"features": r} for r in rows]}), JSON_HEADERS)
    assert batch.status == 200
    assert [item["fraud_score"] for item in batch.json()["results"]] == pytest.approx(expected, abs=1e-6)


# -- the validator and the published schema agree -------------------------------------------------


@pytest.fixture(scope="module")
def schema_validators() -> dict[str, jsonschema.protocols.Validator]:
    from fraud_api.app import app

    components = app.openapi()["components"]["schemas"]
    return {
        name: jsonschema.Draft202012Validator({**components[name], "components": {"schemas": components}})
        for name in ("PredictRequest", "BatchRequest")
    }


def near_valid_transaction(names: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Mostly well-formed transactions with one or two things wrong, so both verdicts occur."""
    cell = st.one_of(
        finite_feature,
        finite_feature,
        st.integers(-(10**6), 10**6),
        st.booleans(),
        st.none(),
        st.just("1"),
        # just past float32's range: the published schema once allowed what the service refused
        st.sampled_from([1e39, -1e39, 10**39, FLOAT32_MAX]),
    )
    array = st.lists(cell, min_size=N_FEATURES - 1, max_size=N_FEATURES + 1)
    named = st.fixed_dictionaries({}, optional={name: cell for name in (*names, "V99", "extra")})
    identifier = st.one_of(st.none(), st.text(min_size=0, max_size=130), st.integers())
    return st.fixed_dictionaries(
        {"features": st.one_of(array, array, named, st.none(), st.text(max_size=3))},
        optional={"transaction_id": identifier, "unexpected": st.integers()},
    )


def verdict(parse: Any, body: Any) -> bool:
    from fraud_api.validation import RequestError

    try:
        parse(body)
    except RequestError:
        return False
    return True


@SETTINGS
@given(data=st.data())
def test_validator_agrees_with_the_published_schema(
    data: st.DataObject, feature_names: tuple[str, ...], schema_validators: dict[str, Any]
) -> None:
    contract = Contract(feature_names, 1000)
    transaction = data.draw(near_valid_transaction(feature_names))
    batch = {"transactions": data.draw(st.lists(near_valid_transaction(feature_names), min_size=0, max_size=3))}
    checks = [
        (transaction, "PredictRequest", lambda raw: contract.parse_predict(raw, 10**7)),
        (batch, "BatchRequest", lambda raw: contract.parse_batch(raw, 10**7)),
    ]
    for body, schema_name, parse in checks:
        accepted = verdict(parse, json.dumps(body).encode())
        documented = schema_validators[schema_name].is_valid(body)
        assert accepted == documented, (schema_name, body)
