"""Collect finished runs into the figures table and plots that BENCHMARKS.md shows.

    python -m loadtest.collect loadtest/results/<run> [...] --plots docs/loadtest

Prints one markdown row per run (computed from the samples, as the report does) and copies each
run's PNGs to ``--plots`` as ``<scenario>-<target>-<plot>.png``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from loadtest.report import ReportError, compute_figures, find_metrics_file, load_samples, threshold_verdicts

HEADER = (
    "| target | scenario | requests | mean req/s | p50 ms | p95 ms | p99 ms | max ms | errors | 429s "
    "| dropped | k6 CPU (cores) | load avg before/after | thresholds |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def label(run: Mapping[str, object]) -> str:
    """The target's name, with the extra arguments it was started with (they change the figures)."""
    extra = str(run.get("target_args") or "").strip()
    return f"{run['target']} ({extra})" if extra else str(run["target"])


def slug(run: Mapping[str, object]) -> str:
    extra = str(run.get("target_args") or "").strip()
    words = "-".join(part.strip("-") for part in extra.split() if part.strip("-"))
    return f"{run['scenario']}-{run['target']}" + (f"-{words}" if words else "")


def row(run_dir: Path) -> str:
    figures = compute_figures(load_samples(find_metrics_file(run_dir)))
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    dropped = int(((summary.get("metrics") or {}).get("dropped_iterations") or {}).get("count", 0))
    verdicts = threshold_verdicts(summary)
    passed = (
        "all passed"
        if all(ok for _, _, ok in verdicts)
        else "FAILED: " + ", ".join(f"{m} {e}" for m, e, ok in verdicts if not ok)
    )
    lat = figures.latency_ms
    return (
        f"| {label(run)} | {run['scenario']} | {figures.requests} | {figures.mean_rate:.0f} "
        f"| {lat['p50']:.2f} | {lat['p95']:.2f} | {lat['p99']:.2f} | {lat['max']:.1f} "
        f"| {figures.error_rate:.2%} | {figures.throttled_rate:.2%} | {dropped} "
        f"| {run.get('k6_cpu_cores', '?')} "
        f"| {(run.get('machine') or {}).get('load_average_1m_before', '?')} / {run.get('load_average_1m_after', '?')} "
        f"| {passed} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="figures table + plots of finished k6 runs")
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--plots", type=Path, help="copy the PNGs here")
    args = parser.parse_args(argv)
    lines = [HEADER]
    try:
        for run_dir in args.runs:
            lines.append(row(run_dir))
            if args.plots:
                run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
                args.plots.mkdir(parents=True, exist_ok=True)
                for png in sorted(run_dir.glob("*.png")):
                    shutil.copyfile(png, args.plots / f"{slug(run)}-{png.name}")
    except (ReportError, OSError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
