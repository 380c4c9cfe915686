"""POST /predict/batch: order, limits, and the all-or-nothing rule for bad items."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fraud_api.factory import DEFAULT_MAX_BATCH_ITEMS, Settings
from fraud_scoring.model import FraudModel
from tests.unit.api.conftest import Invoke, build_invoke
from tests.unit.api.lambda_events import rest_event
from training.export import onnx_scores

JSON = {"Content-Type": "application/json"}


def _batch(rows: np.ndarray, with_ids: bool = True) -> str:
    items = []
    for position, row in enumerate(rows):
        item: dict[str, object] = {"features": row.tolist()}
        if with_ids:
            item["transaction_id"] = f"tx-{position}"
        items.append(item)
    return json.dumps({"transactions": items})


def test_results_come_back_in_order_with_training_scores(
    invoke: Invoke, model: FraudModel, model_dir: Path, rows: np.ndarray
) -> None:
    sample = rows[:300]
    answer = invoke(rest_event("POST", "/predict/batch", _batch(sample), JSON))
    assert answer.status == 200, answer.text
    body = answer.json
    assert body["count"] == 300
    assert body["model_version"] == model.model_version
    assert body["threshold"] == model.threshold
    assert body["inference_time_ms"] > 0
    expected = onnx_scores((model_dir / "model.onnx").read_bytes(), sample)
    got = [result["fraud_score"] for result in body["results"]]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-7)
    assert [result["transaction_id"] for result in body["results"]] == [f"tx-{i}" for i in range(300)]
    assert all(result["is_fraud"] is (result["fraud_score"] >= model.threshold) for result in body["results"])


def test_batch_scores_equal_single_scores(invoke: Invoke, rows: np.ndarray) -> None:
    batch = invoke(rest_event("POST", "/predict/batch", _batch(rows[:20], with_ids=False), JSON)).json
    for row, result in zip(rows[:20], batch["results"], strict=True):
        single = invoke(rest_event("POST", "/predict", json.dumps({"features": row.tolist()}), JSON)).json
        assert result["fraud_score"] == pytest.approx(single["fraud_score"], abs=1e-7)
        assert "transaction_id" not in result


def test_the_documented_maximum_is_accepted_and_one_more_is_refused(invoke: Invoke, rows: np.ndarray) -> None:
    full = rows[:DEFAULT_MAX_BATCH_ITEMS]
    assert len(full) == DEFAULT_MAX_BATCH_ITEMS == 1000
    answer = invoke(rest_event("POST", "/predict/batch", _batch(full), JSON))
    assert answer.status == 200
    assert answer.json["count"] == 1000
    over = np.vstack([full, rows[:1]])
    refused = invoke(rest_event("POST", "/predict/batch", _batch(over), JSON))
    assert refused.status == 413
    assert refused.json["error"] == "batch_too_large"
    assert refused.json["errors"] == [{"field": "transactions", "problem": "at most 1000 items, got 1001"}]


def test_the_limit_is_configurable(model: FraudModel, rows: np.ndarray) -> None:
    small = build_invoke(model, Settings(max_batch_items=3))
    assert small(rest_event("POST", "/predict/batch", _batch(rows[:3]), JSON)).status == 200
    assert small(rest_event("POST", "/predict/batch", _batch(rows[:4]), JSON)).status == 413


def test_the_largest_batch_fits_lambdas_payload_limit(invoke: Invoke, model: FraudModel, rows: np.ndarray) -> None:
    # Worst case request: named features with long numbers and the longest ids.
    item = {
        "features": {name: -123456.78901234567 for name in model.feature_names},
        "transaction_id": "x" * 128,
    }
    body = json.dumps({"transactions": [item] * DEFAULT_MAX_BATCH_ITEMS})
    assert len(body) < 6 * 1024 * 1024
    answer = invoke(rest_event("POST", "/predict/batch", body, JSON))
    assert answer.status == 200
    assert len(answer.text) < 6 * 1024 * 1024


def test_one_bad_item_refuses_the_batch_and_every_bad_item_is_named(invoke: Invoke, rows: np.ndarray) -> None:
    items: list[dict[str, object]] = [{"features": row.tolist()} for row in rows[:6]]
    items[2] = {"features": rows[2].tolist()[:-1]}
    items[4] = {"features": [*rows[4].tolist()[:-1], "x"], "transaction_id": "t4"}
    answer = invoke(rest_event("POST", "/predict/batch", json.dumps({"transactions": items}), JSON))
    assert answer.status == 422
    assert answer.json["errors"] == [
        {"field": "transactions[2].features", "problem": "must have exactly 30 numbers, got 29"},
        {"field": "transactions[4].features[29]", "problem": "must be a number, got a string"},
    ]
    assert answer.json["message"].startswith("transactions[2].features: ")


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ('{"transactions": []}', "transactions", "at least one"),
        ('{"transactions": {}}', "transactions", "must be an array, got an object"),
        ("{}", "transactions", "is required"),
        ('{"features": [1]}', "features", "unknown field"),
        ("[1, 2]", "body", "must be a JSON object"),
        ('{"transactions": [1, null]}', "transactions[0]", "must be a JSON object, got int"),
    ],
)
def test_batch_shape_errors(invoke: Invoke, body: str, field: str, problem: str) -> None:
    answer = invoke(rest_event("POST", "/predict/batch", body, JSON))
    assert answer.status == 422
    problems = {entry["field"]: entry["problem"] for entry in answer.json["errors"]}
    assert problem in problems[field]
