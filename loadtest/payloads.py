"""Write the k6 payload file: varied transactions from the training data's distribution.

The feature names and their order come from the model manifest (the one source of truth); the
values come from the built-in generator the model was trained on (:mod:`training.samples`), or,
for a model trained on a user's CSV, from the per-feature quantiles its manifest stores, so the
load resembles what the model was trained on instead of one constant row (which flatters tree
inference about 1.7x). With a generator, frauds are over-sampled a little so both decisions show
up under load. The bodies mix the two request forms
the API accepts: a list in manifest order and named features; some carry a ``transaction_id``.

    python -m loadtest.payloads [--count 4000] [--out loadtest/payloads.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from fraud_scoring.manifest import ManifestError, load_manifest
from training.datasets import builtin_for_features
from training.samples import SampleError, sample_rows

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL_DIR = REPO_ROOT / "layers" / "model"
DEFAULT_OUT = Path(__file__).resolve().parent / "payloads.json"


class PayloadError(ValueError):
    """The payload file cannot be made (the message says why)."""


def build_payloads(
    feature_names: tuple[str, ...],
    count: int = 4000,
    seed: int = 2024,
    fraud_share: float = 0.02,
    named_share: float = 0.5,
    id_share: float = 0.5,
    training_data: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """``count`` request bodies for ``POST /predict``, deterministic for a seed.

    ``training_data`` is the manifest's: needed when the features are not a built-in data set's.
    """
    if not 1 <= count <= 100_000:
        raise PayloadError(f"count must be in [1, 100000], got {count}")
    for name, share in (("fraud_share", fraud_share), ("named_share", named_share), ("id_share", id_share)):
        if not 0.0 <= share <= 1.0:
            raise PayloadError(f"{name} must be in [0, 1], got {share}")
    try:
        data = sample_rows(tuple(feature_names), training_data or {}, max(50_000, count * 20), seed)
    except SampleError as exc:
        raise PayloadError(
            f"no payloads for the manifest's features ({', '.join(feature_names[:3])}, ...): {exc}"
        ) from exc
    rng = np.random.default_rng(seed)
    if data.y is not None:
        frauds = np.flatnonzero(data.y == 1)
        legit = np.flatnonzero(data.y == 0)
        n_fraud = min(frauds.size, round(count * fraud_share))
        rows = np.concatenate(
            [rng.choice(frauds, n_fraud, replace=False), rng.choice(legit, count - n_fraud, replace=False)]
        )
    else:  # no labels: rows drawn from the training distribution as they come
        rows = rng.choice(data.X.shape[0], count, replace=False)
    rng.shuffle(rows)
    named = rng.uniform(size=count) < named_share
    with_id = rng.uniform(size=count) < id_share
    bodies: list[dict[str, Any]] = []
    for k, row in enumerate(rows):
        values = [round(float(x), 6) for x in data.X[row]]
        features: list[float] | dict[str, float] = dict(zip(feature_names, values, strict=True)) if named[k] else values
        body: dict[str, Any] = {"features": features}
        if with_id[k]:
            body["transaction_id"] = f"lt-{seed}-{k:06d}"
        bodies.append(body)
    return bodies


def sample_source(feature_names: tuple[str, ...], seed: int) -> str:
    builtin = builtin_for_features(feature_names)
    if builtin is None:
        return f"the manifest's training_data.feature_summary (seed={seed})"
    return f"training.datasets.BUILTIN_DATASETS[{builtin.name!r}] (seed={seed})"


def write_payload_file(out: Path, model_dir: Path, count: int, seed: int) -> dict[str, Any]:
    try:
        manifest = load_manifest(model_dir)
    except ManifestError as exc:
        raise PayloadError(f"cannot read the model manifest: {exc}") from exc
    document = {
        "model_version": manifest.model_version,
        "feature_names": list(manifest.feature_names),
        "n_features": manifest.n_features,
        "source": sample_source(manifest.feature_names, seed),
        "payloads": build_payloads(
            manifest.feature_names, count=count, seed=seed, training_data=manifest.training_data
        ),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
    tmp.replace(out)
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        document = write_payload_file(args.out, args.model_dir, args.count, args.seed)
    except PayloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(document['payloads'])} payloads for {document['model_version']} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
