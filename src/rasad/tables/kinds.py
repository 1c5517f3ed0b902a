"""Column kinds: what a column means for modelling, inferred from its values.

A column's Arrow type says how it is stored; its :class:`ColumnKind` says how rasad
treats it: which statistics the profile computes, whether a model signature records its
categories, which drift test applies. :func:`infer_kinds` decides the kind of every
column by an explicit, documented :class:`KindPolicy`; callers override it by declaring
identifier and time columns.

>>> import pyarrow as pa
>>> table = pa.table({
...     "customer_id": [101, 102, 103],
...     "income": [4200.0, 3100.5, 5000.0],
...     "region": ["north", "south", "north"],
...     "defaulted": [False, True, False],
...     "opened": ["2024-01-05", "2024-02-11", "2024-03-20"],
... })
>>> kinds = infer_kinds(table, time_columns=["opened"])
>>> {name: str(kind) for name, kind in kinds.items()}  # doctest: +NORMALIZE_WHITESPACE
{'customer_id': 'identifier', 'income': 'numeric', 'region': 'categorical',
 'defaulted': 'boolean', 'opened': 'datetime'}
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rasad.errors import InputError
from rasad.tables.column_kind import ColumnKind


@dataclass(frozen=True)
class KindPolicy:
    """Thresholds :func:`infer_kinds` applies to integer and text columns.

    Booleans are always ``BOOLEAN``, dates and timestamps ``DATETIME``, floats and
    decimals ``NUMERIC``. An integer column is ``IDENTIFIER`` when its values are
    unique and its name matches ``id_name_pattern``, otherwise ``NUMERIC``. For a
    text column with ``n`` non-missing values, ``u`` of them distinct, the rules apply
    in this order:

    1. ``TEXT`` when at least ``text_min_whitespace_share`` of the values contain
       whitespace, their mean length is at least ``text_min_mean_length`` characters,
       and ``u / n >= text_min_unique_share`` or ``u > max_categories``;
    2. ``IDENTIFIER`` when no value contains whitespace and either all values are
       unique and the name matches ``id_name_pattern``, or ``n >=
       identifier_min_count`` and ``u / n >= identifier_min_unique_share``;
    3. ``u > max_categories``: ``TEXT`` if at least ``text_min_whitespace_share`` of
       the values contain whitespace, else ``IDENTIFIER`` (too many values to list
       as categories in a model signature);
    4. otherwise ``CATEGORICAL``.

    A column with no values at all is ``CATEGORICAL``.

    Parameters
    ----------
    max_categories : int
        Most distinct values a categorical column may have.
    identifier_min_unique_share : float
        Least share of distinct values for a text column to be an identifier.
    identifier_min_count : int
        Least number of values for the unique-share rule to apply; below it, a text
        column is an identifier only if its name says so.
    text_min_mean_length : float
        Least mean length, in characters, of free text.
    text_min_whitespace_share : float
        Least share of values containing whitespace for free text.
    text_min_unique_share : float
        Least share of distinct values for free text with few distinct values.
    id_name_pattern : str
        Regular expression (searched, case-insensitive) for names that look like
        identifiers: ``id``, ``customer_id``, ``userId``, ``key``, ``uuid``...

    Raises
    ------
    InputError
        If a share is outside [0, 1], a count or length is negative, or the pattern
        is not a valid regular expression.

    Examples
    --------
    >>> KindPolicy().max_categories
    1000
    >>> KindPolicy(identifier_min_unique_share=1.5)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: KindPolicy identifier_min_unique_share=1.5 is not a share;
    use a number between 0 and 1.
    """

    max_categories: int = 1000
    identifier_min_unique_share: float = 0.95
    identifier_min_count: int = 50
    text_min_mean_length: float = 20.0
    text_min_whitespace_share: float = 0.5
    text_min_unique_share: float = 0.5
    id_name_pattern: str = r"(id|key|uuid|guid)$"

    def __post_init__(self) -> None:
        for name in (
            "identifier_min_unique_share",
            "text_min_whitespace_share",
            "text_min_unique_share",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(
                    f"KindPolicy {name}={value!r} is not a share; use a number between 0 and 1."
                )
        for name in ("max_categories", "identifier_min_count", "text_min_mean_length"):
            value = getattr(self, name)
            if value < 0:
                raise InputError(f"KindPolicy {name}={value!r} is negative; use 0 or more.")
        try:
            re.compile(self.id_name_pattern)
        except re.error as error:
            raise InputError(
                f"KindPolicy id_name_pattern={self.id_name_pattern!r} is not a valid "
                f"regular expression ({error}); fix the pattern."
            ) from None

    def looks_like_id(self, name: str) -> bool:
        """Whether ``name`` matches :attr:`id_name_pattern`.

        Examples
        --------
        >>> policy = KindPolicy()
        >>> [policy.looks_like_id(name) for name in ("customer_id", "userId", "key", "age")]
        [True, True, True, False]
        """
        return re.search(self.id_name_pattern, name, flags=re.IGNORECASE) is not None

    def to_dict(self) -> dict[str, Any]:
        """The policy as a JSON-ready dict.

        Examples
        --------
        >>> KindPolicy().to_dict()["text_min_mean_length"]
        20.0
        """
        return asdict(self)


DEFAULT_POLICY: Final[KindPolicy] = KindPolicy()


def infer_kinds(
    table: pa.Table,
    id_columns: Iterable[str] = (),
    time_columns: Iterable[str] = (),
    policy: KindPolicy = DEFAULT_POLICY,
) -> dict[str, ColumnKind]:
    """Infer the :class:`ColumnKind` of every column of ``table``.

    Parameters
    ----------
    table : pyarrow.Table
        Typically the result of :func:`rasad.datasets.read_table`.
    id_columns : iterable of str
        Columns that are identifiers whatever their values.
    time_columns : iterable of str
        Columns that are date or time, whatever their type; text must parse as ISO 8601
        (``2024-01-05``, ``2024-01-05 10:00:00``, ``2024-01-05T10:00:00Z``).
    policy : KindPolicy
        The thresholds; see :class:`KindPolicy` for the rules.

    Returns
    -------
    dict of str to ColumnKind
        One entry per column, in table order.

    Raises
    ------
    InputError
        If a declared column is not in the table or declared both ways, or a declared
        time column cannot be read as dates.

    Examples
    --------
    >>> import pyarrow as pa
    >>> table = pa.table({"ref": ["A1", "B2"], "note": ["paid in full, thank you", "late"]})
    >>> {name: str(kind) for name, kind in infer_kinds(table, id_columns=["ref"]).items()}
    {'ref': 'identifier', 'note': 'categorical'}
    """
    ids = list(id_columns)
    times = list(time_columns)
    names = table.schema.names
    unknown = [name for name in (*ids, *times) if name not in names]
    if unknown:
        raise InputError(
            f"Declared column(s) {', '.join(repr(n) for n in unknown)} are not in the table; "
            f"columns are {', '.join(repr(n) for n in names)}."
        )
    both = sorted(set(ids) & set(times))
    if both:
        raise InputError(
            f"Column(s) {', '.join(repr(n) for n in both)} are declared both as identifier and "
            "as time column; declare each column once."
        )

    def one(name: str) -> ColumnKind:
        if name in ids:
            return ColumnKind.IDENTIFIER
        column = table.column(name)
        if name in times:
            as_timestamps(column, name)
            return ColumnKind.DATETIME
        return _infer_one(name, column, policy)

    # Arrow kernels release the GIL, so columns are inferred in parallel.
    with ThreadPoolExecutor(max_workers=max(1, pa.cpu_count())) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


def _infer_one(name: str, column: pa.ChunkedArray, policy: KindPolicy) -> ColumnKind:
    kind = column.type
    if pa.types.is_boolean(kind):
        return ColumnKind.BOOLEAN
    if pa.types.is_temporal(kind):
        return ColumnKind.DATETIME
    if pa.types.is_integer(kind):
        if policy.looks_like_id(name) and _all_unique(column):
            return ColumnKind.IDENTIFIER
        return ColumnKind.NUMERIC
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return ColumnKind.NUMERIC
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _infer_text(name, column, policy)
    return ColumnKind.CATEGORICAL


def _all_unique(column: pa.ChunkedArray) -> bool:
    count = len(column) - column.null_count
    return count > 0 and _n_distinct(column) == count


def _n_distinct(column: pa.ChunkedArray) -> int:
    # Faster than pc.count_distinct on high-cardinality columns; unique() lists null once.
    return len(pc.unique(column)) - (1 if column.null_count else 0)


def _infer_text(name: str, column: pa.ChunkedArray, policy: KindPolicy) -> ColumnKind:
    count = len(column) - column.null_count
    if count == 0:
        return ColumnKind.CATEGORICAL
    distinct = _n_distinct(column)
    unique_share = distinct / count
    mean_length = pc.mean(pc.utf8_length(column)).as_py()
    whitespace: float | None = None

    def whitespace_share() -> float:
        nonlocal whitespace
        if whitespace is None:
            hits = pc.sum(pc.match_substring_regex(column, r"\s")).as_py() or 0
            whitespace = hits / count
        return whitespace

    text_like = mean_length >= policy.text_min_mean_length and (
        unique_share >= policy.text_min_unique_share or distinct > policy.max_categories
    )
    if text_like and whitespace_share() >= policy.text_min_whitespace_share:
        return ColumnKind.TEXT
    id_like = (distinct == count and policy.looks_like_id(name)) or (
        count >= policy.identifier_min_count and unique_share >= policy.identifier_min_unique_share
    )
    if id_like and whitespace_share() == 0.0:
        return ColumnKind.IDENTIFIER
    if distinct > policy.max_categories:
        if whitespace_share() >= policy.text_min_whitespace_share:
            return ColumnKind.TEXT
        return ColumnKind.IDENTIFIER
    return ColumnKind.CATEGORICAL


_TIMESTAMP_TARGETS: Final[tuple[pa.DataType, ...]] = (
    pa.timestamp("us"),
    pa.timestamp("us", "UTC"),
    pa.timestamp("ns"),
    pa.timestamp("ns", "UTC"),
)
_BAD_VALUE = re.compile(r"Failed to parse string: '(.*?)'")


def as_timestamps(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """Return ``column`` as dates or timestamps, parsing ISO 8601 text.

    Dates, timestamps and all-missing columns are returned unchanged. Text is parsed
    as naive timestamps, or as UTC when values carry a zone offset.

    Parameters
    ----------
    column : pyarrow.ChunkedArray
        The column's values.
    name : str
        The column's name, for the error message.

    Raises
    ------
    InputError
        If the column is neither temporal nor text, or a value does not parse.

    Examples
    --------
    >>> import pyarrow as pa
    >>> as_timestamps(pa.chunked_array([["2024-01-05", None]]), "opened").type
    TimestampType(timestamp[us])
    >>> as_timestamps(pa.chunked_array([["2024-01-05", "soon"]]), "opened")
    ... # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Time column 'opened' has a value that is not an ISO 8601 date
    or time: 'soon'; fix the value or do not declare the column as time.
    """
    kind = column.type
    if pa.types.is_temporal(kind) or pa.types.is_null(kind):
        return column
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise InputError(
            f"Time column '{name}' has type {kind}; a time column must hold dates, timestamps "
            "or ISO 8601 text. Convert it, or do not declare it as time."
        )
    first_error = ""
    for target in _TIMESTAMP_TARGETS:
        try:
            return column.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            first_error = first_error or str(error)
    found = _BAD_VALUE.search(first_error)
    value = repr(found.group(1)) if found else "(unknown)"
    raise InputError(
        f"Time column '{name}' has a value that is not an ISO 8601 date or time: {value}; "
        "fix the value or do not declare the column as time."
    )


def category_label(value: object) -> str:
    """The text rasad uses for a category value, in profiles and model signatures.

    Labels are stable across storage types, so a category learned from one source
    matches the same value read from another: integral floats lose their ``.0``
    (a column of integers with missing values is read as floats), dates use ISO 8601.

    Examples
    --------
    >>> [category_label(v) for v in ("north", 3, 3.0, 2.5, True)]
    ['north', '3', '3', '2.5', 'True']
    >>> import datetime
    >>> category_label(datetime.date(2024, 1, 5))
    '2024-01-05'
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def check_kinds(table: pa.Table, kinds: Mapping[str, ColumnKind]) -> None:
    """Check that ``kinds`` names exactly the columns of ``table``, with valid kinds.

    Raises
    ------
    InputError
        If a column has no kind, a kind names a column the table lacks, or a value
        is not a :class:`ColumnKind`.

    Examples
    --------
    >>> import pyarrow as pa
    >>> check_kinds(pa.table({"a": [1]}), {"a": ColumnKind.NUMERIC, "b": ColumnKind.TEXT})
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Kinds name column(s) 'b' that the table does not have; columns are 'a'.
    """
    names = table.schema.names
    missing = [name for name in names if name not in kinds]
    if missing:
        raise InputError(
            f"No kind given for column(s) {', '.join(repr(n) for n in missing)}; "
            "pass a kind for every column (see infer_kinds)."
        )
    extra = [name for name in kinds if name not in names]
    if extra:
        raise InputError(
            f"Kinds name column(s) {', '.join(repr(n) for n in extra)} that the table does "
            f"not have; columns are {', '.join(repr(n) for n in names)}."
        )
    for name, kind in kinds.items():
        if not isinstance(kind, ColumnKind):
            raise InputError(
                f"Kind {kind!r} of column '{name}' is not a ColumnKind; use one of "
                f"{', '.join(k.value for k in ColumnKind)}."
            )
