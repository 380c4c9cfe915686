"""Every way a user's CSV can be wrong gets an error naming the column or the line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.data import FEATURE_NAMES, LABEL, DataError, generate_synthetic, load_csv

COLUMNS = [*FEATURE_NAMES, LABEL]


@pytest.fixture(scope="module")
def good_rows() -> list[list[str]]:
    data = generate_synthetic(n_rows=2_000, fraud_rate=0.05, seed=5)
    frame = data.to_frame()
    return [
        [repr(float(v)) if c != LABEL else str(int(v)) for c, v in zip(COLUMNS, row, strict=True)]
        for row in frame.itertuples(index=False)
    ]


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.write_text("\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return path


def test_valid_csv_round_trips(tmp_path: Path, good_rows: list[list[str]]) -> None:
    # shuffle columns: the loader maps by name, and sorts rows by Time
    order = list(reversed(range(len(COLUMNS))))
    rows = [[r[i] for i in order] for r in reversed(good_rows)]
    data = load_csv(write(tmp_path / "ok.csv", [COLUMNS[i] for i in order], rows))
    assert data.n_rows == len(good_rows)
    assert np.all(np.diff(data.X[:, 0]) >= 0)
    assert data.n_positive == sum(r[-1] == "1" for r in good_rows)


def test_missing_column_is_named(tmp_path: Path, good_rows: list[list[str]]) -> None:
    i = COLUMNS.index("V7")
    header = COLUMNS[:i] + COLUMNS[i + 1 :]
    rows = [r[:i] + r[i + 1 :] for r in good_rows]
    with pytest.raises(DataError, match=r"missing column.*V7"):
        load_csv(write(tmp_path / "m.csv", header, rows))


def test_extra_column_is_named(tmp_path: Path, good_rows: list[list[str]]) -> None:
    with pytest.raises(DataError, match=r"unexpected column.*merchant_id"):
        load_csv(write(tmp_path / "e.csv", [*COLUMNS, "merchant_id"], [[*r, "42"] for r in good_rows]))


def test_duplicated_column_is_named(tmp_path: Path, good_rows: list[list[str]]) -> None:
    header = [*COLUMNS, "V3"]
    with pytest.raises(DataError, match=r"duplicated column.*V3"):
        load_csv(write(tmp_path / "d.csv", header, [[*r, "0.1"] for r in good_rows]))


@pytest.mark.parametrize(
    ("column", "cell", "message"),
    [
        ("V12", "abc", r"column 'V12', line 7: value is not a number: 'abc'"),
        ("Amount", "", r"column 'Amount', line 7: value is empty"),
        ("V3", "NaN", r"column 'V3', line 7: value is NaN"),
        ("Time", "inf", r"column 'Time', line 7: value is not finite"),
        ("Class", "2", r"column 'Class', line 7: label must be 0 or 1"),
        ("Class", "yes", r"column 'Class', line 7: value is not a number"),
    ],
)
def test_bad_cell_names_column_and_line(
    tmp_path: Path, good_rows: list[list[str]], column: str, cell: str, message: str
) -> None:
    rows = [list(r) for r in good_rows]
    rows[5][COLUMNS.index(column)] = cell  # data row 6 = CSV line 7 (the header is line 1)
    with pytest.raises(DataError, match=message):
        load_csv(write(tmp_path / "bad.csv", COLUMNS, rows))


def test_single_class_is_rejected(tmp_path: Path, good_rows: list[list[str]]) -> None:
    rows = [[*r[:-1], "0"] for r in good_rows]
    with pytest.raises(DataError, match="single class: every row is 0"):
        load_csv(write(tmp_path / "one.csv", COLUMNS, rows))


def test_too_few_positives_is_rejected(tmp_path: Path, good_rows: list[list[str]]) -> None:
    rows = [[*r[:-1], "0"] for r in good_rows]
    for r in rows[:5]:
        r[-1] = "1"
    with pytest.raises(DataError, match="5 positive rows; at least 20"):
        load_csv(write(tmp_path / "few.csv", COLUMNS, rows))


def test_header_only_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data rows"):
        load_csv(write(tmp_path / "empty.csv", COLUMNS, []))
    with pytest.raises(DataError, match="no such file"):
        load_csv(tmp_path / "nope.csv")


def test_semicolon_public_file_gets_the_delimiter_hint(tmp_path: Path, good_rows: list[list[str]]) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("\n".join(";".join(r) for r in [COLUMNS, *good_rows]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"(?s)missing column.*hint: .*semicolon-separated; pass DELIMITER=';'"):
        load_csv(path)


def test_quoted_header_and_blank_lines_keep_line_numbers(tmp_path: Path, good_rows: list[list[str]]) -> None:
    # Kaggle's creditcard.csv quotes its header and labels; a blank line must not shift line numbers
    rows = [list(r) for r in good_rows[:50]]
    rows[3][COLUMNS.index("V2")] = "x"  # data row 4, after one blank line: line 6
    lines = [
        ",".join(f'"{c}"' for c in COLUMNS),
        *(",".join(r) for r in rows[:2]),
        "",
        *(",".join(r) for r in rows[2:]),
    ]
    path = tmp_path / "q.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"column 'V2', line 6: value is not a number: 'x'"):
        load_csv(path, min_positives=1)
