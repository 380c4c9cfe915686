"""The exact-explanation artifact (``explainer.npz``) and the two parity gates that guard it.

From the trained booster's JSON model (exact float32 thresholds, covers and leaf values) every
root-to-leaf path of the served trees is written as arrays ``fraud_scoring.explain`` reads. Before
anything is written, the artifact is read back exactly as serving reads it and checked on every
given row: its contributions and bias against XGBoost's own ``pred_contribs`` (per feature), and
bias + contributions against the ONNX model's log-odds. Either gate failing refuses the export.
"""

from __future__ import annotations

import decimal
import hashlib
import io
import json
import math
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import xgboost as xgb
from numpy.polynomial.legendre import leggauss

from fraud_scoring.explain import EXPLAINER_FORMAT, Explainer, read_explainer
from training.export import INPUT_NAME, POSITIVE_CLASS_INDEX, PROBABILITY_OUTPUT, ParityError, onnx_scores

EXPLANATION_TOLERANCE = 1e-5  # per feature (and bias), against XGBoost's pred_contribs
LOGIT_TOLERANCE = 1e-4  # bias + contributions against the ONNX model's log-odds
_SIGMOID_TOLERANCE = 1e-6  # the ONNX raw scores must be what its probabilities are the sigmoid of


class ExplanationParityError(ParityError):
    """The explainer disagrees with XGBoost or with the ONNX model: the export is refused."""


@dataclass(frozen=True)
class ExplanationParity:
    rows: int
    max_abs_diff: float
    worst_row: int
    logit_max_abs_diff: float
    logit_worst_row: int

    def as_dict(self) -> dict[str, float | int]:
        """The manifest's ``parity`` entries (next to the ONNX score gate's)."""
        return {
            "explanation_rows": self.rows,
            "explanation_max_abs_diff": self.max_abs_diff,
            "explanation_worst_row": self.worst_row,
            "explanation_tolerance": EXPLANATION_TOLERANCE,
            "explanation_logit_max_abs_diff": self.logit_max_abs_diff,
            "explanation_logit_worst_row": self.logit_worst_row,
            "explanation_logit_tolerance": LOGIT_TOLERANCE,
        }


def _booster_json(booster: xgb.Booster) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(bytes(booster.save_raw(raw_format="json")))
    return data


def _base_margin(learner: dict[str, Any]) -> float:
    objective = learner["objective"]["name"]
    if objective != "binary:logistic":
        raise ValueError(f"explanations support binary:logistic models, this one is {objective}")
    raw = str(learner["learner_model_param"]["base_score"]).strip("[]")
    values = [float(v) for v in raw.split(",")]
    if len(values) != 1 or not 0.0 < values[0] < 1.0:
        raise ValueError(f"base_score {raw!r} is not one probability")
    p = values[0]
    return math.log(p / (1.0 - p))


def explainer_arrays(booster: xgb.Booster, iteration_end: int, onnx_sha256: str) -> dict[str, np.ndarray]:
    """Every path of the trees of iterations [0, iteration_end) as ``fraud_scoring.explain`` reads them."""
    learner = _booster_json(booster)["learner"]
    params = learner["learner_model_param"]
    if int(params.get("num_target", 1)) != 1 or int(params.get("num_class", 0)) > 1:
        raise ValueError("explanations support single-output models only")
    gbm = learner["gradient_booster"]
    if gbm["name"] != "gbtree":
        raise ValueError(f"explanations support gbtree boosters, this one is {gbm['name']}")
    indptr = gbm["model"]["iteration_indptr"]
    if not 1 <= iteration_end < len(indptr):
        raise ValueError(f"iteration_end {iteration_end} is outside the booster's {len(indptr) - 1} iterations")
    trees = gbm["model"]["trees"][indptr[0] : indptr[iteration_end]]
    n_features = int(params["num_feature"])

    bias = _base_margin(learner)
    paths: list[tuple[float, list[list[float]]]] = []  # (leaf value, [[feature, lower, upper, zero fraction]])
    for tree in trees:
        if any(kind != 0 for kind in tree["split_type"]):
            raise ValueError("explanations support numerical splits only (this model has categorical ones)")
        bias += _tree_paths(tree, paths)

    depth = max(1, *(len(elements) for _, elements in paths))
    n_paths = len(paths)
    feature = np.full((n_paths, depth), -1, dtype=np.int32)
    lower = np.full((n_paths, depth), -np.inf, dtype=np.float32)
    upper = np.full((n_paths, depth), np.inf, dtype=np.float32)
    zero_fraction = np.ones((n_paths, depth), dtype=np.float64)
    leaf_value = np.empty(n_paths, dtype=np.float64)
    for p, (value, elements) in enumerate(paths):
        leaf_value[p] = value
        for j, (feat, lo, hi, zero) in enumerate(elements):
            feature[p, j], lower[p, j], upper[p, j], zero_fraction[p, j] = int(feat), lo, hi, zero
    # ceil(depth / 2) Gauss-Legendre nodes integrate the degree < depth polynomial exactly.
    nodes, weights = gauss_legendre_unit(max(1, math.ceil(depth / 2)))
    return {
        "format": np.array(EXPLAINER_FORMAT, dtype=np.int64),
        "n_features": np.array(n_features, dtype=np.int64),
        "onnx_sha256": np.array(onnx_sha256),
        "bias": np.array(bias, dtype=np.float64),
        "feature": feature,
        "lower": lower,
        "upper": upper,
        "zero_fraction": zero_fraction,
        "leaf_value": leaf_value,
        "quadrature_nodes": nodes,
        "quadrature_weights": weights,
    }


def gauss_legendre_unit(count: int, starts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1], the same bits on every machine.

    numpy's ``leggauss`` solves an eigenvalue problem through LAPACK, whose kernels vary with the
    CPU, so its last bits may too; the artifact's bytes must depend on the model only. Newton steps
    in 50-digit decimal arithmetic from its nodes (or ``starts``) give the correctly rounded values.
    """
    if starts is None:
        starts = leggauss(count)[0]
    nodes, weights = [], []
    with decimal.localcontext(decimal.Context(prec=50)):
        for start in starts:
            x = decimal.Decimal(float(start))  # exact
            for _ in range(3):  # quadratic convergence: a few ulps off -> far below float64's precision
                value, slope = _legendre(count, x)
                x -= value / slope
            _, slope = _legendre(count, x)
            nodes.append(float((x + 1) / 2))
            weights.append(float(1 / ((1 - x * x) * slope * slope)))  # half of 2 / ((1 - x^2) P'(x)^2)
    return np.array(nodes), np.array(weights)


def _legendre(degree: int, x: decimal.Decimal) -> tuple[decimal.Decimal, decimal.Decimal]:
    """P_degree(x) and its derivative, by the three-term recurrence (in the caller's decimal context)."""
    previous, current = decimal.Decimal(1), x
    for k in range(1, degree):
        previous, current = current, ((2 * k + 1) * x * current - k * previous) / (k + 1)
    if degree == 0:
        return previous, decimal.Decimal(0)
    return current, degree * (x * current - previous) / (x * x - 1)


def _tree_paths(tree: dict[str, Any], paths: list[tuple[float, list[list[float]]]]) -> float:
    """Append the tree's root-to-leaf paths to ``paths``; return its cover-weighted mean leaf value.

    A feature split on more than once along a path becomes one element (TreeSHAP merges them): the
    intersection of the intervals, the product of the cover ratios.
    """
    left, right = tree["left_children"], tree["right_children"]
    condition, split_feature, cover = tree["split_conditions"], tree["split_indices"], tree["sum_hessian"]

    def walk(node: int, elements: dict[int, list[float]]) -> float:
        if left[node] == -1:  # a leaf: XGBoost keeps its value in split_conditions
            paths.append((float(condition[node]), [[f, *e] for f, e in elements.items()]))
            return float(condition[node])
        feat = int(split_feature[node])
        threshold = float(np.float32(condition[node]))
        mean = 0.0
        for child, lo, hi in ((left[node], -math.inf, threshold), (right[node], threshold, math.inf)):
            zero = float(cover[child]) / float(cover[node])
            previous = elements.get(feat)
            if previous is not None:
                lo, hi, zero = max(lo, previous[0]), min(hi, previous[1]), zero * previous[2]
            walk_elements = {**elements, feat: [lo, hi, zero]}
            # Like XGBoost's node mean values (the expected value its pred_contribs bias sums).
            mean += walk(child, walk_elements) * float(cover[child])
        return mean / float(cover[node])

    return walk(0, {})


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` archive whose bytes depend on the arrays only (numpy's savez stamps the time)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def onnx_log_odds(onnx_bytes: bytes, X: np.ndarray) -> np.ndarray:
    """The ONNX model's log-odds: its tree ensemble with the logistic transform switched off.

    Taking the logit of the float32 probability instead loses the log-odds near p = 1 (one float32
    step there is 1e-4 of log-odds and more); the check against the real probabilities proves the
    raw scores are what they are the sigmoid of.
    """
    model = onnx.load_from_string(onnx_bytes)
    ensembles = [node for node in model.graph.node if node.op_type == "TreeEnsembleClassifier"]
    if len(ensembles) != 1:
        raise ExplanationParityError(f"the ONNX graph has {len(ensembles)} TreeEnsembleClassifier nodes, want 1")
    transforms = [a for a in ensembles[0].attribute if a.name == "post_transform"]
    if len(transforms) != 1 or transforms[0].s != b"LOGISTIC":
        raise ExplanationParityError("the ONNX tree ensemble does not end in a logistic transform")
    transforms[0].s = b"NONE"
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    (raw,) = session.run([PROBABILITY_OUTPUT], {INPUT_NAME: X.astype(np.float32)})
    log_odds = np.asarray(raw)[:, POSITIVE_CLASS_INDEX].astype(np.float64)
    off = np.abs(1.0 / (1.0 + np.exp(-log_odds)) - onnx_scores(onnx_bytes, X))
    if not off.max(initial=0.0) <= _SIGMOID_TOLERANCE:
        raise ExplanationParityError(f"the ONNX raw scores are not the log-odds of its probabilities ({off.max():.3g})")
    return log_odds


def check_explanation_parity(
    explainer: Explainer, booster: xgb.Booster, iteration_end: int, onnx_bytes: bytes, X: np.ndarray
) -> ExplanationParity:
    """Both gates on every row of ``X``; :class:`ExplanationParityError` names the first one that fails."""
    X32 = np.asarray(X, dtype=np.float32)
    reference = booster.predict(xgb.DMatrix(X32), pred_contribs=True, iteration_range=(0, iteration_end))
    bias, contributions = explainer.contributions_many(X32)
    ours = np.column_stack([contributions, np.full(X32.shape[0], bias)])
    if reference.shape != ours.shape:
        raise ExplanationParityError(
            f"XGBoost gave contributions of shape {reference.shape}, the explainer {ours.shape}"
        )
    diff = np.abs(ours - reference.astype(np.float64)).max(axis=1)
    logit_diff = np.abs(bias + contributions.sum(axis=1) - onnx_log_odds(onnx_bytes, X32))
    worst, logit_worst = int(np.argmax(diff)), int(np.argmax(logit_diff))
    result = ExplanationParity(
        rows=int(X32.shape[0]),
        max_abs_diff=float(diff[worst]),
        worst_row=worst,
        logit_max_abs_diff=float(logit_diff[logit_worst]),
        logit_worst_row=logit_worst,
    )
    if not (np.isfinite(diff).all() and result.max_abs_diff <= EXPLANATION_TOLERANCE):
        raise ExplanationParityError(
            f"the explainer and XGBoost's pred_contribs disagree: max |diff| {result.max_abs_diff:.3g} on row "
            f"{worst} exceeds tolerance {EXPLANATION_TOLERANCE:g}"
        )
    if not (np.isfinite(logit_diff).all() and result.logit_max_abs_diff <= LOGIT_TOLERANCE):
        raise ExplanationParityError(
            f"bias + contributions and the ONNX model's log-odds disagree: max |diff| "
            f"{result.logit_max_abs_diff:.3g} on row {logit_worst} exceeds tolerance {LOGIT_TOLERANCE:g}"
        )
    return result


def export_explainer(
    booster: xgb.Booster, iteration_end: int, onnx_bytes: bytes, X: np.ndarray
) -> tuple[bytes, ExplanationParity]:
    """The artifact's bytes and its gate numbers; raises :class:`ExplanationParityError` instead of a bad artifact."""
    onnx_sha = hashlib.sha256(onnx_bytes).hexdigest()
    arrays = explainer_arrays(booster, iteration_end, onnx_sha)
    data = npz_bytes(arrays)
    # Gate what serving will read: the bytes, through the serving reader.
    explainer = read_explainer(io.BytesIO(data), int(arrays["n_features"]), onnx_sha)
    return data, check_explanation_parity(explainer, booster, iteration_end, onnx_bytes, X)
