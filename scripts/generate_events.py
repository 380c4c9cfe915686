"""Write events/*.json: API Gateway REST proxy events for every route, good and bad requests.

Each event starts from the real ``sam local generate-event apigateway aws-proxy`` output and is
then made to look like what API Gateway sends for this API's explicit (non-proxy) routes: no
``{proxy+}`` path parameter, no sample query string or stage variables, JSON headers, the body
as plain text (API Gateway base64-encodes only binary media types; one event keeps the
base64 body that ``generate-event`` produces, because Mangum must handle both).

Transactions follow the model manifest: its feature names, and values from the seeded built-in data
set the model was trained on (or, for a model trained on a user's CSV, from the feature quantiles
its manifest stores, see :mod:`training.samples`), so the values look like real traffic; which rows
are used is fixed by the seed, not by the model. Run ``make events``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from fraud_scoring.manifest import load_manifest
from training.samples import SampleError
from training.samples import sample_rows as training_sample_rows

REPO_ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = REPO_ROOT / "events"
STAGE = "v1"
SEED = 11
# One over the default BatchMaxItems (template.yaml) so the event is refused with 413.
OVERSIZED_BATCH_ITEMS = 1001


def sam_executable() -> str:
    beside_python = Path(sys.executable).with_name("sam")
    found = str(beside_python) if beside_python.exists() else shutil.which("sam")
    if not found:
        raise SystemExit("sam CLI not found: run `make setup`")
    return found


def sam_base_event(method: str, resource: str) -> dict[str, Any]:
    """The event exactly as ``sam local generate-event apigateway aws-proxy`` writes it."""
    out = subprocess.run(
        [
            sam_executable(),
            "local",
            "generate-event",
            "apigateway",
            "aws-proxy",
            "--method",
            method,
            "--resource",
            resource,
            "--path",
            resource.lstrip("/"),
            "--stage",
            STAGE,
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    ).stdout
    event: dict[str, Any] = json.loads(out)
    return event


def shape_event(
    base: dict[str, Any],
    method: str,
    path: str,
    body: str | None,
    headers: dict[str, str],
    *,
    base64_body: bool = False,
    request_number: int = 1,
) -> dict[str, Any]:
    event = copy.deepcopy(base)
    event["httpMethod"] = method
    event["path"] = path
    event["resource"] = path
    event["pathParameters"] = None
    event["stageVariables"] = None
    event["queryStringParameters"] = None
    event["multiValueQueryStringParameters"] = None
    all_headers = {
        key: value
        for key, value in event["headers"].items()
        if key not in {"Accept", "Cache-Control", "Upgrade-Insecure-Requests"}
    }
    all_headers["Accept"] = "application/json"
    all_headers["User-Agent"] = "payments-gateway/2.3"
    all_headers.update(headers)
    event["headers"] = all_headers
    event["multiValueHeaders"] = {key: [value] for key, value in all_headers.items()}
    if body is None:
        event["body"] = None
        event["isBase64Encoded"] = False
    elif base64_body:
        event["body"] = base64.b64encode(body.encode()).decode()
        event["isBase64Encoded"] = True
    else:
        event["body"] = body
        event["isBase64Encoded"] = False
    context = event["requestContext"]
    context["path"] = f"/{STAGE}{path}"
    context["resourcePath"] = path
    context["httpMethod"] = method
    context["stage"] = STAGE
    context["requestId"] = f"c6af9ac6-7b61-11e6-9a41-{request_number:012d}"
    context["identity"]["userAgent"] = all_headers["User-Agent"]
    return event


def sample_rows(
    feature_names: tuple[str, ...], training_data: dict[str, Any] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded rows for the model: (three fraud rows, five legitimate rows); without labels (a
    user's model), eight rows of its training distribution split three and five."""
    try:
        data = training_sample_rows(feature_names, training_data or {}, 20_000, SEED, fraud_rate=0.01)
    except SampleError as exc:
        raise SystemExit(f"error: no example transactions for this model: {exc}") from exc
    rng = np.random.default_rng(SEED)
    if data.y is None:
        picked = rng.choice(data.X.shape[0], size=8, replace=False)
        return np.round(data.X[picked[:3]], 6), np.round(data.X[picked[3:]], 6)
    frauds = rng.choice(np.flatnonzero(data.y == 1), size=3, replace=False)
    legit = rng.choice(np.flatnonzero(data.y == 0), size=5, replace=False)
    return np.round(data.X[frauds], 6), np.round(data.X[legit], 6)


def as_numbers(row: np.ndarray) -> list[float]:
    return [float(value) for value in row]


def build_events(
    feature_names: tuple[str, ...], training_data: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    n = len(feature_names)
    fraud_rows, legit_rows = sample_rows(feature_names, training_data)
    unknown_feature = next(
        name for name in ("V29", "unknown_feature", "unknown_feature_2") if name not in feature_names
    )
    legit_row, fraud_row = as_numbers(legit_rows[0]), as_numbers(fraud_rows[0])
    # fraud and legitimate rows interleaved, so a batch that scores rows out of order shows it
    rows = [legit_rows[0], fraud_rows[0], legit_rows[1], fraud_rows[1], legit_rows[2], fraud_rows[2], *legit_rows[3:]]
    short_row = [round(value, 1) for value in legit_row]  # keeps the oversized event small
    json_headers = {"Content-Type": "application/json"}
    post_base = sam_base_event("POST", "/predict")
    get_base = sam_base_event("GET", "/health")

    def dumps(payload: Any) -> str:
        return json.dumps(payload, separators=(",", ":"))

    specs: dict[str, tuple[dict[str, Any], str, str, str | None, dict[str, str], bool]] = {
        # -- good requests --------------------------------------------------------------------
        "predict_ok": (post_base, "POST", "/predict", dumps({"features": legit_row}), json_headers, False),
        "predict_ok_named": (
            post_base,
            "POST",
            "/predict",
            dumps(
                {
                    "transaction_id": "txn-0001",
                    "features": dict(zip(feature_names, fraud_row, strict=True)),
                }
            ),
            json_headers,
            False,
        ),
        "predict_ok_explained": (
            post_base,
            "POST",
            "/predict",
            dumps({"transaction_id": "txn-0003", "features": legit_row, "explain": 5}),
            json_headers,
            False,
        ),
        "predict_ok_base64": (
            post_base,
            "POST",
            "/predict",
            dumps({"transaction_id": "txn-0002", "features": fraud_row}),
            {"Content-Type": "application/json; charset=utf-8"},
            True,
        ),
        "predict_batch_ok": (
            post_base,
            "POST",
            "/predict/batch",
            dumps(
                {
                    "transactions": [
                        {"transaction_id": f"txn-b{i:03d}", "features": as_numbers(row)} for i, row in enumerate(rows)
                    ]
                }
            ),
            json_headers,
            False,
        ),
        "health_ok": (get_base, "GET", "/health", None, {}, False),
        "model_ok": (get_base, "GET", "/model", None, {}, False),
        "docs_ok": (get_base, "GET", "/docs", None, {"Accept": "text/html"}, False),
        "openapi_ok": (get_base, "GET", "/openapi.json", None, {}, False),
        # -- bad requests ---------------------------------------------------------------------
        "predict_wrong_length": (
            post_base,
            "POST",
            "/predict",
            dumps({"features": legit_row[: n - 1]}),
            json_headers,
            False,
        ),
        "predict_unknown_feature": (
            post_base,
            "POST",
            "/predict",
            dumps({"features": {**dict(zip(feature_names, legit_row, strict=True)), unknown_feature: 0.5}}),
            json_headers,
            False,
        ),
        "predict_missing_feature": (
            post_base,
            "POST",
            "/predict",
            dumps({"features": dict(list(zip(feature_names, legit_row, strict=True))[1:])}),
            json_headers,
            False,
        ),
        # Python's json writes NaN, which is not JSON: exactly what a careless client sends.
        "predict_nan": (
            post_base,
            "POST",
            "/predict",
            json.dumps({"features": [float("nan"), *legit_row[1:]]}, separators=(",", ":")),
            json_headers,
            False,
        ),
        "predict_string_feature": (
            post_base,
            "POST",
            "/predict",
            dumps({"features": ["12.5", *legit_row[1:]]}),
            json_headers,
            False,
        ),
        "predict_not_json": (post_base, "POST", "/predict", "features=1,2,3", json_headers, False),
        "predict_wrong_content_type": (
            post_base,
            "POST",
            "/predict",
            dumps({"features": legit_row}),
            {"Content-Type": "text/plain"},
            False,
        ),
        "predict_empty_body": (post_base, "POST", "/predict", None, json_headers, False),
        "predict_batch_oversized": (
            post_base,
            "POST",
            "/predict/batch",
            dumps({"transactions": [{"features": short_row} for _ in range(OVERSIZED_BATCH_ITEMS)]}),
            json_headers,
            False,
        ),
        "predict_batch_empty": (
            post_base,
            "POST",
            "/predict/batch",
            dumps({"transactions": []}),
            json_headers,
            False,
        ),
        # API Gateway answers these two itself (403 Missing Authentication Token) because only the
        # declared routes exist; the events show what the function does if invoked directly.
        "unknown_route": (get_base, "GET", "/admin", None, {}, False),
        "predict_wrong_method": (get_base, "GET", "/predict", None, {}, False),
    }
    events = {}
    for number, (name, (base, method, path, body, headers, b64)) in enumerate(specs.items(), start=1):
        events[name] = shape_event(base, method, path, body, headers, base64_body=b64, request_number=number)
    return events


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=EVENTS_DIR)
    parser.add_argument("--model-dir", type=Path, default=REPO_ROOT / "layers" / "model")
    args = parser.parse_args(argv)
    manifest = load_manifest(args.model_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    events = build_events(manifest.feature_names, manifest.training_data)
    for name, event in events.items():
        (args.out / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(events)} events to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
