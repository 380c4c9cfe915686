"""A user's own CSV: schema from options or a file, and every problem named with column and line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training.data import DataError, load_csv
from training.named_data import NAMED_FEATURE_NAMES, named_transactions
from training.schema import CsvSchema, SchemaError, build_schema, load_schema_file

from .user_csv import FEATURES, HEADER, IDS, LABEL, TIME, user_rows, write_csv

SCHEMA = CsvSchema(label=LABEL, time=TIME, ignore=IDS)


@pytest.fixture(scope="module")
def rows() -> list[list[str]]:
    return user_rows(n_rows=3_000, seed=4, fraud_rate=0.02)


def test_user_csv_loads_with_its_own_names_in_file_order(tmp_path: Path, rows: list[list[str]]) -> None:
    data = load_csv(write_csv(tmp_path / "tx.csv", HEADER, rows), schema=SCHEMA)
    assert data.feature_names == FEATURES  # the header's order, without label, time and ids
    assert data.n_rows == len(rows)
    # the same transactions as the generator made, value for value (the loader sorts by time)
    expected = named_transactions(n_rows=3_000, fraud_rate=0.02, seed=4).data
    assert data.n_positive == expected.n_positive
    got = data.X[np.lexsort(data.X.T[::-1])]
    want = expected.X[np.lexsort(expected.X.T[::-1])]
    np.testing.assert_array_equal(got, want)
    assert data.feature_names[0] == "amount_eur"
    assert NAMED_FEATURE_NAMES[0] == "amount"


def test_rows_are_ordered_by_iso_time_and_the_time_column_is_not_a_feature(tmp_path: Path) -> None:
    header = ["id", "ts", "x", "y", "label"]
    body = [
        ["a", "2026-01-03T00:00:00Z", "3", "1", "1"],
        ["b", "2026-01-01T00:00:00+00:00", "1", "0", "0"],
        ["c", "2026-01-02 12:00", "2", "1", "0"],
    ]
    data = load_csv(
        write_csv(tmp_path / "t.csv", header, body), schema=CsvSchema("label", "ts", ("id",)), min_positives=1
    )
    assert data.feature_names == ("x", "y")
    np.testing.assert_array_equal(data.X[:, 0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(data.y, [0, 0, 1])
    both = load_csv(
        write_csv(tmp_path / "t2.csv", header, body),
        schema=CsvSchema("label", "ts", ("id",), time_is_feature=True),
        min_positives=1,
    )
    assert both.feature_names == ("ts", "x", "y")
    assert both.X[1, 0] - both.X[0, 0] == 36 * 3600  # ISO times become seconds


def test_without_a_time_column_rows_keep_file_order(tmp_path: Path) -> None:
    body = [["5", "0"], ["1", "1"], ["3", "0"]]
    data = load_csv(write_csv(tmp_path / "n.csv", ["v", "fraud"], body), schema=CsvSchema("fraud"), min_positives=1)
    np.testing.assert_array_equal(data.X[:, 0], [5.0, 1.0, 3.0])


def _one_problem(tmp_path: Path, header: list[str], body: list[list[str]], schema: CsvSchema = SCHEMA) -> str:
    with pytest.raises(DataError) as caught:
        load_csv(write_csv(tmp_path / "bad.csv", header, body), schema=schema)
    assert len(caught.value.problems) == 1, caught.value.problems
    return str(caught.value)


def test_missing_label_is_named_with_the_header_line(tmp_path: Path, rows: list[list[str]]) -> None:
    message = _one_problem(tmp_path, HEADER, rows, CsvSchema(label="fraud_flag", time=TIME, ignore=IDS))
    assert "line 1 (header): the label column 'fraud_flag' is not in the header" in message
    assert "'is_fraud'" in message  # the columns it has


def test_non_numeric_cell_names_column_and_line(tmp_path: Path, rows: list[list[str]]) -> None:
    body = [list(r) for r in rows]
    body[9][HEADER.index("km_from_home")] = "far"  # data row 10 = line 11
    message = _one_problem(tmp_path, HEADER, body)
    assert "column 'km_from_home', line 11: value is not a number: 'far'" in message


def test_boolean_words_get_an_encoding_hint(tmp_path: Path, rows: list[list[str]]) -> None:
    body = [list(r) for r in rows]
    body[0][HEADER.index("chip_used")] = "true"
    assert "line 2: value is not a number: 'true' (encode yes/no columns as 1/0)" in _one_problem(
        tmp_path, HEADER, body
    )


def test_one_class_is_named_with_its_lines(tmp_path: Path, rows: list[list[str]]) -> None:
    body = [[*r[: HEADER.index(LABEL)], "0", *r[HEADER.index(LABEL) + 1 :]] for r in rows]
    message = _one_problem(tmp_path, HEADER, body)
    assert f"column 'is_fraud', lines 2-{len(rows) + 1}: a single class: every row is 0 (no fraud)" in message


def test_too_few_positives_is_named(tmp_path: Path, rows: list[list[str]]) -> None:
    label = HEADER.index(LABEL)
    body = [[*r[:label], "1" if i < 7 else "0", *r[label + 1 :]] for i, r in enumerate(rows)]
    message = _one_problem(tmp_path, HEADER, body)
    assert f"column 'is_fraud', lines 2-{len(rows) + 1}: 7 positive rows; at least 20" in message


def test_feature_without_variance_is_named(tmp_path: Path, rows: list[list[str]]) -> None:
    column = HEADER.index("mcc_risk")
    body = [[*r[:column], "0.5", *r[column + 1 :]] for r in rows]
    message = _one_problem(tmp_path, HEADER, body)
    assert "column 'mcc_risk', lines 2-" in message
    assert "every value is 0.5: a feature with no variance" in message


def test_duplicate_column_names_are_named_with_positions(tmp_path: Path, rows: list[list[str]]) -> None:
    header = [*HEADER, "tx_last_hour"]
    message = _one_problem(tmp_path, header, [[*r, "1"] for r in rows])
    assert "line 1 (header): duplicated column 'tx_last_hour' (columns 10, 15)" in message


def test_text_column_is_one_problem_that_suggests_ignoring_it(tmp_path: Path, rows: list[list[str]]) -> None:
    header = [*HEADER, "merchant_name"]
    message = _one_problem(tmp_path, header, [[*r, "ACME Ltd"] for r in rows])
    assert f"column 'merchant_name', lines 2-{len(rows) + 1}: no value is a number" in message
    assert "add it to the ignored columns" in message


def test_wrong_field_count_names_the_line(tmp_path: Path, rows: list[list[str]]) -> None:
    body = [list(r) for r in rows]
    body[3] = body[3][:-1]
    message = _one_problem(tmp_path, HEADER, body)
    assert f"line 5: {len(HEADER) - 1} fields, the header has {len(HEADER)}" in message


def test_bad_time_value_names_column_and_line(tmp_path: Path, rows: list[list[str]]) -> None:
    body = [list(r) for r in rows]
    body[1][HEADER.index(TIME)] = "yesterday"
    message = _one_problem(tmp_path, HEADER, body)
    assert "column 'created_at', line 3: value is not a number or an ISO 8601 time: 'yesterday'" in message


def test_every_problem_is_reported_up_to_the_cap(tmp_path: Path, rows: list[list[str]]) -> None:
    body = [list(r) for r in rows]
    for i in range(0, 30, 2):  # 15 bad amounts on lines 2, 4, ..., 30
        body[i][HEADER.index("amount_eur")] = "n/a"
    for i in range(1, 20, 2):  # 10 empty distances on lines 3, 5, ..., 21
        body[i][HEADER.index("km_from_home")] = ""
    body[2][HEADER.index(LABEL)] = "2"  # line 4
    path = write_csv(tmp_path / "many.csv", HEADER, body)
    with pytest.raises(DataError) as caught:
        load_csv(path, schema=SCHEMA, max_problems=8)
    message = str(caught.value)
    assert "26 problems, the first 8 listed:" in message
    problems = caught.value.problems
    assert len(problems) == 8
    # listed in line order, across columns
    assert problems[:4] == [
        "column 'amount_eur', line 2: value is not a number: 'n/a'",
        "column 'km_from_home', line 3: value is empty",
        "column 'amount_eur', line 4: value is not a number: 'n/a'",
        "column 'is_fraud', line 4: label must be 0 or 1, got '2'",
    ]
    with pytest.raises(DataError) as uncapped:
        load_csv(path, schema=SCHEMA, max_problems=100)
    assert len(uncapped.value.problems) == 26
    assert "26 problems:" in str(uncapped.value)


def test_semicolon_file_gets_a_delimiter_hint_and_loads_with_the_delimiter(
    tmp_path: Path, rows: list[list[str]]
) -> None:
    path = write_csv(tmp_path / "semi.csv", HEADER, rows, delimiter=";")
    with pytest.raises(DataError) as caught:
        load_csv(path, schema=SCHEMA)
    message = str(caught.value)
    assert "line 1 (header): the label column 'is_fraud' is not in the header" in message
    assert "hint: the header does not split on ',' but contains 13 semicolon(s)" in message
    assert "DELIMITER=';'" in message
    data = load_csv(path, schema=CsvSchema(LABEL, TIME, IDS, delimiter=";"))
    assert data.feature_names == FEATURES


def test_public_layout_error_points_to_the_schema_options(tmp_path: Path, rows: list[list[str]]) -> None:
    with pytest.raises(DataError) as caught:
        load_csv(write_csv(tmp_path / "tx.csv", HEADER, rows))
    message = str(caught.value)
    assert "missing column(s): Time, V1" in message
    assert "LABEL=<0/1 column>" in message


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_schema_file(tmp_path: Path, suffix: str) -> None:
    content = {"label": LABEL, "time": TIME, "ignore": list(IDS), "delimiter": "semicolon"}
    path = tmp_path / f"schema{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(content))
    else:
        path.write_text(f"label: {LABEL}\ntime: {TIME}\nignore: [transaction_id, card_id]\ndelimiter: semicolon\n")
    assert load_schema_file(path) == CsvSchema(LABEL, TIME, IDS, delimiter=";")
    # options win over the file
    assert build_schema(path, ignore="transaction_id", delimiter=",") == CsvSchema(LABEL, TIME, ("transaction_id",))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time: ts\n", "'label' .* is required"),
        ("label: y\ncolour: red\n", "unknown key.*colour"),
        ("label: y\nignore: [y]\n", "column 'y' is both 'label' and 'ignore'"),
        ("label: y\ndelimiter: ';;'\n", "delimiter must be one character"),
        ("label: y\ntime_is_feature: yes please\n", "'time_is_feature' must be true or false"),
        ("- label\n", "must hold a mapping"),
        ("label: [\n", "not valid YAML"),
    ],
)
def test_bad_schema_file_names_the_key(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(content)
    with pytest.raises(SchemaError, match=message):
        load_schema_file(path)


def test_schema_options_need_a_label() -> None:
    assert build_schema() is None
    with pytest.raises(SchemaError, match="--label"):
        build_schema(time="ts")
    assert build_schema(label="y", time="ts", ignore="a, b") == CsvSchema("y", "ts", ("a", "b"))
