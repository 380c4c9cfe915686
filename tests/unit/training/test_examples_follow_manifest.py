"""API Gateway events follow the manifest: the committed ones for the default model, others for any model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fraud_scoring.manifest import load_manifest
from scripts.generate_events import build_events, main

USER_FEATURES = ("amount_eur", "local_hour", "chip_used")
USER_SUMMARY = {
    "amount_eur": {"quantiles": [0.5, 2, 5, 15, 35, 80, 300, 900, 5000], "integer": False},
    "local_hour": {"quantiles": [0, 0, 1, 8, 14, 18, 22, 23, 23], "integer": True},
    "chip_used": {"quantiles": [0, 0, 0, 0, 1, 1, 1, 1, 1], "integer": True},
}


def _body(event: dict[str, object]) -> dict[str, object]:
    body = event["body"]
    assert isinstance(body, str)
    parsed: dict[str, object] = json.loads(body)
    return parsed


def test_committed_events_are_what_the_script_writes_for_the_default_model(
    tmp_path: Path, model_dir: Path, repo_root: Path
) -> None:
    assert main(["--out", str(tmp_path), "--model-dir", str(model_dir)]) == 0
    written = sorted(p.name for p in tmp_path.glob("*.json"))
    assert written == sorted(p.name for p in (repo_root / "events").glob("*.json"))
    for name in written:
        assert (tmp_path / name).read_bytes() == (repo_root / "events" / name).read_bytes(), name
    named = _body(json.loads((tmp_path / "predict_ok_named.json").read_text()))
    assert isinstance(named["features"], dict)
    assert tuple(named["features"]) == load_manifest(model_dir).feature_names


def test_events_for_a_user_model_use_its_feature_names() -> None:
    events = build_events(USER_FEATURES, {"feature_summary": USER_SUMMARY})
    ok = _body(events["predict_ok"])["features"]
    assert isinstance(ok, list)
    assert len(ok) == 3
    named = _body(events["predict_ok_named"])["features"]
    assert isinstance(named, dict)
    assert tuple(named) == USER_FEATURES
    assert named["chip_used"] in (0.0, 1.0)
    assert 0.5 <= named["amount_eur"] <= 5000
    unknown = _body(events["predict_unknown_feature"])["features"]
    assert isinstance(unknown, dict)
    assert set(unknown) - set(USER_FEATURES) == {"V29"}
    missing = _body(events["predict_missing_feature"])["features"]
    assert isinstance(missing, dict)
    assert tuple(missing) == USER_FEATURES[1:]
    assert len(_body(events["predict_wrong_length"])["features"]) == 2  # type: ignore[arg-type]
    batch = _body(events["predict_batch_ok"])["transactions"]
    assert isinstance(batch, list)
    assert all(len(item["features"]) == 3 for item in batch)


def test_a_user_model_without_a_feature_summary_is_refused() -> None:
    with pytest.raises(SystemExit, match="no example transactions"):
        build_events(USER_FEATURES, {})
