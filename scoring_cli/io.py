"""Chunked CSV / Parquet reading and writing for offline scoring (pyarrow; memory bounded by the chunk)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

PARQUET_ROW_GROUP = 65_536


class InputError(ValueError):
    """The file as a whole cannot be scored (unreadable, a feature column missing)."""


@dataclass
class Chunk:
    first_row: int  # 1-based data row number of the chunk's first row (CSV: line number - 1)
    matrix: npt.NDArray[np.float64]  # NaN where a cell is not a number
    features: npt.NDArray[np.float32]  # the matrix as ONNX Runtime takes it (float32, C order)
    errors: dict[int, str]  # row index in the chunk -> what is wrong with its cells
    passthrough: dict[str, pa.ChunkedArray]  # columns copied to the output (id, label)
    labels: npt.NDArray[np.float64] | None  # 0/1, NaN where the label is missing or not 0/1


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet" or suffix == ".pq":
        return "parquet"
    if suffix in (".csv", ".txt"):
        return "csv"
    raise InputError(f"{path}: unknown format {suffix!r}: use .csv or .parquet")


CSV_PIECE_BYTES = 1 << 24  # CSV is cut at line ends into pieces of about this size, each parsed on all cores
CSV_BLOCK_BYTES = 1 << 20  # pyarrow parses a piece in blocks of this size, in parallel


def _column_names(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        if file_format(path) == "parquet":
            return list(pq.ParquetFile(path).schema_arrow.names)
        with path.open("rb") as handle:
            header = handle.readline()
        return list(pacsv.read_csv(pa.py_buffer(header)).column_names)  # pyarrow's own reading of quotes, BOM
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: cannot be read: {exc}") from None


def _tables(
    path: Path, names: Sequence[str], columns: Sequence[str], numbers: Sequence[str], chunk_rows: int
) -> tuple[Iterator[pa.Table], int | None]:
    """Only ``columns`` of the file whose columns are ``names``, in tables of ``chunk_rows`` rows; the
    total row count when the format knows it. In CSV, ``numbers`` are parsed as float64 when every cell
    of a piece is a number, as text (to find the bad cells) when not."""
    try:
        if file_format(path) == "parquet":
            parquet = pq.ParquetFile(path, pre_buffer=False)  # pre_buffer keeps every row group read so far
            batches = parquet.iter_batches(batch_size=chunk_rows, columns=list(columns))
            return (pa.Table.from_batches([batch]) for batch in batches), parquet.metadata.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: cannot be read: {exc}") from None
    return _rebatch(_csv_pieces(path, names, columns, numbers), chunk_rows), None


def _csv_pieces(
    path: Path, names: Sequence[str], columns: Sequence[str], numbers: Sequence[str]
) -> Iterator[pa.RecordBatch]:
    """The CSV file after its header in pieces cut at line ends, each parsed by pyarrow on all cores.

    (pyarrow's streaming CSV reader parses on one core; its whole-file reader holds the whole file.)"""
    read_options = pacsv.ReadOptions(column_names=list(names), block_size=CSV_BLOCK_BYTES)
    # No null markers: "NaN" is a number (not finite), "" is a cell with no number; both stay row errors.
    typed = pacsv.ConvertOptions(
        column_types={name: pa.float64() if name in numbers else pa.string() for name in columns},
        include_columns=list(columns),
        null_values=[],
        strings_can_be_null=False,
    )
    text = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in columns}, include_columns=list(columns), strings_can_be_null=False
    )
    with path.open("rb") as handle:
        handle.readline()
        while piece := handle.read(CSV_PIECE_BYTES) + handle.readline():
            buffer = pa.py_buffer(piece)
            try:
                table = pacsv.read_csv(buffer, read_options=read_options, convert_options=typed)
            except pa.ArrowInvalid:  # a cell that is not a number: as text, so each bad cell becomes its row's error
                table = pacsv.read_csv(buffer, read_options=read_options, convert_options=text)
            yield from table.to_batches()


def _rebatch(reader: Any, chunk_rows: int) -> Iterator[pa.Table]:
    """Regroup the reader's blocks into tables of exactly ``chunk_rows`` rows (the last may be shorter,
    and so may the one before a block of another schema: a CSV piece read as text starts a new table).

    The tables keep the reader's blocks as their chunks: no copy of the text."""
    pending: list[pa.RecordBatch] = []
    count = 0
    schema = None
    for batch in reader:
        if schema is not None and not batch.schema.equals(schema):
            if count:
                yield pa.Table.from_batches(pending, schema=schema)
            pending, count = [], 0
        schema = batch.schema
        pending.append(batch)
        count += batch.num_rows
        while count >= chunk_rows:
            table = pa.Table.from_batches(pending, schema=schema)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending, schema=schema)


def _numbers(column: pa.Array | pa.ChunkedArray) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_] | None]:
    """Float values and a mask of the cells that are not numbers (text, empty, null); None when there are none."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            values = pc.cast(column, pa.float64())
        except pa.ArrowInvalid:  # a cell with spaces around its number, or one that is not a number
            try:
                values = pc.cast(pc.utf8_trim_whitespace(column), pa.float64())
            except pa.ArrowInvalid:  # find which cells, row by row, with pandas
                coerced = pd.to_numeric(pd.Series(column.to_pandas()).str.strip(), errors="coerce")
                parsed = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
                return parsed, np.isnan(parsed)
    elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_boolean(column.type):
        values = pc.cast(column, pa.float64())
    else:
        raise InputError(f"column of type {column.type} cannot hold numbers")
    array: npt.NDArray[np.float64] = values.to_numpy(zero_copy_only=False)
    if values.null_count == 0:  # the usual case: no mask, no second copy
        return array, None
    missing = np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    return np.where(missing, np.nan, array), missing


def read_chunks(
    path: Path, feature_names: Sequence[str], label: str | None, keep: Sequence[str], chunk_rows: int
) -> tuple[Iterator[Chunk], int | None, list[str]]:
    """Chunks of ``path`` with features in manifest order; the total row count when known."""
    names = _column_names(path)
    missing = [name for name in feature_names if name not in names]
    if missing:
        raise InputError(f"{path}: missing feature column(s): {', '.join(missing)}")
    if label is not None and label not in names:
        raise InputError(f"{path}: no label column {label!r}")
    kept = [name for name in keep if name in names]
    # Only the columns used are decoded, each once (the label may also be a kept column).
    columns = list(dict.fromkeys([*feature_names, *kept, *([label] if label is not None else [])]))
    tables, total = _tables(path, names, columns, [n for n in feature_names if n not in kept], chunk_rows)

    def generate() -> Iterator[Chunk]:
        first = 1
        for table in tables:
            n = table.num_rows
            # Column-major: each feature column is written in one contiguous sweep.
            matrix = np.empty((n, len(feature_names)), dtype=np.float64, order="F")
            problems: dict[int, list[str]] = {}
            for j, name in enumerate(feature_names):
                column = table.column(name)
                try:
                    values, bad = _numbers(column)
                except InputError as exc:
                    raise InputError(f"{path}: column {name!r}: {exc}") from None
                matrix[:, j] = values
                if bad is None:
                    continue
                for i in np.flatnonzero(bad).tolist():
                    cell = column[i].as_py()
                    text = "missing" if cell is None or str(cell).strip() == "" else f"not a number: {str(cell)[:40]!r}"
                    problems.setdefault(i, []).append(f"{name}: {text}")
            labels = None
            if label is not None:
                raw, _ = _numbers(table.column(label))
                labels = np.where(np.isin(raw, (0.0, 1.0)), raw, np.nan)
            yield Chunk(
                first_row=first,
                matrix=matrix,
                # Converted here, so that with --overlap-io the reader thread does it, not the scoring one.
                features=np.asarray(matrix, dtype=np.float32, order="C"),
                errors={i: "; ".join(found) for i, found in problems.items()},
                passthrough={name: table.column(name) for name in kept},
                labels=labels,
            )
            first += n

    return generate(), total, kept


class ChunkWriter:
    """Appends output chunks to a CSV or Parquet file (schema fixed by the first chunk)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.format = file_format(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer: Any = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            if self.format == "parquet":
                self._writer = pq.ParquetWriter(self.path, table.schema)
            else:
                self._writer = pacsv.CSVWriter(self.path, table.schema)
        if self.format == "parquet":
            # Row groups of at most PARQUET_ROW_GROUP rows: a reader (this one too) holds one at a time.
            self._writer.write_table(table.cast(self._writer.schema), row_group_size=PARQUET_ROW_GROUP)
        else:
            self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
