"""POST /predict through API Gateway REST (v1), HTTP API (v2) and Function URL events."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from fraud_scoring.model import FraudModel
from tests.unit.api.conftest import Invoke, answer_of
from tests.unit.api.lambda_events import FakeLambdaContext, function_url_event, http_api_event, rest_event
from training.export import onnx_scores

JSON = {"Content-Type": "application/json"}


def _predict_body(row: np.ndarray, **extra: object) -> str:
    return json.dumps({"features": row.tolist(), **extra})


def test_array_features_score_like_training_onnx(
    invoke: Invoke, model: FraudModel, model_dir: Path, rows: np.ndarray
) -> None:
    sample = rows[:60]
    expected = onnx_scores((model_dir / "model.onnx").read_bytes(), sample)
    for row, reference in zip(sample, expected, strict=True):
        answer = invoke(rest_event("POST", "/predict", _predict_body(row), JSON))
        assert answer.status == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        body = answer.json
        assert body["fraud_score"] == pytest.approx(reference, abs=1e-7)
        assert body["is_fraud"] is (body["fraud_score"] >= model.threshold)
        assert body["threshold"] == model.threshold
        assert body["model_version"] == model.model_version
        assert body["inference_time_ms"] > 0
        assert "transaction_id" not in body


def test_the_response_has_exactly_the_documented_fields(invoke: Invoke, rows: np.ndarray) -> None:
    body = invoke(rest_event("POST", "/predict", _predict_body(rows[0], transaction_id="tx-42"), JSON)).json
    assert set(body) == {
        "fraud_score",
        "is_fraud",
        "decision",
        "rules",
        "threshold",
        "policy_version",
        "model_version",
        "inference_time_ms",
        "transaction_id",
    }
    assert body["transaction_id"] == "tx-42"
    assert 0.0 <= body["fraud_score"] <= 1.0


def test_named_features_give_the_same_score_as_the_array(invoke: Invoke, model: FraudModel, rows: np.ndarray) -> None:
    for row in rows[:10]:
        named = dict(zip(model.feature_names, row.tolist(), strict=True))
        shuffled = dict(reversed(list(named.items())))  # order of names does not matter
        by_name = invoke(rest_event("POST", "/predict", json.dumps({"features": shuffled}), JSON)).json
        by_position = invoke(rest_event("POST", "/predict", _predict_body(row), JSON)).json
        assert by_name["fraud_score"] == by_position["fraud_score"]


def test_frauds_are_flagged(invoke: Invoke, model: FraudModel, rows: np.ndarray) -> None:
    scores = np.array(model.score_many(rows))
    risky = rows[int(np.argmax(scores))]
    body = invoke(rest_event("POST", "/predict", _predict_body(risky), JSON)).json
    assert body["is_fraud"] is True
    assert body["fraud_score"] >= model.threshold


def test_integers_are_numbers(invoke: Invoke) -> None:
    answer = invoke(rest_event("POST", "/predict", json.dumps({"features": [0] * 29 + [100]}), JSON))
    assert answer.status == 200, answer.text


@pytest.mark.parametrize(
    "make_event",
    [rest_event, http_api_event, function_url_event],
    ids=["rest-v1", "http-api-v2", "function-url"],
)
def test_every_event_kind_gives_the_same_answer(make_event: object, invoke: Invoke, rows: np.ndarray) -> None:
    body = _predict_body(rows[5], transaction_id="tx-7")
    reference = invoke(rest_event("POST", "/predict", body, JSON)).json
    answer = invoke(make_event("POST", "/predict", body, JSON))  # type: ignore[operator]
    assert answer.status == 200
    assert answer.json["fraud_score"] == reference["fraud_score"]
    assert answer.json["transaction_id"] == "tx-7"


@pytest.mark.parametrize("make_event", [rest_event, http_api_event], ids=["rest-v1", "http-api-v2"])
def test_base64_bodies_are_decoded(make_event: object, invoke: Invoke, rows: np.ndarray) -> None:
    body = _predict_body(rows[3])
    plain = invoke(rest_event("POST", "/predict", body, JSON)).json
    encoded = invoke(make_event("POST", "/predict", body, JSON, base64_encoded=True))  # type: ignore[operator]
    assert encoded.status == 200
    assert encoded.json["fraud_score"] == plain["fraud_score"]


@pytest.mark.parametrize(
    "content_type", [None, "application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.api+json"]
)
def test_json_content_types_and_a_missing_one_are_accepted(
    content_type: str | None, invoke: Invoke, rows: np.ndarray
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    assert invoke(rest_event("POST", "/predict", _predict_body(rows[0]), headers)).status == 200


def test_the_shipped_handler_module(lambda_module: ModuleType, model: FraudModel, rows: np.ndarray) -> None:
    event = rest_event("POST", "/predict", _predict_body(rows[9], transaction_id="a"), JSON)
    answer = answer_of(lambda_module.handler(event, FakeLambdaContext()))
    assert answer.status == 200
    assert answer.json["fraud_score"] == pytest.approx(model.score_one(rows[9].tolist()), abs=0)
    assert answer.json["model_version"] == model.model_version
    # Mangum must not run the ASGI lifespan on each invocation: the model is loaded at import.
    assert lambda_module.mangum_handler.lifespan == "off"
    assert lambda_module.app.state.model.model_version == model.model_version
