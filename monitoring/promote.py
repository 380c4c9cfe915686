"""Put a model into the challenger layer, or promote the challenger to champion: ``python -m monitoring.promote``.

``stage FROM``: check the model layer in FROM (a training run's folder) and copy it into
``layers/challenger``; deploy with ``ChallengerMode=shadow`` (then ``ab``) to watch it on live traffic.

``promote [CHALLENGER]``: check the challenger layer (default ``layers/challenger``) and copy it into
``layers/model``, the champion; then ``make deploy ENV=prod`` ships it through the canary and its
alarms, and rolls back by itself if they fire.

The checks are the service's own, so what passes here loads on Lambda: the model layer loads (ONNX
file against the manifest's sha256, input width, a test score both ways), its explainer loads, the
policy in ``layers/policy`` accepts its features, and its features are the champion's (the request
contract is built from them: other features would break every client; ``--allow-new-features``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from fraud_scoring.decision import DecisionPipeline, load_pipeline
from fraud_scoring.manifest import load_manifest
from fraud_scoring.model import PAIRED_MANIFEST, PAIRED_ONNX, ModelLoadError
from fraud_scoring.policy import PolicyError
from monitoring.pairing import write_pairing

CHAMPION_DIR = Path("layers/model")
CHALLENGER_DIR = Path("layers/challenger")
POLICY_DIR = Path("layers/policy")
LAYER_FILES = ("model.onnx", "manifest.json", "explainer.npz")
PAIR_FILES = (PAIRED_ONNX, PAIRED_MANIFEST)  # the challenger with the champion, one graph (monitoring/pairing.py)


class PromotionError(RuntimeError):
    """A model that must not become challenger or champion; the message says why."""


def check_layer(source: Path, champion_dir: Path, policy_dir: Path, allow_new_features: bool) -> DecisionPipeline:
    """Load ``source`` as the service would, with the policy; refuse other features than the champion's."""
    if not (source / "manifest.json").is_file():
        raise PromotionError(f"{source} holds no model layer (manifest.json is missing)")
    try:
        pipeline = load_pipeline(source, policy_dir if (policy_dir / "policy.json").is_file() else None)
    except (ModelLoadError, PolicyError, ValueError) as exc:
        raise PromotionError(f"{source} does not load: {exc}") from None
    if pipeline.explainer is None:
        raise PromotionError(f"{source} carries no explainer.npz: flagged answers could not say why; retrain it")
    if (champion_dir / "manifest.json").is_file() and not allow_new_features:
        champion = load_manifest(champion_dir)
        if champion.feature_names != pipeline.feature_names:
            raise PromotionError(
                f"{source} takes other features than the champion in {champion_dir} "
                f"({len(pipeline.feature_names)} vs {len(champion.feature_names)}, or another order): every "
                "client's payload would change; pass --allow-new-features if that is the plan"
            )
    return pipeline


def copy_layer(source: Path, target: Path) -> None:
    """Replace the model files in ``target`` by those of ``source`` (other files, e.g. a README, stay)."""
    if source.resolve() == target.resolve():
        raise PromotionError(f"{source} is already {target}")
    target.mkdir(parents=True, exist_ok=True)
    for name in LAYER_FILES + PAIR_FILES:  # a pair made for the model replaced here is stale
        (target / name).unlink(missing_ok=True)
    for name in LAYER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m monitoring.promote", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--champion-dir", type=Path, default=CHAMPION_DIR, help="the champion layer (%(default)s)")
    parser.add_argument(
        "--challenger-dir", type=Path, default=CHALLENGER_DIR, help="the challenger layer (%(default)s)"
    )
    parser.add_argument("--policy-dir", type=Path, default=POLICY_DIR, help="the policy layer (%(default)s)")
    parser.add_argument("--allow-new-features", action="store_true", help="accept other features than the champion's")
    commands = parser.add_subparsers(dest="command", required=True)
    stage = commands.add_parser("stage", help="copy a checked model layer into the challenger layer")
    stage.add_argument("source", type=Path, help="a model layer folder (model.onnx, manifest.json, explainer.npz)")
    promote = commands.add_parser("promote", help="copy the checked challenger layer into the champion layer")
    promote.add_argument("source", type=Path, nargs="?", help="the challenger layer (default: --challenger-dir)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    source: Path = args.source if args.source is not None else args.challenger_dir
    target: Path = args.challenger_dir if args.command == "stage" else args.champion_dir
    try:
        pipeline = check_layer(source, args.champion_dir, args.policy_dir, args.allow_new_features)
        copy_layer(source, target)
    except PromotionError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1
    version = pipeline.model_version
    if args.command == "stage":
        print(f"challenger {version} (checked) is now in {target}")
        if (args.champion_dir / "manifest.json").is_file():
            try:
                write_pairing(args.champion_dir, target)
                print(f"paired with the champion in {args.champion_dir}: a full shadow scores both in one run")
            except Exception as exc:  # the pair is an optimisation: any failure leaves the staged layer as it is
                print(f"not paired with the champion ({type(exc).__name__}: {exc}): a shadow scores in its own session")
        print("next: deploy it next to the champion, watching only:  make deploy ENV=prod CHALLENGER_MODE=shadow")
        print("      then compare on live traffic (docs/rollout.md):  make compare LOGS=<exported decision logs>")
    else:
        print(f"model {version} (checked) is now the champion in {target}")
        print("next: make deploy ENV=prod CHALLENGER_MODE=off   (the canary shifts traffic and rolls back on alarms)")
        print(f"      the challenger layer {source} still holds it: clear it with  make challenger-clear")
    return 0


if __name__ == "__main__":
    sys.exit(main())
