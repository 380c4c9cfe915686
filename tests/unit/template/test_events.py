"""events/*.json keep the shape of `sam local generate-event apigateway aws-proxy` and cover every route."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.unit.template.cfn import REPO_ROOT, deployed, only, sam_template

EVENTS_DIR = REPO_ROOT / "events"
EVENT_FILES = sorted(EVENTS_DIR.glob("*.json"))


@cache
def sam_generated() -> dict[str, Any]:
    sam = Path(sys.executable).with_name("sam")
    out = subprocess.run(
        [str(sam), "local", "generate-event", "apigateway", "aws-proxy"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    ).stdout
    event: dict[str, Any] = json.loads(out)
    return event


def load(path: Path) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


def body_text(event: dict[str, Any]) -> str | None:
    body = event["body"]
    if body is None:
        return None
    return base64.b64decode(body).decode() if event["isBase64Encoded"] else str(body)


def test_there_are_events() -> None:
    assert len(EVENT_FILES) >= 15


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.stem)
def test_event_has_the_sam_generate_event_shape(path: Path) -> None:
    event, reference = load(path), sam_generated()
    assert set(event) == set(reference)
    assert set(event["requestContext"]) == set(reference["requestContext"])
    assert set(event["requestContext"]["identity"]) == set(reference["requestContext"]["identity"])
    assert event["path"] == event["resource"] == event["requestContext"]["resourcePath"]
    assert event["httpMethod"] == event["requestContext"]["httpMethod"]
    assert event["requestContext"]["path"] == f"/{event['requestContext']['stage']}{event['path']}"
    assert event["multiValueHeaders"] == {key: [value] for key, value in event["headers"].items()}


def test_request_ids_are_unique() -> None:
    ids = [load(path)["requestContext"]["requestId"] for path in EVENT_FILES]
    assert len(ids) == len(set(ids))


def test_every_route_of_the_template_has_a_good_event() -> None:
    _, api = only(deployed(), "AWS::ApiGateway::RestApi")
    routes = {
        (path, method.upper()) for path, methods in api["Properties"]["Body"]["paths"].items() for method in methods
    }
    good = {
        (load(p)["path"], load(p)["httpMethod"])
        for p in EVENT_FILES
        if p.stem.endswith(("_ok", "_ok_named", "_ok_base64"))
    }
    assert routes <= good


def test_bad_requests_cover_the_usual_mistakes() -> None:
    names = {path.stem for path in EVENT_FILES}
    expected = {
        "predict_wrong_length",
        "predict_unknown_feature",
        "predict_nan",
        "predict_not_json",
        "predict_wrong_content_type",
        "predict_empty_body",
        "predict_batch_oversized",
        "unknown_route",
    }
    assert expected <= names


def test_bad_bodies_are_bad_in_the_way_their_names_say() -> None:
    def event(name: str) -> dict[str, Any]:
        return load(EVENTS_DIR / f"{name}.json")

    ok = json.loads(body_text(event("predict_ok")) or "")
    assert len(json.loads(body_text(event("predict_wrong_length")) or "")["features"]) == len(ok["features"]) - 1
    assert "NaN" in (body_text(event("predict_nan")) or "")
    with pytest.raises(json.JSONDecodeError):
        json.loads(body_text(event("predict_not_json")) or "")
    assert event("predict_wrong_content_type")["headers"]["Content-Type"] != "application/json"
    assert body_text(event("predict_empty_body")) is None
    batch_limit = int(sam_template()["Parameters"]["BatchMaxItems"]["Default"])
    oversized = json.loads(body_text(event("predict_batch_oversized")) or "")
    assert len(oversized["transactions"]) == batch_limit + 1
    assert event("predict_ok_base64")["isBase64Encoded"] is True
