"""Offline scoring: the service's model and policy over files, bad rows kept with an error, backtests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraud_scoring.model import FraudModel, load_model
from fraud_scoring.offline import score_and_decide
from fraud_scoring.policy import load_policy, policy_from_document
from scoring_cli.__main__ import build_parser, default_threads, main
from scoring_cli.io import _rebatch
from training.data import FEATURE_NAMES, generate_synthetic

POLICY_WITH_RULE = {
    "schema_version": 1,
    "version": "offline-test",
    "outcomes": ["APPROVE", "REVIEW", "DECLINE"],
    "bands": [
        {"outcome": "APPROVE", "min": 0.0, "max": 0.2},
        {"outcome": "REVIEW", "min": 0.2, "max": 0.6},
        {"outcome": "DECLINE", "min": 0.6, "max": 1.0},
    ],
    "rules": [
        {
            "id": "vip",
            "description": "ids starting vip- pass",
            "when": "transaction_id.startsWith('vip-')",
            "outcome": "APPROVE",
        },
        {"id": "big", "description": "big amounts reviewed", "when": "Amount > 2000.0", "outcome": "REVIEW"},
    ],
}


@pytest.fixture(scope="module")
def model(model_dir: Path) -> FraudModel:
    return load_model(model_dir)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    data = generate_synthetic(n_rows=3000, fraud_rate=0.03, seed=21)
    out = data.to_frame()
    out.insert(0, "transaction_id", [f"vip-{i}" if i % 50 == 0 else f"tx-{i}" for i in range(len(out))])
    return out


def with_bad_rows(frame: pd.DataFrame) -> pd.DataFrame:
    bad = frame.astype(object).copy()
    bad.loc[4, "V4"] = "abc"
    bad.loc[10, "Amount"] = ""
    bad.loc[11, "V1"] = "inf"
    bad.loc[12, "Time"] = "nan"
    bad.loc[13, "V2"] = "1e400"  # overflows to inf
    return bad


def test_score_and_decide_equals_the_service_path_row_by_row(model: FraudModel, frame: pd.DataFrame) -> None:
    policy = policy_from_document(POLICY_WITH_RULE, model.feature_names)
    matrix = frame[list(FEATURE_NAMES)].to_numpy(dtype=np.float64)
    requests = [{"transaction_id": t} for t in frame["transaction_id"]]
    result = score_and_decide(model, policy, matrix, None, requests)
    for i in range(0, len(frame), 97):
        row = matrix[i].tolist()
        score = model.score_one(row)
        assert result.scores[i] == pytest.approx(score, abs=1e-6)
        assert result.decision(policy, i) == policy.decide(score, row, requests[i])
    assert result.errors == {}
    assert set(result.rules) == {i for i in range(len(frame)) if i % 50 == 0} | {
        i for i in range(len(frame)) if matrix[i, FEATURE_NAMES.index("Amount")] > 2000.0
    }


def test_bad_rows_get_their_error_and_the_rest_are_scored(model: FraudModel, frame: pd.DataFrame) -> None:
    policy = policy_from_document(POLICY_WITH_RULE, model.feature_names)
    matrix = frame[list(FEATURE_NAMES)].to_numpy(dtype=np.float64, copy=True)
    matrix[7, 3] = np.nan
    matrix[8, 29] = np.inf
    matrix[9, 4] = np.nan  # the parser's message wins over "not a finite number"
    result = score_and_decide(model, policy, matrix, {9: "V4: not a number: 'x'"})
    assert result.errors == {
        7: "V3: not a finite number",
        8: "Amount: not a finite number",
        9: "V4: not a number: 'x'",
    }
    assert np.isnan(result.scores[[7, 8, 9]]).all()
    assert not np.isnan(np.delete(result.scores, [7, 8, 9])).any()
    assert result.decision(policy, 7) is None
    assert result.decision(policy, 10) is not None
    assert result.valid.sum() == len(frame) - 3
    with pytest.raises(ValueError, match="error for row 5000 outside the chunk"):
        score_and_decide(model, policy, matrix, {5000: "x"})


def write_bad_rows_file(folder: Path, frame: pd.DataFrame, suffix: str) -> Path:
    """The data with bad rows as ``in<suffix>``, and the policy with a rule as ``policy.json`` beside it."""
    source = folder / f"in{suffix}"
    bad = with_bad_rows(frame)
    if suffix == ".csv":
        bad.to_csv(source, index=False)
    else:
        bad.astype(str).to_parquet(source, index=False)  # text cells: the bad ones must not stop the file
    (folder / "policy.json").write_text(json.dumps(POLICY_WITH_RULE))
    return source


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_command_scores_a_file_with_bad_rows_and_writes_a_backtest(
    tmp_path: Path,
    frame: pd.DataFrame,
    model: FraudModel,
    model_dir: Path,
    suffix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = write_bad_rows_file(tmp_path, frame, suffix)
    out = tmp_path / f"out{suffix}"
    code = main(
        ["--model-dir", str(model_dir), "score", str(source), str(out), "--label", "Class",
         "--policy", str(tmp_path / "policy.json"), "--compare", "threshold", "--chunk-rows", "700", "--no-progress"]
    )  # fmt: skip
    assert code == 0
    result = pd.read_csv(out) if suffix == ".csv" else pq.read_table(out).to_pandas()
    assert len(result) == len(frame)
    assert result["row"].tolist() == list(range(1, len(frame) + 1))
    errors = [e if isinstance(e, str) else None for e in result["error"]]
    assert errors[4] == "V4: not a number: 'abc'"
    assert errors[10] == "Amount: missing"
    assert errors[11] == "V1: not a finite number"
    assert errors[12] == "Time: not a finite number"
    assert errors[13] == "V2: not a finite number"
    assert sum(e is not None for e in errors) == 5
    good = result[result["error"].isna()]
    # The same answers as the service's one-row path with the same policy.
    policy = load_policy(tmp_path / "policy.json", model.feature_names)
    matrix = frame[list(FEATURE_NAMES)].to_numpy(dtype=np.float64)
    for i in good.index[::61]:
        score = model.score_one(matrix[i].tolist())
        assert good.loc[i, "fraud_score"] == pytest.approx(score, abs=1e-6)
        expected = policy.decide(score, matrix[i].tolist(), {"transaction_id": frame.loc[i, "transaction_id"]})
        assert good.loc[i, "decision"] == expected.outcome
        assert (good.loc[i, "rules"] if isinstance(good.loc[i, "rules"], str) else "") == "|".join(expected.rules)
        assert bool(good.loc[i, "is_fraud"]) == model.is_fraud(score)
    assert set(good["policy_version"]) == {"offline-test"}
    assert (good.loc[good["transaction_id"].str.startswith("vip-"), "rules"] == "vip").all()
    report = tmp_path / "out-backtest.md"
    text = report.read_text()
    frauds = int(frame["Class"].drop(index=[4, 10, 11, 12, 13]).sum())
    assert f"({frauds:,} frauds)" in text
    assert "| policy used | `offline-test` |" in text
    assert "| manifest threshold |" in text
    assert (tmp_path / "out-backtest-scores.png").stat().st_size > 1000
    assert (tmp_path / "out-backtest-cost.png").stat().st_size > 1000
    summary = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert summary["rows"] == len(frame)
    assert summary["errors"] == 5


def test_backtest_counts_match_a_direct_count(
    tmp_path: Path, frame: pd.DataFrame, model: FraudModel, model_dir: Path
) -> None:
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    (tmp_path / "policy.json").write_text(json.dumps(POLICY_WITH_RULE))
    out = tmp_path / "out.csv"
    assert main(["--model-dir", str(model_dir), "score", str(source), str(out), "--label", "Class",
                 "--policy", str(tmp_path / "policy.json"), "--no-progress"]) == 0  # fmt: skip
    result = pd.read_csv(out)
    table = pd.crosstab(result["decision"], result["Class"])
    text = (tmp_path / "out-backtest.md").read_text()
    for outcome in ("APPROVE", "REVIEW", "DECLINE"):
        rows = int(table.loc[outcome].sum()) if outcome in table.index else 0
        frauds = int(table.loc[outcome].get(1, 0)) if outcome in table.index else 0
        assert f"| {outcome} | " in text
        line = next(line for line in text.splitlines() if line.startswith(f"| {outcome} | "))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[2] == f"{rows:,}"
        assert cells[4] == f"{frauds:,}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Time,V1\n1,2\n", "missing feature column(s): V2"),
        (None, "no such file"),
    ],
)
def test_whole_file_problems_are_one_clear_error(
    tmp_path: Path, model_dir: Path, content: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    if content is not None:
        source.write_text(content)
    assert main(["--model-dir", str(model_dir), "score", str(source), str(tmp_path / "o.csv"), "--no-progress"]) == 2
    assert message in capsys.readouterr().err


def test_a_negative_thread_count_is_refused(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--model-dir", str(model_dir), "score", str(tmp_path / "in.csv"), str(tmp_path / "o.csv")]
    assert main([*args, "--threads", "-1"]) == 2
    assert "--threads must be at least 1" in capsys.readouterr().err


def test_reading_and_writing_leave_one_core_to_themselves_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert (default_threads(True), default_threads(False)) == (7, 8)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert (default_threads(True), default_threads(False)) == (1, 1)
    assert build_parser().parse_args(["score", "a.csv", "b.csv"]).overlap_io is True


def test_unknown_format_and_missing_label_are_refused(
    tmp_path: Path, frame: pd.DataFrame, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame.to_csv(tmp_path / "in.csv", index=False)
    assert main(["--model-dir", str(model_dir), "score", str(tmp_path / "in.csv"), str(tmp_path / "o.xlsx")]) == 2
    assert "unknown format '.xlsx'" in capsys.readouterr().err
    code = main(
        ["--model-dir", str(model_dir), "score", str(tmp_path / "in.csv"), str(tmp_path / "o.csv"), "--label", "Fraud"]
    )
    assert code == 2
    assert "no label column 'Fraud'" in capsys.readouterr().err


def test_policy_stamp_and_check(
    tmp_path: Path, model_dir: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layer = tmp_path / "policy"
    layer.mkdir()
    (layer / "policy.yaml").write_text(
        (repo_root / "layers" / "policy" / "policy.yaml").read_text().replace("\nversion: ", "\nversion: edited-", 1)
    )
    assert main(["--model-dir", str(model_dir), "policy-stamp", str(layer)]) == 0
    assert main(["--model-dir", str(model_dir), "policy-check", str(layer)]) == 0
    assert json.loads((layer / "policy.json").read_text())["policy_version"].startswith("edited-")
    (layer / "policy.yaml").write_text((layer / "policy.yaml").read_text() + "\nextra: 1\n")
    assert main(["--model-dir", str(model_dir), "policy-check", str(layer)]) == 2
    assert "changed since policy.json was written" in capsys.readouterr().err
    assert main(["--model-dir", str(model_dir), "policy-stamp", str(layer)]) == 2
    assert "must not contain {'extra'}" in capsys.readouterr().err


@given(st.lists(st.integers(0, 40), max_size=12), st.integers(1, 17))
@settings(max_examples=60, deadline=None)
def test_property_rebatching_keeps_every_row_in_order_in_full_chunks(sizes: list[int], chunk_rows: int) -> None:
    batches = [pa.record_batch({"a": pa.array(range(k), pa.int64())}) for k in sizes]
    out = list(_rebatch(iter(batches), chunk_rows))
    assert [x for b in out for x in b.column(0).to_pylist()] == [x for k in sizes for x in range(k)]
    assert all(b.num_rows == chunk_rows for b in out[:-1])
    assert all(0 < b.num_rows <= chunk_rows for b in out)


@given(st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=12), st.integers(1, 17))
@settings(max_examples=60, deadline=None)
def test_property_rebatching_blocks_of_two_schemas_keeps_every_row_in_order(
    blocks: list[tuple[int, bool]], chunk_rows: int
) -> None:
    start = [sum(k for k, _ in blocks[:i]) for i in range(len(blocks))]
    batches = [
        pa.record_batch({"a": pa.array([str(x) for x in range(s, s + k)], pa.string())})
        if text
        else pa.record_batch({"a": pa.array(range(s, s + k), pa.int64())})
        for (k, text), s in zip(blocks, start, strict=True)
    ]
    out = list(_rebatch(iter(batches), chunk_rows))
    assert [int(x) for b in out for x in b.column(0).to_pylist()] == list(range(sum(k for k, _ in blocks)))
    assert all(0 < b.num_rows <= chunk_rows for b in out)
    assert all(len({str(c.type) for c in b.column(0).chunks}) <= 1 for b in out)


def test_export_synthetic_writes_the_training_data_set(tmp_path: Path) -> None:
    out = tmp_path / "synthetic.parquet"
    assert main(["export-synthetic", str(out)]) == 0
    table = pq.read_table(out)
    assert table.column_names == [*FEATURE_NAMES, "Class"]
    data = generate_synthetic(seed=7)
    assert table.num_rows == data.n_rows
    assert np.array_equal(table.column("Amount").to_numpy(), data.X[:, -1])
    assert int(pa.compute.sum(table.column("Class")).as_py()) == data.n_positive


def test_a_row_whose_rules_fail_gets_an_error_and_the_chunk_goes_on(model: FraudModel, frame: pd.DataFrame) -> None:
    document = {
        **POLICY_WITH_RULE,
        "rules": [{"id": "whole", "description": "d", "when": "int(Amount) > 5000", "outcome": "REVIEW"}],
    }
    policy = policy_from_document(document, model.feature_names)
    matrix = frame[list(FEATURE_NAMES)].to_numpy(dtype=np.float64, copy=True)
    matrix[5, FEATURE_NAMES.index("Amount")] = 1e30
    result = score_and_decide(model, policy, matrix)
    assert list(result.errors) == [5]
    assert "the rules (whole) failed" in result.errors[5]
    assert result.decision(policy, 5) is None
    assert np.isnan(result.scores[5])
    assert result.valid.sum() == len(frame) - 1


def test_a_chunk_with_invalid_rows_scores_and_decides_the_others_as_the_all_valid_path(
    model: FraudModel, frame: pd.DataFrame
) -> None:
    policy = policy_from_document(POLICY_WITH_RULE, model.feature_names)
    matrix = frame[list(FEATURE_NAMES)].to_numpy(dtype=np.float64)
    requests = [{"transaction_id": t} for t in frame["transaction_id"]]
    clean = score_and_decide(model, policy, matrix, None, requests)
    broken = np.array(matrix, order="F")  # a copy in the reader's layout
    broken[[3, 50, 2999], [0, 7, 29]] = [np.nan, np.inf, -np.inf]
    result = score_and_decide(model, policy, broken, {100: "V1: missing"}, requests)
    bad = [3, 50, 100, 2999]
    assert sorted(result.errors) == bad
    keep = np.delete(np.arange(len(frame)), bad)
    assert np.array_equal(result.scores[keep], clean.scores[keep])  # bit for bit, not approximately
    assert np.array_equal(result.outcome_codes[keep], clean.outcome_codes[keep])
    assert result.rules == {i: ids for i, ids in clean.rules.items() if i not in bad}
    assert (result.outcome_codes[bad] == -1).all()


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # 1e308 is inf in float32
def test_finite_values_whose_sum_overflows_are_not_an_error(model: FraudModel) -> None:
    policy = policy_from_document(POLICY_WITH_RULE, model.feature_names)
    matrix = np.full((4, model.n_features), 1e308)  # every cell finite; their sum is not
    matrix[2, 5] = np.nan
    result = score_and_decide(model, policy, matrix)
    assert result.errors == {2: "V5: not a finite number"}
    assert result.valid.tolist() == [True, True, False, True]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_sequential_and_overlapped_io_write_identical_files(
    tmp_path: Path, frame: pd.DataFrame, model_dir: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_bad_rows_file(tmp_path, frame, suffix)
    summaries = []
    for mode in ("--overlap-io", "--no-overlap-io"):
        code = main(
            ["--model-dir", str(model_dir), "score", str(source), str(tmp_path / f"out{mode}{suffix}"),
             "--policy", str(tmp_path / "policy.json"), "--chunk-rows", "700", "--no-progress", mode, "--threads", "2"]
        )  # fmt: skip  # the same threads: ONNX Runtime's sums over trees depend on how they are split
        assert code == 0
        summaries.append(json.loads(capsys.readouterr().err.strip().splitlines()[-1]))
    first, second = (tmp_path / f"out{mode}{suffix}" for mode in ("--overlap-io", "--no-overlap-io"))
    assert first.read_bytes() == second.read_bytes()
    assert [s["overlap_io"] for s in summaries] == [True, False]
    for summary in summaries:
        stages = summary["stage_seconds"]
        assert set(stages) == {"load", "read", "check", "score", "decide", "output_table", "write"}
        assert all(stages[stage] > 0 for stage in ("load", "read", "score", "write"))
    # In one thread the stages are the run, less the loop's own bookkeeping.
    assert sum(summaries[1]["stage_seconds"].values()) >= summaries[1]["seconds"] * 0.5


def test_features_given_as_float32_give_the_same_results_and_a_wrong_one_is_refused(
    model: FraudModel, frame: pd.DataFrame
) -> None:
    policy = policy_from_document(POLICY_WITH_RULE, model.feature_names)
    matrix = np.array(frame[list(FEATURE_NAMES)].to_numpy(dtype=np.float64), order="F")
    matrix[[6, 60], [2, 20]] = np.nan
    requests = [{"transaction_id": t} for t in frame["transaction_id"]]
    features = np.asarray(matrix, dtype=np.float32, order="C")
    for errors in (None, {70: "V1: missing"}):  # every valid row, and a chunk with a parser error too
        converted_here = score_and_decide(model, policy, matrix, errors, requests)
        given = score_and_decide(model, policy, matrix, errors, requests, features=features)
        assert np.array_equal(given.scores, converted_here.scores, equal_nan=True)
        assert np.array_equal(given.outcome_codes, converted_here.outcome_codes)
        assert (given.rules, given.errors) == (converted_here.rules, converted_here.errors)
    for wrong in (features[:10], features.astype(np.float64), np.asfortranarray(features)):
        with pytest.raises(ValueError, match="features must be a C-order float32 matrix of shape"):
            score_and_decide(model, policy, matrix, features=wrong)  # type: ignore[arg-type]  # a wrong array on purpose


def test_csv_pieces_cut_anywhere_give_the_same_file(
    tmp_path: Path, frame: pd.DataFrame, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in.csv"
    bad = with_bad_rows(frame)
    bad.loc[20, "V3"] = " 1.25 "  # spaces around a number: still that number
    bad.to_csv(source, index=False)
    (tmp_path / "policy.json").write_text(json.dumps(POLICY_WITH_RULE))
    outputs = []
    # one piece for the file; then pieces of ~40 rows, most parsed as numbers, those with a bad cell as text
    for piece_bytes in (1 << 24, 9000, 1):
        monkeypatch.setattr("scoring_cli.io.CSV_PIECE_BYTES", piece_bytes)
        out = tmp_path / f"out-{piece_bytes}.csv"
        code = main(
            ["--model-dir", str(model_dir), "score", str(source), str(out), "--policy", str(tmp_path / "policy.json"),
             "--label", "Class", "--chunk-rows", "700", "--no-progress", "--threads", "1"]
        )  # fmt: skip
        assert code == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    result = pd.read_csv(tmp_path / f"out-{1 << 24}.csv")
    assert result["error"].notna().sum() == 5
    expected = frame[list(FEATURE_NAMES)].to_numpy(dtype=np.float64, copy=True)
    expected[20, FEATURE_NAMES.index("V3")] = 1.25
    model = load_model(model_dir)
    assert result.loc[20, "fraud_score"] == pytest.approx(model.score_one(expected[20].tolist()), abs=1e-7)


def test_a_csv_header_is_read_as_pyarrow_reads_it(tmp_path: Path, frame: pd.DataFrame, model_dir: Path) -> None:
    source = tmp_path / "in.csv"
    head = frame.head(50)
    source.write_bytes(b"\xef\xbb\xbf" + head.to_csv(index=False, quoting=1).encode())  # BOM, every name quoted
    out = tmp_path / "out.csv"
    assert main(["--model-dir", str(model_dir), "score", str(source), str(out), "--no-progress"]) == 0
    result = pd.read_csv(out)
    assert result["transaction_id"].tolist() == head["transaction_id"].tolist()
    assert result["error"].isna().all()
