"""The naive baseline's SAM deployment (benchmarks/naive_baseline/) is the fair naive one: the same
runtime, architecture, memory and timeout as our function, the plain python builder, and the same
library versions as our dependency layer for everything it imports."""

from __future__ import annotations

import ast
from importlib.metadata import requires
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from scripts.lambda_rie import load_template, resolve
from tests.pins import canonical, read_pins

REPO_ROOT = Path(__file__).resolve().parents[3]
NAIVE_DIR = REPO_ROOT / "benchmarks" / "naive_baseline"
# import name -> distribution, for what naive_app.py imports
DISTRIBUTIONS = {name: name for name in ("fastapi", "pydantic", "numpy", "onnxruntime", "mangum")}


def third_party_imports() -> set[str]:
    tree = ast.parse((NAIVE_DIR / "naive_app.py").read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return {name for name in names if name not in {"json", "os", "typing"}}


def test_naive_requirements_pin_the_layer_versions() -> None:
    naive = read_pins(NAIVE_DIR / "requirements.txt")
    layer = read_pins(REPO_ROOT / "layers" / "dependencies" / "requirements.txt")
    assert {name: layer.get(name) for name in naive} == naive


def test_naive_requirements_cover_its_imports_and_their_pinned_dependencies() -> None:
    naive = read_pins(NAIVE_DIR / "requirements.txt")
    layer = read_pins(REPO_ROOT / "layers" / "dependencies" / "requirements.txt")
    imported = third_party_imports()
    assert imported == set(DISTRIBUTIONS), "naive_app.py imports changed: update DISTRIBUTIONS and requirements.txt"
    # walk the dependency closure with the host's metadata (the host venv has the same pins)
    closure: set[str] = set()
    todo = [canonical(DISTRIBUTIONS[name]) for name in imported]
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        for spec in requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": "", "python_version": "3.13"}):
                todo.append(canonical(requirement.name))
    assert set(naive) == closure & set(layer)


def naive_function() -> dict[str, Any]:
    template = load_template(NAIVE_DIR / "template.yaml")
    functions = [
        resource for resource in template["Resources"].values() if resource["Type"] == "AWS::Serverless::Function"
    ]
    assert len(functions) == 1
    function: dict[str, Any] = functions[0]
    return function


def test_naive_function_runs_like_our_scoring_function() -> None:
    ours = load_template(REPO_ROOT / "template.yaml")
    defaults = {name: str(spec["Default"]) for name, spec in ours["Parameters"].items() if "Default" in spec}
    our_props = {**ours["Globals"]["Function"], **ours["Resources"]["ScoringFunction"]["Properties"]}
    naive = naive_function()["Properties"]
    assert naive["Runtime"] == our_props["Runtime"] == "python3.13"
    assert naive["Architectures"] == [resolve(arch, defaults) for arch in our_props["Architectures"]] == ["x86_64"]
    assert str(naive["MemorySize"]) == resolve(our_props["MemorySize"], defaults)
    assert str(naive["Timeout"]) == resolve(our_props["Timeout"], defaults)


def test_naive_function_is_built_by_the_plain_python_builder() -> None:
    function = naive_function()
    props = function["Properties"]
    assert props["Handler"] == "naive_app.handler"
    assert (NAIVE_DIR / props["CodeUri"]).resolve() == NAIVE_DIR
    assert "BuildMethod" not in function.get("Metadata", {}), "a naive user lets SAM pick its python builder"
    assert "Layers" not in props
    assert not (NAIVE_DIR / "Makefile").exists()
