"""Schema inference: a :class:`~rasad.validation.TableSchema` learned from reference data.

>>> import pandas as pd
>>> frame = pd.DataFrame({"loan_id": ["L-001", "L-002", "L-003"], "amount": [100.0, 250.0, 400.0],
...     "region": ["north", "south", "north"]})
>>> schema = infer_schema(frame)
>>> [(c.name, str(c.kind), c.dtype) for c in schema.columns]  # doctest: +NORMALIZE_WHITESPACE
[('loan_id', 'identifier', 'string'), ('amount', 'numeric', 'float64'),
 ('region', 'categorical', 'string')]
>>> schema.column("loan_id").format, schema.column("amount").bounds()
('L\\\\-\\\\d{3}', (70.0, 430.0))
>>> schema.column("region").categories
('north', 'south')
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Final

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rasad.tables import ColumnKind, infer_kinds, profile_table, read_table
from rasad.tables.kinds import as_timestamps
from rasad.validation.schema import CheckKind, ColumnSchema, Severity, TableSchema
from rasad.validation.validate import _duplicated_rows

TOLERANCE: Final[float] = 0.1
"""Default widening of each observed range, as a share of its span.

The widening never crosses 0 (a column that was never negative rejects a negative
value) nor, for a column of shares in [0, 1], passes 1: see
:func:`rasad.validation.schema.widen`.
"""
MAX_CATEGORIES: Final[int] = 50
"""Default: most distinct values for a column to get an allowed-categories list."""
MISSING_TOLERANCE: Final[float] = 0.05
"""Default: how much the share of missing values may grow over the reference."""

_RUN = re.compile(r"(9+|A+|a+|[^9Aa]+)")


def infer_schema(
    data: pd.DataFrame | pa.Table | str | os.PathLike[str],
    *,
    id_columns: Iterable[str] = (),
    time_columns: Iterable[str] = (),
    tolerance: float = TOLERANCE,
    max_categories: int = MAX_CATEGORIES,
    missing_tolerance: float = MISSING_TOLERANCE,
    source: str | None = None,
) -> TableSchema:
    """Infer a schema from reference data.

    Per column: the kind (:func:`rasad.datasets.infer_kinds`) and storage type;
    ``nullable`` when the reference has missing values, with ``max_missing_share`` the
    observed share plus ``missing_tolerance``; the observed range of numeric and
    datetime columns with ``tolerance`` (a numeric range never widens across 0, nor
    past 1 for a column of shares: :func:`~rasad.validation.schema.widen`; datetime
    ranges are warnings: new batches are usually later); the allowed categories of
    categorical columns with at most ``max_categories`` values; ``unique`` for
    identifiers whose values are all distinct; a ``format`` for text identifiers when
    all values share one shape (``APP-000001`` gives ``APP\\-\\d{6}``); ``monotonic``
    for time columns that never decrease. Table rules: at least one row, and no more
    duplicate rows than the reference has.

    Parameters
    ----------
    data : pandas.DataFrame, pyarrow.Table, str or os.PathLike
        Reference data, or a CSV, TSV or Parquet path.
    id_columns, time_columns : iterable of str
        Columns declared as identifiers and as dates or times.
    tolerance : float
        Share of the observed span added on each side of a range, up to the walls at
        0 and 1 described in :func:`~rasad.validation.schema.widen`.
    max_categories : int
        Most distinct values for an allowed-categories list.
    missing_tolerance : float
        Allowed growth of the missing share over the reference.
    source : str or None
        Recorded in the schema; defaults to the path when ``data`` is one.

    Returns
    -------
    TableSchema

    Raises
    ------
    InputError
        If the data cannot be read, or a declared column does not exist.
    """
    if isinstance(data, (str, os.PathLike)) and source is None:
        source = f"inferred from {os.fspath(data)}"
    table = data if isinstance(data, pa.Table) else read_table(data)
    kinds = infer_kinds(table, id_columns=id_columns, time_columns=time_columns)
    profile = profile_table(table, kinds)
    columns = []
    for stats in profile.columns:
        column = table.column(stats.name)
        kind = kinds[stats.name]
        dtype = _dtype(column.type, kind)
        nullable = stats.missing > 0
        minimum = maximum = None
        categories = None
        severity: dict[CheckKind, Severity] = {}
        if kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME) and stats.min is not None:
            minimum, maximum = stats.min, stats.max
        if kind is ColumnKind.DATETIME:
            severity = {CheckKind.OUT_OF_RANGE: Severity.WARNING}
        if kind is ColumnKind.CATEGORICAL and 0 < stats.n_unique <= max_categories:
            values = pc.unique(column.drop_null()).to_pylist()
            categories = tuple(sorted(str(v) for v in values))
        unique = kind is ColumnKind.IDENTIFIER and stats.n_unique == stats.count > 0
        pattern = _format(column) if kind is ColumnKind.IDENTIFIER and dtype == "string" else None
        monotonic = kind is ColumnKind.DATETIME and _never_decreases(column, stats.name)
        columns.append(
            ColumnSchema(
                name=stats.name,
                kind=kind,
                dtype=dtype,
                nullable=nullable,
                missing_share=stats.missing_share,
                max_missing_share=(
                    min(1.0, round(stats.missing_share + missing_tolerance, 6))
                    if nullable else None
                ),
                minimum=minimum,
                maximum=maximum,
                tolerance=tolerance if minimum is not None else 0.0,
                categories=categories,
                unique=unique,
                format=pattern,
                monotonic=monotonic,
                severity=severity,
            )
        )
    return TableSchema(
        columns=tuple(columns),
        min_rows=1,
        max_rows=None,
        max_duplicate_share=_duplicate_share(
            data.reset_index(drop=True) if isinstance(data, pd.DataFrame) else table.to_pandas()
        ),
        source=source,
    )


def _dtype(kind: pa.DataType, column_kind: ColumnKind) -> str:
    if column_kind is ColumnKind.DATETIME:
        return "date" if pa.types.is_date(kind) else "datetime64"
    if pa.types.is_boolean(kind):
        return "bool"
    if pa.types.is_integer(kind):
        return "int64"
    if pa.types.is_floating(kind):
        return "float64"
    return "string"


def _format(column: pa.ChunkedArray) -> str | None:
    """One regular expression for all values, from their character shapes, or None."""
    values = pc.unique(column.drop_null())
    if len(values) == 0:
        return None
    shapes = pc.replace_substring_regex(values, r"[0-9]", "9")
    shapes = pc.replace_substring_regex(shapes, r"[A-Z]", "A")
    shapes = pc.replace_substring_regex(shapes, r"[a-z]", "a")
    distinct = pc.unique(shapes).to_pylist()
    if len(distinct) == 1:
        return _regex(distinct[0], exact=True, values=values)
    collapsed = {re.sub(r"(9)9*|(A)A*|(a)a*", r"\1\2\3", shape) for shape in distinct}
    if len(collapsed) == 1:
        return _regex(distinct[0], exact=False, values=None)
    return None


def _regex(shape: str, *, exact: bool, values: pa.Array | None) -> str:
    """The regex of a shape; letter runs that never vary (``APP``) stay literal."""
    parts = []
    start = 0
    for run in _RUN.findall(shape):
        token = {"9": r"\d", "A": "[A-Z]", "a": "[a-z]"}.get(run[0])
        if token is None:
            parts.append(re.escape(run))
        elif values is not None and token != r"\d" and _constant(values, start, len(run)):
            parts.append(re.escape(values[0].as_py()[start:start + len(run)]))
        else:
            parts.append(f"{token}{{{len(run)}}}" if exact else f"{token}+")
        start += len(run)
    return "".join(parts)


def _constant(values: pa.Array, start: int, length: int) -> bool:
    part = pc.utf8_slice_codeunits(values, start, start + length)
    return bool(pc.count_distinct(part).as_py() == 1)


def _never_decreases(column: pa.ChunkedArray, name: str) -> bool:
    values = as_timestamps(column, name).drop_null().combine_chunks()
    if len(values) < 2:
        return False
    return bool(pc.all(pc.greater_equal(values[1:], values[:-1])).as_py())


def _duplicate_share(frame: pd.DataFrame) -> float:
    return round(float(_duplicated_rows(frame).mean()), 6)
