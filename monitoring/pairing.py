"""Pair a challenger with the champion: one ONNX graph holding both models, for a shadow that costs less.

A shadow challenger scores every transaction right after the champion. Run as a second ONNX Runtime
session, that second run costs most of what the champion's did (on a request path the session's own
state is out of the CPU caches again); run as a second set of nodes in the champion's graph, it costs
the challenger's trees alone (BENCHMARKS.md, "Challenger models"). ``write_pairing`` builds that graph
when a challenger is staged (``make challenger``, monitoring.promote) and writes, next to the
challenger's layer files:

- ``paired.onnx``: the champion's graph plus the challenger's nodes, every challenger name prefixed
  with ``challenger/`` except the shared input;
- ``paired.json``: the sha256 of the champion's and the challenger's ONNX files it was made from, its
  own sha256 and the challenger's probability output in it.

At load the service uses the pair only when both hashes match the models it loaded
(``fraud_scoring.model.load_pairing``): a retrained champion makes the pair stale, and the challenger
then scores in its own session, said in one log line. The ``onnx`` package is a build-time tool; the
Lambda layer does not carry it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fraud_scoring.manifest import load_manifest, sha256_file
from fraud_scoring.model import PAIRED_MANIFEST, PAIRED_ONNX, PAIRED_PREFIX


class PairingError(ValueError):
    """The two models cannot share one graph (other input, conflicting operator set versions)."""


def paired_model(champion_onnx: Path, challenger_onnx: Path, input_name: str) -> Any:
    """The champion's ONNX model with the challenger's graph added beside it, reading the same input."""
    import onnx
    import onnx.compose

    champion = onnx.load(str(champion_onnx))
    challenger = onnx.load(str(challenger_onnx))
    for name, model in (("champion", champion), ("challenger", challenger)):
        inputs = [value.name for value in model.graph.input]
        if inputs != [input_name]:
            raise PairingError(f"the {name}'s graph inputs are {inputs}, expected only {input_name!r}")
    if champion.graph.input[0].type != challenger.graph.input[0].type:
        raise PairingError("the champion's and the challenger's inputs have other types or shapes")
    versions = {opset.domain: opset.version for opset in champion.opset_import}
    for opset in challenger.opset_import:
        if versions.setdefault(opset.domain, opset.version) != opset.version:
            raise PairingError(
                f"operator set {opset.domain or 'ai.onnx'!r}: the champion uses version {versions[opset.domain]}, "
                f"the challenger {opset.version}"
            )
    prefixed = onnx.compose.add_prefix(challenger, PAIRED_PREFIX, rename_inputs=False)
    paired = onnx.ModelProto()
    paired.CopyFrom(champion)
    graph = paired.graph
    graph.node.extend(prefixed.graph.node)
    graph.initializer.extend(prefixed.graph.initializer)
    graph.sparse_initializer.extend(prefixed.graph.sparse_initializer)
    graph.value_info.extend(prefixed.graph.value_info)
    graph.output.extend(prefixed.graph.output)
    paired.functions.extend(prefixed.functions)
    del paired.opset_import[:]
    paired.opset_import.extend(onnx.helper.make_opsetid(domain, version) for domain, version in versions.items())
    onnx.checker.check_model(paired)
    return paired


def write_pairing(champion_dir: Path, challenger_dir: Path) -> dict[str, Any]:
    """Write ``paired.onnx`` and ``paired.json`` into ``challenger_dir``; return the manifest written."""
    champion = load_manifest(champion_dir)
    challenger = load_manifest(challenger_dir)
    if champion.input_name != challenger.input_name or champion.feature_names != challenger.feature_names:
        raise PairingError("the champion and the challenger take other inputs; they cannot share a graph")
    champion_onnx = champion_dir / champion.onnx_file
    challenger_onnx = challenger_dir / challenger.onnx_file
    model = paired_model(champion_onnx, challenger_onnx, champion.input_name)
    target = challenger_dir / PAIRED_ONNX
    target.write_bytes(model.SerializeToString())
    manifest = {
        "champion_onnx_sha256": sha256_file(champion_onnx),
        "challenger_onnx_sha256": sha256_file(challenger_onnx),
        "paired_onnx_sha256": sha256_file(target),
        "challenger_probability_output": PAIRED_PREFIX + challenger.probability_output,
        "champion_model_version": champion.model_version,
        "challenger_model_version": challenger.model_version,
    }
    (challenger_dir / PAIRED_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
