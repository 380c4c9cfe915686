"""GET /health, GET /model, the OpenAPI document and the docs page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fraud_scoring.manifest import load_manifest
from fraud_scoring.model import FraudModel
from tests.unit.api.conftest import Invoke
from tests.unit.api.lambda_events import function_url_event, http_api_event, rest_event


@pytest.mark.parametrize("make_event", [rest_event, http_api_event, function_url_event])
def test_health(invoke: Invoke, model: FraudModel, make_event: object) -> None:
    answer = invoke(make_event("GET", "/health"))  # type: ignore[operator]
    assert answer.status == 200
    assert answer.json == {"status": "ok", "model_version": model.model_version}


def test_model_route_shows_the_manifest(invoke: Invoke, model_dir: Path) -> None:
    manifest = load_manifest(model_dir)
    body = invoke(rest_event("GET", "/model")).json
    assert body["model_version"] == manifest.model_version
    assert body["feature_names"] == list(manifest.feature_names)
    assert body["n_features"] == 30
    assert body["threshold"] == manifest.threshold
    assert body["threshold_rule"] == manifest.threshold_rule
    assert body["metrics"] == json.loads(json.dumps(manifest.metrics))
    assert body["onnx_sha256"] == manifest.onnx_sha256


@pytest.fixture(scope="module")
def openapi(invoke: Invoke) -> dict[str, object]:
    answer = invoke(rest_event("GET", "/openapi.json"))
    assert answer.status == 200
    document: dict[str, object] = answer.json
    return document


def test_openapi_documents_every_route(openapi: dict[str, object]) -> None:
    paths = openapi["paths"]
    assert isinstance(paths, dict)
    assert set(paths) >= {"/predict", "/predict/batch", "/health", "/model"}
    predict = paths["/predict"]["post"]
    assert predict["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PredictRequest"
    }
    assert set(predict["responses"]) >= {"200", "400", "413", "415", "422"}


def test_openapi_schemas_follow_the_manifest(openapi: dict[str, object], model: FraudModel) -> None:
    components = openapi["components"]["schemas"]  # type: ignore[index]
    named = components["NamedFeatures"]
    assert set(named["required"]) == set(model.feature_names)
    assert named["additionalProperties"] is False
    request = components["PredictRequest"]
    array = next(option for option in request["properties"]["features"]["oneOf"] if option.get("type") == "array")
    assert array["minItems"] == array["maxItems"] == model.n_features
    batch = components["BatchRequest"]["properties"]["transactions"]
    assert batch["maxItems"] == 1000
    for name in ("PredictResponse", "BatchResponse", "ErrorResponse"):
        assert name in components


def test_openapi_examples_are_accepted_by_the_service(openapi: dict[str, object], invoke: Invoke) -> None:
    paths = openapi["paths"]
    examples = paths["/predict"]["post"]["requestBody"]["content"]["application/json"]["examples"]  # type: ignore[index]
    assert set(examples) == {"array", "named"}
    for example in examples.values():
        answer = invoke(
            rest_event("POST", "/predict", json.dumps(example["value"]), {"Content-Type": "application/json"})
        )
        assert answer.status == 200, answer.text
    batch_examples = paths["/predict/batch"]["post"]["requestBody"]["content"]["application/json"]["examples"]  # type: ignore[index]
    batch_example = batch_examples["two"]["value"]
    answer = invoke(
        rest_event("POST", "/predict/batch", json.dumps(batch_example), {"Content-Type": "application/json"})
    )
    assert answer.status == 200
    assert answer.json["count"] == 2


def test_answers_match_the_documented_models(invoke: Invoke, model: FraudModel) -> None:
    from fraud_api.contract import BatchResponse, ErrorResponse, PredictResponse

    json_headers = {"Content-Type": "application/json"}
    row = [0.1] * model.n_features
    single = invoke(rest_event("POST", "/predict", json.dumps({"features": row, "transaction_id": "t"}), json_headers))
    PredictResponse.model_validate_json(single.text, strict=True)
    batch = invoke(
        rest_event("POST", "/predict/batch", json.dumps({"transactions": [{"features": row}]}), json_headers)
    )
    BatchResponse.model_validate_json(batch.text, strict=True)
    for bad in (rest_event("POST", "/predict", "{}", json_headers), rest_event("GET", "/nowhere")):
        ErrorResponse.model_validate_json(invoke(bad).text, strict=True)
    with pytest.raises(ValueError, match="fraud_score"):
        PredictResponse.model_validate_json('{"fraud_score": 2}')


def test_docs_page(invoke: Invoke) -> None:
    answer = invoke(rest_event("GET", "/docs"))
    assert answer.status == 200
    assert "text/html" in answer.headers["content-type"]
    # relative, so the page works below a stage (/v1/docs) or any other prefix
    assert 'url: "openapi.json"' in answer.text
    assert "https://" not in answer.text
