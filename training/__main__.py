"""``python -m training``: train the fraud model and write the model layer (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.data import DataError
from training.export import ParityError
from training.pipeline import RunConfig, run
from training.policy_proposal import CostModel
from training.train import TrainingParams


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument(
        "--csv", type=Path, help="train on this CSV (Kaggle creditcard.csv schema) instead of synthetic data"
    )
    parser.add_argument("--rows", type=int, default=RunConfig.rows, help="synthetic rows (default %(default)s)")
    parser.add_argument(
        "--fraud-rate",
        type=float,
        default=RunConfig.fraud_rate,
        help="synthetic fraud share (default %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=TrainingParams.seed, help="seed for data and model (default %(default)s)"
    )
    parser.add_argument(
        "--threads", type=int, default=TrainingParams.threads, help="XGBoost threads (default %(default)s)"
    )
    parser.add_argument("--out", type=Path, default=RunConfig.out_dir, help="model layer folder (default %(default)s)")
    parser.add_argument("--report", type=Path, default=RunConfig.report_dir, help="report folder (default %(default)s)")
    parser.add_argument(
        "--min-positives", type=int, default=RunConfig.min_positives, help="CSV: fewest frauds accepted"
    )
    parser.add_argument(
        "--review-cost", type=float, default=CostModel.review_cost, help="policy proposal: cost of one review"
    )
    parser.add_argument(
        "--decline-cost",
        type=float,
        default=CostModel.decline_cost,
        help="policy proposal: cost of declining a good transaction",
    )
    parser.add_argument(
        "--policy-out", type=Path, help="policy layer folder (default: next to --out, i.e. layers/policy)"
    )
    args = parser.parse_args(argv)
    try:
        cost_model = CostModel(args.review_cost, args.decline_cost)
    except ValueError as exc:
        parser.error(str(exc))
    config = RunConfig(
        out_dir=args.out,
        report_dir=args.report,
        csv=args.csv,
        rows=args.rows,
        fraud_rate=args.fraud_rate,
        min_positives=args.min_positives,
        params=TrainingParams(seed=args.seed, threads=args.threads),
        policy_dir=args.policy_out,
        cost_model=cost_model,
    )
    try:
        run(config)
    except (DataError, ParityError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
