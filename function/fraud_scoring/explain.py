"""Exact TreeSHAP explanations of the served XGBoost model, computed with numpy alone.

ONNX Runtime cannot compute TreeSHAP (no ONNX operator does), so training exports the tree
structure the computation needs into ``explainer.npz`` in the model layer: every root-to-leaf path
of every served tree, with each feature on the path merged into one element (the interval of
values that follows the path, the product of its cover ratios) and the leaf value.

For one path with leaf value ``v`` and elements ``j`` (zero fraction ``z_j`` = cover ratio, one
fraction ``o_j`` = 1 when the transaction's value lies in the element's interval, else 0), the
Shapley value of element ``i`` in the game ``g(S) = v * prod_{j in S} o_j * prod_{j not in S} z_j``
is what TreeSHAP's EXTEND/UNWIND recurrences compute::

    phi_i = v * (o_i - z_i) * sum_S |S|! (m - |S| - 1)! / m! * prod_{j in S} o_j * prod_{j not in S, j != i} z_j
          = v * (o_i - z_i) * integral_0^1 prod_{j != i} (z_j (1 - t) + o_j t) dt

The integrand is a polynomial of degree < m <= tree depth, so Gauss-Legendre quadrature with
ceil(depth / 2) nodes gives the integral exactly; all paths and elements are done in a few numpy
operations. The sum of every path's ``phi`` per feature is XGBoost's ``pred_contribs`` (the
parity test and the training gate check it to 1e-5), and ``bias`` is its last column: the base
margin plus every tree's cover-weighted mean leaf. ``bias + sum(contributions)`` is the model's
log-odds.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from fraud_scoring.manifest import Manifest
from fraud_scoring.model import ModelLoadError, checked_layer_file

EXPLAINER_FILE = "explainer.npz"
EXPLAINER_FORMAT = 1
DEFAULT_REASONS = 3

# Rows per vectorised step of contributions_many: the (rows, 2, nodes, depth, paths) arrays stay in the
# CPU cache (measured here: 8 MB steps were slower per row than 256 kB ones, not faster).
_CHUNK_ELEMENTS = 1 << 15

FloatArray = npt.NDArray[np.float64]


class ExplainerLoadError(ModelLoadError):
    """The explainer artifact is missing, corrupt or does not belong to the model beside it."""


class Explainer:
    """Exact TreeSHAP of one tree ensemble, from the path arrays training exported.

    Thread-safe: every call works on its own arrays.

    Arrays (``P`` paths, ``D`` the most distinct features on any path, padding where a path is shorter):
    ``feature`` (P, D) feature index, -1 for padding; ``lower``/``upper`` (P, D) float32, the path
    holds ``lower <= x < upper`` (XGBoost goes left when ``x < threshold``); ``zero_fraction`` (P, D);
    ``leaf_value`` (P,); ``quadrature_nodes``/``quadrature_weights`` Gauss-Legendre on [0, 1].
    """

    def __init__(
        self,
        *,
        n_features: int,
        bias: float,
        feature: npt.NDArray[Any],
        lower: npt.NDArray[Any],
        upper: npt.NDArray[Any],
        zero_fraction: npt.NDArray[Any],
        leaf_value: npt.NDArray[Any],
        quadrature_nodes: npt.NDArray[Any],
        quadrature_weights: npt.NDArray[Any],
    ) -> None:
        """Check the arrays and lay them out for the computation; ``ValueError`` says what is wrong."""
        if n_features < 1:
            raise ValueError(f"n_features is {n_features}, must be at least 1")
        if not math.isfinite(bias):
            raise ValueError(f"bias {bias!r} is not finite")
        if feature.ndim != 2 or not np.issubdtype(feature.dtype, np.integer):
            raise ValueError(f"feature must be a 2-d integer array, got {feature.dtype} {feature.shape}")
        n_paths, depth = feature.shape
        if n_paths < 1 or depth < 1:
            raise ValueError(f"feature has shape {feature.shape}: no paths")
        for name, array in (("lower", lower), ("upper", upper), ("zero_fraction", zero_fraction)):
            if array.shape != feature.shape:
                raise ValueError(f"{name} has shape {array.shape}, feature has {feature.shape}")
        if leaf_value.shape != (n_paths,):
            raise ValueError(f"leaf_value has shape {leaf_value.shape}, want ({n_paths},)")
        if feature.min() < -1 or feature.max() >= n_features:
            raise ValueError(f"feature indices must lie in [-1, {n_features - 1}]")
        padding = feature < 0
        z = np.asarray(zero_fraction, dtype=np.float64)
        if not (np.isfinite(z).all() and (z >= 0).all()):
            raise ValueError("zero_fraction must hold finite numbers >= 0")
        if not np.isfinite(leaf_value).all():
            raise ValueError("leaf_value must be finite")
        if not (np.all(z[padding] == 1.0) and np.all(lower[padding] == -np.inf) and np.all(upper[padding] == np.inf)):
            raise ValueError("padding elements must have zero_fraction 1 and the interval (-inf, inf)")
        if np.isnan(lower).any() or np.isnan(upper).any():
            raise ValueError("lower and upper must not hold NaN")
        nodes = np.asarray(quadrature_nodes, dtype=np.float64)
        weights = np.asarray(quadrature_weights, dtype=np.float64)
        # Q Gauss-Legendre nodes integrate degree 2Q - 1 exactly; the integrand has degree < D.
        if nodes.ndim != 1 or nodes.shape != weights.shape or 2 * nodes.size - 1 < depth - 1:
            raise ValueError(f"{nodes.size} quadrature nodes are too few for paths of {depth} features")
        if not ((nodes > 0).all() and (nodes < 1).all() and abs(weights.sum() - 1.0) < 1e-12):
            raise ValueError("quadrature nodes must lie in (0, 1) and the weights sum to 1")

        self.n_features = n_features
        self.bias = float(bias)
        self.n_paths = n_paths
        self.max_path_features = depth
        # Elements flattened depth-major (d * P + p): every operation runs along long contiguous rows.
        self._feature = np.ascontiguousarray(np.where(padding, n_features, feature).T, dtype=np.intp).ravel()
        self._lower = np.ascontiguousarray(lower.T, dtype=np.float32).ravel()
        self._upper = np.ascontiguousarray(upper.T, dtype=np.float32).ravel()
        zt = np.ascontiguousarray(z.T)
        t = nodes[:, None, None]
        factor_off = zt[None] * (1.0 - t)  # z (1 - t): the value is outside the element's interval (o = 0)
        factor_on = factor_off + t  # z (1 - t) + t: inside (o = 1); never 0 as t > 0
        leaf = np.asarray(leaf_value, dtype=np.float64)[None, :]
        # phi_i = sum_q w_q v (o_i - z_i) / f_i(t_q) * prod_j f_j(t_q): all but the product is known per
        # element and side. 1 / f is 0 where f is (z = o = 0): that path then gives 0 to every element,
        # as the exact game does (its own v (o - z) is 0, the others' products hold the 0).
        with np.errstate(divide="ignore"):
            inverse_off = np.where(factor_off > 0.0, 1.0 / factor_off, 0.0)
        weight = weights[:, None, None]
        on = np.stack([factor_on, weight * leaf * (1.0 - zt) / factor_on])  # (2, Q, D, P)
        off = np.stack([factor_off, weight * -leaf * zt * inverse_off])
        self._on = on.reshape(2 * nodes.size, depth * n_paths)
        self._off = off.reshape(2 * nodes.size, depth * n_paths)
        self._shape = (2, nodes.size, depth, n_paths)
        self._chunk_rows = max(1, _CHUNK_ELEMENTS // (2 * nodes.size * depth * n_paths))

    def contributions(self, row: Sequence[float] | npt.NDArray[Any]) -> tuple[float, FloatArray]:
        """``(bias, contributions)`` of one transaction: ``n_features`` log-odds contributions."""
        x = np.asarray(row, dtype=np.float32)
        if x.shape != (self.n_features,):
            raise ValueError(f"expected {self.n_features} features, got shape {x.shape}")
        if not np.isfinite(x).all():  # XGBoost refuses infinity too: there is no exact answer to match
            raise ValueError("the row holds NaN or infinity; explanations need finite feature values")
        return self.bias, self._explain(x[None, :])[0]

    def contributions_many(self, matrix: Sequence[Sequence[float]] | npt.NDArray[Any]) -> tuple[float, FloatArray]:
        """``(bias, contributions[n, n_features])`` of many transactions, in input order."""
        X = np.asarray(matrix, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected a matrix of shape (n, {self.n_features}), got {X.shape}")
        bad_rows = np.flatnonzero(~np.isfinite(X).all(axis=1))
        if bad_rows.size:
            raise ValueError(f"row {int(bad_rows[0])} holds NaN or infinity; explanations need finite feature values")
        out = np.empty((X.shape[0], self.n_features), dtype=np.float64)
        for start in range(0, X.shape[0], self._chunk_rows):
            out[start : start + self._chunk_rows] = self._explain(X[start : start + self._chunk_rows])
        return self.bias, out

    def _explain(self, X: npt.NDArray[np.float32]) -> FloatArray:
        n = X.shape[0]
        F = self.n_features
        padded = np.zeros((n, F + 1), dtype=np.float32)  # column F feeds the padding elements
        padded[:, :F] = X
        values = np.take(padded, self._feature, axis=1)  # (n, elements)
        inside = (values >= self._lower) & (values < self._upper)  # the one fractions o
        # Factors and per-element terms of every path element at every quadrature node: (n, 2, Q, D, P).
        both = np.where(inside[:, None, :], self._on, self._off).reshape(n, *self._shape)
        product = both[:, 0].prod(axis=2, keepdims=True)  # prod_j f_j(t_q), per path
        phi = (product * both[:, 1]).sum(axis=1).reshape(n, -1)  # the quadrature sum
        index = self._feature[None, :] + (F + 1) * np.arange(n)[:, None]
        sums = np.bincount(index.ravel(), weights=phi.ravel(), minlength=n * (F + 1)).astype(np.float64, copy=False)
        contributions: FloatArray = sums.reshape(n, F + 1)[:, :F]
        return contributions


_ARRAYS = (
    "format",
    "n_features",
    "onnx_sha256",
    "bias",
    "feature",
    "lower",
    "upper",
    "zero_fraction",
    "leaf_value",
    "quadrature_nodes",
    "quadrature_weights",
)


def read_explainer(source: str | Path | IO[bytes], n_features: int, onnx_sha256: str) -> Explainer:
    """Read an ``explainer.npz`` written for the ONNX model with ``onnx_sha256``; ``ValueError`` if unusable."""
    try:
        archive = np.load(source, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"it is not a readable npz archive ({exc})") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError("it is a single .npy array, not an npz archive")
    with archive:
        missing = [name for name in _ARRAYS if name not in archive.files]
        if missing:
            raise ValueError(f"it lacks {', '.join(missing)}")
        try:
            arrays = {name: archive[name] for name in _ARRAYS}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise ValueError(f"a member is corrupt ({exc})") from exc
    scalars = ("format", "n_features", "onnx_sha256", "bias")
    not_scalar = [name for name in scalars if arrays[name].ndim != 0]
    if not_scalar:
        raise ValueError(f"{', '.join(not_scalar)} must be a scalar")
    try:
        version, count, sha = int(arrays["format"]), int(arrays["n_features"]), str(arrays["onnx_sha256"])
        bias = float(arrays["bias"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"format, n_features or bias is not a number ({exc})") from exc
    if version != EXPLAINER_FORMAT:
        raise ValueError(f"format {version} is not supported (want {EXPLAINER_FORMAT})")
    if sha != onnx_sha256:
        raise ValueError(f"it was exported for the ONNX model {sha[:12]}, not {onnx_sha256[:12]}")
    if count != n_features:
        raise ValueError(f"it explains {count} features, the manifest lists {n_features}")
    return Explainer(
        n_features=n_features,
        bias=bias,
        feature=arrays["feature"],
        lower=arrays["lower"],
        upper=arrays["upper"],
        zero_fraction=arrays["zero_fraction"],
        leaf_value=arrays["leaf_value"],
        quadrature_nodes=arrays["quadrature_nodes"],
        quadrature_weights=arrays["quadrature_weights"],
    )


def load_explainer(model_dir: str | Path, manifest: Manifest) -> Explainer | None:
    """The model layer's explainer, or None when the layer carries none (layers from before explanations).

    Raises :class:`ExplainerLoadError` naming the file when it is missing, altered (sha256 against the
    manifest), corrupt or made for another model.
    """
    if manifest.explainer_file is None:
        return None
    directory = Path(model_dir)
    path = checked_layer_file(
        directory, manifest.explainer_file, manifest.explainer_sha256, "explainer file", ExplainerLoadError
    )
    try:
        return read_explainer(path, manifest.n_features, manifest.onnx_sha256)
    except ValueError as exc:
        raise ExplainerLoadError(
            f"model layer at {directory}: {manifest.explainer_file} cannot be used: {exc}"
        ) from exc


def top_reasons(
    feature_names: Sequence[str],
    row: Sequence[float] | npt.NDArray[Any],
    contributions: Sequence[float] | npt.NDArray[Any],
    k: int = DEFAULT_REASONS,
) -> list[dict[str, Any]]:
    """The ``k`` features that moved the log-odds most, largest ``|contribution|`` first.

    Ties keep feature order. Features whose contribution is exactly 0 (the transaction's value did
    not move the score) are no reason, so fewer than ``k`` may come back.
    """
    n = len(feature_names)
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"k must be an integer, got {type(k).__name__}")
    if not 0 <= k <= n:
        raise ValueError(f"k must be between 0 and {n} (the number of features), got {k}")
    values = np.asarray(row, dtype=np.float64)
    contribs = np.asarray(contributions, dtype=np.float64)
    if values.shape != (n,) or contribs.shape != (n,):
        raise ValueError(f"row and contributions must hold {n} numbers, got {values.shape} and {contribs.shape}")
    if not np.isfinite(contribs).all():
        raise ValueError("contributions must be finite")
    order = np.argsort(-np.abs(contribs), kind="stable")[:k]
    return [
        {
            "feature": feature_names[i],
            "value": float(values[i]),
            "contribution": float(contribs[i]),
            "direction": "raises" if contribs[i] > 0 else "lowers",
        }
        for i in order.tolist()
        if contribs[i] != 0.0
    ]
