"""The decision policy: score bands plus ordered CEL rules that turn a score into an outcome.

A policy document (YAML or JSON, checked against ``policy.schema.json``) names its outcomes,
splits [0, 1] into bands and lists rules written in CEL (https://cel.dev), evaluated by the
``common-expression-language`` engine (Rust). Everything that can be wrong with a policy is found
by :func:`load_policy` and raised as one :class:`PolicyError` naming the rule or band; once
loaded, :meth:`Policy.decide` cannot fail on a valid transaction.

Speed: each rule set is compiled once into one CEL program, and only the variables the program
reads cross into the engine (each float costs ~2 us there). Rules may declare ``min_score``; a
rule whose ``min_score`` is above the score is skipped before the engine is called, so clean
traffic costs a band lookup. The programs for every prefix of ``min_score`` are compiled at load.
"""

from __future__ import annotations

import bisect
import hashlib
import importlib.machinery
import importlib.util
import itertools
import json
import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

DEFAULT_POLICY_DIR = "/opt/policy"
POLICY_MANIFEST = "policy.json"
SCHEMA_FILE = Path(__file__).with_name("policy.schema.json")
SCHEMA_VERSION = 1
FIRST_MATCHED = "FIRST_MATCHED"
ALL_MATCHED = "ALL_MATCHED"
# Request fields a rule may read, with the value used when the request has none.
REQUEST_FIELDS: dict[str, str] = {"transaction_id": ""}
# Names a rule may use that are not features: the score and the request fields. (No ``features``
# list: handing a 30-float list to the engine costs ~60 us per call; ``f<i>`` names one feature.)
RESERVED_NAMES = frozenset({"score", *REQUEST_FIELDS})
# CEL reserved words cannot be variable names; features so named are reachable as f<i>.
_CEL_RESERVED = frozenset(
    {
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    }
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PolicyError(ValueError):
    """The policy cannot be used; the message names the file and the rule or band at fault."""


class PolicyEvaluationError(RuntimeError):
    """The rules failed on one transaction (a value-dependent CEL error such as an int overflow).

    Loading runs every rule once on a neutral transaction, so type errors never get here; what
    can is arithmetic on extreme values. The message names the policy version and the error.
    """


@dataclass(frozen=True)
class PolicyDecision:
    outcome: str
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Band:
    id: str
    outcome: str
    min: float
    max: float


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    when: str
    outcome: str
    min_score: float = 0.0


def _load_cel_engine() -> ModuleType:
    """The CEL engine's compiled extension, without the package's command-line REPL.

    ``import cel`` also imports ``cel.cli`` (typer, rich, prompt_toolkit, pygments: ~20 MB in
    the layer and ~260 ms of cold start). The engine is the extension module ``cel.cel`` alone,
    so it is loaded from its file; the layer drops the REPL's packages (layers/dependencies/trim.py).
    """
    loaded = sys.modules.get("cel.cel")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("cel")  # locates the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise PolicyError("the CEL engine (package common-expression-language) is not installed")
    for folder in spec.submodule_search_locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"cel{suffix}"
            if path.is_file():
                loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(path))
                ext_spec = importlib.util.spec_from_file_location("cel.cel", path, loader=loader)
                if ext_spec is None:  # pragma: no cover - spec_from_file_location with a loader always returns one
                    break
                module = importlib.util.module_from_spec(ext_spec)
                loader.exec_module(module)
                sys.modules["cel.cel"] = module
                return module
    raise PolicyError(f"the CEL engine's extension module is missing from {list(spec.submodule_search_locations)}")


_cel: ModuleType | None = None


def _engine() -> ModuleType:
    global _cel
    if _cel is None:
        _cel = _load_cel_engine()
    return _cel


def _validate_schema(document: Any, where: str) -> None:
    # The schema compiled to Python ahead of time (scoring_cli/schema_codegen.py, kept in sync by a
    # test): compiling it at load costs 70-140 ms of cold start.
    import fastjsonschema

    from fraud_scoring.policy_schema_validator import validate

    try:
        validate(document)  # type: ignore[no-untyped-call]
    except fastjsonschema.JsonSchemaValueException as exc:
        path = exc.name.replace("data", "policy", 1) if exc.name else "policy"
        message = exc.message.replace(exc.name, "").strip() if exc.name else exc.message
        raise PolicyError(f"{where}: {_name_item(document, path)}: {message}") from None


def _name_item(document: Any, path: str) -> str:
    """``policy.rules[2].when`` -> ``rule 'big-amount' (policy.rules[2].when)``: errors name the rule."""
    match = re.match(r"^policy\.(rules|bands)\[(\d+)\]", path)
    if match and isinstance(document, dict):
        kind, index = match.group(1), int(match.group(2))
        items = document.get(kind)
        item = items[index] if isinstance(items, list) and index < len(items) else None
        ident = item.get("id") if isinstance(item, dict) else None
        label = "rule" if kind == "rules" else "band"
        if isinstance(ident, str):
            return f"{label} {ident!r} ({path})"
        return f"{label} {index} ({path})"
    return path


def canonical_sha256(document: Mapping[str, Any]) -> str:
    """sha256 of the document as canonical JSON: the same policy has the same hash in YAML or JSON."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _RuleSet:
    """The rules eligible above one ``min_score``, compiled into one CEL program."""

    __slots__ = ("features", "first_index", "indices", "program", "request_fields", "uses_score")

    def __init__(self, policy: Policy, indices: list[int], variables: set[str]) -> None:
        cel = _engine()
        self.indices = tuple(indices)
        conditions = [f"({policy.rules[i].when})" for i in indices]
        if policy.mode == FIRST_MATCHED:
            # A chain of conditionals stops at the first match and yields its position (-1: none).
            source = "-1"
            for position in reversed(range(len(conditions))):
                source = f"{conditions[position]} ? {position} : ({source})"
        else:
            source = "[" + ", ".join(conditions) + "]"
        self.program = cel.compile(source)
        self.first_index = policy.mode == FIRST_MATCHED
        self.uses_score = "score" in variables
        self.features = tuple(
            (name, policy.variable_columns[name]) for name in sorted(variables) if name in policy.variable_columns
        )
        self.request_fields = tuple(sorted(variables & set(REQUEST_FIELDS)))


class Policy:
    """A loaded, checked policy. :meth:`decide` maps (score, features, request) to an outcome."""

    def __init__(
        self,
        *,
        version: str,
        sha256: str,
        outcomes: tuple[str, ...],
        mode: str,
        bands: tuple[Band, ...],
        rules: tuple[Rule, ...],
        feature_names: Sequence[str],
        source: str,
        description: str = "",
    ) -> None:
        self.version = version
        self.sha256 = sha256
        self.outcomes = outcomes
        self.mode = mode
        self.bands = bands
        self.rules = rules
        self.feature_names = tuple(feature_names)
        self.source = source
        self.description = description
        self._severity = {name: rank for rank, name in enumerate(outcomes)}
        self._band_edges = [band.max for band in bands[:-1]]
        self._band_outcomes = tuple(band.outcome for band in bands)
        self._band_decisions = tuple(PolicyDecision(band.outcome) for band in bands)
        self._band_codes = np.array([self._severity[band.outcome] for band in bands], dtype=np.int8)
        self._code_decisions = tuple(PolicyDecision(outcome) for outcome in outcomes)
        # Every name a rule may read and the feature column it comes from.
        columns: dict[str, int] = {}
        for i in range(len(self.feature_names)):
            columns[f"f{i}"] = i
        for i, name in enumerate(self.feature_names):
            if _IDENTIFIER.match(name) and name not in _CEL_RESERVED and name not in RESERVED_NAMES:
                columns[name] = i
        self.variable_columns = columns
        self._rule_sets: list[_RuleSet | None] = []
        self._rule_set_edges: list[float] = []
        self._compile()

    # ------------------------------------------------------------------ loading checks

    def _compile(self) -> None:
        cel = _engine() if self.rules else None  # a bands-only policy never loads the engine (cold start)
        allowed = set(self.variable_columns) | RESERVED_NAMES
        variables_of: list[set[str]] = []
        for rule in self.rules:
            assert cel is not None
            try:
                program = cel.compile(rule.when)
            except Exception as exc:  # the engine raises ValueError/RuntimeError subclasses of its own
                raise PolicyError(f"{self.source}: rule {rule.id!r}: the expression does not parse: {exc}") from None
            names = set(program.variables())
            unknown = sorted(names - allowed)
            if unknown:
                raise PolicyError(
                    f"{self.source}: rule {rule.id!r}: unknown name(s) {', '.join(unknown)}; a rule may use "
                    f"score, the model's features by name or as f0..f{len(self.feature_names) - 1}, "
                    f"and request fields {', '.join(REQUEST_FIELDS)}"
                )
            variables_of.append(names)
            # One trial run on a neutral transaction: a type error (a string compared with a number,
            # an unknown function) or a non-boolean result is found now, not on live traffic.
            trial = self._context(0.5, [0.0] * len(self.feature_names), {}, names)
            try:
                result = program.execute(trial)
            except Exception as exc:
                raise PolicyError(f"{self.source}: rule {rule.id!r}: the expression fails to evaluate: {exc}") from None
            if not isinstance(result, bool):
                raise PolicyError(
                    f"{self.source}: rule {rule.id!r}: the expression yields {type(result).__name__} "
                    f"{result!r}, not a bool"
                )
        # One program per distinct min_score: for a score s, the rules with min_score <= s.
        edges = sorted({rule.min_score for rule in self.rules})
        self._rule_set_edges = edges
        self._rule_sets = [None]  # below the lowest min_score no rule applies
        for edge in edges:
            eligible = [i for i, rule in enumerate(self.rules) if rule.min_score <= edge]
            names = set().union(*(variables_of[i] for i in eligible))
            self._rule_sets.append(_RuleSet(self, eligible, names))

    def _context(
        self, score: float, row: Sequence[float], request: Mapping[str, Any], names: set[str]
    ) -> dict[str, Any]:
        context: dict[str, Any] = {}
        for name in names:
            if name == "score":
                context[name] = float(score)
            elif name in REQUEST_FIELDS:
                value = request.get(name)
                context[name] = REQUEST_FIELDS[name] if value is None else str(value)
            else:
                context[name] = float(row[self.variable_columns[name]])
        return context

    # ------------------------------------------------------------------ deciding

    @property
    def request_fields(self) -> frozenset[str]:
        """The request fields any rule reads (callers may skip building requests when empty)."""
        return frozenset(name for rule_set in self._rule_sets if rule_set for name in rule_set.request_fields)

    def band_of(self, score: float) -> PolicyDecision:
        return self._band_decisions[bisect.bisect_right(self._band_edges, score)]

    def decide(self, score: float, row: Sequence[float], request: Mapping[str, Any] | None = None) -> PolicyDecision:
        """The outcome for one scored transaction (``row``: the features in manifest order)."""
        rule_set = self._rule_sets[bisect.bisect_right(self._rule_set_edges, score)]
        band = self._band_decisions[bisect.bisect_right(self._band_edges, score)]
        if rule_set is None:
            return band
        context: dict[str, Any] = {name: float(row[column]) for name, column in rule_set.features}
        if rule_set.uses_score:
            context["score"] = float(score)
        if rule_set.request_fields:
            req = request or {}
            for name in rule_set.request_fields:
                value = req.get(name)
                context[name] = REQUEST_FIELDS[name] if value is None else str(value)
        try:
            result = rule_set.program.execute(context)
        except Exception as exc:  # the engine raises ValueError/TypeError/OverflowError/RuntimeError
            ids = ", ".join(self.rules[i].id for i in rule_set.indices)
            raise PolicyEvaluationError(
                f"policy {self.version}: the rules ({ids}) failed on this transaction: {exc}"
            ) from None
        if rule_set.first_index:
            if result < 0:
                return band
            rule = self.rules[rule_set.indices[result]]
            return PolicyDecision(rule.outcome, (rule.id,))
        matched = [self.rules[rule_set.indices[k]] for k, hit in enumerate(result) if hit]
        if not matched:
            return band
        worst = max(matched, key=lambda r: self._severity[r.outcome])
        return PolicyDecision(worst.outcome, tuple(r.id for r in matched))

    def decide_many(
        self,
        scores: Sequence[float] | npt.NDArray[Any],
        matrix: Sequence[Sequence[float]] | npt.NDArray[Any],
        requests: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[PolicyDecision]:
        """:meth:`decide` for many rows; bands are looked up at once, rules run only where eligible."""
        codes, matched = self.decide_codes(scores, matrix, requests)
        decisions = [self._code_decisions[code] for code in codes.tolist()]
        for i, rules in matched.items():
            decisions[i] = PolicyDecision(self.outcomes[codes[i]], rules)
        return decisions

    def decide_codes(
        self,
        scores: Sequence[float] | npt.NDArray[Any],
        matrix: Sequence[Sequence[float]] | npt.NDArray[Any],
        requests: Sequence[Mapping[str, Any] | None] | None = None,
        failures: dict[int, str] | None = None,
    ) -> tuple[npt.NDArray[np.int8], dict[int, tuple[str, ...]]]:
        """Columnar :meth:`decide_many`: each row's outcome as its index in :attr:`outcomes`, and the
        matched rule ids of the rows where a rule decided (for files of millions of rows).

        With ``failures``, a row whose rules fail (:class:`PolicyEvaluationError`) gets code -1 and
        its message there instead of stopping the batch."""
        score_array = np.asarray(scores, dtype=np.float64).reshape(-1)
        n = score_array.shape[0]
        if requests is not None and len(requests) != n:
            raise ValueError(f"{n} scores but {len(requests)} requests")
        band_index = np.searchsorted(np.asarray(self._band_edges, dtype=np.float64), score_array, side="right")
        codes = self._band_codes[band_index] if n else np.zeros(0, dtype=np.int8)
        matched: dict[int, tuple[str, ...]] = {}
        if self._rule_set_edges and n:
            eligible = np.flatnonzero(score_array >= self._rule_set_edges[0]).tolist()
            if eligible:
                rows = np.asarray(matrix, dtype=np.float64)
                if rows.ndim != 2 or rows.shape[0] != n:
                    raise ValueError(f"expected {n} feature rows, got an array of shape {rows.shape}")
                for i in eligible:
                    request = requests[i] if requests is not None else None
                    try:
                        decision = self.decide(float(score_array[i]), rows[i].tolist(), request)
                    except PolicyEvaluationError as exc:
                        if failures is None:
                            raise
                        codes[i] = -1
                        failures[i] = str(exc)
                        continue
                    if decision.rules:
                        codes[i] = self._severity[decision.outcome]
                        matched[i] = decision.rules
        return codes, matched

    def outcome_codes(self, decisions: Sequence[PolicyDecision]) -> npt.NDArray[np.int8]:
        """Each decision's outcome as its index in :attr:`outcomes` (compact, for counting)."""
        return np.fromiter((self._severity[d.outcome] for d in decisions), dtype=np.int8, count=len(decisions))

    def describe(self) -> dict[str, Any]:
        return {
            "policy_version": self.version,
            "policy_sha256": self.sha256,
            "mode": self.mode,
            "outcomes": list(self.outcomes),
            "bands": [{"id": b.id, "outcome": b.outcome, "min": b.min, "max": b.max} for b in self.bands],
            "rules": [
                {
                    "id": r.id,
                    "description": r.description,
                    "when": r.when,
                    "outcome": r.outcome,
                    "min_score": r.min_score,
                }
                for r in self.rules
            ],
        }


# ---------------------------------------------------------------------- building and loading


def policy_from_document(document: Any, feature_names: Sequence[str], source: str = "policy") -> Policy:
    """Check ``document`` (the parsed YAML/JSON) and build the :class:`Policy`; raise :class:`PolicyError`."""
    _validate_schema(document, source)
    outcomes = tuple(document["outcomes"])
    known = set(outcomes)

    bands: list[Band] = []
    for index, raw in enumerate(document["bands"]):
        band = Band(
            id=str(raw.get("id", f"{index}:{raw['outcome']}")),
            outcome=raw["outcome"],
            min=float(raw["min"]),
            max=float(raw["max"]),
        )
        if band.outcome not in known:
            raise PolicyError(
                f"{source}: band {band.id!r}: outcome {band.outcome!r} is not one of outcomes {list(outcomes)}"
            )
        if not band.min < band.max:
            raise PolicyError(
                f"{source}: band {band.id!r}: min {band.min} is not below max {band.max}: no score can reach it"
            )
        bands.append(band)
    bands.sort(key=lambda b: (b.min, b.max))
    if bands[0].min != 0.0:
        raise PolicyError(
            f"{source}: band {bands[0].id!r}: the bands must start at 0, the first starts at {bands[0].min}"
        )
    if bands[-1].max != 1.0:
        raise PolicyError(f"{source}: band {bands[-1].id!r}: the bands must end at 1, the last ends at {bands[-1].max}")
    for low, high in itertools.pairwise(bands):
        if high.min < low.max:
            raise PolicyError(
                f"{source}: band {high.id!r}: overlaps band {low.id!r} ([{high.min}, {high.max}) vs "
                f"[{low.min}, {low.max}))"
            )
        if high.min > low.max:
            raise PolicyError(
                f"{source}: band {high.id!r}: leaves a gap after band {low.id!r}: no band holds scores in "
                f"[{low.max}, {high.min})"
            )
    seen_ids: set[str] = set()
    for band in bands:
        if band.id in seen_ids:
            raise PolicyError(f"{source}: band {band.id!r}: the id is used twice")
        seen_ids.add(band.id)

    rules: list[Rule] = []
    rule_ids: set[str] = set()
    for raw in document.get("rules", []):
        rule = Rule(
            id=raw["id"],
            description=raw["description"],
            when=raw["when"],
            outcome=raw["outcome"],
            min_score=float(raw.get("min_score", 0.0)),
        )
        if rule.id in rule_ids:
            raise PolicyError(f"{source}: rule {rule.id!r}: the id is used twice")
        rule_ids.add(rule.id)
        if rule.outcome not in known:
            raise PolicyError(
                f"{source}: rule {rule.id!r}: outcome {rule.outcome!r} is not one of outcomes {list(outcomes)}"
            )
        rules.append(rule)

    return Policy(
        version=document["version"],
        sha256=canonical_sha256(document),
        outcomes=outcomes,
        mode=document.get("mode", FIRST_MATCHED),
        bands=tuple(bands),
        rules=tuple(rules),
        feature_names=feature_names,
        source=source,
        description=str(document.get("description", "")),
    )


def read_policy_document(path: str | Path) -> Any:
    """Parse a policy file: ``.yaml``/``.yml`` with PyYAML (safe loader), anything else as JSON."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"no policy file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot be read: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # only for YAML files: the layer ships JSON, so Lambda never imports it
        except ImportError:
            raise PolicyError(f"{path}: reading YAML needs PyYAML; use the JSON form (policy.json)") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PolicyError(f"{path}: is not valid YAML: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{path}: is not valid JSON: {exc}") from None


def stamp_document(document: Mapping[str, Any], source_name: str, source_bytes: bytes) -> dict[str, Any]:
    """The policy layer's ``policy.json``: the document plus its version and hashes (``make policy``)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "policy_version": document["version"],
        "policy_sha256": canonical_sha256(document),
        "source_file": source_name,
        "source_sha256": hashlib.sha256(source_bytes).hexdigest(),
        "document": document,
    }


def _load_layer(directory: Path, feature_names: Sequence[str]) -> Policy:
    manifest_path = directory / POLICY_MANIFEST
    stamped = read_policy_document(manifest_path)
    where = str(manifest_path)
    if not isinstance(stamped, dict) or "document" not in stamped:
        raise PolicyError(f"{where}: not a policy layer manifest (no 'document'; write it with 'make policy')")
    for key in ("policy_version", "policy_sha256", "source_file", "source_sha256"):
        if not isinstance(stamped.get(key), str):
            raise PolicyError(f"{where}: {key!r} is missing or not a string")
    document = stamped["document"]
    if not isinstance(document, dict):
        raise PolicyError(f"{where}: 'document' must be an object")
    actual = canonical_sha256(document)
    if actual != stamped["policy_sha256"]:
        raise PolicyError(f"{where}: the policy has sha256 {actual}, the manifest expects {stamped['policy_sha256']}")
    if document.get("version") != stamped["policy_version"]:
        raise PolicyError(
            f"{where}: policy_version {stamped['policy_version']!r} differs from the document's version "
            f"{document.get('version')!r}"
        )
    source = directory / Path(stamped["source_file"]).name
    if source.is_file():  # the editable source next to it must be what was stamped
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if digest != stamped["source_sha256"]:
            raise PolicyError(f"{source}: changed since {POLICY_MANIFEST} was written; run 'make policy'")
    return policy_from_document(document, feature_names, where)


def load_policy(path_or_dir: str | Path | None, feature_names: Sequence[str]) -> Policy:
    """Load and check a policy; raise :class:`PolicyError` naming the file and rule or band.

    A directory is a policy layer: its ``policy.json`` (document, version, sha256) is checked and
    used. A file is a policy document in YAML or JSON. ``None`` means ``$POLICY_DIR`` or
    ``/opt/policy``.
    """
    target = Path(path_or_dir if path_or_dir is not None else os.environ.get("POLICY_DIR") or DEFAULT_POLICY_DIR)
    if target.is_dir():
        return _load_layer(target, feature_names)
    if not target.exists():
        raise PolicyError(f"no policy at {target}")
    return policy_from_document(read_policy_document(target), feature_names, str(target))


def default_policy(threshold: float, feature_names: Sequence[str] = ()) -> Policy:
    """Today's behaviour as a policy: APPROVE below the threshold, DECLINE at or above it."""
    if not (math.isfinite(threshold) and 0.0 < threshold < 1.0):
        raise PolicyError(f"threshold {threshold!r} is not in (0, 1)")
    document = {
        "schema_version": SCHEMA_VERSION,
        "version": f"threshold-{threshold:.6g}",
        "description": "The model manifest's threshold: score >= threshold is declined.",
        "outcomes": ["APPROVE", "DECLINE"],
        "bands": [
            {"id": "below-threshold", "outcome": "APPROVE", "min": 0.0, "max": threshold},
            {"id": "at-or-above-threshold", "outcome": "DECLINE", "min": threshold, "max": 1.0},
        ],
    }
    return policy_from_document(document, feature_names, "default policy")
