"""Profiles: per-column summary statistics of a dataset version.

:func:`profile_table` summarises every column of an Arrow table according to its
:class:`~rasad.tables.kinds.ColumnKind`, with Arrow compute kernels run in parallel
(no conversion to pandas). The result is an immutable :class:`TableProfile` that
renders to JSON and reads back equal.

Conventions: missing values are nulls plus, in floating-point columns, NaN.
Infinite values (``inf``, ``-inf``) are present but counted apart, in ``infinite``:
the statistics of a numeric column are computed over its finite values, so one
``inf`` does not wipe out its range, mean and quantiles. ``std`` is the sample
standard deviation (``ddof=1``, as pandas); quantiles interpolate linearly (as
numpy's default). Statistics that do not exist (no finite values, one value for
``std``) are ``None``, so the JSON never holds NaN or infinity.

>>> import pyarrow as pa
>>> from rasad.tables.kinds import ColumnKind
>>> table = pa.table({"age": [30, 40, None, 50], "region": ["north", "south", "north", None]})
>>> profile = profile_table(table, {"age": ColumnKind.NUMERIC, "region": ColumnKind.CATEGORICAL})
>>> age = profile.column("age")
>>> age.count, age.missing, age.mean, age.quantiles["0.5"]
(3, 1, 40.0, 40.0)
>>> ratio = profile_table(pa.table({"ratio": [0.5, float("inf"), 1.5, None]}),
...                       {"ratio": ColumnKind.NUMERIC}).column("ratio")
>>> ratio.count, ratio.missing, ratio.infinite, ratio.infinite_share, ratio.max
(3, 1, 1, 0.25, 1.5)
>>> profile.column("region").top
(('north', 2), ('south', 1))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, Self, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from rasad.errors import InputError, NotFoundError
from rasad.results import Result
from rasad.tables.kinds import ColumnKind, as_timestamps, category_label, check_kinds

QUANTILES: Final[tuple[float, ...]] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
"""The quantiles a numeric profile reports, keyed by ``str(q)`` (``"0.5"``)."""
TOP_CATEGORIES: Final[int] = 20
"""Most values listed in :attr:`ColumnProfile.top`."""

_VALUE_KINDS: Final[frozenset[ColumnKind]] = frozenset(
    {ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.IDENTIFIER, ColumnKind.TEXT}
)
#: Kinds whose values are never copied into a profile: an identifier or a free-text
#: field can hold a national ID, a name or an address.
_PRIVATE_KINDS: Final[frozenset[ColumnKind]] = frozenset(
    {ColumnKind.IDENTIFIER, ColumnKind.TEXT}
)
_R = TypeVar("_R", bound=Result)


class ColumnProfile(Result):
    """Summary statistics of one column.

    Parameters
    ----------
    name : str
        Column name.
    kind : ColumnKind
        How the column was profiled.
    dtype : str
        Arrow type, e.g. ``"int64"``, ``"string"``, ``"timestamp[s]"``.
    count : int
        Present (non-missing) values.
    missing : int
        Missing values: nulls, and NaN in floating-point columns.
    missing_share : float
        ``missing`` divided by the number of rows (0.0 for an empty table).
    n_unique : int
        Distinct present values.
    infinite : int
        Present values that are ``inf`` or ``-inf`` (floating-point columns only);
        left out of every statistic below. Profiles stored before this count existed
        read back with 0.
    infinite_share : float
        ``infinite`` divided by the number of rows (0.0 for an empty table).
    min, max : float or str or None
        Numeric: smallest and largest finite value. Datetime: earliest and latest as ISO 8601
        text. Otherwise None.
    mean, std : float or None
        Numeric only: mean and sample standard deviation.
    quantiles : mapping of str to float or None, or None
        Numeric only: ``{"0.01": ..., "0.5": ..., "0.99": ...}`` for :data:`QUANTILES`.
    top : tuple of (str, int) pairs, or None
        Categorical, boolean, identifier and text: the most frequent values (labels as
        given by :func:`~rasad.tables.kinds.category_label`) with their counts, at most
        :data:`TOP_CATEGORIES`, by count descending then value ascending.

    Examples
    --------
    >>> column = ColumnProfile(name="flag", kind=ColumnKind.BOOLEAN, dtype="bool", count=3,
    ...     missing=0, missing_share=0.0, n_unique=2, top=(("True", 2), ("False", 1)))
    >>> ColumnProfile.from_dict(column.to_dict()) == column
    True
    """

    name: str
    kind: ColumnKind
    dtype: str
    count: int
    missing: int
    missing_share: float
    infinite: int = 0
    infinite_share: float = 0.0
    n_unique: int
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, float | None] | None = None
    top: tuple[tuple[str, int], ...] | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Rebuild a profile from its JSON form (:meth:`to_dict`).

        Profiles stored before ``infinite`` was counted (no such key) read back with 0.

        Raises
        ------
        InputError
            If a key is missing or a value has the wrong type (the kind is unknown, say).
        """
        return _validated(cls, data, "column")


class TableProfile(Result):
    """Summary statistics of a table: its size and one profile per column, in order.

    Examples
    --------
    >>> import json
    >>> import pyarrow as pa
    >>> from rasad.tables.kinds import ColumnKind
    >>> profile = profile_table(pa.table({"x": [1.0, 2.0]}), {"x": ColumnKind.NUMERIC})
    >>> profile.rows, profile.n_columns, profile.column("x").std
    (2, 1, 0.7071067811865476)
    >>> TableProfile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile
    True
    """

    rows: int
    columns: tuple[ColumnProfile, ...]

    @property
    def n_columns(self) -> int:
        """Number of columns."""
        return len(self.columns)

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``.

        Raises
        ------
        NotFoundError
            If there is no such column; the message lists the columns.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise NotFoundError(
            f"The profile has no column {name!r}; columns are "
            f"{', '.join(repr(c.name) for c in self.columns)}."
        )

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Rebuild a profile from its JSON form (:meth:`to_dict`).

        Raises
        ------
        InputError
            If the data is malformed.
        """
        return _validated(cls, data, "table")


def _validated(cls: type[_R], data: Any, what: str) -> _R:
    try:
        return cls.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise InputError(f"Stored {what} profile is malformed ({where}: {first['msg']}); "
                         "profile the dataset again.") from None


def profile_table(table: pa.Table, kinds: Mapping[str, ColumnKind]) -> TableProfile:
    """Profile every column of ``table`` according to its kind.

    Parameters
    ----------
    table : pyarrow.Table
        The data, typically from :func:`rasad.datasets.read_table`.
    kinds : mapping of str to ColumnKind
        A kind for every column, typically from :func:`rasad.datasets.infer_kinds`.

    Returns
    -------
    TableProfile
        Column profiles in table order.

    Raises
    ------
    InputError
        If ``kinds`` does not match the columns, a numeric column holds neither numbers
        nor booleans, or a datetime column holds text that is not ISO 8601.

    Examples
    --------
    >>> import pyarrow as pa
    >>> table = pa.table({"opened": ["2024-03-01", "2024-01-05", None]})
    >>> column = profile_table(table, {"opened": ColumnKind.DATETIME}).column("opened")
    >>> column.min, column.max, column.missing_share
    ('2024-01-05T00:00:00', '2024-03-01T00:00:00', 0.3333333333333333)
    """
    check_kinds(table, kinds)
    rows = table.num_rows

    def one(name: str) -> ColumnProfile:
        return _profile_column(name, table.column(name), kinds[name], rows)

    # Arrow kernels release the GIL, so columns are profiled in parallel.
    with ThreadPoolExecutor(max_workers=max(1, pa.cpu_count())) as pool:
        columns = tuple(pool.map(one, table.schema.names))
    return TableProfile(rows=rows, columns=columns)


def _profile_column(
    name: str, column: pa.ChunkedArray, kind: ColumnKind, rows: int
) -> ColumnProfile:
    dtype = str(column.type)
    if kind is ColumnKind.DATETIME:
        column = as_timestamps(column, name)
    values = _present(column)
    count = len(values)
    missing = rows - count
    base: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "dtype": dtype,
        "count": count,
        "missing": missing,
        "missing_share": missing / rows if rows else 0.0,
        "n_unique": 0,
    }
    if kind in _VALUE_KINDS and kind not in _PRIVATE_KINDS:
        n_unique, top = _top(values)
        return ColumnProfile(**base | {"n_unique": n_unique}, top=top)
    # len(unique) is faster than pc.count_distinct on high-cardinality columns.
    base["n_unique"] = len(pc.unique(values)) if count else 0
    if kind is ColumnKind.NUMERIC:
        stats = _numeric(name, values)
        infinite = stats.pop("infinite", 0)
        base |= {"infinite": infinite, "infinite_share": infinite / rows if rows else 0.0}
        return ColumnProfile(**base, **stats)
    if kind is ColumnKind.DATETIME:
        return ColumnProfile(**base, **_datetime(values))
    if kind in _PRIVATE_KINDS:
        return ColumnProfile(**base)
    raise InputError(f"Column '{name}' has kind {kind!r}, which rasad cannot profile.")


def _present(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The column without nulls and, for floats, without NaN."""
    if pa.types.is_floating(column.type):
        nan = pc.is_nan(column)
        if pc.any(nan).as_py():
            column = column.filter(pc.invert(nan))
    if column.null_count:
        column = column.drop_null()
    return column


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _numeric(name: str, values: pa.ChunkedArray) -> dict[str, Any]:
    kind = values.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
            or pa.types.is_boolean(kind) or pa.types.is_null(kind)):
        raise InputError(
            f"Column '{name}' has type {kind} but kind numeric; numeric columns must hold "
            "numbers. Convert the column or give it another kind."
        )
    if len(values) == 0:
        return {}
    # float64 throughout: integer sums cannot overflow, and every statistic has one type.
    numbers = values.cast(pa.float64())
    extremes = pc.min_max(numbers)
    infinite = 0
    if not (math.isfinite(extremes["min"].as_py()) and math.isfinite(extremes["max"].as_py())):
        # Only then is a column scanned for inf: finite extremes rule it out for free.
        mask = pc.is_inf(numbers)
        infinite = pc.sum(mask).as_py()
        numbers = numbers.filter(pc.invert(mask))
        if len(numbers) == 0:
            return {"infinite": infinite}
        extremes = pc.min_max(numbers)
    quantiles = pc.quantile(numbers, q=list(QUANTILES), interpolation="linear").to_pylist()
    return {
        "infinite": infinite,
        "min": _number(extremes["min"].as_py()),
        "max": _number(extremes["max"].as_py()),
        "mean": _number(pc.mean(numbers).as_py()),
        "std": _number(pc.stddev(numbers, ddof=1).as_py()),
        "quantiles": {str(q): _number(v) for q, v in zip(QUANTILES, quantiles, strict=True)},
    }


def _datetime(values: pa.ChunkedArray) -> dict[str, Any]:
    if len(values) == 0 or pa.types.is_null(values.type):
        return {}
    extremes = pc.min_max(values)
    return {
        "min": extremes["min"].as_py().isoformat(),
        "max": extremes["max"].as_py().isoformat(),
    }


def _top(values: pa.ChunkedArray) -> tuple[int, tuple[tuple[str, int], ...]]:
    """The number of distinct values, and the most frequent ones.

    Ordered by count descending then value ascending.
    """
    if len(values) == 0 or pa.types.is_null(values.type):
        return 0, ()
    counted = pc.value_counts(values)
    n_unique = len(counted)
    uniques = counted.field("values")
    counts = counted.field("counts")
    if len(counted) > TOP_CATEGORIES:
        # Keep the values counted more often than the k-th largest count, then fill up
        # with the smallest values among those tied at it: exact and deterministic
        # without sorting every distinct value (an identifier has millions).
        threshold = pc.min(counts.take(pc.top_k_unstable(counts, TOP_CATEGORIES))).as_py()
        above = pc.greater(counts, threshold)
        tied = uniques.filter(pc.equal(counts, threshold))
        needed = TOP_CATEGORIES - pc.sum(above).as_py()
        keep_values = pa.concat_arrays(
            [uniques.filter(above), tied.take(pc.bottom_k_unstable(tied, needed))]
        )
        keep_counts = pa.concat_arrays(
            [counts.filter(above), pa.array([threshold] * needed, pa.int64())]
        )
        uniques, counts = keep_values, keep_counts
    order = pc.sort_indices(
        pa.table({"value": uniques, "count": counts}),
        sort_keys=[("count", "descending"), ("value", "ascending")],
    )
    pairs = zip(uniques.take(order).to_pylist(), counts.take(order).to_pylist(), strict=True)
    return n_unique, tuple((category_label(value), count) for value, count in pairs)
