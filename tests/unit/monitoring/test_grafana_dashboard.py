"""The Grafana dashboard of the self-hosted server: valid JSON, each panel's PromQL parses (promtool
checks it as a rule) and reads only series the server exposes or the agreed drift/challenger names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.unit.monitoring.promtool import (
    AGREED_ELSEWHERE,
    GRAFANA_DASHBOARD,
    METRIC_NAME,
    run_promtool,
    server_series_names,
)


def dashboard() -> dict[str, Any]:
    board: dict[str, Any] = json.loads(GRAFANA_DASHBOARD.read_text(encoding="utf-8"))
    return board


def panel_queries() -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in dashboard()["panels"] for target in panel["targets"]]


def test_the_dashboard_has_the_panels_the_issue_asks_for() -> None:
    board = dashboard()
    assert board["uid"] == "fraud-scoring"
    titles = " | ".join(panel["title"].lower() for panel in board["panels"])
    for panel in ("traffic", "decisions by outcome", "latency", "429", "errors", "drift", "challenger agreement"):
        assert panel in titles
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"]


def test_every_query_reads_series_the_server_exposes_or_the_agreed_ones() -> None:
    known = server_series_names() | AGREED_ELSEWHERE
    used: set[str] = set()
    for title, expr in panel_queries():
        names = set(METRIC_NAME.findall(expr))
        assert names, (title, expr)
        assert names <= known, (title, names - known)
        used |= names
    assert {"fraud_decisions_total", "fraud_http_request_duration_seconds_bucket"} | AGREED_ELSEWHERE <= used


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query as a recording rule, with Grafana's variables filled in."""
    rules = []
    for position, (_, expr) in enumerate(panel_queries()):
        filled = expr.replace("$__rate_interval", "1m").replace("$job", "fraud-scoring").replace("$instance", ".*")
        assert "$" not in filled, expr
        rules.append({"record": f"dashboard:query_{position}", "expr": filled})
    (tmp_path / "queries.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in run_promtool("check", "rules", "queries.yml", cwd=tmp_path)
