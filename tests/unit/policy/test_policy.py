"""The decision policy: loading checks (every error names its rule or band), bands, rules, modes."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fraud_scoring.manifest import load_manifest
from fraud_scoring.model import load_model
from fraud_scoring.policy import (
    POLICY_MANIFEST,
    PolicyDecision,
    PolicyError,
    PolicyEvaluationError,
    canonical_sha256,
    default_policy,
    load_policy,
    policy_from_document,
    stamp_document,
)
from training.data import FEATURE_NAMES

NAMES = list(FEATURE_NAMES)
AMOUNT = NAMES.index("Amount")


def base_document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema_version": 1,
        "version": "test-1",
        "outcomes": ["APPROVE", "REVIEW", "DECLINE"],
        "bands": [
            {"id": "low", "outcome": "APPROVE", "min": 0.0, "max": 0.2},
            {"id": "middle", "outcome": "REVIEW", "min": 0.2, "max": 0.6},
            {"id": "high", "outcome": "DECLINE", "min": 0.6, "max": 1.0},
        ],
        "rules": [],
    }
    document.update(changes)
    return document


def rule(rule_id: str, when: str, outcome: str = "REVIEW", **extra: Any) -> dict[str, Any]:
    return {"id": rule_id, "description": f"test rule {rule_id}", "when": when, "outcome": outcome, **extra}


def row(**values: float) -> list[float]:
    features = [0.0] * len(NAMES)
    for name, value in values.items():
        features[NAMES.index(name)] = value
    return features


# ------------------------------------------------------------------------------ bands


@pytest.mark.parametrize(
    ("score", "outcome"),
    [
        (0.0, "APPROVE"),
        (0.1999999, "APPROVE"),
        (0.2, "REVIEW"),
        (0.5999999, "REVIEW"),
        (0.6, "DECLINE"),
        (1.0, "DECLINE"),
    ],
)
def test_band_edges_belong_to_the_upper_band(score: float, outcome: str) -> None:
    policy = policy_from_document(base_document(), NAMES)
    assert policy.decide(score, row(), {}) == PolicyDecision(outcome)


def test_bands_may_be_listed_in_any_order() -> None:
    document = base_document()
    document["bands"].reverse()
    policy = policy_from_document(document, NAMES)
    assert [b.id for b in policy.bands] == ["low", "middle", "high"]
    assert policy.decide(0.3, row(), {}).outcome == "REVIEW"


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ([("low", 0.0, 0.2), ("middle", 0.1, 0.6), ("high", 0.6, 1.0)], "band 'middle': overlaps band 'low'"),
        ([("low", 0.0, 0.2), ("middle", 0.3, 0.6), ("high", 0.6, 1.0)], "band 'middle': leaves a gap after band 'low'"),
        ([("low", 0.0, 0.2), ("middle", 0.2, 0.2), ("high", 0.2, 1.0)], "band 'middle': min 0.2 is not below max 0.2"),
        ([("low", 0.1, 0.2), ("middle", 0.2, 0.6), ("high", 0.6, 1.0)], "band 'low': the bands must start at 0"),
        ([("low", 0.0, 0.2), ("middle", 0.2, 0.6), ("high", 0.6, 0.9)], "band 'high': the bands must end at 1"),
        ([("low", 0.0, 0.2), ("low", 0.2, 0.6), ("high", 0.6, 1.0)], "band 'low': the id is used twice"),
    ],
)
def test_bad_bands_are_refused_naming_the_band(bands: list[tuple[str, float, float]], message: str) -> None:
    document = base_document(
        bands=[{"id": ident, "outcome": "APPROVE", "min": low, "max": high} for ident, low, high in bands]
    )
    with pytest.raises(PolicyError, match=message):
        policy_from_document(document, NAMES)


def test_band_with_unknown_outcome_is_refused() -> None:
    document = base_document()
    document["bands"][1]["outcome"] = "HOLD"
    with pytest.raises(PolicyError, match=r"band 'middle': outcome 'HOLD' is not one of outcomes"):
        policy_from_document(document, NAMES)


@given(st.lists(st.floats(min_value=0.001, max_value=0.999), min_size=1, max_size=6, unique=True), st.floats(0, 1))
@settings(max_examples=60, deadline=None)
def test_property_every_score_falls_in_exactly_the_band_that_holds_it(cuts: list[float], score: float) -> None:
    edges = [0.0, *sorted(cuts), 1.0]
    outcomes = [f"O{i}" for i in range(len(edges) - 1)]
    document = base_document(
        outcomes=outcomes,
        bands=[{"outcome": outcomes[i], "min": edges[i], "max": edges[i + 1]} for i in range(len(outcomes))],
    )
    policy = policy_from_document(document, NAMES)
    expected = [
        o
        for i, o in enumerate(outcomes)
        if edges[i] <= score < edges[i + 1] or (score == 1.0 and i == len(outcomes) - 1)
    ]
    assert [policy.decide(score, row(), {}).outcome] == expected


# ------------------------------------------------------------------------------ rules


def test_rule_on_named_feature_and_score() -> None:
    policy = policy_from_document(base_document(rules=[rule("big", "Amount > 5000.0 && score > 0.1")]), NAMES)
    assert policy.decide(0.15, row(Amount=6000.0), {}) == PolicyDecision("REVIEW", ("big",))
    assert policy.decide(0.05, row(Amount=6000.0), {}) == PolicyDecision("APPROVE")  # score too low
    assert policy.decide(0.15, row(Amount=4000.0), {}) == PolicyDecision("APPROVE")  # amount too low


@pytest.mark.parametrize("when", [f"f{AMOUNT} > 5000.0", f"f{AMOUNT} > 5000.0 && Amount == f{AMOUNT}"])
def test_rule_on_positional_feature(when: str) -> None:
    policy = policy_from_document(base_document(rules=[rule("big", when, "DECLINE")]), NAMES)
    assert policy.decide(0.0, row(Amount=6000.0), {}) == PolicyDecision("DECLINE", ("big",))
    assert policy.decide(0.0, row(Amount=10.0), {}) == PolicyDecision("APPROVE")


def test_positional_names_reach_features_whose_names_are_not_identifiers() -> None:
    names = ["card amount", "in", "score"]  # a space, a CEL reserved word, a reserved policy name
    policy = policy_from_document(base_document(rules=[rule("r", "f0 > 1.0 && f1 < 0.0 && f2 == 3.0")]), names)
    assert policy.decide(0.0, [2.0, -1.0, 3.0], {}).rules == ("r",)
    assert policy.decide(0.0, [2.0, -1.0, 2.0], {}).rules == ()
    assert "score" not in policy.variable_columns  # 'score' stays the model's score


def test_rule_on_request_field() -> None:
    policy = policy_from_document(
        base_document(rules=[rule("test-card", "transaction_id.startsWith('test-')", "APPROVE")]), NAMES
    )
    assert policy.decide(0.9, row(), {"transaction_id": "test-42"}) == PolicyDecision("APPROVE", ("test-card",))
    assert policy.decide(0.9, row(), {"transaction_id": "live-42"}) == PolicyDecision("DECLINE")
    assert policy.decide(0.9, row(), {}) == PolicyDecision("DECLINE")  # absent: the empty string
    assert policy.decide(0.9, row(), None) == PolicyDecision("DECLINE")


def test_integer_literals_compare_with_float_features() -> None:
    policy = policy_from_document(base_document(rules=[rule("big", "Amount > 5000")]), NAMES)
    assert policy.decide(0.0, row(Amount=5000.5), {}).rules == ("big",)
    assert policy.decide(0.0, row(Amount=5000.0), {}).rules == ()


RULES_FOR_MODES = [
    rule("amount-review", "Amount > 1000.0", "REVIEW"),
    rule("amount-decline", "Amount > 5000.0", "DECLINE"),
    rule("night-review", "Time < 3600.0", "REVIEW"),
]


def test_first_matched_takes_the_first_rule_in_order() -> None:
    policy = policy_from_document(base_document(rules=RULES_FOR_MODES), NAMES)
    assert policy.mode == "FIRST_MATCHED"
    decision = policy.decide(0.0, row(Amount=6000.0, Time=100.0), {})
    assert decision == PolicyDecision("REVIEW", ("amount-review",))


def test_all_matched_reports_every_rule_and_the_most_severe_outcome() -> None:
    policy = policy_from_document(base_document(rules=RULES_FOR_MODES, mode="ALL_MATCHED"), NAMES)
    decision = policy.decide(0.0, row(Amount=6000.0, Time=100.0), {})
    assert decision == PolicyDecision("DECLINE", ("amount-review", "amount-decline", "night-review"))
    assert policy.decide(0.0, row(Amount=2000.0, Time=7200.0), {}) == PolicyDecision("REVIEW", ("amount-review",))
    assert policy.decide(0.0, row(Amount=10.0, Time=7200.0), {}) == PolicyDecision("APPROVE")


def test_a_matching_rule_overrides_the_band_in_both_directions() -> None:
    policy = policy_from_document(base_document(rules=[rule("allow", "Amount < 1.0", "APPROVE")]), NAMES)
    assert policy.decide(0.95, row(Amount=0.5), {}) == PolicyDecision("APPROVE", ("allow",))


def test_min_score_skips_a_rule_below_it_and_keeps_rule_order_above_it() -> None:
    rules = [
        rule("late", "Amount > 100.0", "DECLINE", min_score=0.3),
        rule("early", "Amount > 100.0", "REVIEW"),
    ]
    policy = policy_from_document(base_document(rules=rules), NAMES)
    assert policy.decide(0.1, row(Amount=500.0), {}) == PolicyDecision("REVIEW", ("early",))
    assert policy.decide(0.3, row(Amount=500.0), {}) == PolicyDecision("DECLINE", ("late",))


@given(
    st.lists(st.tuples(st.integers(0, 2), st.floats(0, 1000), st.floats(0, 1)), min_size=1, max_size=6),
    st.floats(0, 1),
    st.floats(0, 2000),
    st.sampled_from(["FIRST_MATCHED", "ALL_MATCHED"]),
)
@settings(max_examples=80, deadline=None)
def test_property_decide_matches_the_rules_read_literally(
    specs: list[tuple[int, float, float]], score: float, amount: float, mode: str
) -> None:
    outcomes = ["APPROVE", "REVIEW", "DECLINE"]
    rules = [
        rule(f"r{i}", f"Amount > {limit!r}", outcomes[level], min_score=min_score)
        for i, (level, limit, min_score) in enumerate(specs)
    ]
    policy = policy_from_document(base_document(rules=rules, mode=mode), NAMES)
    matched = [(i, level) for i, (level, limit, min_score) in enumerate(specs) if score >= min_score and amount > limit]
    band = policy.band_of(score)
    decision = policy.decide(score, row(Amount=amount), {})
    if not matched:
        assert decision == band
    elif mode == "FIRST_MATCHED":
        assert decision == PolicyDecision(outcomes[matched[0][1]], (f"r{matched[0][0]}",))
    else:
        worst = max(level for _, level in matched)
        assert decision == PolicyDecision(outcomes[worst], tuple(f"r{i}" for i, _ in matched))


# ------------------------------------------------------------------------------ rule errors


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("Amount > ", r"rule 'bad': the expression does not parse"),
        ("Amount >> 3", r"rule 'bad': the expression does not parse"),
        ("Amountt > 3.0", r"rule 'bad': unknown name\(s\) Amountt"),
        ("f30 > 1.0", r"rule 'bad': unknown name\(s\) f30"),
        ("merchant == 'x'", r"rule 'bad': unknown name\(s\) merchant"),
        ("features[3] > 1.0", r"rule 'bad': unknown name\(s\) features; .* as f0\.\.f29"),
        ("Amount + 1.0", r"rule 'bad': the expression yields float"),
        ("transaction_id + 1", r"rule 'bad': the expression fails to evaluate"),
        ("nosuchfn(Amount)", r"rule 'bad': "),
    ],
)
def test_bad_rules_are_refused_naming_the_rule(when: str, message: str) -> None:
    document = base_document(rules=[rule("fine", "Amount > 1.0"), rule("bad", when)])
    with pytest.raises(PolicyError, match=message):
        policy_from_document(document, NAMES)


def test_duplicate_rule_id_and_unknown_outcome_are_refused() -> None:
    with pytest.raises(PolicyError, match="rule 'a': the id is used twice"):
        policy_from_document(base_document(rules=[rule("a", "true"), rule("a", "false")]), NAMES)
    with pytest.raises(PolicyError, match="rule 'a': outcome 'BLOCK' is not one of outcomes"):
        policy_from_document(base_document(rules=[rule("a", "true", "BLOCK")]), NAMES)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("version"), r"policy: must contain \['version'\]"),
        (lambda d: d.update(mode="SOME_MATCHED"), r"policy\.mode: must be one of"),
        (lambda d: d.update(schema_version=2), r"policy\.schema_version: must be same as const"),
        (lambda d: d.update(extra=1), r"policy: must not contain \{'extra'\}"),
        (
            lambda d: d["rules"].append({"id": "x", "when": "true", "outcome": "REVIEW"}),
            r"rule 'x' \(policy\.rules\[0\]\): must contain \['description'\]",
        ),
        (lambda d: d["rules"].append(rule("y", "true", min_score=1.5)), r"rule 'y' \(policy\.rules\[0\]\.min_score\)"),
        (lambda d: d["bands"][0].update(max="0.2"), r"band 'low' \(policy\.bands\[0\]\.max\): must be number"),
        (lambda d: d.update(outcomes=["approve"]), r"policy\.outcomes\[0\]: must match pattern"),
    ],
)
def test_schema_errors_name_the_field(mutate: Any, message: str) -> None:
    document = base_document()
    mutate(document)
    with pytest.raises(PolicyError, match=message):
        policy_from_document(document, NAMES)


def test_not_an_object_is_refused() -> None:
    with pytest.raises(PolicyError, match="policy: must be object"):
        policy_from_document(["not", "a", "policy"], NAMES)


# ------------------------------------------------------------------------------ files and layers


def write_layer(folder: Path, document: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source = yaml.safe_dump(document, sort_keys=False).encode()
    (folder / "policy.yaml").write_bytes(source)
    (folder / POLICY_MANIFEST).write_text(json.dumps(stamp_document(document, "policy.yaml", source)))
    return folder


def test_yaml_json_and_layer_forms_load_the_same_policy(tmp_path: Path) -> None:
    document = base_document(rules=[rule("big", "Amount > 5000.0")])
    (tmp_path / "p.json").write_text(json.dumps(document))
    (tmp_path / "p.yml").write_text(yaml.safe_dump(document))
    layer = write_layer(tmp_path / "layer", document)
    loaded = [
        load_policy(tmp_path / "p.json", NAMES),
        load_policy(tmp_path / "p.yml", NAMES),
        load_policy(layer, NAMES),
    ]
    assert {p.sha256 for p in loaded} == {canonical_sha256(document)}
    assert {p.version for p in loaded} == {"test-1"}
    assert all(p.outcomes == ("APPROVE", "REVIEW", "DECLINE") for p in loaded)


def test_policy_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layer = write_layer(tmp_path / "layer", base_document(version="from-env"))
    monkeypatch.setenv("POLICY_DIR", str(layer))
    assert load_policy(None, NAMES).version == "from-env"


def test_layer_with_tampered_document_is_refused(tmp_path: Path) -> None:
    layer = write_layer(tmp_path / "layer", base_document())
    stamped = json.loads((layer / POLICY_MANIFEST).read_text())
    stamped["document"]["bands"][0]["max"] = 0.3
    stamped["document"]["bands"][1]["min"] = 0.3
    (layer / POLICY_MANIFEST).write_text(json.dumps(stamped))
    with pytest.raises(PolicyError, match=r"the policy has sha256 .*, the manifest expects"):
        load_policy(layer, NAMES)


def test_layer_whose_source_was_edited_after_stamping_is_refused(tmp_path: Path) -> None:
    layer = write_layer(tmp_path / "layer", base_document())
    (layer / "policy.yaml").write_text((layer / "policy.yaml").read_text().replace("0.6", "0.7"))
    with pytest.raises(PolicyError, match=r"policy.yaml: changed since policy.json was written; run 'make policy'"):
        load_policy(layer, NAMES)


def test_layer_version_mismatch_is_refused(tmp_path: Path) -> None:
    layer = write_layer(tmp_path / "layer", base_document())
    stamped = json.loads((layer / POLICY_MANIFEST).read_text())
    stamped["policy_version"] = "other"
    (layer / POLICY_MANIFEST).write_text(json.dumps(stamped))
    with pytest.raises(PolicyError, match="policy_version 'other' differs from the document's version 'test-1'"):
        load_policy(layer, NAMES)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("p.yaml", "bands: [unclosed", "is not valid YAML"),
        ("p.json", "{nope", "is not valid JSON"),
    ],
)
def test_unparseable_files_are_refused(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(PolicyError, match=message):
        load_policy(tmp_path / name, NAMES)


def test_missing_policy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no policy at"):
        load_policy(tmp_path / "absent.yaml", NAMES)
    (tmp_path / "empty-layer").mkdir()
    with pytest.raises(PolicyError, match=r"no policy file at .*policy\.json"):
        load_policy(tmp_path / "empty-layer", NAMES)


def test_the_committed_policy_layer_loads_and_matches_its_source(repo_root: Path, model_dir: Path) -> None:
    names = load_manifest(model_dir).feature_names
    layer = repo_root / "layers" / "policy"
    policy = load_policy(layer, names)
    assert policy.sha256 == canonical_sha256(yaml.safe_load((layer / "policy.yaml").read_text()))
    assert load_policy(layer / "policy.yaml", names).sha256 == policy.sha256


# ------------------------------------------------------------------------------ default policy and batches


def test_default_policy_is_todays_threshold_rule(model_dir: Path) -> None:
    model = load_model(model_dir)
    policy = default_policy(model.threshold, model.feature_names)
    rng = random.Random(3)
    scores = [model.threshold, np.nextafter(model.threshold, 0.0), 0.0, 1.0, *(rng.random() for _ in range(200))]
    for score in scores:
        assert (policy.decide(float(score), [0.0] * model.n_features).outcome == "DECLINE") == model.is_fraud(score)
    with pytest.raises(PolicyError, match=r"threshold 1\.5 is not in"):
        default_policy(1.5)


def test_decide_many_equals_decide_row_by_row_on_real_scores(model_dir: Path) -> None:
    from training.data import generate_synthetic

    model = load_model(model_dir)
    data = generate_synthetic(n_rows=2000, fraud_rate=0.05, seed=5)
    scores = model.score_many(data.X)
    document = base_document(
        rules=[
            rule("big", "Amount > 300.0 && score > 0.05", "REVIEW", min_score=0.05),
            rule("night", "Time < 20000.0 && V17 > 1.0", "DECLINE"),
            rule("tid", "transaction_id == 'tx-7'", "DECLINE"),
        ],
        mode="ALL_MATCHED",
    )
    policy = policy_from_document(copy.deepcopy(document), model.feature_names)
    requests = [{"transaction_id": f"tx-{i}"} for i in range(len(scores))]
    many = policy.decide_many(scores, data.X, requests)
    one = [policy.decide(s, list(r), q) for s, r, q in zip(scores, data.X.tolist(), requests, strict=True)]
    assert many == one
    assert {d.outcome for d in many} >= {"APPROVE", "REVIEW", "DECLINE"}  # the rows exercise every outcome
    assert many[7].rules[-1:] == ("tid",)
    assert policy.decide_many([], np.zeros((0, model.n_features))) == []
    with pytest.raises(ValueError, match="2 scores but 1 requests"):
        policy.decide_many([0.1, 0.2], np.zeros((2, model.n_features)), [{}])


def test_the_generated_schema_validator_is_in_sync_with_the_schema() -> None:
    from scoring_cli.schema_codegen import TARGET, generated_source

    assert TARGET.read_text(encoding="utf-8") == generated_source(), "run `make policy-schema`"


def test_a_value_dependent_engine_error_is_a_policy_evaluation_error_naming_the_rules() -> None:
    # int(Amount) passes the neutral trial run at load but overflows on an extreme amount.
    policy = policy_from_document(base_document(rules=[rule("whole-amount", "int(Amount) > 5000")]), NAMES)
    assert policy.decide(0.0, row(Amount=6000.5), {}).rules == ("whole-amount",)
    with pytest.raises(PolicyEvaluationError, match=r"policy test-1: the rules \(whole-amount\) failed .*overflow"):
        policy.decide(0.0, row(Amount=1e30), {})
