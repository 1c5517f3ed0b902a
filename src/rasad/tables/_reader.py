"""Read tabular input into one normalised Arrow table, and write it back as Parquet.

:func:`read_table` is the single entry point for data coming into rasad: a CSV or
TSV file (optionally gzipped), a Parquet file, or a pandas DataFrame. Whatever the
source, the result is a :class:`pyarrow.Table` with unique, non-empty string column
names, at least one row, and only flat column types (see :data:`SUPPORTED_TYPES`).
Every malformed input raises :class:`~rasad.errors.InputError` with one line naming
the source, the problem and the fix.

:func:`write_parquet` writes a table as a normalised Parquet file whose bytes depend
only on the table's content, so the sha256 of the file can serve as the content hash
of a dataset version.

>>> import pandas as pd
>>> table = read_table(pd.DataFrame({"age": [31, 45], "region": ["north", None]}))
>>> table.schema.names, table.num_rows
(['age', 'region'], 2)
>>> str(table.schema.field("region").type)
'string'
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from rasad.errors import InputError
from rasad.limits import MAX_COLUMNS_ENV, max_columns

if TYPE_CHECKING:
    import pandas as pd

# pandas is imported only for a DataFrame source: reading a file needs Arrow alone, so a
# file read can start (and run in Arrow's threads) while the caller still imports pandas.

CSV_SUFFIXES: Final[tuple[str, ...]] = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES: Final[tuple[str, ...]] = (".parquet", ".pq")
ALLOWED_SUFFIXES: Final[tuple[str, ...]] = CSV_SUFFIXES + PARQUET_SUFFIXES

SUPPORTED_TYPES: Final[str] = (
    "boolean, integer, floating point, decimal, string, date and timestamp"
)
"""Human-readable list of the column types rasad reads, used in error messages."""

# Block size for the CSV reader: large blocks parse faster and give type inference
# more rows to look at; 16 MiB keeps the per-thread working set small.
_CSV_BLOCK_SIZE: Final[int] = 1 << 24
# Parquet layout fixed once, so that equal tables give byte-identical files.
_ROW_GROUP_SIZE: Final[int] = 1 << 17
_ZSTD_LEVEL: Final[int] = 3
_DATA_PAGE_SIZE: Final[int] = 1 << 20

_PARSE_ROW = re.compile(r"Row #(\d+)")
_PARSE_FIELDS = re.compile(r"Expected (\d+) columns, got (\d+)")


def read_table(source: str | os.PathLike[str] | pd.DataFrame) -> pa.Table:
    """Read a CSV, TSV, Parquet file or a DataFrame into a normalised Arrow table.

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        A path ending in one of :data:`ALLOWED_SUFFIXES`, or a DataFrame (its index is
        dropped).

    Returns
    -------
    pyarrow.Table
        At least one row; unique, non-empty string column names; flat column types.
        Schema metadata (such as pandas metadata) is dropped, dictionary columns are
        decoded, large and view strings become ``string``, decimals ``float64``, half
        floats ``float32``, 64-bit dates ``date32``, times of day ``string``, and
        second or millisecond timestamps microsecond ones (so the Parquet copy reads
        back with the same types). In CSV files empty cells and the usual markers (``NA``, ``null``,
        ``NaN``...) are missing values, in text columns too.

    Raises
    ------
    InputError
        If the table has more columns than the limit (10,000, or ``RASAD_MAX_COLUMNS``;
        checked on the CSV header or the Parquet schema before any data is parsed),
        if the file is missing, empty, has no data rows, an unknown suffix, duplicate
        or empty column names, a row with the wrong number of fields, a column of an
        unsupported type, or (for a DataFrame) non-string column names or a column of
        mixed Python types.

    Examples
    --------
    >>> import pandas as pd
    >>> read_table(pd.DataFrame({"x": [1.5, None]})).column("x").to_pylist()
    [1.5, None]
    >>> read_table("loans.xlsx")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Cannot read 'loans.xlsx': unknown file type;
    use one of .csv, .csv.gz, .tsv, .tsv.gz, .parquet, .pq.
    """
    if not isinstance(source, (str, os.PathLike)):
        import pandas as pd

        if isinstance(source, pd.DataFrame):
            return _read_frame(source)
        raise InputError(
            f"Cannot read a {type(source).__name__}: pass a file path or a pandas DataFrame."
        )
    path = Path(source)
    suffix = _suffix(path)
    if suffix is None:
        raise InputError(
            f"Cannot read '{path}': unknown file type; use one of {', '.join(ALLOWED_SUFFIXES)}."
        )
    if not path.is_file():
        raise InputError(f"Cannot read '{path}': no such file; check the path.")
    if path.stat().st_size == 0:
        raise InputError(
            f"Cannot read '{path}': the file is empty; it needs a header and at least one row."
        )
    if suffix in PARQUET_SUFFIXES:
        table = _read_parquet(path)
    else:
        table = _read_csv(path, delimiter="\t" if suffix.startswith(".tsv") else ",")
    return _finish(table, f"'{path}'")


def write_parquet(table: pa.Table, path: str | os.PathLike[str]) -> None:
    """Write ``table`` as a normalised, deterministic Parquet file.

    The same table content always gives byte-identical files, however the table is
    chunked in memory: schema metadata is dropped, types are normalised as in
    :func:`read_table`, compression is zstd at a fixed level and the row-group and
    page layout is fixed. The bytes also record the writing library ("created by
    parquet-cpp-arrow version ..."), so they are stable for a given pyarrow version.
    The file is written to a temporary name next to ``path`` and moved into place.

    Parameters
    ----------
    table : pyarrow.Table
        The table to write, typically the result of :func:`read_table`.
    path : str or os.PathLike
        Destination file; its folder must exist.

    Raises
    ------
    InputError
        If a column has a type outside :data:`SUPPORTED_TYPES`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pyarrow as pa
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> table = pa.table({"x": [1, 2, 3]})
    >>> write_parquet(table, folder / "a.parquet")
    >>> write_parquet(pa.concat_tables([table.slice(0, 1), table.slice(1)]), folder / "b.parquet")
    >>> (folder / "a.parquet").read_bytes() == (folder / "b.parquet").read_bytes()
    True
    """
    table = _normalise(table, "Cannot write the table")
    destination = Path(path)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent
    )
    try:
        with os.fdopen(handle, "wb") as sink:
            _write_normalised(table, sink)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_normalised(table: pa.Table, sink: io.BufferedIOBase) -> None:
    # Feeding the writer one contiguous array per column and row group makes the page
    # boundaries independent of how the caller's table happens to be chunked.
    with pq.ParquetWriter(
        sink,
        table.schema,
        compression="zstd",
        compression_level=_ZSTD_LEVEL,
        version="2.6",
        data_page_version="1.0",
        data_page_size=_DATA_PAGE_SIZE,
        use_dictionary=True,
        write_statistics=True,
        store_schema=True,
    ) as writer:
        for offset in range(0, table.num_rows, _ROW_GROUP_SIZE):
            chunk = table.slice(offset, _ROW_GROUP_SIZE).combine_chunks()
            writer.write_table(chunk, row_group_size=_ROW_GROUP_SIZE)


def _suffix(path: Path) -> str | None:
    name = path.name.lower()
    return next((suffix for suffix in ALLOWED_SUFFIXES if name.endswith(suffix)), None)


# --- CSV -------------------------------------------------------------------------------


def _read_csv(path: Path, delimiter: str) -> pa.Table:
    header = _read_header(path, delimiter)
    _check_width(len(header), f"'{path}'")
    _check_names(header, f"'{path}'", "rename the columns in the header row")
    parse = pa_csv.ParseOptions(delimiter=delimiter)
    sample = _sample_types(path, parse)
    # Fixing the column types from a first block lets Arrow convert each block as it
    # is parsed. With inference left on, it keeps every raw block until the end, which
    # doubles peak memory. Columns that are all missing in the sample are read as
    # text and typed afterwards; a later value that does not fit its sampled type
    # triggers a full read with inference.
    sparse = [name for name, kind in sample.items() if pa.types.is_null(kind)]
    fixed = {name: (pa.string() if name in sparse else kind) for name, kind in sample.items()}
    try:
        table = _csv(path, parse, column_types=fixed)
    except pa.ArrowInvalid as error:
        if "conversion error" not in str(error):
            raise _parse_error(path, parse, error) from None
        try:
            return _csv(path, parse, column_types=None)
        except pa.ArrowInvalid as retry_error:
            raise _parse_error(path, parse, retry_error) from None
    for name in sparse:
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, _retype_text(table.column(index)))
    return table


def _csv(
    path: Path,
    parse: pa_csv.ParseOptions,
    column_types: dict[str, pa.DataType] | None,
    use_threads: bool = True,
) -> pa.Table:
    return pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(use_threads=use_threads, block_size=_CSV_BLOCK_SIZE),
        parse_options=parse,
        convert_options=pa_csv.ConvertOptions(
            strings_can_be_null=True, column_types=column_types
        ),
    )


def _sample_types(path: Path, parse: pa_csv.ParseOptions) -> dict[str, pa.DataType]:
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(use_threads=False, block_size=_CSV_BLOCK_SIZE),
            parse_options=parse,
            convert_options=pa_csv.ConvertOptions(strings_can_be_null=True),
        )
    except pa.ArrowInvalid as error:
        raise _parse_error(path, parse, error) from None
    try:
        return {field.name: field.type for field in reader.schema}
    finally:
        reader.close()


def _retype_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Type a column that was read as text, trying what Arrow's CSV inference tries."""
    if column.null_count == len(column):
        return pa.nulls(len(column), pa.null())  # type: ignore[no-any-return]
    candidates = (
        pa.int64(),
        pa.float64(),
        pa.bool_(),
        pa.date32(),
        pa.timestamp("s"),
        pa.timestamp("ns"),
        pa.timestamp("s", "UTC"),
        pa.timestamp("ns", "UTC"),
    )
    for candidate in candidates:
        try:
            return column.cast(candidate)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return column


def _read_header(path: Path, delimiter: str) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    # Read whole lines as bytes until the quotes balance, so that a bad byte further
    # down the file does not break the header check (Arrow reports those per column).
    lines: list[bytes] = []
    quotes = 0
    try:
        with opener(path, "rb") as handle:
            for line in handle:
                lines.append(line)
                quotes += line.count(b'"')
                if quotes % 2 == 0:
                    break
        raw = b"".join(lines)
    except (OSError, EOFError) as error:
        raise InputError(f"Cannot read '{path}': {error}; check that the file is intact.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            f"Cannot read '{path}': the header row is not valid UTF-8; save the file as UTF-8."
        ) from None
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)
    except csv.Error as error:
        raise InputError(
            f"Cannot read '{path}': the header row cannot be parsed ({error}); fix the header."
        ) from None
    if not header:
        raise InputError(
            f"Cannot read '{path}': the file has no header row; "
            "add a header and at least one row."
        )
    return header


def _parse_error(path: Path, parse: pa_csv.ParseOptions, error: pa.ArrowInvalid) -> InputError:
    message = str(error)
    if "Empty CSV file" in message:
        return InputError(
            f"Cannot read '{path}': the file has no header row; add a header and at least one row."
        )
    row = _PARSE_ROW.search(message)
    if row is None:
        # The multithreaded reader does not know row numbers; a single-threaded read
        # stops at the same bad row and reports it. Only the error path pays for it.
        try:
            _csv(path, parse, column_types=None, use_threads=False)
        except pa.ArrowInvalid as serial_error:
            message = str(serial_error)
            row = _PARSE_ROW.search(message)
    fields = _PARSE_FIELDS.search(message)
    where = f"line {row.group(1)}" if row else "a row"
    if fields:
        problem = f"{where} has {fields.group(2)} fields but the header has {fields.group(1)}"
    else:
        problem = f"{where} cannot be parsed ({message.splitlines()[0]})"
    return InputError(
        f"Cannot read '{path}': {problem}; fix or remove that row "
        "(quote values that contain the delimiter)."
    )


# --- Parquet ---------------------------------------------------------------------------


def _read_parquet(path: Path) -> pa.Table:
    try:
        # The schema (in the footer) says how wide the table is before any column is read.
        _check_width(len(pq.read_schema(path).names), f"'{path}'")
        # ParquetFile reads the row groups in Arrow's threads like pq.read_table, without
        # pyarrow.dataset, whose import also imports pandas.
        with pq.ParquetFile(path) as parquet:
            return parquet.read(use_threads=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(
            f"Cannot read '{path}': not a valid Parquet file ({first}); "
            "check the file or export it again."
        ) from None


# --- DataFrame -------------------------------------------------------------------------


def _read_frame(frame: pd.DataFrame) -> pa.Table:
    _check_width(len(frame.columns), "the DataFrame")
    names = list(frame.columns)
    not_text = [name for name in names if not isinstance(name, str)]
    if not_text:
        shown = ", ".join(repr(name) for name in not_text[:5])
        raise InputError(
            f"Cannot read the DataFrame: column names must be strings, got {shown}; "
            "rename them, e.g. frame.columns = frame.columns.astype(str)."
        )
    _check_names(names, "the DataFrame", "rename the columns")
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        raise _frame_type_error(frame) from None
    return _finish(table, "the DataFrame")


def _frame_type_error(frame: pd.DataFrame) -> InputError:
    for name in frame.columns:
        column = frame[name]
        try:
            pa.array(column, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            kinds = sorted({type(value).__name__ for value in column.dropna()})
            return InputError(
                f"Cannot read the DataFrame: column '{name}' holds values of mixed types "
                f"({', '.join(kinds)}); convert it to one of {SUPPORTED_TYPES}, "
                f"e.g. frame['{name}'].astype(str)."
            )
    return InputError(
        "Cannot read the DataFrame: pyarrow cannot convert it; "
        f"convert its columns to {SUPPORTED_TYPES}."
    )


# --- shared checks ---------------------------------------------------------------------


def _check_width(columns: int, where: str) -> None:
    limit = max_columns()
    if columns > limit:
        raise InputError(
            f"Cannot read {where}: it has {columns:,} columns, more than the limit of "
            f"{limit:,}; keep only the columns you need, or raise {MAX_COLUMNS_ENV}."
        )


def _check_names(names: Iterable[str], where: str, fix: str) -> None:
    names = list(names)
    if not names:
        raise InputError(f"Cannot read {where}: it has no columns; add at least one column.")
    empty = [position + 1 for position, name in enumerate(names) if not name.strip()]
    if empty:
        positions = ", ".join(str(position) for position in empty)
        raise InputError(
            f"Cannot read {where}: column {positions} has an empty name; {fix} "
            "so that every column has a name."
        )
    duplicates = [name for name, count in Counter(names).items() if count > 1]
    if duplicates:
        shown = ", ".join(f"'{name}'" for name in duplicates)
        raise InputError(
            f"Cannot read {where}: duplicate column names {shown}; {fix} so that each is unique."
        )


def _finish(table: pa.Table, where: str) -> pa.Table:
    _check_names(table.schema.names, where, "rename the columns")
    if table.num_rows == 0:
        raise InputError(
            f"Cannot read {where}: it has column names but no data rows; add at least one row."
        )
    return _normalise(table, f"Cannot read {where}")


def _normalise(table: pa.Table, context: str) -> pa.Table:
    fields = []
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        target = _target_type(field.type)
        if target is None:
            raise InputError(_unsupported(context, field))
        if target != field.type:
            column = column.cast(target)
        fields.append(pa.field(field.name, target))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _target_type(kind: pa.DataType) -> pa.DataType | None:
    """The normalised type for ``kind``, or None when rasad does not read it."""
    types = pa.types
    if types.is_dictionary(kind):
        return _target_type(kind.value_type)
    if types.is_large_string(kind) or types.is_string_view(kind):
        return pa.string()
    if types.is_decimal(kind):
        return pa.float64()
    if types.is_float16(kind):
        return pa.float32()
    if types.is_date64(kind):
        return pa.date32()
    if types.is_time(kind):
        # Times of day ("10:30:00") carry no date; rasad keeps them as text.
        return pa.string()
    if types.is_timestamp(kind) and kind.unit in ("s", "ms"):
        # Parquet has no second unit; microseconds store and read back unchanged.
        return pa.timestamp("us", kind.tz)
    if (
        types.is_null(kind)
        or types.is_boolean(kind)
        or types.is_integer(kind)
        or types.is_floating(kind)
        or types.is_string(kind)
        or types.is_date(kind)
        or types.is_timestamp(kind)
    ):
        return kind
    return None


def _unsupported(context: str, field: pa.Field) -> str:
    kind = field.type
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        fix = "if it is text, save the file as UTF-8"
    elif pa.types.is_nested(kind):
        fix = "flatten it into separate columns or serialise it to a string column"
    else:
        fix = "convert it to one of these types"
    return (
        f"{context}: column '{field.name}' has type {kind}, "
        f"which rasad does not read ({SUPPORTED_TYPES} are supported); {fix}."
    )
