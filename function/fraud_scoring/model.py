"""Load the model layer once and score transactions with one ONNX Runtime session.

Everything about the model (feature names and order, the input and output to use, the decision
threshold, the version) comes from the manifest written by training. Loading checks the ONNX
file against the manifest's sha256 and the session's input width against the manifest's feature
count, so a layer that does not match fails at init with one clear :class:`ModelLoadError`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from fraud_scoring.manifest import Manifest, ManifestError, load_manifest, sha256_file

DEFAULT_MODEL_DIR = "/opt/model"
# A challenger layer may carry its graph paired with the champion's (monitoring/pairing.py).
PAIRED_ONNX = "paired.onnx"
PAIRED_MANIFEST = "paired.json"
PAIRED_PREFIX = "challenger/"

# Lambda reports 2 vCPUs whatever the memory size and one row is far below the size where a
# second thread pays off, so the default is one thread and no thread-pool spinning.
DEFAULT_INTRA_OP_THREADS = 1
DEFAULT_INTER_OP_THREADS = 1


class ModelLoadError(RuntimeError):
    """The model layer cannot be used; the message says which file and what is wrong."""


@dataclass(frozen=True)
class RuntimeOptions:
    """ONNX Runtime settings, read from the environment by :meth:`from_env`."""

    intra_op_threads: int = DEFAULT_INTRA_OP_THREADS
    inter_op_threads: int = DEFAULT_INTER_OP_THREADS
    # False: ONNX Runtime's idle pool threads sleep instead of spinning after a run, leaving the cores
    # to the caller's own work between runs (offline scoring reads and writes files there).
    allow_spinning: bool = True

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RuntimeOptions:
        env = os.environ if environ is None else environ
        return cls(
            intra_op_threads=_positive_int(env, "ORT_INTRA_OP_THREADS", DEFAULT_INTRA_OP_THREADS),
            inter_op_threads=_positive_int(env, "ORT_INTER_OP_THREADS", DEFAULT_INTER_OP_THREADS),
        )


def _positive_int(env: Any, name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ModelLoadError(f"{name}={raw!r} is not an integer") from exc
    if value < 1:
        raise ModelLoadError(f"{name}={raw!r} must be at least 1")
    return value


class _OneRowBinding:
    """Pre-bound input and output buffers for one-row inference (one per thread).

    Binding the buffers once skips the per-call allocation and name lookups of
    ``InferenceSession.run``; it saves about a quarter of a one-row score.
    """

    __slots__ = ("_keep", "binding", "output", "paired", "row", "session")

    def __init__(
        self,
        session: ort.InferenceSession,
        manifest: Manifest,
        output_width: int,
        row: npt.NDArray[np.float32] | None = None,
        paired: tuple[str, int] | None = None,
    ) -> None:
        # ``row``: another binding's input buffer to read instead of an own one (FraudModel.score_again).
        self.row = np.zeros((1, manifest.n_features), dtype=np.float32) if row is None else row
        # ``paired``: the paired challenger's probability output and its width (FraudModel.pair_with).
        self.paired = np.zeros((1, paired[1] if paired else 1), dtype=np.float32)
        self.output = np.zeros((1, output_width), dtype=np.float32)
        self.session = session  # the binding runs in the session it was made for, whatever happens since
        self.binding = session.io_binding()
        self.binding.bind_cpu_input(manifest.input_name, self.row)
        self.binding.bind_output(
            manifest.probability_output,
            "cpu",
            0,
            np.float32,
            list(self.output.shape),
            self.output.ctypes.data,
        )
        if paired is not None:
            self.binding.bind_output(paired[0], "cpu", 0, np.float32, list(self.paired.shape), self.paired.ctypes.data)
        # Every other output (XGBoost exports also emit 'label') still needs somewhere to go.
        self._keep: list[npt.NDArray[Any]] = []
        for meta in session.get_outputs():
            if meta.name == manifest.probability_output or (paired is not None and meta.name == paired[0]):
                continue
            dtype = _NUMPY_TYPES.get(meta.type)
            if dtype is None:
                self.binding.bind_output(meta.name, "cpu")
                continue
            shape = [1 if not isinstance(dim, int) else dim for dim in meta.shape]
            buffer = np.zeros(shape, dtype=dtype)
            self._keep.append(buffer)
            self.binding.bind_output(meta.name, "cpu", 0, dtype, shape, buffer.ctypes.data)


_NUMPY_TYPES: dict[str, type[np.generic]] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}


class FraudModel:
    """One ONNX Runtime session plus the manifest that describes it."""

    def __init__(self, manifest: Manifest, session: ort.InferenceSession, model_dir: Path, load_ms: float) -> None:
        self.manifest = manifest
        self.session = session
        self.model_dir = model_dir
        self.load_ms = load_ms
        self.feature_names: tuple[str, ...] = manifest.feature_names
        self.n_features = manifest.n_features
        self.threshold = float(manifest.threshold)
        self.model_version = manifest.model_version
        self._input_name = manifest.input_name
        self._output_names = [manifest.probability_output]
        self._positive = manifest.positive_class_index
        # The width of the probability output, from one real run (exports may leave it symbolic).
        probe = session.run(self._output_names, {self._input_name: np.zeros((1, self.n_features), np.float32)})
        self._output_width = int(np.asarray(probe[0]).reshape(1, -1).shape[1])
        self._run_options = ort.RunOptions()
        self._local = threading.local()
        self.runtime_options = RuntimeOptions()  # set by load_model: the paired session uses the same
        # The session one-row scores run in: this model's, or the pair of it and a challenger (pair_with).
        self._one_row_session = session
        self.paired_with: FraudModel | None = None
        self._paired_output: tuple[str, int] | None = None

    def _binding(self) -> _OneRowBinding:
        binding: _OneRowBinding | None = getattr(self._local, "binding", None)
        if binding is None:
            binding = _OneRowBinding(
                self._one_row_session, self.manifest, self._output_width, paired=self._paired_output
            )
            self._local.binding = binding
        return binding

    def pair_with(self, challenger: FraudModel, session: ort.InferenceSession, challenger_output: str) -> None:
        """Score one row of this model and of ``challenger`` in one run of ``session`` from now on (the
        two graphs side by side, reading one input: see load_pairing); ``challenger.score_again(self)``
        then reads the challenger's result of that run."""
        self._one_row_session = session
        self._paired_output = (challenger_output, challenger._output_width)
        self.paired_with = challenger
        self._local = threading.local()  # bindings of the paired session from now on

    def unpair(self) -> None:
        """Score one row in this model's own session again (the challenger was detached)."""
        self._one_row_session = self.session
        self._paired_output = None
        self.paired_with = None
        self._local = threading.local()

    def score_one(self, row: Sequence[float]) -> float:
        """Fraud probability of one transaction given as ``n_features`` numbers in manifest order."""
        if len(row) != self.n_features:
            raise ValueError(f"expected {self.n_features} features, got {len(row)}")
        binding = self._binding()
        binding.row[0] = row
        binding.session._sess.run_with_iobinding(binding.binding._iobinding, self._run_options)
        return float(binding.output[0, self._positive])

    def score_again(self, scored_by: FraudModel) -> float:
        """Score the row ``scored_by`` scored last on this thread (``scored_by.score_one``), reading its
        input buffer: a second model (the shadow challenger) skips converting the row again.

        Both models take the same features in the same order (the challenger's load checks it). When
        ``scored_by`` is paired with this model (pair_with), its run has already scored this model too.
        """
        source = scored_by._binding()
        if scored_by.paired_with is self:
            return float(source.paired[0, self._positive])
        binding: _OneRowBinding | None = getattr(self._local, "again", None)
        if binding is None or binding.row is not source.row:
            if scored_by.n_features != self.n_features:
                raise ValueError(f"expected {self.n_features} features, the other model takes {scored_by.n_features}")
            binding = _OneRowBinding(self.session, self.manifest, self._output_width, row=source.row)
            self._local.again = binding
        self.session._sess.run_with_iobinding(binding.binding._iobinding, self._run_options)
        return float(binding.output[0, self._positive])

    def score_many(self, rows: Sequence[Sequence[float]] | npt.NDArray[Any]) -> list[float]:
        """Fraud probabilities of many transactions in one session call, in input order."""
        scores: list[float] = self.score_array(rows).tolist()
        return scores

    def score_array(self, rows: Sequence[Sequence[float]] | npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """:meth:`score_many` as an array, no Python float per row; a float32 C-order matrix is used as it is."""
        matrix = np.asarray(rows, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.n_features:
            raise ValueError(f"expected a matrix of shape (n, {self.n_features}), got {matrix.shape}")
        if matrix.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        outputs = self.session.run(self._output_names, {self._input_name: matrix}, self._run_options)
        probabilities: npt.NDArray[np.float32] = np.asarray(outputs[0])
        scores: npt.NDArray[np.float64] = probabilities[:, self._positive].astype(np.float64)
        return scores

    def is_fraud(self, score: float) -> bool:
        return score >= self.threshold

    def describe(self) -> dict[str, Any]:
        """What ``GET /model`` shows: everything from the manifest a client may need."""
        m = self.manifest
        return {
            "model_version": m.model_version,
            "feature_names": list(m.feature_names),
            "n_features": m.n_features,
            "threshold": m.threshold,
            "threshold_rule": m.threshold_rule,
            "metrics": m.metrics,
            "parity": m.parity,
            "training_data": m.training_data,
            "library_versions": m.library_versions,
            "created_at": m.created_at,
            "onnx_sha256": m.onnx_sha256,
        }


def load_model(model_dir: str | Path | None = None, options: RuntimeOptions | None = None) -> FraudModel:
    """Load and check the model layer; raise :class:`ModelLoadError` with one clear message.

    ``model_dir`` defaults to ``$MODEL_DIR`` and then ``/opt/model`` (where Lambda mounts the layer).
    """
    started = time.perf_counter()
    directory = Path(model_dir if model_dir is not None else os.environ.get("MODEL_DIR") or DEFAULT_MODEL_DIR)
    opts = options if options is not None else RuntimeOptions.from_env()
    try:
        manifest = load_manifest(directory)
    except ManifestError as exc:
        raise ModelLoadError(f"model layer at {directory}: {exc}") from exc

    onnx_path = checked_layer_file(directory, manifest.onnx_file, manifest.onnx_sha256, "ONNX file")

    session = _create_session(onnx_path, opts)
    _check_signature(session, manifest, directory)
    try:
        model = FraudModel(manifest, session, directory, 0.0)
    except Exception as exc:
        raise ModelLoadError(f"model layer at {directory}: a test score failed: {exc}") from exc
    _check_scores(model, directory)
    model.runtime_options = opts
    model.load_ms = (time.perf_counter() - started) * 1000.0
    return model


def load_pairing(champion: FraudModel, challenger: FraudModel) -> bool:
    """Pair ``challenger`` with ``champion`` (:meth:`FraudModel.pair_with`) from the challenger layer's
    ``paired.onnx``; False when the layer has none. A pair made from other models (a retrained
    champion), a damaged file, or one whose scores differ from the two models' own raises
    :class:`ModelLoadError` saying which; the models are then left unpaired."""
    manifest_path = challenger.model_dir / PAIRED_MANIFEST
    if not manifest_path.is_file():
        return False
    try:
        paired = json.loads(manifest_path.read_text(encoding="utf-8"))
        output = str(paired["challenger_probability_output"])
        made_from = (str(paired["champion_onnx_sha256"]), str(paired["challenger_onnx_sha256"]))
        expected_sha256 = str(paired["paired_onnx_sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{manifest_path}: unreadable ({type(exc).__name__}: {exc})") from None
    if made_from != (champion.manifest.onnx_sha256, challenger.manifest.onnx_sha256):
        raise ModelLoadError(
            f"{manifest_path}: made for other models than the champion {champion.model_version} and the "
            f"challenger {challenger.model_version} (stage the challenger again: make challenger FROM=...)"
        )
    path = checked_layer_file(challenger.model_dir, PAIRED_ONNX, expected_sha256, "paired ONNX file")
    session = _create_session(path, champion.runtime_options)
    names = {meta.name for meta in session.get_outputs()}
    if champion.manifest.probability_output not in names or output not in names:
        raise ModelLoadError(f"{path}: outputs {sorted(names)} lack the champion's or {output!r}")
    # The pair must score exactly as the two models do, row for row, before it answers for the champion:
    # rows at many scales (features such as a time or an amount run to 1e5), in one batch first.
    probe = _probe_rows(champion.n_features)
    both = session.run([champion.manifest.probability_output, output], {champion.manifest.input_name: probe})
    for got, model in zip(both, (champion, challenger), strict=True):
        want = np.asarray(model.score_many(probe))
        if not np.array_equal(np.asarray(got)[:, model._positive].astype(np.float64), want):
            raise ModelLoadError(f"{path}: scores differ from the {model.model_version} model's own")
    # One by one, through the path a request takes (score_one, then the challenger's score_again).
    rows = probe.tolist()
    own = [(champion.score_one(row), challenger.score_one(row)) for row in rows]
    champion.pair_with(challenger, session, output)
    if [(champion.score_one(row), challenger.score_again(champion)) for row in rows] != own:
        champion.unpair()
        raise ModelLoadError(f"{path}: one-row scores differ from the two models' own")
    return True


def _probe_rows(n_features: int) -> npt.NDArray[np.float32]:
    """Rows of varied values at scales from 1 to 1e5, both signs, and a row of zeros."""
    base = np.linspace(-1.0, 1.0, 8 * n_features).reshape(8, n_features)
    scales = (1.0, 3.0, 30.0, 1_000.0, 30_000.0, 200_000.0)
    rows = [np.roll(base, shift, axis=1) * scale for shift, scale in enumerate(scales)]
    return np.vstack([*rows, np.zeros((1, n_features))]).astype(np.float32)


def checked_layer_file(
    directory: Path, file_name: str, expected_sha256: str | None, kind: str, error: type[Exception] = ModelLoadError
) -> Path:
    """A model-layer file that exists and has the sha256 the manifest gives; ``error`` naming it if not."""
    path = directory / file_name
    if not path.is_file():
        raise error(f"model layer at {directory}: {kind} {file_name!r} is missing")
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise error(
            f"model layer at {directory}: {file_name} has sha256 {actual}, the manifest expects {expected_sha256}"
        )
    return path


def _create_session(onnx_path: Path, opts: RuntimeOptions) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = opts.intra_op_threads
    so.inter_op_num_threads = opts.inter_op_threads
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # errors only: ORT's warnings are not ours to print at every cold start
    if opts.intra_op_threads == 1 or not opts.allow_spinning:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(onnx_path), sess_options=so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for corrupt or unsupported files
        raise ModelLoadError(f"ONNX Runtime cannot load {onnx_path}: {exc}") from exc


def _check_signature(session: ort.InferenceSession, manifest: Manifest, directory: Path) -> None:
    inputs = {meta.name: meta for meta in session.get_inputs()}
    if manifest.input_name not in inputs:
        raise ModelLoadError(
            f"model layer at {directory}: the manifest's input_name {manifest.input_name!r} is not an input "
            f"of the ONNX graph (inputs: {sorted(inputs)})"
        )
    shape = inputs[manifest.input_name].shape
    width = shape[-1] if shape else None
    if len(shape) != 2 or (isinstance(width, int) and width != manifest.n_features):
        raise ModelLoadError(
            f"model layer at {directory}: the ONNX input {manifest.input_name!r} has shape {shape}, but the "
            f"manifest lists {manifest.n_features} features (wrong feature count)"
        )
    outputs = {meta.name: meta for meta in session.get_outputs()}
    if manifest.probability_output not in outputs:
        raise ModelLoadError(
            f"model layer at {directory}: the manifest's probability_output {manifest.probability_output!r} "
            f"is not an output of the ONNX graph (outputs: {sorted(outputs)})"
        )
    out_shape = outputs[manifest.probability_output].shape
    out_width = out_shape[-1] if len(out_shape) == 2 else None
    if isinstance(out_width, int) and not 0 <= manifest.positive_class_index < out_width:
        raise ModelLoadError(
            f"model layer at {directory}: positive_class_index {manifest.positive_class_index} is outside "
            f"the {out_width} columns of {manifest.probability_output!r}"
        )


def _check_scores(model: FraudModel, directory: Path) -> None:
    """Score one row both ways at init: proves the outputs are usable and warms the session."""
    zero = [0.0] * model.n_features
    try:
        one = model.score_one(zero)
        many = model.score_many([zero])
    except Exception as exc:
        raise ModelLoadError(f"model layer at {directory}: a test score failed: {exc}") from exc
    if not (0.0 <= one <= 1.0) or len(many) != 1 or abs(many[0] - one) > 1e-6:
        raise ModelLoadError(
            f"model layer at {directory}: a test score gave {one!r} / {many!r}, not one probability in [0, 1]"
        )
