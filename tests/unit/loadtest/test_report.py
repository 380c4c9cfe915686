"""The report generator, on a recorded k6 run and on hand-made samples with every outcome."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from loadtest.report import ReportError, compute_figures, load_samples, main, outcome_of, write_report

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE = FIXTURES / "smoke-run"  # smoke against a stand-in app answering 10 % 429s
SPIKE = FIXTURES / "spike-local"  # spike against the emulator: 200s, 429s and 500s, cold starts
HEADER = "metric_name,timestamp,metric_value,check,error_code,expected_response,method,name,scenario,status"


@pytest.fixture
def recorded_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    return run_dir


def _fixture_rows(fixture: Path) -> list[dict[str, str]]:
    with gzip.open(fixture / "metrics.csv.gz", "rt", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("fixture", [FIXTURE, SPIKE], ids=["smoke", "spike"])
def test_figures_match_the_recorded_samples(fixture: Path) -> None:
    rows = _fixture_rows(fixture)
    predict_statuses = Counter(r["status"] for r in rows if r["metric_name"] == "http_reqs" and r["name"] == "predict")
    ok_latencies = np.array(
        [
            float(r["metric_value"])
            for r in rows
            if r["metric_name"] == "http_req_duration" and r["name"] == "predict" and r["status"] == "200"
        ]
    )
    figures = compute_figures(load_samples(fixture / "metrics.csv.gz"))
    assert figures.requests == sum(predict_statuses.values())
    assert figures.outcomes["200"] == predict_statuses["200"]
    assert figures.outcomes["429"] == predict_statuses["429"] > 0  # both recordings hold throttled answers
    errors = sum(n for status, n in predict_statuses.items() if status not in ("200", "429"))
    assert figures.error_rate == pytest.approx(errors / figures.requests)  # 429s are not errors
    assert figures.outcomes["5xx"] == sum(n for status, n in predict_statuses.items() if status.startswith("5"))
    assert figures.throttled_rate == pytest.approx(predict_statuses["429"] / figures.requests)
    assert figures.latency_ms["p99"] == pytest.approx(np.percentile(ok_latencies, 99))
    assert figures.latency_ms["p50"] == pytest.approx(np.median(ok_latencies))
    # setup()'s warm-up request is tagged apart and not counted
    assert sum(1 for r in rows if r["metric_name"] == "http_reqs") == figures.requests + 1


def test_report_writes_markdown_and_valid_pngs(recorded_run: Path) -> None:
    report = write_report(recorded_run)
    text = report.read_text(encoding="utf-8")
    summary = json.loads((FIXTURE / "summary.json").read_text(encoding="utf-8"))
    for metric, data in summary["metrics"].items():
        for expression, failed in (data.get("thresholds") or {}).items():
            assert f"| {metric} | `{expression}` | {'**FAIL**' if failed else 'pass'} |" in text
    counts = compute_figures(load_samples(recorded_run / "metrics.csv.gz")).outcomes
    assert f"| 429 | {counts['429']} |" in text
    assert "# k6 smoke against url" in text
    for name in ("latency", "throughput", "status"):
        png = recorded_run / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width = matplotlib.image.imread(png).shape[:2]
        assert width > 300
        assert height > 150
        assert f"![{name}]({name}.png)" in text


def test_failed_threshold_is_reported_as_fail(recorded_run: Path) -> None:
    summary = json.loads((recorded_run / "summary.json").read_text(encoding="utf-8"))
    summary["metrics"]["scored_latency"]["thresholds"] = {"p(99)<0.001": True}
    (recorded_run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert "| scored_latency | `p(99)<0.001` | **FAIL** |" in write_report(recorded_run).read_text(encoding="utf-8")


def _write_samples(path: Path, statuses: list[tuple[int, int, float]]) -> None:
    """``(second, status, duration_ms)`` per request, in k6's CSV layout."""
    lines = [HEADER]
    for second, status, duration in statuses:
        for metric, value in (("http_reqs", 1.0), ("http_req_duration", duration)):
            lines.append(f"{metric},{1_800_000_000 + second},{value},,,true,POST,predict,load,{status}")
    lines.append("checks,1800000000,1,status is 200,,,,,load,")
    lines.append("checks,1800000000,0,status is 200,,,,,load,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_outcomes_keep_429_apart_from_errors(tmp_path: Path) -> None:
    samples = (
        [(0, 200, 2.0)] * 6 + [(0, 429, 0.5)] * 2 + [(1, 500, 9.0), (1, 0, 10_000.0), (1, 403, 1.0), (2, 200, 4.0)]
    )
    _write_samples(tmp_path / "metrics.csv", samples)
    figures = compute_figures(load_samples(tmp_path / "metrics.csv"))
    assert figures.outcomes == {"200": 7, "429": 2, "other 4xx": 1, "5xx": 1, "network error": 1}
    assert figures.error_rate == pytest.approx(3 / 12)
    assert figures.throttled_rate == pytest.approx(2 / 12)
    assert figures.latency_ms["max"] == 4.0  # only answered predictions count for latency
    assert figures.peak_rate == 8
    assert list(figures.per_second["429"]) == [2, 0, 0]
    assert figures.checks == {"status is 200": (1, 2)}
    report = write_report(tmp_path)  # no summary.json / run.json: still a report
    assert "| network error | 1 |" in report.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("status", "outcome"), [(200, "200"), (429, "429"), (404, "other 4xx"), (502, "5xx"), (0, "network error")]
)
def test_outcome_of(status: int, outcome: str) -> None:
    assert outcome_of(status) == outcome


def test_unusable_inputs_give_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ReportError, match=r"no metrics\.csv"):
        write_report(tmp_path)
    (tmp_path / "metrics.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ReportError, match="not k6 CSV output"):
        write_report(tmp_path)
    assert main([str(tmp_path)]) == 2
    assert "not k6 CSV output" in capsys.readouterr().err


def test_collect_makes_a_row_and_copies_the_plots(recorded_run: Path, tmp_path: Path) -> None:
    from loadtest.collect import main as collect

    plots = tmp_path / "plots"
    write_report(recorded_run)
    assert collect([str(recorded_run), "--plots", str(plots)]) == 0
    figures = compute_figures(load_samples(recorded_run / "metrics.csv.gz"))
    assert sorted(p.name for p in plots.iterdir()) == [
        "smoke-url-latency.png",
        "smoke-url-status.png",
        "smoke-url-throughput.png",
    ]
    from loadtest.collect import row

    line = row(recorded_run)
    assert line.startswith(f"| url | smoke | {figures.requests} |")
    assert line.endswith("| all passed |")
    from loadtest.collect import label, slug

    tuned = {"scenario": "load", "target": "local", "target_args": "--warm-pool 4"}
    assert label(tuned) == "local (--warm-pool 4)"
    assert slug(tuned) == "load-local-warm-pool-4"
