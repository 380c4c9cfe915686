"""The self-hosted server's Prometheus alerting rules: valid for promtool, unit-tested by promtool,
and written over series the server really exposes (or the agreed drift/challenger names)."""

from __future__ import annotations

from typing import Any

import yaml

from tests.unit.monitoring.promtool import (
    AGREED_ELSEWHERE,
    METRIC_NAME,
    PROMETHEUS_DIR,
    run_promtool,
    server_series_names,
)


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_promtool_accepts_the_rules_and_the_example_config() -> None:
    assert "SUCCESS: 8 rules found" in run_promtool("check", "rules", "alerts.yml")
    run_promtool("check", "config", "prometheus.yml")


def test_promtool_unit_tests_pass() -> None:
    assert "SUCCESS" in run_promtool("test", "rules", "alerts_test.yml")


def test_every_alert_is_unit_tested() -> None:
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text(encoding="utf-8"))["tests"]
    tested = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case["exp_alerts"]  # a test in which it fires
    }
    assert tested == {rule["alert"] for rule in alert_rules()}


def test_rules_read_only_series_the_server_exposes_or_the_agreed_ones() -> None:
    known = server_series_names()
    assert {"fraud_decisions_total", "fraud_predictions_total", "fraud_http_request_duration_seconds_bucket"} <= known
    used: set[str] = set()
    for rule in alert_rules():
        names = set(METRIC_NAME.findall(rule["expr"]))
        assert names <= known | AGREED_ELSEWHERE, (rule["alert"], names - known - AGREED_ELSEWHERE)
        used |= names
    assert used >= AGREED_ELSEWHERE


def test_every_alert_has_a_severity_a_summary_and_a_description() -> None:
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"page", "ticket", "info"}
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]
