"""What a challenger costs an in-process ``POST /predict``, measured against no challenger in the same run.

    make bench-challenger            # or: .venv/bin/python benchmarks/bench_challenger.py [--quick] [--update-md]

The shipped handler (FastAPI + Mangum + Powertools telemetry, decision log line and EMF written to
stdout, here /dev/null) around the committed model and policy, invoked with API Gateway REST events of
varied transactions, in four variants taking turns call by call: no challenger; a shadow
challenger on every transaction (``CHALLENGER_SHARE=1``); the same with a 10 % sample; an A/B
challenger answering half. The budget (issue 16): a shadow challenger adds at most 10 us to the
median. The challenger is a second model trained by ``python -m training`` (20,000 rows, seed 7) into
``build/bench-challenger`` unless ``--challenger DIR`` names one.

Results go to stdout, ``benchmarks/results/challenger.json`` and, with ``--update-md``, the
``## Challenger models (in process)`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "function"), str(REPO)]

from benchmarks.bench_function import machine, stdout_to_devnull, summary, varied_rows  # noqa: E402

SECTION = "## Challenger models (in process)"
SCORE = "one-row ONNX score of the challenger"
UNPAIRED = "shadow, every transaction, not paired (two sessions)"
BUDGET_US = 10.0
DEFAULT_CHALLENGER = REPO / "build" / "bench-challenger"


def challenger_layer(folder: Path | None) -> Path:
    if folder is not None:
        return folder
    layer = DEFAULT_CHALLENGER / "model"
    if not (layer / "manifest.json").is_file():
        from tests.unit.challenger.models import train_challenger

        print(f"training the benchmark's challenger into {layer} ...", file=sys.stderr)
        train_challenger(DEFAULT_CHALLENGER)
    return layer


def alternating(variants: dict[str, Callable[[int], object]], calls: int, rounds: int) -> dict[str, list[float]]:
    """Per-call times in ns, the variants taking turns call by call (not block by block): on a shared
    machine the load drifts within a block, and call-by-call turns give every variant the same drift."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    clock = time.perf_counter_ns
    order = list(variants.items())
    for round_number in range(rounds):
        turn = order[round_number % len(order) :] + order[: round_number % len(order)]
        for i in range(calls):
            for name, run in turn:
                started = clock()
                run(i)
                times[name].append(clock() - started)
    return times


def _invoker(handler: Callable[[Any, Any], Any], events: list[dict[str, Any]], context: Any) -> Callable[[int], object]:
    n = len(events)
    return lambda i: handler(events[i % n], context)


def bench(challenger_dir: Path, calls: int, rounds: int) -> dict[str, Any]:
    from mangum import Mangum

    from fraud_api.factory import Settings, create_app
    from fraud_api.telemetry import Telemetry
    from fraud_scoring.challenger import ChallengerSettings, load_challenger
    from fraud_scoring.decision import load_pipeline
    from monitoring.pairing import write_pairing
    from monitoring.promote import copy_layer
    from tests.unit.api.lambda_events import FakeLambdaContext, rest_event

    model_dir = REPO / "layers" / "model"
    policy_dir = REPO / "layers" / "policy"
    # Staged as `make challenger` stages it: with the pair (monitoring/pairing.py) in a copy of the layer.
    workdir = tempfile.TemporaryDirectory(prefix="bench-challenger-")  # removed when the run ends
    staged = Path(workdir.name) / "challenger"
    unpaired = staged.with_name("unpaired")
    for target in (staged, unpaired):
        copy_layer(challenger_dir, target)  # the model files only: a pair the source may carry stays behind
    write_pairing(model_dir, staged)
    configurations = {
        "no challenger": None,
        "shadow, every transaction": ("shadow", 1.0, staged),
        UNPAIRED: ("shadow", 1.0, unpaired),
        "shadow, 10 % sampled": ("shadow", 0.1, staged),
        "A/B, half answered by the challenger": ("ab", 0.5, staged),
    }
    handlers = {}
    for number, (name, config) in enumerate(configurations.items()):
        pipeline = load_pipeline(model_dir, policy_dir)
        if config is not None:
            settings = ChallengerSettings(mode=config[0], share=config[1], model_dir=str(config[2]))
            pipeline.attach_challenger(load_challenger(pipeline, settings))
            assert pipeline.challenger is not None, name
            assert (pipeline.model.paired_with is not None) == (name == "shadow, every transaction"), name
        telemetry = Telemetry(pipeline.model_version, service=f"bench-challenger-{number}")
        app = create_app(pipeline, telemetry=telemetry, settings=Settings())
        handlers[name] = telemetry.wrap_lambda_handler(Mangum(app, lifespan="off"))

    rows = varied_rows(2000)
    events = [
        rest_event(
            "POST",
            "/predict",
            json.dumps({"features": row, "transaction_id": f"tx-{i}"}),
            {"Content-Type": "application/json"},
        )
        for i, row in enumerate(rows)
    ]
    n = len(events)
    context: Any = FakeLambdaContext()
    with stdout_to_devnull():
        for event in events[:50]:  # the champion's answer is the same with and without a shadow
            answers = [json.loads(handlers[name](event, context)["body"]) for name in list(handlers)[:3]]
            assert len({answer["fraud_score"] for answer in answers}) == 1
        variants: dict[str, Callable[[int], object]] = {
            name: _invoker(handler, events, context) for name, handler in handlers.items()
        }
        # The floor of what a shadow adds: one more one-row score. Measured alongside, it turns the
        # added time into a count of scores, which holds on a loaded machine too.
        score_one = load_pipeline(challenger_dir, policy_dir).model.score_one
        variants[SCORE] = lambda i: score_one(rows[i % n])
        alternating(variants, min(calls, 300), 1)  # warm-up
        times = alternating(variants, calls, rounds)
    score = summary(times.pop(SCORE))
    results = {name: summary(values) for name, values in times.items()}
    base = results["no challenger"]["median_us"]
    for item in results.values():
        item["added_median_us"] = item["median_us"] - base
        item["added_in_scores"] = item["added_median_us"] / score["median_us"]
    return {
        "machine": machine(),
        "calls": calls,
        "rounds": rounds,
        "challenger_dir": str(
            challenger_dir.relative_to(REPO) if challenger_dir.is_relative_to(REPO) else challenger_dir
        ),
        "budget_us": BUDGET_US,
        "challenger_score_one": score,
        "within_budget": results["shadow, every transaction"]["added_median_us"] <= BUDGET_US,
        "results": results,
    }


def render(report: dict[str, Any]) -> str:
    info = report["machine"]
    lines = [
        SECTION,
        "",
        "`make bench-challenger` (benchmarks/bench_challenger.py): the shipped handler's in-process `POST /predict` "
        "(API Gateway REST event -> Mangum -> FastAPI -> decision pipeline -> decision log line + EMF), with and "
        f"without a challenger, the variants taking turns call by call: {report['rounds']} x {report['calls']} "
        "calls each. "
        f"Machine: {info['cpu']}, {info['vcpus']} vCPU, Python {info['python']}, load {info['load_average'][0]:.2f}.",
        "",
        "| variant | median us | p90 us | p99 us | added to the median | added, in one-row scores |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, item in report["results"].items():
        lines.append(
            f"| {name} | {item['median_us']:.1f} | {item['p90_us']:.1f} | {item['p99_us']:.1f} | "
            f"{item['added_median_us']:+.1f} us | {item['added_in_scores']:+.2f} |"
        )
    lines.append(f"| ({SCORE}, same run) | {report['challenger_score_one']['median_us']:.1f} | | | | |")
    verdict = "within" if report["within_budget"] else "OVER"
    lines += [
        "",
        f"Budget: a shadow challenger on every transaction adds at most {report['budget_us']:.0f} us to the median: "
        f"{verdict} budget. A shadow on every transaction is staged as `make challenger` stages it: paired with "
        "the champion (monitoring/pairing.py), so one ONNX Runtime run scores both; the unpaired row is the "
        "same shadow in a session of its own (a stale pair, or a challenger directory not staged), whose run "
        "reads the input buffer the champion's filled. Either way the rest is a policy decision, no reasons, "
        "four more fields in the decision line and one `ChallengerAgreement` value in the EMF line (appended "
        "after Powertools builds it, like `Decisions`). A sampled shadow and A/B are never paired; A/B also "
        "explains the challenger's flagged answers.",
    ]
    return "\n".join(lines) + "\n"


def update_markdown(text: str) -> None:
    path = REPO / "BENCHMARKS.md"
    current = path.read_text(encoding="utf-8")
    if SECTION in current:
        start = current.index(SECTION)
        following = current.find("\n## ", start + len(SECTION))
        end = len(current) if following < 0 else following + 1
        current = current[:start] + text + ("\n" if following >= 0 else "") + current[end:]
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke run, not for the record)")
    parser.add_argument("--challenger", type=Path, help="a challenger model layer (default: trained for the benchmark)")
    parser.add_argument("--update-md", action="store_true", help="write the section of BENCHMARKS.md")
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "FraudScoring")
    calls, rounds = (300, 3) if args.quick else (3000, 7)
    report = bench(challenger_layer(args.challenger), calls, rounds)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "challenger.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    text = render(report)
    print(text)
    if args.update_md:
        update_markdown(text)
    return 0 if report["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
