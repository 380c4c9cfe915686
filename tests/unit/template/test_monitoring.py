"""The CloudWatch dashboard and the model-health alarms of template.yaml: they read the metrics the
handler really emits (or, for drift and challenger, the names agreed for them), of this stack."""

from __future__ import annotations

import io
import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fraud_api.telemetry import Telemetry
from fraud_scoring.decision import load_pipeline
from tests.unit.template.cfn import deployed, of_type, only

# Emitted by the drift and challenger features (agreed names); read only through Metrics Insights
# queries, which match whatever dimensions they carry.
AGREED_ELSEWHERE = {"ScoreDriftPSI", "MaxFeatureDriftPSI", "ChallengerAgreement"}
AWS_METRICS = {
    "AWS/ApiGateway": {"Count", "Latency", "IntegrationLatency", "4XXError", "5XXError"},
    "AWS/Lambda": {"Errors", "Throttles"},
}
HEALTH_ALARMS = {"ScoreDriftAlarm", "FeatureDriftAlarm", "FlaggedRateAlarm"}
SELECT = re.compile(
    r"^SELECT (?:MAX|AVG|SUM|COUNT)\((\w+)\) FROM (\w+) WHERE service = '([\w-]+)'(?: GROUP BY (\w+))?$",
)
_services = itertools.count(1)


def function_env(resources: dict[str, dict[str, Any]]) -> dict[str, str]:
    _, function = only(resources, "AWS::Lambda::Function")
    env: dict[str, str] = function["Properties"]["Environment"]["Variables"]
    return env


def dashboard(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The dashboard body with ${...} filled in: parameters by value, resources by their id."""
    _, board = only(resources, "AWS::CloudWatch::Dashboard")
    text = board["Properties"]["DashboardBody"]["Fn::Sub"]
    params = {"AWS::Region": "us-east-1", "AWS::StackName": "stack", "StageName": "v1"}
    for name in ("LatencyAlarmMs", "FlaggedRateAlarmPercent", "ScoreDriftAlarmPsi", "FeatureDriftAlarmPsi"):
        params[name] = "7"

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in params or name.split(".")[0] in resources, f"${{{name}}} names nothing in the template"
        return params.get(name, name)

    body: dict[str, Any] = json.loads(re.sub(r"\$\{([\w:.]+)\}", fill, text))
    return body


def emitted_metrics(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, list[list[str]]]:
    """Metric name -> dimension sets, from the EMF lines of real decisions about varied transactions."""
    pipeline = load_pipeline(model_dir)
    telemetry = Telemetry(
        pipeline.model.model_version, service=f"monitoring-test-{next(_services)}", stream=io.StringIO()
    )
    rng = np.random.default_rng(5)
    rows = rng.normal(0.0, 3.0, size=(300, len(pipeline.model.manifest.feature_names))).tolist()
    decisions, elapsed = pipeline.decide_many(rows)
    capsys.readouterr()
    telemetry.decisions("req", "/predict/batch", [None] * len(rows), decisions, elapsed)
    telemetry.rejected("req", "/predict", 422, "bad", "bad")
    telemetry.flush_metrics()
    found: dict[str, list[list[str]]] = {}
    for line in capsys.readouterr().out.splitlines():
        for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "FraudScoring"
            for metric in directive["Metrics"]:
                found.setdefault(metric["Name"], []).extend(directive["Dimensions"])
    return found


def metric_rows(body: dict[str, Any]) -> list[list[Any]]:
    return [row for widget in body["widgets"] for row in widget["properties"].get("metrics", [])]


def test_the_dashboard_is_valid_json_laid_out_on_the_grid() -> None:
    body = dashboard(deployed())
    assert len(body["widgets"]) >= 10
    for widget in body["widgets"]:
        assert widget["type"] in {"metric", "log", "alarm"}
        assert widget["x"] >= 0
        assert widget["x"] + widget["width"] <= 24
        assert widget["properties"]["title"]


def test_the_dashboard_shows_every_panel_the_issue_asks_for() -> None:
    titles = " | ".join(widget["properties"]["title"].lower() for widget in dashboard(deployed())["widgets"])
    for panel in ("traffic", "decisions by outcome", "latency", "throttles", "errors", "cold starts"):
        assert panel in titles
    for panel in ("score drift", "feature drift", "challenger agreement", "flagged rate", "alarms"):
        assert panel in titles


def test_custom_metrics_on_the_dashboard_and_alarm_are_the_ones_the_handler_emits(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resources = deployed()
    env = function_env(resources)
    emitted = emitted_metrics(model_dir, capsys)
    assert {"Predictions", "FlaggedFrauds", "InferenceLatency", "RejectedRequests", "Decisions"} <= set(emitted)
    watched: list[tuple[str, str, dict[str, Any]]] = []
    for row in metric_rows(dashboard(resources)):
        if isinstance(row[0], str):
            names = [item for item in row if isinstance(item, str)]
            watched.append((names[0], names[1], dict(zip(names[2::2], names[3::2], strict=True))))
    for query in of_type(resources, "AWS::CloudWatch::Alarm")["FlaggedRateAlarm"]["Properties"]["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            watched.append((metric["Namespace"], metric["MetricName"], dims))
    assert watched
    for namespace, name, dims in watched:
        if namespace in AWS_METRICS:
            assert name in AWS_METRICS[namespace]
            if namespace == "AWS/ApiGateway":
                assert dims == {"ApiName": "stack-api", "Stage": "v1"}
            else:
                assert dims == {"FunctionName": "ScoringFunction"}
            continue
        assert namespace == env["POWERTOOLS_METRICS_NAMESPACE"]
        assert dims == {"service": env["POWERTOOLS_SERVICE_NAME"]}
        assert sorted(dims) in [sorted(dimension_set) for dimension_set in emitted[name]], (name, emitted[name])


def test_metrics_insights_queries_read_this_services_metrics(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resources = deployed()
    env = function_env(resources)
    emitted = emitted_metrics(model_dir, capsys)
    queries = [row[0]["expression"] for row in metric_rows(dashboard(resources)) if "SELECT" in str(row[0])]
    for alarm_id in ("ScoreDriftAlarm", "FeatureDriftAlarm"):
        queries += [query["Expression"] for query in resources[alarm_id]["Properties"]["Metrics"]]
    names = set()
    for query in queries:
        match = SELECT.match(query)
        assert match, query
        name, namespace, service, group_by = match.groups()
        assert namespace == env["POWERTOOLS_METRICS_NAMESPACE"]
        assert service == env["POWERTOOLS_SERVICE_NAME"]
        assert name in emitted or name in AGREED_ELSEWHERE, name
        if group_by:
            assert any(group_by in dimension_set for dimension_set in emitted[name])
        names.add(name)
    assert names == AGREED_ELSEWHERE | {"Decisions"}


@pytest.mark.parametrize(
    ("alarm_id", "parameter", "metric"),
    [
        ("ScoreDriftAlarm", "ScoreDriftAlarmPsi", "ScoreDriftPSI"),
        ("FeatureDriftAlarm", "FeatureDriftAlarmPsi", "MaxFeatureDriftPSI"),
        ("FlaggedRateAlarm", "FlaggedRateAlarmPercent", "FlaggedFrauds"),
    ],
)
def test_health_alarms_follow_their_threshold_parameters(alarm_id: str, parameter: str, metric: str) -> None:
    props = deployed({parameter: "0.4"})[alarm_id]["Properties"]
    assert props["Threshold"] == "0.4"
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    assert props["TreatMissingData"] == "notBreaching"  # no traffic is no drift
    assert metric in json.dumps(props["Metrics"])
    assert sum(query["ReturnData"] for query in props["Metrics"]) == 1


def test_the_flagged_rate_counts_only_periods_with_enough_traffic() -> None:
    props = deployed({"FlaggedRateMinPredictions": "250"})["FlaggedRateAlarm"]["Properties"]
    (rate,) = [query for query in props["Metrics"] if query["ReturnData"]]
    assert rate["Expression"] == {
        "Fn::Sub": "IF(predictions >= ${FlaggedRateMinPredictions}, 100 * flagged / predictions, 0)"
    }
    stats = {query["Id"]: query["MetricStat"] for query in props["Metrics"] if "MetricStat" in query}
    assert {stat["Metric"]["MetricName"] for stat in stats.values()} == {"FlaggedFrauds", "Predictions"}
    assert set(stats) == {"flagged", "predictions"}
    assert {stat["Stat"] for stat in stats.values()} == {"Sum"}


def test_health_alarms_notify_the_topic_only_when_one_is_given() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:fraud-alerts"
    for alarm_id in HEALTH_ALARMS:
        assert "AlarmActions" not in deployed()[alarm_id]["Properties"]
        props = deployed({"AlarmTopicArn": topic})[alarm_id]["Properties"]
        assert props["AlarmActions"] == props["OKActions"] == [topic]


def test_health_alarms_do_not_roll_deployments_back() -> None:
    _, group = only(deployed({"DeploymentType": "Canary10Percent5Minutes"}), "AWS::CodeDeploy::DeploymentGroup")
    rollback = {alarm["Name"]["Ref"] for alarm in group["Properties"]["AlarmConfiguration"]["Alarms"]}
    assert not rollback & HEALTH_ALARMS


def test_the_alarm_widget_lists_every_alarm_of_the_stack() -> None:
    resources = deployed()
    (widget,) = [widget for widget in dashboard(resources)["widgets"] if widget["type"] == "alarm"]
    listed = {arn.removesuffix(".Arn") for arn in widget["properties"]["alarms"]}
    assert listed == set(of_type(resources, "AWS::CloudWatch::Alarm"))
