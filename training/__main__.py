"""``python -m training``: train the fraud model and write a model layer (see ``--help``).

With no data options it rebuilds the committed default model in ``layers/model``. Any other data
(``--csv``, ``--data named``, other rows, rate or seed) goes to ``training/runs/<name>/`` unless
``--out`` or ``--replace-default`` says otherwise, so the shipped model is never replaced by accident.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

from training.data import MAX_PROBLEMS, DataError
from training.datasets import BUILTIN_DATASETS, DEFAULT_DATASET
from training.export import ParityError
from training.pipeline import RunConfig, run
from training.policy_proposal import CostModel
from training.schema import SchemaError, build_schema
from training.train import TrainingParams

DEFAULT_MODEL_DIR = RunConfig.out_dir
DEFAULT_REPORT_DIR = RunConfig.report_dir
RUNS_DIR = Path("training/runs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    data = parser.add_argument_group("data (default: the built-in synthetic data set)")
    data.add_argument(
        "--csv", type=Path, help="train on this CSV (public creditcard.csv layout unless a schema is given)"
    )
    data.add_argument(
        "--data",
        choices=sorted(BUILTIN_DATASETS),
        default=None,
        help="a built-in data set: " + "; ".join(f"{d.name}: {d.summary}" for d in BUILTIN_DATASETS.values()),
    )
    data.add_argument("--rows", type=int, default=RunConfig.rows, help="generated rows (default %(default)s)")
    data.add_argument("--fraud-rate", type=float, default=None, help="generated fraud share (default: the data set's)")
    schema = parser.add_argument_group("CSV schema (your own columns; see docs/training.md)")
    schema.add_argument("--schema", type=Path, help="JSON or YAML file with label, time, ignore, delimiter")
    schema.add_argument("--label", help="the 0/1 fraud column")
    schema.add_argument("--time", help="the column that orders rows in time (numbers or ISO 8601); not a feature")
    schema.add_argument("--ignore", help="comma-separated columns that are not features (ids, free text)")
    schema.add_argument("--delimiter", help="field separator: one character, or comma, semicolon, tab, pipe")
    schema.add_argument(
        "--time-is-feature",
        action="store_const",
        const=True,
        default=None,
        help="also use the time column as a feature",
    )
    schema.add_argument(
        "--min-positives",
        type=int,
        default=RunConfig.min_positives,
        help="fewest frauds accepted (default %(default)s)",
    )
    schema.add_argument(
        "--max-problems", type=int, default=MAX_PROBLEMS, help="problems listed per file (default %(default)s)"
    )
    output = parser.add_argument_group("output")
    output.add_argument("--out", type=Path, help="model layer folder (default: see above)")
    output.add_argument("--report", type=Path, help="report folder (default: beside the model)")
    output.add_argument(
        "--replace-default",
        action="store_true",
        help=f"write the default model ({DEFAULT_MODEL_DIR}, {DEFAULT_REPORT_DIR}) whatever the data",
    )
    policy = parser.add_argument_group("decision policy proposal (docs/policy.md)")
    policy.add_argument("--review-cost", type=float, default=CostModel.review_cost, help="cost of one manual review")
    policy.add_argument(
        "--decline-cost", type=float, default=CostModel.decline_cost, help="cost of declining a good transaction"
    )
    policy.add_argument("--policy-out", type=Path, help="policy layer folder (default: beside the model folder)")
    model = parser.add_argument_group("model")
    model.add_argument(
        "--seed", type=int, default=TrainingParams.seed, help="seed for data and model (default %(default)s)"
    )
    model.add_argument(
        "--threads", type=int, default=TrainingParams.threads, help="XGBoost threads (default %(default)s)"
    )
    return parser


def run_name(args: argparse.Namespace) -> str:
    """The folder under training/runs/: the CSV's file name, or the data set's name."""
    if args.csv is not None:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", args.csv.stem).strip("-.") or "csv"
    return str(args.data or DEFAULT_DATASET)


def is_default_run(args: argparse.Namespace) -> bool:
    """Exactly the run that produces the committed model."""
    return (
        args.csv is None
        and args.data in (None, DEFAULT_DATASET)
        and args.rows == RunConfig.rows
        and args.fraud_rate is None
        and args.seed == TrainingParams.seed
    )


def output_dirs(args: argparse.Namespace) -> tuple[Path, Path]:
    if args.replace_default:
        out, report = DEFAULT_MODEL_DIR, DEFAULT_REPORT_DIR
    elif args.out is not None:
        out = args.out
        if out.resolve() == DEFAULT_MODEL_DIR.resolve():
            report = DEFAULT_REPORT_DIR
        else:
            report = out.parent / "report" if out.name == "model" else out / "report"
    elif is_default_run(args):
        out, report = DEFAULT_MODEL_DIR, DEFAULT_REPORT_DIR
    else:
        out = RUNS_DIR / run_name(args) / "model"
        report = out.parent / "report"
    return out, (args.report if args.report is not None else report)


def serve_instructions(out: Path) -> str:
    if out.resolve() == DEFAULT_MODEL_DIR.resolve():
        return f"the model is in {out}/, the default model layer: `make serve` serves it"
    model_dir = shlex.quote(str(out))
    return (
        f"the model is in {out}/ ({DEFAULT_MODEL_DIR}/, the default model, is unchanged)\n"
        f"serve it:  make serve SERVE_MODEL_DIR={model_dir}\n"
        f"ship it:   rerun this command with --replace-default (make train ... REPLACE_DEFAULT=1) to make it the "
        f"default model in {DEFAULT_MODEL_DIR}/, which `sam build` packages"
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.csv is not None and args.data is not None:
        parser.error("--csv and --data exclude each other")
    try:
        schema = build_schema(args.schema, args.label, args.time, args.ignore, args.delimiter, args.time_is_feature)
        if schema is not None and args.csv is None:
            raise SchemaError("a schema (--schema, --label, ...) describes a CSV: give --csv too")
    except SchemaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out, report = output_dirs(args)
    try:
        cost_model = CostModel(args.review_cost, args.decline_cost)
    except ValueError as exc:
        parser.error(str(exc))
    config = RunConfig(
        out_dir=out,
        report_dir=report,
        csv=args.csv,
        schema=schema,
        dataset=args.data or DEFAULT_DATASET,
        rows=args.rows,
        fraud_rate=args.fraud_rate,
        min_positives=args.min_positives,
        max_problems=args.max_problems,
        params=TrainingParams(seed=args.seed, threads=args.threads),
        policy_dir=args.policy_out,
        cost_model=cost_model,
    )
    try:
        run(config)
    except (DataError, ParityError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(serve_instructions(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
