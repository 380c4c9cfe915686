"""The model manifest: the one source of truth for feature names, threshold and model version.

Training writes ``manifest.json`` next to the ONNX file; everything downstream reads it through
:func:`load_manifest`. Only the standard library is used so that reading it costs nothing at
cold start.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_FILE = "manifest.json"
SCHEMA_VERSION = 1
# What the explanation parity gates measured (training.explain_export): max |diff| per feature against
# XGBoost's pred_contribs, and of bias + contributions against the ONNX model's log-odds.
EXPLANATION_PARITY_KEYS = ("explanation_max_abs_diff", "explanation_logit_max_abs_diff")


class ManifestError(ValueError):
    """The manifest is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class Manifest:
    """What a model layer promises about the ONNX file it carries."""

    model_version: str
    onnx_file: str
    onnx_sha256: str
    feature_names: tuple[str, ...]
    input_name: str
    probability_output: str
    positive_class_index: int
    threshold: float
    threshold_rule: str
    metrics: dict[str, Any] = field(default_factory=dict)
    parity: dict[str, Any] = field(default_factory=dict)
    training_data: dict[str, Any] = field(default_factory=dict)
    training_params: dict[str, Any] = field(default_factory=dict)
    library_versions: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    schema_version: int = SCHEMA_VERSION
    # The exact-explanation artifact (fraud_scoring.explain); absent in layers made before it existed.
    explainer_file: str | None = None
    explainer_sha256: str | None = None
    # Validation-split quantile bins per feature and for the score (fraud_scoring.drift); absent in
    # layers made before drift signals, which then serve without them.
    drift_reference: dict[str, Any] | None = None

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def to_json(self) -> str:
        data = asdict(self)
        data["feature_names"] = list(self.feature_names)
        data["n_features"] = self.n_features
        if self.explainer_file is None:  # a layer without explainer keeps the manifest it always had
            del data["explainer_file"], data["explainer_sha256"]
        if self.drift_reference is None:
            del data["drift_reference"]
        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    def validate(self) -> None:
        """Raise :class:`ManifestError` naming the first field that is wrong."""
        if self.schema_version != SCHEMA_VERSION:
            raise ManifestError(f"schema_version {self.schema_version} is not supported (want {SCHEMA_VERSION})")
        if not self.feature_names:
            raise ManifestError("feature_names is empty")
        if len(set(self.feature_names)) != len(self.feature_names):
            raise ManifestError("feature_names has duplicates")
        if not _is_sha256(self.onnx_sha256):
            raise ManifestError("onnx_sha256 is not a lowercase hex sha256")
        if not (math.isfinite(self.threshold) and 0.0 < self.threshold < 1.0):
            raise ManifestError(f"threshold {self.threshold!r} is not in (0, 1)")
        if not self.model_version:
            raise ManifestError("model_version is empty")
        if Path(self.onnx_file).name != self.onnx_file:
            raise ManifestError(f"onnx_file {self.onnx_file!r} must be a bare file name")
        self._validate_explainer()

    def _validate_explainer(self) -> None:
        if self.explainer_file is None and self.explainer_sha256 is None:
            return
        if not isinstance(self.explainer_file, str) or not self.explainer_file:
            raise ManifestError("explainer_sha256 is set but explainer_file is not")
        if Path(self.explainer_file).name != self.explainer_file or self.explainer_file == self.onnx_file:
            raise ManifestError(f"explainer_file {self.explainer_file!r} must be a bare file name other than onnx_file")
        if not _is_sha256(self.explainer_sha256):
            raise ManifestError("explainer_sha256 is not a lowercase hex sha256")
        for key in EXPLANATION_PARITY_KEYS:
            value = self.parity.get(key)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ManifestError(f"an explainer needs parity.{key} (the training gate's number), got {value!r}")


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


_REQUIRED = (
    "model_version",
    "onnx_file",
    "onnx_sha256",
    "feature_names",
    "input_name",
    "probability_output",
    "positive_class_index",
    "threshold",
    "threshold_rule",
)


def manifest_from_dict(data: dict[str, Any]) -> Manifest:
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ManifestError(f"manifest is missing {', '.join(missing)}")
    known = set(Manifest.__dataclass_fields__)
    kwargs = {key: value for key, value in data.items() if key in known}
    kwargs["feature_names"] = tuple(str(name) for name in data["feature_names"])
    try:
        manifest = Manifest(**kwargs)
    except TypeError as exc:  # a field of the wrong kind
        raise ManifestError(str(exc)) from exc
    manifest.validate()
    if "n_features" in data and data["n_features"] != manifest.n_features:
        raise ManifestError(f"n_features is {data['n_features']} but feature_names lists {manifest.n_features}")
    return manifest


def load_manifest(model_dir: str | Path) -> Manifest:
    path = Path(model_dir) / MANIFEST_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ManifestError(f"no model manifest at {path}") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{path} must hold a JSON object")
    return manifest_from_dict(data)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_version_for(onnx_sha256: str) -> str:
    """The model version is derived from the ONNX content hash: same bytes, same version."""
    return f"xgb-{onnx_sha256[:12]}"
