"""Turn one k6 run's output into a markdown report with PNG plots.

Input, in a run directory written by ``loadtest.run`` (or by hand with
``k6 run --summary-export summary.json --out csv=metrics.csv.gz ...``):

- ``metrics.csv`` or ``metrics.csv.gz``: k6's CSV output, one line per sample (required);
- ``summary.json``: k6's ``--summary-export`` (thresholds and their verdicts; optional);
- ``run.json``: what the runner recorded (scenario, target, k6 binary, machine; optional).

Output in the same directory: ``report.md``, ``latency.png`` (p50/p95/p99 per second of answered
predictions), ``throughput.png`` (requests per second by outcome) and ``status.png`` (status mix per
second, 429s apart from errors).

    python -m loadtest.report loadtest/results/<run>
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REQUEST_NAME = "predict"  # the tag lib/common.js puts on scoring requests (setup's are excluded)
OUTCOMES = ("200", "429", "other 4xx", "5xx", "network error")
OUTCOME_COLOURS = {
    "200": "#2a9d8f",
    "429": "#e9c46a",
    "other 4xx": "#f4a261",
    "5xx": "#e76f51",
    "network error": "#6d597a",
}
PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)


class ReportError(ValueError):
    """The run directory cannot be reported on (the message says why)."""


def outcome_of(status: int) -> str:
    """Which bucket a status falls in: 429s are throttling, not errors; status 0 is a network error."""
    if status == 200:
        return "200"
    if status == 429:
        return "429"
    if status == 0:
        return "network error"
    if 400 <= status < 500:
        return "other 4xx"
    if status >= 500:
        return "5xx"
    return "other 4xx" if status >= 300 else "200"


@dataclass(frozen=True)
class RunFigures:
    """What the report says, computed from the samples (not from k6's summary)."""

    requests: int
    duration_s: float
    mean_rate: float
    peak_rate: int
    outcomes: dict[str, int]
    error_rate: float  # neither 200 nor 429
    throttled_rate: float
    latency_ms: dict[str, float]  # percentiles of answered (200) predictions
    per_second: pd.DataFrame  # index: second from start; columns: outcomes, p50, p95, p99
    checks: dict[str, tuple[int, int]]  # check name -> (passes, total)


def find_metrics_file(run_dir: Path) -> Path:
    for name in ("metrics.csv.gz", "metrics.csv"):
        if (run_dir / name).is_file():
            return run_dir / name
    raise ReportError(f"{run_dir}: no metrics.csv(.gz) (k6 --out csv=...)")


def load_samples(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            path,
            usecols=["metric_name", "timestamp", "metric_value", "check", "name", "status"],
            dtype={"metric_name": str, "check": str, "name": str, "status": "Int64"},
        )
    except ValueError as exc:
        raise ReportError(f"{path}: not k6 CSV output ({exc})") from exc
    if frame.empty:
        raise ReportError(f"{path}: no samples")
    return frame


def compute_figures(samples: pd.DataFrame) -> RunFigures:
    scoring = samples[samples["name"] == REQUEST_NAME]
    reqs = scoring[scoring["metric_name"] == "http_reqs"]
    if reqs.empty:
        raise ReportError(f"no http_reqs samples tagged name={REQUEST_NAME}")
    t0 = float(samples["timestamp"].min())
    status = reqs["status"].fillna(0).astype(int)
    outcome = status.map(outcome_of)
    second = (reqs["timestamp"] - t0).astype(int)
    counts = pd.crosstab(second, outcome).reindex(columns=list(OUTCOMES), fill_value=0)
    counts = counts.reindex(range(int(second.max()) + 1), fill_value=0)

    durations = scoring[(scoring["metric_name"] == "http_req_duration") & (scoring["status"] == 200)]
    lat_second = (durations["timestamp"] - t0).astype(int)
    per_second = counts.copy()
    for q in (50, 95, 99):
        series = durations.groupby(lat_second)["metric_value"].quantile(q / 100)
        per_second[f"p{q}"] = series.reindex(per_second.index)

    values = durations["metric_value"].to_numpy(dtype=float)
    latency = {f"p{q:g}": float(np.percentile(values, q)) for q in PERCENTILES} if values.size else {}
    if values.size:
        latency["mean"] = float(values.mean())
        latency["max"] = float(values.max())

    totals = {name: int(counts[name].sum()) for name in OUTCOMES}
    requests = int(sum(totals.values()))
    span = max(1.0, float(reqs["timestamp"].max() - reqs["timestamp"].min()) + 1.0)
    errors = requests - totals["200"] - totals["429"]

    # Checks carry the VU's tags, not the request's `name`; setup() runs no check() at all.
    check_rows = samples[samples["metric_name"] == "checks"]
    checks = {str(name): (int(group["metric_value"].sum()), len(group)) for name, group in check_rows.groupby("check")}
    return RunFigures(
        requests=requests,
        duration_s=span,
        mean_rate=requests / span,
        peak_rate=int(counts.sum(axis=1).max()),
        outcomes=totals,
        error_rate=errors / requests,
        throttled_rate=totals["429"] / requests,
        latency_ms=latency,
        per_second=per_second,
        checks=checks,
    )


def threshold_verdicts(summary: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """``(metric, expression, passed)`` from ``--summary-export`` (there ``true`` means it failed)."""
    rows: list[tuple[str, str, bool]] = []
    for metric, data in sorted(summary.get("metrics", {}).items()):
        for expression, failed in (data.get("thresholds") or {}).items():
            rows.append((metric, expression, not bool(failed)))
    return rows


def plot_figures(figures: RunFigures, out_dir: Path, title: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = figures.per_second
    seconds = data.index.to_numpy()
    written: list[Path] = []

    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=75)
    for column, style in (("p50", "-"), ("p95", "--"), ("p99", ":")):
        ax.plot(seconds, data[column], style, label=column, linewidth=1.4)
    ax.set_yscale("log")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("latency of 200s (ms, log)")
    ax.set_title(f"{title}: latency percentiles per second")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    written.append(out_dir / "latency.png")
    fig.savefig(written[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=75)
    total = data[list(OUTCOMES)].sum(axis=1)
    ax.plot(seconds, total, color="#264653", label="all responses", linewidth=1.4)
    ax.plot(seconds, data["200"], color=OUTCOME_COLOURS["200"], label="200 (scored)", linewidth=1.2)
    if figures.outcomes["429"]:
        ax.plot(seconds, data["429"], color=OUTCOME_COLOURS["429"], label="429 (throttled)", linewidth=1.2)
    errors = total - data["200"] - data["429"]
    if errors.any():
        ax.plot(seconds, errors, color=OUTCOME_COLOURS["5xx"], label="errors (other)", linewidth=1.2)
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("responses per second")
    ax.set_title(f"{title}: throughput")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    written.append(out_dir / "throughput.png")
    fig.savefig(written[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=75)
    share = data[list(OUTCOMES)].div(total.replace(0, np.nan), axis=0).fillna(0) * 100
    ax.stackplot(
        seconds,
        *[share[name] for name in OUTCOMES],
        labels=[f"{name} ({figures.outcomes[name]})" for name in OUTCOMES],
        colors=[OUTCOME_COLOURS[name] for name in OUTCOMES],
    )
    ax.set_ylim(0, 100)
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("% of responses")
    ax.set_title(f"{title}: status mix (429s apart from errors)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    written.append(out_dir / "status.png")
    fig.savefig(written[-1])
    plt.close(fig)
    return written


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not valid JSON: {exc}") from exc
    return data if isinstance(data, dict) else {}


def render_markdown(figures: RunFigures, summary: dict[str, Any], run: dict[str, Any], images: list[Path]) -> str:
    scenario = run.get("scenario", "?")
    target = run.get("target", "?")
    lines = [f"# k6 {scenario} against {target}", ""]
    k6 = run.get("k6") or {}
    machine = run.get("machine") or {}
    if run:
        lines += [
            f"- target: `{run.get('base_url', '?')}`; started {run.get('started_at', '?')}",
            f"- k6: {k6.get('version', '?')} ({k6.get('source', '?')}, sha256 `{str(k6.get('sha256', '?'))[:16]}…`)",
            f"- machine: {machine.get('cpus', '?')} CPUs shared by k6 and the target; {machine.get('platform', '?')}; "
            f"1-min load average {machine.get('load_average_1m_before', '?')} before, "
            f"{run.get('load_average_1m_after', '?')} at the end",
            f"- k6 itself used {run.get('k6_cpu_cores', '?')} cores on average "
            f"({run.get('k6_cpu_seconds', '?')} s CPU)",
            f"- k6 exit code: {run.get('k6_exit_code', '?')}"
            + (" (hit the runner's time limit)" if run.get("timed_out") else ""),
            "",
        ]
    verdicts = threshold_verdicts(summary)
    if verdicts:
        lines += ["## Thresholds", "", "| metric | threshold | result |", "|---|---|---|"]
        lines += [f"| {m} | `{e}` | {'pass' if ok else '**FAIL**'} |" for m, e, ok in verdicts]
        lines.append("")
    lat = figures.latency_ms
    lines += [
        "## Figures (from the samples)",
        "",
        "| figure | value |",
        "|---|---|",
        f"| scoring requests | {figures.requests} in {figures.duration_s:.0f} s |",
        f"| mean throughput | {figures.mean_rate:.1f} req/s (peak second {figures.peak_rate}) |",
        f"| error rate (neither 200 nor 429) | {figures.error_rate:.4%} |",
        f"| throttled (429) | {figures.throttled_rate:.4%} |",
    ]
    for key in ("p50", "p90", "p95", "p99", "p99.9", "max"):
        if key in lat:
            lines.append(f"| latency {key} of 200s | {lat[key]:.2f} ms |")
    dropped = ((summary.get("metrics") or {}).get("dropped_iterations") or {}).get("count")
    if dropped:
        lines.append(f"| dropped iterations (k6 had no free VU) | {int(dropped)} |")
    inference = (summary.get("metrics") or {}).get("server_inference_ms") or {}
    if "med" in inference:
        lines.append(
            f"| server-reported inference, median / p99 | {inference['med']:.3f} / {inference.get('p(99)', 0):.3f} ms |"
        )
    lines += ["", "## Status mix", "", "| outcome | responses | share |", "|---|---|---|"]
    for name in OUTCOMES:
        count = figures.outcomes[name]
        lines.append(f"| {name} | {count} | {count / figures.requests:.2%} |")
    if figures.checks:
        lines += ["", "## Checks", "", "| check | passed |", "|---|---|"]
        lines += [f"| {name} | {ok} / {total} |" for name, (ok, total) in sorted(figures.checks.items())]
    lines += ["", "## Plots", ""]
    lines += [f"![{image.stem}]({image.name})" for image in images]
    return "\n".join(lines) + "\n"


def write_report(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    figures = compute_figures(load_samples(find_metrics_file(run_dir)))
    summary = _read_json(run_dir / "summary.json")
    run = _read_json(run_dir / "run.json")
    title = f"{run.get('scenario', 'k6')} / {run.get('target', 'target')}"
    images = plot_figures(figures, run_dir, title)
    report = run_dir / "report.md"
    report.write_text(render_markdown(figures, summary, run, images), encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="markdown + PNG report of one k6 run")
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        print(write_report(args.run_dir))
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
