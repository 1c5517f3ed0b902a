"""Reference profiles: what drift needs from the reference, computed once, stored as JSON.

:meth:`ReferenceProfile.from_frame` summarises each reference column: for numbers the
row and missing counts, moments, the reference-quantile bin edges with their counts,
and a *sketch* of the sorted values (``sketch_size`` order statistics at evenly
spaced ranks, or every value when there are no more); for categories every category
with its count. :func:`rasad.drift.compare` accepts the profile in place of the
reference rows.

Accuracy against comparing with the rows themselves (``tests/drift/test_reference.py``
checks these bounds; ``docs/drift.md`` has the measured figures):

- categorical methods, missing-share tests, and numeric PSI and Jensen-Shannon are
  identical: the counts are exact and the bins are the same;
- the numeric sample is the sketch interpolated back to the reference's size, so
  the KS statistic is within ``1 / (sketch_size - 1)`` of the exact one and
  Wasserstein within about 1% on continuous data; Anderson-Darling and
  Cramér-von Mises run on the same interpolated sample.

A numeric sketch holds actual reference values (order statistics); identifier and
free-text columns keep no values at all.

>>> import pandas as pd
>>> profile = ReferenceProfile.from_frame(pd.DataFrame({"x": [1.0, 2.0, 2.0, None]}))
>>> column = profile.column("x")
>>> column.rows, column.missing, column.numeric.sketch
(4, 1, (1.0, 2.0, 2.0))
>>> ReferenceProfile.from_dict(profile.to_dict()) == profile
True
"""

from __future__ import annotations

import json
import os
import types
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError, model_validator

from rasad.drift._columns import (
    Family,
    category_codes,
    count_codes,
    family_of,
    float_values,
    missing_count,
)
from rasad.drift._model import input_error
from rasad.drift.numeric import bin_counts, quantile_edges, quantiles, sorted_finite
from rasad.errors import InputError, NotFoundError
from rasad.results import Result
from rasad.tables.kinds import ColumnKind, infer_kinds

SKETCH_SIZE: Final[int] = 2001
"""Order statistics a numeric sketch keeps by default (ranks 0, n/2000, ..., n - 1)."""

FORMAT: Final = "rasad.drift.reference/1"

TESTED_KINDS: Final[frozenset[ColumnKind]] = frozenset(
    {ColumnKind.NUMERIC, ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN})
"""Kinds whose values drift compares; identifier, text and datetime columns are not."""

NOT_COMPARED: Final[Mapping[ColumnKind, str]] = types.MappingProxyType({
    ColumnKind.IDENTIFIER: "identifier columns are not compared: their values are unique "
                           "by design",
    ColumnKind.TEXT: "free-text columns are not compared value by value",
    ColumnKind.DATETIME: "date and time columns are not compared: time moves on by design; "
                         "chunk the current data by it instead",
})
"""Why a column of each kind outside :data:`TESTED_KINDS` is left out, univariate and
multivariate alike (an identifier or a time column tells the sides apart trivially)."""

TIME_TEXT: Final[str] = (r"^\d{4}-(0[1-9]|1[0-2])"
                         r"(-(0[1-9]|[12]\d|3[01])"
                         r"([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?$")
"""ISO 8601 months (``2025-01``), dates and timestamps written as text.

A text column whose every value matches is a date or time column, not categories:
a ``month`` column labelling each row's period differs between a reference and a
later sample by construction. :func:`resolve_kinds` applies this to the columns it
infers; kinds given to it are kept as given.
"""

if TYPE_CHECKING:
    import pandas as pd

Source: TypeAlias = "pd.DataFrame | pa.Table | str | os.PathLike[str]"
"""What one side of a comparison can be: a DataFrame, an Arrow table, a CSV or Parquet path."""


class NumericSummary(Result):
    """The numbers of a reference column that drift needs.

    ``edges`` are the inner edges of the PSI and Jensen-Shannon bins and
    ``bin_counts`` the reference counts in them; ``sketch`` the order statistics at
    ranks ``round(i * (count - 1) / (len(sketch) - 1))``, or every value, sorted.
    """

    count: int
    mean: float
    std: float
    minimum: float
    median: float
    maximum: float
    edges: tuple[float, ...]
    bin_counts: tuple[int, ...]
    sketch: tuple[float, ...]

    @property
    def exact(self) -> bool:
        """Whether the sketch holds every value."""
        return len(self.sketch) == self.count

    def values(self) -> npt.NDArray[np.float64]:
        """``count`` sorted values: the sketch, interpolated between its ranks."""
        sketch = np.asarray(self.sketch, dtype=np.float64)
        if self.exact:
            return sketch
        ranks = sketch_ranks(self.count, len(sketch))
        return np.interp(np.arange(self.count, dtype=np.float64), ranks, sketch)

    @classmethod
    def of(cls, values: npt.NDArray[np.float64], bins: int, sketch_size: int) -> NumericSummary:
        """Summarise sorted, finite, non-empty ``values``."""
        edges = quantile_edges(values, bins)
        if len(values) <= sketch_size:
            sketch = values
        else:
            sketch = values[sketch_ranks(len(values), sketch_size)]
        return cls(
            count=len(values),
            mean=float(np.mean(values)),
            std=float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            minimum=float(values[0]),
            median=float(quantiles(values, [0.5])[0]),
            maximum=float(values[-1]),
            edges=tuple(edges.tolist()),
            bin_counts=tuple(bin_counts(values, edges).tolist()),
            sketch=tuple(sketch.tolist()),
        )


def sketch_ranks(count: int, size: int) -> npt.NDArray[np.intp]:
    """The ranks a sketch of ``size`` keeps from ``count`` sorted values.

    >>> sketch_ranks(11, 3).tolist()
    [0, 5, 10]
    """
    return np.round(np.linspace(0, count - 1, size)).astype(np.intp)


class ReferenceColumn(Result):
    """One reference column: kind, storage family, counts, and its values' summary.

    ``numeric`` is set for numeric columns with values, ``categories`` (label and
    count, most frequent first) for categorical and boolean ones.
    """

    name: str
    kind: ColumnKind
    family: Family
    rows: int
    missing: int
    numeric: NumericSummary | None = None
    categories: tuple[tuple[str, int], ...] | None = None

    @property
    def count(self) -> int:
        """Present values."""
        return self.rows - self.missing


@dataclass(frozen=True, eq=False)
class Prepared:
    """A reference column ready to compare: its summary and its sorted values.

    ``values`` are the exact sorted values when the rows are at hand, or the
    profile's sketch interpolated back; None for non-numeric columns.
    """

    column: ReferenceColumn
    values: npt.NDArray[np.float64] | None
    exact: bool


class TableReference:
    """The reference as rows: columns are prepared on demand (in the caller's thread)."""

    def __init__(self, table: pa.Table, kinds: Mapping[str, ColumnKind | str] | None,
                 bins: int, sketch_size: int = SKETCH_SIZE) -> None:
        self.table = table
        self.rows = table.num_rows
        self.names: list[str] = table.schema.names
        self.kinds = resolve_kinds(table, kinds)
        self.bins = bins
        self.sketch_size = sketch_size

    def prepare(self, name: str) -> Prepared:
        column = self.table.column(name)
        kind = self.kinds[name]
        family = family_of(column.type)
        base = {"name": name, "kind": kind, "family": family, "rows": self.rows}
        if kind is ColumnKind.NUMERIC and family in (Family.NUMBER, Family.BOOLEAN):
            values = sorted_finite(float_values(column))
            numeric = (NumericSummary.of(values, self.bins, self.sketch_size)
                       if len(values) else None)
            summary = ReferenceColumn(**base, missing=self.rows - len(values), numeric=numeric)
            return Prepared(summary, values, exact=True)
        if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN) and family is not Family.OTHER:
            codes, labels = category_codes(column)
            counts = count_codes(codes, len(labels))
            order = sorted(range(len(labels)), key=lambda i: (-counts[i], labels[i]))
            categories = tuple((labels[i], int(counts[i])) for i in order if counts[i] > 0)
            summary = ReferenceColumn(**base, missing=int((codes < 0).sum()),
                                      categories=categories)
            return Prepared(summary, None, exact=True)
        return Prepared(ReferenceColumn(**base, missing=missing_count(column)), None, exact=True)


def resolve_kinds(table: pa.Table, kinds: Mapping[str, ColumnKind | str] | None
                  ) -> dict[str, ColumnKind]:
    """Inferred kinds of ``table``'s columns, with the ones given in ``kinds`` instead.

    Raises
    ------
    InputError
        If ``kinds`` names a column the table lacks or a kind that does not exist.
    """
    given: dict[str, ColumnKind] = {}
    for name, kind in (kinds or {}).items():
        if name not in table.schema.names:
            continue  # may be a current-only column; compare() checks names itself
        try:
            given[name] = ColumnKind(kind)
        except ValueError:
            raise InputError(f"Kind {kind!r} for column {name!r} is not one of "
                             f"{', '.join(k.value for k in ColumnKind)}.") from None
    rest = [name for name in table.schema.names if name not in given]
    inferred = infer_kinds(table.select(rest)) if rest else {}
    for name, kind in inferred.items():
        if kind is ColumnKind.CATEGORICAL and is_time_text(table.column(name)):
            inferred[name] = ColumnKind.DATETIME
    return {name: given.get(name) or inferred[name] for name in table.schema.names}


def is_time_text(column: pa.ChunkedArray) -> bool:
    """Whether ``column`` is text whose every value is an ISO 8601 month, date or time.

    >>> is_time_text(pa.chunked_array([["2025-01", "2025-02", None]]))
    True
    >>> is_time_text(pa.chunked_array([["2025-01", "north"]]))
    False
    >>> is_time_text(pa.chunked_array([[202501, 202502]]))
    False
    """
    kind = column.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return False
    values = pc.unique(column.cast(kind) if kind != column.type else column).drop_null()
    return len(values) > 0 and bool(pc.all(pc.match_substring_regex(values, TIME_TEXT)).as_py())


def read_side(source: Source, side: str) -> pa.Table:
    """Read one side of a comparison; errors name the side.

    Raises
    ------
    InputError
        If the source cannot be read, has no rows, or no columns.
    """
    try:
        if isinstance(source, pa.Table):
            return _check_table(source)
        from rasad.tables import read_table  # pandas loads with the first file read

        return read_table(source)
    except InputError as error:
        raise InputError(f"{side.capitalize()} data: {error}") from None


def _check_table(table: pa.Table) -> pa.Table:
    names = table.schema.names
    if not names:
        raise InputError("Cannot read the Arrow table: it has no columns; "
                         "add at least one column.")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputError(f"Cannot read the Arrow table: duplicate column names "
                         f"{', '.join(repr(n) for n in duplicates)}; rename them.")
    if table.num_rows == 0:
        raise InputError("Cannot read the Arrow table: it has column names but no data "
                         "rows; add at least one row.")
    return table


class ReferenceProfile(Result):
    """Everything :func:`rasad.drift.compare` needs from a reference, without its rows.

    Parameters
    ----------
    rows : int
        Rows of the reference.
    columns : tuple of ReferenceColumn
        One per column, in the reference's order.
    bins : int
        Number of reference-quantile bins of the numeric PSI and Jensen-Shannon; a
        policy comparing against the profile must use the same.
    sketch_size : int
        Order statistics kept per numeric column.
    """

    format: Literal["rasad.drift.reference/1"] = FORMAT
    rows: int
    bins: int = 10
    sketch_size: int = SKETCH_SIZE
    columns: tuple[ReferenceColumn, ...]

    @model_validator(mode="before")
    @classmethod
    def _is_profile(cls, data: Any) -> Any:
        wrong = _not_a_profile(data, strict=False)
        if wrong is not None:
            raise wrong
        return data

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> ReferenceColumn:
        """The summary of column ``name``.

        Raises
        ------
        NotFoundError
            If the profile has no such column; the message lists them.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise NotFoundError(f"The reference profile has no column {name!r}; columns are "
                            f"{', '.join(repr(n) for n in self.names)}.")

    def prepare(self, name: str) -> Prepared:
        column = self.column(name)
        values = column.numeric.values() if column.numeric is not None else None
        exact = column.numeric is None or column.numeric.exact
        return Prepared(column, values, exact=exact)

    @classmethod
    def from_frame(
        cls,
        reference: Source,
        *,
        columns: Sequence[str] | None = None,
        kinds: Mapping[str, ColumnKind | str] | None = None,
        bins: int = 10,
        sketch_size: int = SKETCH_SIZE,
    ) -> ReferenceProfile:
        """Profile ``reference`` (a DataFrame, an Arrow table, or a CSV or Parquet path).

        Parameters
        ----------
        reference : DataFrame, pyarrow.Table, str or PathLike
            The reference data.
        columns : sequence of str, optional
            Columns to profile; all by default.
        kinds : mapping of str to ColumnKind, optional
            Kinds of some columns; the others are inferred.
        bins : int
            Reference-quantile bins for numeric PSI and Jensen-Shannon.
        sketch_size : int
            Order statistics to keep per numeric column (at least 2).

        Raises
        ------
        InputError
            If the data cannot be read or has no rows, a column is unknown, or an
            argument is out of range.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> frame = pd.DataFrame({"x": np.arange(100_000.0), "g": ["a", "b"] * 50_000})
        >>> profile = ReferenceProfile.from_frame(frame, sketch_size=5)
        >>> profile.column("x").numeric.sketch
        (0.0, 25000.0, 50000.0, 74999.0, 99999.0)
        >>> profile.column("g").categories
        (('a', 50000), ('b', 50000))
        """
        if not isinstance(sketch_size, int) or sketch_size < 2:
            raise InputError(f"sketch_size={sketch_size!r}: use a whole number >= 2.")
        if not isinstance(bins, int) or bins < 2:
            raise InputError(f"bins={bins!r}: use a whole number >= 2.")
        table = read_side(reference, "reference")
        if columns is not None:
            unknown = [name for name in columns if name not in table.schema.names]
            if unknown:
                raise InputError(
                    f"Column(s) {', '.join(repr(n) for n in unknown)} are not in the reference; "
                    f"columns are {', '.join(repr(n) for n in table.schema.names)}.")
            table = table.select(list(dict.fromkeys(columns)))
        source = TableReference(table, kinds, bins, sketch_size)
        workers = max(1, min(os.cpu_count() or 1, len(source.names)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            prepared = list(pool.map(source.prepare, source.names))
        return cls(rows=table.num_rows, columns=tuple(p.column for p in prepared),
                   bins=bins, sketch_size=sketch_size)

    @classmethod
    def from_dict(cls, data: Any) -> ReferenceProfile:
        """Read a profile back from its JSON form (:meth:`to_dict`), as stored.

        Raises
        ------
        InputError
            If the data is not a reference profile or is malformed.
        """
        wrong = _not_a_profile(data, strict=True)
        if wrong is not None:
            raise wrong
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            problem = input_error(error, "field")
            raise InputError(f"Stored reference profile is malformed ({problem}); build it "
                             "again with ReferenceProfile.from_frame.") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> ReferenceProfile:
        """Read a profile back from JSON text (see :meth:`from_dict`)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(f"Stored reference profile is not JSON ({error}); build it "
                             "again with ReferenceProfile.from_frame.") from None
        return cls.from_dict(data)


def _not_a_profile(data: Any, *, strict: bool) -> InputError | None:
    """The error for data that is not a profile; ``strict``: stored data must name its format."""
    if isinstance(data, ReferenceProfile):
        return None
    if isinstance(data, Mapping):
        found = data.get("format", None if strict else FORMAT)
        if found == FORMAT:
            return None
    else:
        found = type(data).__name__
    return InputError(f"Not a rasad reference profile (format {found!r}, expected {FORMAT!r}); "
                      "build one with ReferenceProfile.from_frame.")
