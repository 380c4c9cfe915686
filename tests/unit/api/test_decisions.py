"""Decisions and reasons through the handler: policy outcomes, rule ids, explanations on demand and
on every flagged answer, their parity with the model's log-odds, and every bad ``explain``."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mangum import Mangum

from fraud_api.factory import Settings, create_app
from fraud_scoring.decision import DecisionPipeline
from fraud_scoring.explain import DEFAULT_REASONS, load_explainer
from fraud_scoring.model import FraudModel, load_model
from fraud_scoring.policy import load_policy, policy_from_document
from tests.unit.api.conftest import Answer, Invoke, answer_of, new_telemetry
from tests.unit.api.lambda_events import FakeLambdaContext, rest_event

JSON = {"Content-Type": "application/json"}
REPO = Path(__file__).resolve().parents[3]


def invoke_with(pipeline: DecisionPipeline) -> Invoke:
    observe = new_telemetry(pipeline.model)
    handler = observe.wrap_lambda_handler(
        Mangum(create_app(pipeline, telemetry=observe, settings=Settings()), lifespan="off")
    )

    def invoke(event: dict[str, Any]) -> Answer:
        return answer_of(handler(event, FakeLambdaContext()))

    return invoke


def predict(invoke: Invoke, row: Any, **fields: Any) -> Answer:
    return invoke(rest_event("POST", "/predict", json.dumps({"features": list(map(float, row)), **fields}), JSON))


@pytest.fixture(scope="module")
def scores(model: FraudModel, rows: np.ndarray) -> np.ndarray:
    return np.asarray(model.score_many(rows))


@pytest.fixture(scope="module")
def flagged_row(rows: np.ndarray, scores: np.ndarray, model: FraudModel) -> np.ndarray:
    candidates = np.flatnonzero(scores >= model.threshold)
    assert candidates.size, "the test rows hold no transaction the model flags"
    flagged: np.ndarray = rows[candidates[0]]
    return flagged


@pytest.fixture(scope="module")
def quiet_row(rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
    quiet: np.ndarray = rows[int(np.argmin(scores))]
    return quiet


def test_default_policy_is_the_threshold(invoke: Invoke, flagged_row: np.ndarray, quiet_row: np.ndarray) -> None:
    flagged = predict(invoke, flagged_row).json
    quiet = predict(invoke, quiet_row).json
    assert (flagged["decision"], quiet["decision"]) == ("DECLINE", "APPROVE")
    assert flagged["is_fraud"] is True
    assert quiet["is_fraud"] is False
    assert flagged["rules"] == quiet["rules"] == []
    assert flagged["policy_version"].startswith("threshold-")


def test_flagged_answers_carry_reasons_unasked(invoke: Invoke, flagged_row: np.ndarray, quiet_row: np.ndarray) -> None:
    flagged = predict(invoke, flagged_row).json
    assert len(flagged["reasons"]) == DEFAULT_REASONS
    assert "reasons" not in predict(invoke, quiet_row).json
    assert "reasons" not in predict(invoke, quiet_row, explain=False).json
    # asking for 0 does not silence a flagged answer
    assert len(predict(invoke, flagged_row, explain=0).json["reasons"]) == DEFAULT_REASONS


@pytest.mark.parametrize(("asked", "given"), [(True, DEFAULT_REASONS), (1, 1), (5, 5), (30, 30)])
def test_reasons_on_request(invoke: Invoke, quiet_row: np.ndarray, asked: Any, given: int) -> None:
    body = predict(invoke, quiet_row, explain=asked).json
    reasons = body["reasons"]
    assert len(reasons) <= given  # features that did not move the score are no reason
    assert len(reasons) >= min(given, 3)
    sizes = [abs(reason["contribution"]) for reason in reasons]
    assert sizes == sorted(sizes, reverse=True)
    for reason in reasons:
        assert reason["direction"] == ("raises" if reason["contribution"] > 0 else "lowers")
        assert reason["value"] == pytest.approx(float(quiet_row[list(body_names()).index(reason["feature"])]), rel=1e-6)


def body_names() -> tuple[str, ...]:
    from fraud_scoring.manifest import load_manifest

    return load_manifest(REPO / "layers" / "model").feature_names


def test_base_value_plus_every_contribution_is_the_scores_log_odds(invoke: Invoke, rows: np.ndarray) -> None:
    for row in rows[:25]:
        body = predict(invoke, row, explain=30).json
        total = body["base_value"] + sum(reason["contribution"] for reason in body["reasons"])
        score = body["fraud_score"]
        assert total == pytest.approx(math.log(score / (1.0 - score)), abs=1e-4)


@pytest.mark.parametrize("bad", ["yes", -1, 31, 2.5, None, [], {"k": 3}])
def test_a_bad_explain_is_named(invoke: Invoke, quiet_row: np.ndarray, bad: Any) -> None:
    answer = predict(invoke, quiet_row, explain=bad)
    if bad is None:  # null is "not asked"
        assert answer.status == 200
        return
    assert answer.status == 422, answer.text
    errors = answer.json["errors"]
    assert [error["field"] for error in errors] == ["explain"]
    assert "0 to 30" in errors[0]["problem"]


def test_batch_items_are_explained_when_asked_or_flagged(
    invoke: Invoke, flagged_row: np.ndarray, quiet_row: np.ndarray
) -> None:
    items = [
        {"features": list(map(float, quiet_row)), "transaction_id": "quiet"},
        {"features": list(map(float, quiet_row)), "transaction_id": "asked", "explain": 2},
        {"features": list(map(float, flagged_row)), "transaction_id": "flagged"},
    ]
    answer = invoke(rest_event("POST", "/predict/batch", json.dumps({"transactions": items}), JSON))
    assert answer.status == 200, answer.text
    quiet, asked, flagged = answer.json["results"]
    assert "reasons" not in quiet
    assert len(asked["reasons"]) == 2
    assert len(flagged["reasons"]) == DEFAULT_REASONS
    assert flagged["decision"] == "DECLINE"
    assert asked["base_value"] == flagged["base_value"]
    single = predict(invoke, flagged_row, explain=DEFAULT_REASONS).json
    # batch and single agree (the batch explains its rows in one vectorised call)
    assert [r["feature"] for r in flagged["reasons"]] == [r["feature"] for r in single["reasons"]]
    assert [r["contribution"] for r in flagged["reasons"]] == pytest.approx(
        [r["contribution"] for r in single["reasons"]]
    )


def test_rules_and_bands_of_a_policy_decide(model: FraudModel, rows: np.ndarray, scores: np.ndarray) -> None:
    document = {
        "schema_version": 1,
        "version": "test-1",
        "outcomes": ["APPROVE", "REVIEW", "DECLINE"],
        "bands": [
            {"id": "low", "outcome": "APPROVE", "min": 0.0, "max": 0.5},
            {"id": "high", "outcome": "DECLINE", "min": 0.5, "max": 1.0},
        ],
        "rules": [
            {
                "id": "big-amount",
                "description": "large amounts are looked at",
                "when": "Amount > 1000.0",
                "outcome": "REVIEW",
            }
        ],
    }
    policy = policy_from_document(document, model.feature_names)
    invoke = invoke_with(DecisionPipeline(model, load_explainer(model.model_dir, model.manifest), policy))
    amount = model.feature_names.index("Amount")
    low = int(np.argmin(scores))
    row = rows[low].copy()
    row[amount] = 50.0
    plain = predict(invoke, row).json
    assert (plain["decision"], plain["rules"], plain["policy_version"]) == ("APPROVE", [], "test-1")
    row[amount] = 5000.0
    reviewed = predict(invoke, row).json
    assert (reviewed["decision"], reviewed["rules"]) == ("REVIEW", ["big-amount"])
    assert len(reviewed["reasons"]) == DEFAULT_REASONS  # REVIEW is flagged: it says why


def test_the_committed_policy_layer_is_served_with_its_version(model: FraudModel) -> None:
    policy = load_policy(REPO / "layers" / "policy", model.feature_names)
    invoke = invoke_with(DecisionPipeline(model, None, policy))
    body = invoke(rest_event("GET", "/model")).json
    assert body["policy"]["policy_version"] == policy.version
    assert body["explanations"] is False


def test_a_layer_without_explainer_refuses_explain_by_name(
    model_dir: Path, tmp_path: Path, quiet_row: np.ndarray
) -> None:
    old = tmp_path / "model"
    shutil.copytree(model_dir, old)
    manifest = json.loads((old / "manifest.json").read_text())
    (old / manifest.pop("explainer_file")).unlink()
    manifest.pop("explainer_sha256")
    (old / "manifest.json").write_text(json.dumps(manifest))
    model = load_model(old)
    invoke = invoke_with(DecisionPipeline(model, load_explainer(old, model.manifest)))
    assert predict(invoke, quiet_row).status == 200
    refused = predict(invoke, quiet_row, explain=True)
    assert refused.status == 422
    assert refused.json["errors"][0]["field"] == "explain"
    assert "retrain" in refused.json["errors"][0]["problem"]


def test_a_rule_failing_on_an_extreme_value_leaves_the_decision_to_the_band(
    model: FraudModel, rows: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    """int(Amount) overflows on 1e30: the request is still answered, by the score band, and logged."""
    document = {
        "schema_version": 1,
        "version": "overflow-1",
        "outcomes": ["APPROVE", "DECLINE"],
        "bands": [
            {"id": "low", "outcome": "APPROVE", "min": 0.0, "max": 0.5},
            {"id": "high", "outcome": "DECLINE", "min": 0.5, "max": 1.0},
        ],
        "rules": [{"id": "whole-amount", "description": "d", "when": "int(Amount) > 5000", "outcome": "DECLINE"}],
    }
    invoke = invoke_with(DecisionPipeline(model, None, policy_from_document(document, model.feature_names)))
    row = rows[0].copy()
    row[model.feature_names.index("Amount")] = 1e30
    expected = "DECLINE" if model.score_one(list(map(float, row))) >= 0.5 else "APPROVE"
    with caplog.at_level("WARNING", logger="fraud_scoring"):
        single = predict(invoke, row)
        items = [{"features": list(map(float, row))}, {"features": list(map(float, rows[1]))}]
        batch = invoke(rest_event("POST", "/predict/batch", json.dumps({"transactions": items}), JSON))
    assert single.status == 200
    assert (single.json["decision"], single.json["rules"]) == (expected, [])
    assert batch.status == 200
    assert batch.json["results"][0]["decision"] == expected
    assert "policy rules failed" in caplog.text


def test_a_whole_number_written_as_a_float_is_an_integer(invoke: Invoke, quiet_row: np.ndarray) -> None:
    """JSON Schema (what /openapi.json publishes) counts 4.0 as an integer: so does the service."""
    assert len(predict(invoke, quiet_row, explain=4.0).json["reasons"]) <= 4
    assert predict(invoke, quiet_row, explain="4").status == 422


def test_a_shadow_challenger_survives_a_rule_failing_on_an_extreme_value(model: FraudModel, rows: np.ndarray) -> None:
    """The challenger decides with the same fallback as the champion: never a 500 (review finding)."""
    from fraud_scoring.challenger import Challenger

    document = {
        "schema_version": 1,
        "version": "overflow-2",
        "outcomes": ["APPROVE", "DECLINE"],
        "bands": [
            {"id": "low", "outcome": "APPROVE", "min": 0.0, "max": 0.5},
            {"id": "high", "outcome": "DECLINE", "min": 0.5, "max": 1.0},
        ],
        "rules": [{"id": "whole-amount", "description": "d", "when": "int(Amount) > 5000", "outcome": "DECLINE"}],
    }
    policy = policy_from_document(document, model.feature_names)
    champion = DecisionPipeline(model, None, policy)
    champion.attach_challenger(Challenger(DecisionPipeline(model, None, policy), "shadow", 1.0))
    invoke = invoke_with(champion)
    row = rows[0].copy()
    row[model.feature_names.index("Amount")] = 1e30
    assert predict(invoke, row).status == 200
    items = [{"features": list(map(float, row))}, {"features": list(map(float, rows[1]))}]
    assert invoke(rest_event("POST", "/predict/batch", json.dumps({"transactions": items}), JSON)).status == 200


def test_a_flagged_answer_carries_the_default_reasons_even_when_fewer_are_asked(
    invoke: Invoke, flagged_row: np.ndarray
) -> None:
    assert len(predict(invoke, flagged_row, explain=1).json["reasons"]) == DEFAULT_REASONS
    assert len(predict(invoke, flagged_row, explain=5).json["reasons"]) == 5
