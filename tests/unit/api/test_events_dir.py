"""Drive every API Gateway event in events/ (written by `make events`) through the shipped handler."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.unit.api.conftest import answer_of
from tests.unit.api.lambda_events import FakeLambdaContext

EVENTS_DIR = Path(__file__).resolve().parents[3] / "events"
EVENT_FILES = sorted(EVENTS_DIR.glob("*.json"))

# What each bad-request event must get; every *_ok event must get 200.
EXPECTED = {
    "predict_batch_empty": (422, "validation_error"),
    "predict_batch_oversized": (413, "batch_too_large"),
    "predict_empty_body": (400, "empty_body"),
    "predict_missing_feature": (422, "validation_error"),
    "predict_nan": (422, "validation_error"),
    "predict_not_json": (400, "invalid_json"),
    "predict_string_feature": (422, "validation_error"),
    "predict_unknown_feature": (422, "validation_error"),
    "predict_wrong_content_type": (415, "unsupported_media_type"),
    "predict_wrong_length": (422, "validation_error"),
    "predict_wrong_method": (405, "method_not_allowed"),
    "unknown_route": (404, "not_found"),
}


@pytest.mark.skipif(not EVENT_FILES, reason="events/ is not on this branch yet (it comes from the sam branch)")
@pytest.mark.parametrize("path", EVENT_FILES, ids=[path.stem for path in EVENT_FILES])
def test_every_event_gets_its_documented_answer(path: Path, lambda_module: ModuleType) -> None:
    event = json.loads(path.read_text())
    answer = answer_of(lambda_module.handler(event, FakeLambdaContext()))
    assert answer.status < 500, answer.text
    if path.stem.endswith("_ok") or "_ok_" in path.stem:
        assert answer.status == 200, answer.text
        if path.stem.startswith("predict"):
            assert "fraud_score" in answer.text
        return
    assert path.stem in EXPECTED, f"{path.name}: add its expected answer to EXPECTED"
    status, code = EXPECTED[path.stem]
    assert answer.status == status, answer.text
    body = answer.json
    assert body["error"] == code
    assert body["request_id"] == event["requestContext"]["requestId"]
    if status == 422:
        assert body["errors"]
        assert all(entry["field"] and entry["problem"] for entry in body["errors"])
