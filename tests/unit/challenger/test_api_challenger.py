"""The challenger through the real handler (FastAPI + Mangum): answers, decision log lines, EMF metrics,
and the comparison report on those logs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mangum import Mangum

from fraud_api.contract import BatchResponse, PredictResponse
from fraud_api.factory import Settings, create_app
from fraud_scoring.challenger import ChallengerSettings, bucket_of, load_challenger
from fraud_scoring.decision import DecisionPipeline, load_pipeline
from monitoring import compare
from tests.unit.api.conftest import answer_of, new_telemetry
from tests.unit.api.lambda_events import FakeLambdaContext, rest_event

JSON = {"Content-Type": "application/json"}


class Service:
    def __init__(self, pipeline: DecisionPipeline) -> None:
        self.log = io.StringIO()
        self.telemetry = new_telemetry(pipeline.model, self.log)
        app = create_app(pipeline, telemetry=self.telemetry, settings=Settings())
        self.handler = self.telemetry.wrap_lambda_handler(Mangum(app, lifespan="off"))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        answer = answer_of(self.handler(rest_event("POST", path, json.dumps(body), JSON), FakeLambdaContext()))
        assert answer.status == 200, answer.text
        return answer.json

    def decision_lines(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.log.getvalue().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("message") == "decision"]


def service_with(
    model_dir: Path, policy_dir: Path, challenger_dir: Path | None, mode: str = "off", share: float = 1.0
) -> Service:
    pipeline = load_pipeline(model_dir, policy_dir)
    if challenger_dir is not None:
        settings = ChallengerSettings(mode=mode, share=share, model_dir=str(challenger_dir))
        pipeline.attach_challenger(load_challenger(pipeline, settings))
        assert pipeline.challenger is not None
    return Service(pipeline)


def emf_values(text: str, name: str) -> list[float]:
    values: list[float] = []
    for line in text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            if name in blob:
                declared = {m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
                assert name in declared, line  # CloudWatch ignores a value its line does not declare
                value = blob[name]
                values.extend(value if isinstance(value, list) else [value])
    return values


def test_without_a_challenger_nothing_changes(
    model_dir: Path, policy_dir: Path, traffic: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    service = service_with(model_dir, policy_dir, None)
    body = service.post("/predict", {"features": traffic[0].tolist(), "transaction_id": "t-0"})
    batch = service.post("/predict/batch", {"transactions": [{"features": row} for row in traffic[:3].tolist()]})
    assert all("model_version" not in item for item in batch["results"])
    assert body["model_version"] == service.telemetry.model_version
    for line in service.decision_lines():
        assert not {"answered_by", "challenger_score", "challenger_decision", "challenger_model_version"} & set(line)
    assert emf_values(capsys.readouterr().out, "ChallengerAgreement") == []


def test_shadow_answers_as_the_champion_and_logs_both(
    model_dir: Path, policy_dir: Path, challenger_dir: Path, traffic: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = service_with(model_dir, policy_dir, None)
    shadowed = service_with(model_dir, policy_dir, challenger_dir, "shadow")
    reference = load_pipeline(challenger_dir, policy_dir)
    rows = traffic[:40].tolist()
    capsys.readouterr()
    for i, row in enumerate(rows):
        request = {"features": row, "transaction_id": f"t-{i}"}
        got = shadowed.post("/predict", request)
        PredictResponse.model_validate(got)
        want = plain.post("/predict", request)
        for key in ("fraud_score", "decision", "rules", "model_version", "threshold", "reasons"):
            assert got.get(key) == want.get(key), key
    lines = shadowed.decision_lines()
    assert len(lines) == len(rows)
    agreements = 0
    for line, row in zip(lines, rows, strict=True):
        own = reference.decide_one(row)[0]
        assert line["answered_by"] == "champion"
        assert line["model_version"] == plain.telemetry.model_version
        assert line["challenger_model_version"] == reference.model_version
        assert line["challenger_score"] == own.score
        assert line["challenger_decision"] == own.outcome
        agreements += line["challenger_decision"] == line["decision"]
    out = capsys.readouterr().out
    assert "ChallengerPredictions" not in out  # the agreement's sample count is that count
    agreement = emf_values(out, "ChallengerAgreement")
    assert len(agreement) == len(rows)
    assert sum(agreement) == agreements


def test_a_shadowed_batch_past_the_emf_value_limit_counts_every_transaction(
    model_dir: Path, policy_dir: Path, challenger_dir: Path, traffic: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    # 150 agreement values: past EMF's 100 values per metric and line, so the values are split over
    # lines, each declaring the metric it carries.
    shadowed = service_with(model_dir, policy_dir, challenger_dir, "shadow")
    rows = traffic[:150].tolist()
    capsys.readouterr()
    batch = shadowed.post("/predict/batch", {"transactions": [{"features": row} for row in rows]})
    agreed = sum(line["challenger_decision"] == line["decision"] for line in shadowed.decision_lines())
    out = capsys.readouterr().out
    agreement = emf_values(out, "ChallengerAgreement")
    assert len(batch["results"]) == len(agreement) == len(rows)
    assert sum(agreement) == agreed
    assert sum(emf_values(out, "Predictions")) == len(rows)


def test_a_shadowed_batch_of_exactly_100_writes_its_decisions_in_its_own_invocation(
    model_dir: Path, policy_dir: Path, challenger_dir: Path, traffic: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    # The 100th agreement value fills an EMF line and flushes it mid-invocation; the outcomes counted
    # for the batch must be in this invocation's lines, not left for the next one.
    shadowed = service_with(model_dir, policy_dir, challenger_dir, "shadow")
    capsys.readouterr()
    shadowed.post("/predict/batch", {"transactions": [{"features": row} for row in traffic[:100].tolist()]})
    out = capsys.readouterr().out
    assert sum(emf_values(out, "Decisions")) == 100
    assert len(emf_values(out, "ChallengerAgreement")) == 100


def test_ab_answers_with_the_assigned_model_sticky_by_transaction_id(
    model_dir: Path, policy_dir: Path, challenger_dir: Path, traffic: np.ndarray
) -> None:
    service = service_with(model_dir, policy_dir, challenger_dir, "ab", share=0.5)
    champion = load_pipeline(model_dir, policy_dir)
    challenger = load_pipeline(challenger_dir, policy_dir)
    rows = traffic[:60].tolist()
    ids = [f"ab-{i}" for i in range(len(rows))]
    answers = [
        service.post("/predict", {"features": row, "transaction_id": i}) for row, i in zip(rows, ids, strict=True)
    ]
    batch = service.post(
        "/predict/batch",
        {"transactions": [{"features": row, "transaction_id": i} for row, i in zip(rows, ids, strict=True)]},
    )
    BatchResponse.model_validate(batch)
    seen = set()
    for row, transaction_id, answer, item in zip(rows, ids, answers, batch["results"], strict=True):
        PredictResponse.model_validate(answer)
        by_challenger = bucket_of(transaction_id) < 0.5
        seen.add(by_challenger)
        model = challenger if by_challenger else champion
        assert answer["model_version"] == item["model_version"] == model.model_version
        assert answer["fraud_score"] == item["fraud_score"] == model.decide_one(row)[0].score
        assert answer["threshold"] == model.threshold
    assert seen == {True, False}
    lines = service.decision_lines()
    assert len(lines) == 2 * len(rows)
    for line in lines:
        by_challenger = bucket_of(line["transaction_id"]) < 0.5
        assert line["answered_by"] == ("challenger" if by_challenger else "champion")
        assert line["model_version"] == champion.model_version  # the main fields stay the champion's
        assert line["challenger_model_version"] == challenger.model_version


def test_the_comparison_report_runs_on_the_decision_logs(
    model_dir: Path, policy_dir: Path, challenger_dir: Path, traffic: np.ndarray, tmp_path: Path
) -> None:
    service = service_with(model_dir, policy_dir, challenger_dir, "shadow")
    rows = traffic[:600].tolist()
    ids = [f"cmp-{i}" for i in range(len(rows))]
    for start in range(0, len(rows), 200):
        service.post(
            "/predict/batch",
            {
                "transactions": [
                    {"features": row, "transaction_id": i}
                    for row, i in zip(rows[start : start + 200], ids[start : start + 200], strict=True)
                ]
            },
        )
    log = tmp_path / "decisions.log"
    log.write_text("START RequestId: 1 Version: $LATEST\n" + service.log.getvalue())
    lines = service.decision_lines()
    frauds = {line["transaction_id"]: i % 7 == 0 for i, line in enumerate(lines)}
    labels = tmp_path / "labels.csv"
    labels.write_text("transaction_id,label\n" + "".join(f"{t},{int(f)}\n" for t, f in frauds.items()))
    out = tmp_path / "report"
    assert (
        compare.main(
            [
                "--logs",
                str(log),
                "--labels",
                str(labels),
                "--out",
                str(out),
                "--policy",
                str(policy_dir / "policy.json"),
            ]
        )
        == 0
    )
    report = json.loads((out / "report.json").read_text())
    (item,) = report["comparisons"]
    order = report["outcomes"]
    assert order[0] == "APPROVE"
    assert item["transactions"] == len(rows)
    agreed = sum(line["decision"] == line["challenger_decision"] for line in lines)
    up = sum(order.index(line["challenger_decision"]) > order.index(line["decision"]) for line in lines)
    assert item["agreements"] == agreed
    assert item["agreement"] == pytest.approx(agreed / len(rows))
    assert item["escalations"] == up
    assert item["relaxations"] == len(rows) - agreed - up
    difference = np.array([line["challenger_score"] - line["fraud_score"] for line in lines])
    assert item["score_difference"]["mean"] == pytest.approx(difference.mean())
    assert item["score_difference"]["quantiles"]["p50"] == pytest.approx(np.median(difference))
    assert sum(item["score_difference"]["histogram"]["counts"]) == len(rows)
    labelled = item["labelled"]
    for who, field in (("champion", "decision"), ("challenger", "challenger_decision")):
        caught = [line[field] != "APPROVE" for line in lines]
        truth = [frauds[line["transaction_id"]] for line in lines]
        hits = sum(c and t for c, t in zip(caught, truth, strict=True))
        assert labelled[who]["caught"] == hits
        assert labelled[who]["recall"] == pytest.approx(hits / sum(truth))
        assert labelled[who]["precision"] == (pytest.approx(hits / sum(caught)) if sum(caught) else None)
    assert "Champion vs challenger" in (out / "report.md").read_text()


def test_the_comparison_counts_flips_by_direction(tmp_path: Path) -> None:
    def line(transaction_id: str, decision: str, theirs: str, by: str = "champion") -> str:
        record = {
            "message": "decision",
            "timestamp": "2026-11-29 10:00:00,000+0000",
            "model_version": "m1",
            "challenger_model_version": "m2",
            "transaction_id": transaction_id,
            "fraud_score": 0.5,
            "decision": decision,
            "challenger_score": 0.25,
            "challenger_decision": theirs,
            "answered_by": by,
        }
        return "2026-11-29 INFO gateway_emulator.function.ScoringFunction: " + json.dumps(record) + "\n"

    log = tmp_path / "emulator.log"
    log.write_text(
        line("a", "APPROVE", "DECLINE")
        + line("b", "APPROVE", "REVIEW")
        + line("c", "DECLINE", "REVIEW", "challenger")
        + line("d", "REVIEW", "REVIEW")
        + json.dumps({"message": "decision", "decision": "APPROVE", "fraud_score": 0.1})  # no time: unreadable
        + "\nnot json\n"
    )
    report = compare.build_report([log], policy_path=tmp_path / "none.json")
    (item,) = report["comparisons"]
    assert (report["decision_lines"], report["transactions"], report["unreadable"]) == (5, 4, 1)
    assert (item["transactions"], item["agreements"], item["escalations"], item["relaxations"]) == (4, 1, 2, 1)
    assert item["outcome_matrix"]["APPROVE"] == {"APPROVE": 0, "REVIEW": 1, "DECLINE": 1}
    assert item["answered_by"] == {"challenger": 1, "champion": 3}
    assert item["score_difference"]["mean"] == pytest.approx(-0.25)


def test_bad_comparison_inputs_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("transaction_id,label\nt1,maybe\n")
    log = tmp_path / "x.log"
    log.write_text("")
    assert compare.main(["--logs", str(log), "--labels", str(labels), "--out", str(tmp_path / "o")]) == 2
    assert "labels.csv: 1 bad row:\n  line 2: label 'maybe' is not 1/0" in capsys.readouterr().err
    assert compare.main(["--logs", str(tmp_path / "missing.log"), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read the decision log" in capsys.readouterr().err
