"""Table schemas: what a dataset must look like, as typed values and readable YAML.

A :class:`TableSchema` holds one :class:`ColumnSchema` per expected column plus the
table-level rules (row-count bounds, share of duplicate rows). Schemas are usually
inferred from reference data by :func:`rasad.validation.infer_schema`, saved with
:meth:`TableSchema.to_yaml`, edited by a person and read back with
:meth:`TableSchema.from_yaml`, which names the key and the value of any mistake.

>>> from rasad.tables import ColumnKind
>>> schema = TableSchema(columns=(ColumnSchema(name="age", kind=ColumnKind.NUMERIC,
...     dtype="int64", minimum=18.0, maximum=70.0, tolerance=0.1),))
>>> TableSchema.from_yaml(schema.to_yaml()) == schema
True
>>> schema.column("age").bounds()
(12.8, 75.2)
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from rasad.config import load_yaml
from rasad.errors import ConfigError, InputError, NotFoundError
from rasad.tables import ColumnKind

SCHEMA_FORMAT: Final[int] = 1
"""Version of the YAML layout written by :meth:`TableSchema.to_yaml`."""

DTYPES: Final[tuple[str, ...]] = ("int64", "float64", "bool", "string", "datetime64", "date")
"""The storage types a column schema may declare."""


class Severity(enum.StrEnum):
    """How much a failed check matters: errors block (training, CI), warnings inform."""

    ERROR = "error"
    WARNING = "warning"


class CheckKind(enum.StrEnum):
    """Every check :func:`rasad.validation.validate` runs.

    Column checks: ``missing_column`` ... ``monotonic``; table checks: ``row_count``,
    ``duplicate_rows``; ``missing_share`` compares each column with the reference.
    """

    MISSING_COLUMN = "missing_column"
    UNEXPECTED_COLUMN = "unexpected_column"
    WRONG_TYPE = "wrong_type"
    NULLS = "nulls"
    OUT_OF_RANGE = "out_of_range"
    UNSEEN_CATEGORY = "unseen_category"
    DUPLICATE_KEY = "duplicate_key"
    FORMAT = "format"
    MONOTONIC = "monotonic"
    ROW_COUNT = "row_count"
    DUPLICATE_ROWS = "duplicate_rows"
    MISSING_SHARE = "missing_share"


DEFAULT_SEVERITY: Final[Mapping[CheckKind, Severity]] = {
    CheckKind.MISSING_COLUMN: Severity.ERROR,
    CheckKind.UNEXPECTED_COLUMN: Severity.WARNING,
    CheckKind.WRONG_TYPE: Severity.ERROR,
    CheckKind.NULLS: Severity.ERROR,
    CheckKind.OUT_OF_RANGE: Severity.ERROR,
    CheckKind.UNSEEN_CATEGORY: Severity.ERROR,
    CheckKind.DUPLICATE_KEY: Severity.ERROR,
    CheckKind.FORMAT: Severity.ERROR,
    CheckKind.MONOTONIC: Severity.WARNING,
    CheckKind.ROW_COUNT: Severity.ERROR,
    CheckKind.DUPLICATE_ROWS: Severity.WARNING,
    CheckKind.MISSING_SHARE: Severity.WARNING,
}
"""Severity of each check unless a schema overrides it (``severity:`` in the YAML).

Extra columns, unsorted time, duplicate rows and a higher share of missing values are
warnings: they are often legitimate in a new batch. Everything else is an error.
"""


@dataclass(frozen=True)
class ColumnSchema:
    """What one column must hold.

    Parameters
    ----------
    name : str
        Column name.
    kind : ColumnKind
        How rasad treats the column.
    dtype : str
        One of :data:`DTYPES`; values that cannot be read as this type fail
        ``wrong_type``.
    nullable : bool
        Whether missing values are allowed (``nulls`` check).
    missing_share : float
        Share of missing values observed in the reference (information only).
    max_missing_share : float or None
        Largest share of missing values allowed (``missing_share`` check); None: no check.
    minimum, maximum : float or str or None
        Observed range; numbers, or ISO 8601 text for datetime columns. None: no check.
    tolerance : float
        Widening of the range on each side, as a share of ``maximum - minimum`` (of
        ``|minimum|`` when the two are equal). A numeric range never widens across 0,
        nor past 1 for a range of shares; see :func:`widen`.
    categories : tuple of str, or None
        Allowed values (``unseen_category`` check); None: any value.
    unique : bool
        Whether values must be unique (``duplicate_key`` check).
    format : str or None
        Regular expression every present value must match in full (``format`` check).
    monotonic : bool
        Whether values must never decrease from one row to the next (``monotonic``).
    severity : mapping of CheckKind to Severity
        Overrides of :data:`DEFAULT_SEVERITY` for this column's checks.

    Examples
    --------
    >>> column = ColumnSchema(name="id", kind=ColumnKind.IDENTIFIER, dtype="string",
    ...     unique=True, format=r"APP-\\d{6}", severity={CheckKind.FORMAT: Severity.WARNING})
    >>> column.severity_of(CheckKind.FORMAT), column.severity_of(CheckKind.DUPLICATE_KEY)
    (<Severity.WARNING: 'warning'>, <Severity.ERROR: 'error'>)
    """

    name: str
    kind: ColumnKind
    dtype: str
    nullable: bool = False
    missing_share: float = 0.0
    max_missing_share: float | None = None
    minimum: float | str | None = None
    maximum: float | str | None = None
    tolerance: float = 0.0
    categories: tuple[str, ...] | None = None
    unique: bool = False
    format: str | None = None
    monotonic: bool = False
    severity: Mapping[CheckKind, Severity] = field(default_factory=dict)

    def severity_of(self, check: CheckKind) -> Severity:
        """The severity of ``check`` on this column."""
        return self.severity.get(check, DEFAULT_SEVERITY[check])

    def bounds(self) -> tuple[float | None, float | None]:
        """The numeric range widened by :func:`widen` (None for a datetime or open side).

        >>> ColumnSchema(name="income", kind=ColumnKind.NUMERIC, dtype="float64",
        ...     minimum=185.0, maximum=5000.0, tolerance=0.1).bounds()
        (0.0, 5481.5)
        """
        if not isinstance(self.minimum, (int, float)) or not isinstance(
            self.maximum, (int, float)
        ):
            return (
                float(self.minimum) if isinstance(self.minimum, (int, float)) else None,
                float(self.maximum) if isinstance(self.maximum, (int, float)) else None,
            )
        return widen(float(self.minimum), float(self.maximum), self.tolerance)

    def to_dict(self) -> dict[str, Any]:
        """The column as a JSON- and YAML-ready dict; defaults are left out."""
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind.value,
            "dtype": self.dtype,
            "nullable": self.nullable,
            "missing_share": self.missing_share,
        }
        optional = {
            "max_missing_share": self.max_missing_share,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "tolerance": self.tolerance or None,
            "categories": list(self.categories) if self.categories is not None else None,
            "unique": self.unique or None,
            "format": self.format,
            "monotonic": self.monotonic or None,
            "severity": {k.value: v.value for k, v in self.severity.items()} or None,
        }
        data.update({key: value for key, value in optional.items() if value is not None})
        return data


def widen(minimum: float, maximum: float, tolerance: float) -> tuple[float, float]:
    """The allowed range of a numeric column: the observed one widened, within its signs.

    The policy. Each side moves out by ``tolerance`` times the span ``maximum -
    minimum`` (times ``|minimum|`` for a constant column), so a new batch may run a
    little past what the reference held. The widening stops at two natural walls,
    because crossing one changes what a value means rather than how large it is:

    * **zero**: a range that was never negative (``minimum >= 0``: amounts, counts,
      ages) stays non-negative, and one that was never positive stays non-positive;
    * **one**: a range of shares (every value in [0, 1]: rates, probabilities,
      flags) stays at most 1.

    A range that already crosses a wall widens freely. To allow values beyond a wall,
    write the wanted ``minimum`` or ``maximum`` in the schema.

    Parameters
    ----------
    minimum, maximum : float
        The observed range.
    tolerance : float
        Share of the span added on each side.

    Returns
    -------
    tuple of float
        The lowest and highest allowed values.

    Examples
    --------
    >>> widen(185.0, 5000.0, 0.1)     # never negative: no -296.5
    (0.0, 5481.5)
    >>> widen(0.02, 0.97, 0.1)        # shares: no 1.065
    (0.0, 1.0)
    >>> widen(-40.0, -1.0, 0.1)       # never positive
    (-43.9, 0.0)
    >>> widen(-3.0, 7.0, 0.1)         # already crosses zero: widened freely
    (-4.0, 8.0)
    >>> widen(18.0, 70.0, 0.1)        # far from the walls: unchanged
    (12.8, 75.2)
    """
    span = maximum - minimum
    margin = tolerance * (span if span > 0 else abs(minimum))
    low, high = minimum - margin, maximum + margin
    if minimum >= 0:
        low = max(low, 0.0)
    if maximum <= 0:
        high = min(high, 0.0)
    if 0 <= minimum and maximum <= 1:
        high = min(high, 1.0)
    return round(low, 12), round(high, 12)


@dataclass(frozen=True)
class TableSchema:
    """What a table must look like.

    Parameters
    ----------
    columns : tuple of ColumnSchema
        Expected columns, in order.
    min_rows, max_rows : int or None
        Row-count bounds (``row_count`` check); None: unbounded.
    max_duplicate_share : float or None
        Largest share of rows that repeat an earlier row (``duplicate_rows``).
    version : int
        Revision of this schema, for people editing it (starts at 1).
    source : str or None
        Where it came from, e.g. ``"inferred from loans.csv"``.
    severity : mapping of CheckKind to Severity
        Overrides of :data:`DEFAULT_SEVERITY` for the table checks.
    """

    columns: tuple[ColumnSchema, ...]
    min_rows: int | None = 1
    max_rows: int | None = None
    max_duplicate_share: float | None = None
    version: int = 1
    source: str | None = None
    severity: Mapping[CheckKind, Severity] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in order."""
        return tuple(column.name for column in self.columns)

    def severity_of(self, check: CheckKind) -> Severity:
        """The severity of a table-level ``check``."""
        return self.severity.get(check, DEFAULT_SEVERITY[check])

    def column(self, name: str) -> ColumnSchema:
        """The schema of column ``name``.

        Raises
        ------
        NotFoundError
            If the schema has no such column; the message lists the columns.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise NotFoundError(
            f"The schema has no column {name!r}; columns are "
            f"{', '.join(repr(n) for n in self.names)}."
        )

    def to_dict(self) -> dict[str, Any]:
        """The schema as a JSON- and YAML-ready dict."""
        data: dict[str, Any] = {
            "rasad_schema": SCHEMA_FORMAT,
            "version": self.version,
            "source": self.source,
            "table": {
                "min_rows": self.min_rows,
                "max_rows": self.max_rows,
                "max_duplicate_share": self.max_duplicate_share,
            },
        }
        if self.severity:
            data["table"]["severity"] = {k.value: v.value for k, v in self.severity.items()}
        data["columns"] = [column.to_dict() for column in self.columns]
        return data

    def to_yaml(self) -> str:
        """The schema as commented YAML for people to read and edit."""
        body = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)
        return _YAML_HEADER + body

    @classmethod
    def from_dict(cls, data: Any) -> TableSchema:
        """Build a schema from :meth:`to_dict` output or a hand-written mapping.

        Raises
        ------
        InputError
            If a key is unknown or missing, or a value has the wrong type; the message
            names the key (``columns[2].kind``) and the value.
        """
        return _parse_table(data)

    @classmethod
    def from_yaml(cls, text: str) -> TableSchema:
        """Read a schema written by :meth:`to_yaml`, possibly edited by hand.

        Raises
        ------
        InputError
            If the text is not YAML, or a key or value is not allowed.

        Examples
        --------
        >>> TableSchema.from_yaml("columns: [{name: age, kind: numerc, dtype: int64}]")
        ... # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        rasad.errors.InputError: Schema key 'columns[0].kind' has value 'numerc'; use one of
        numeric, categorical, boolean, datetime, text, identifier.
        """
        # Bounded: a schema file with an alias bomb is refused before it expands. A schema is
        # the user's input, not the project's configuration: its errors are input errors.
        try:
            document = load_yaml(text, "The schema")
        except ConfigError as error:
            raise InputError(str(error)) from None
        return _parse_table(document)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> TableSchema:
        """Read a schema YAML file.

        Raises
        ------
        InputError
            If the file is missing or unreadable, or its content is not a valid schema.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(
                f"Cannot read schema file '{path}' ({type(error).__name__}); check the path."
            ) from None
        try:
            return cls.from_yaml(text)
        except InputError as error:
            raise InputError(f"Schema file '{path}': {error}") from None


_YAML_HEADER: Final[str] = """\
# rasad table schema. Edit freely; `rasad validate DATA --schema FILE` applies it.
# Per column: dtype (int64, float64, bool, string, datetime64, date); nullable;
#   max_missing_share (largest share of missing values); minimum/maximum (observed
#   range, widened on each side by tolerance x (maximum - minimum), but never across 0,
#   nor past 1 when both lie in [0, 1]); categories (allowed values); unique; format
#   (regular expression each value must match in full);
#   monotonic (never decreasing); severity (per check: error or warning).
# Remove a key to drop its check. Checks: missing_column, unexpected_column,
#   wrong_type, nulls, out_of_range, unseen_category, duplicate_key, format, monotonic,
#   row_count, duplicate_rows, missing_share.
"""

_TABLE_KEYS: Final[frozenset[str]] = frozenset(
    {"rasad_schema", "version", "source", "table", "columns"}
)
_TABLE_RULE_KEYS: Final[frozenset[str]] = frozenset(
    {"min_rows", "max_rows", "max_duplicate_share", "severity"}
)
_COLUMN_KEYS: Final[frozenset[str]] = frozenset(
    {"name", "kind", "dtype", "nullable", "missing_share", "max_missing_share", "minimum",
     "maximum", "tolerance", "categories", "unique", "format", "monotonic", "severity"}
)


def _bad(key: str, value: Any, expected: str) -> InputError:
    return InputError(f"Schema key {key!r} has value {value!r}; {expected}.")


def _mapping(value: Any, key: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(key, value, "it must be a mapping of keys to values")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        where = f"{key}.{unknown[0]}" if key else unknown[0]
        raise InputError(
            f"Schema key {where!r} is not known; use one of {', '.join(sorted(allowed))}."
        )
    return value


def _int(value: Any, key: str, *, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(key, value, "use a whole number of at least 0")
    return value


def _share(value: Any, key: str, *, optional: bool = True) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise _bad(key, value, "use a number between 0 and 1")
    return float(value)


def _flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(key, value, "use true or false")
    return value


def _severities(value: Any, key: str) -> dict[CheckKind, Severity]:
    if value is None:
        return {}
    checks = ", ".join(c.value for c in CheckKind)
    if not isinstance(value, Mapping):
        raise _bad(key, value, f"use a mapping from check ({checks}) to error or warning")
    result = {}
    for check, level in value.items():
        try:
            kind = CheckKind(check)
        except ValueError:
            raise _bad(f"{key}.{check}", check, f"the check must be one of {checks}") from None
        try:
            result[kind] = Severity(level)
        except ValueError:
            raise _bad(f"{key}.{check}", level, "use error or warning") from None
    return result


def _bound(value: Any, key: str, dtype: str) -> float | str | None:
    if value is None:
        return None
    if dtype in ("datetime64", "date"):
        text = value.isoformat() if hasattr(value, "isoformat") else value
        if isinstance(text, str):
            try:
                dt.datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                return text
        raise _bad(key, value, "use an ISO 8601 date or time such as 2025-01-31")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(key, value, "use a number")
    return float(value)


def _parse_column(data: Any, key: str) -> ColumnSchema:
    data = _mapping(data, key, _COLUMN_KEYS)
    for required in ("name", "kind", "dtype"):
        if required not in data:
            raise InputError(f"Schema key '{key}.{required}' is missing; every column needs it.")
    name = data["name"]
    if not isinstance(name, str) or not name:
        raise _bad(f"{key}.name", name, "use a non-empty text")
    try:
        kind = ColumnKind(data["kind"])
    except ValueError:
        raise _bad(
            f"{key}.kind", data["kind"], f"use one of {', '.join(k.value for k in ColumnKind)}"
        ) from None
    dtype = data["dtype"]
    if dtype not in DTYPES:
        raise _bad(f"{key}.dtype", dtype, f"use one of {', '.join(DTYPES)}")
    categories = data.get("categories")
    if categories is not None:
        if not isinstance(categories, list) or not all(
            isinstance(c, (str, int, float, bool)) for c in categories
        ):
            raise _bad(f"{key}.categories", categories, "use a list of values")
        categories = tuple(str(c) for c in categories)
    pattern = data.get("format")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError):
            raise _bad(f"{key}.format", pattern, "use a valid regular expression") from None
    tolerance = data.get("tolerance", 0.0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise _bad(f"{key}.tolerance", tolerance, "use a number of at least 0")
    return ColumnSchema(
        name=name,
        kind=kind,
        dtype=dtype,
        nullable=_flag(data.get("nullable", False), f"{key}.nullable"),
        missing_share=_share(data.get("missing_share", 0.0), f"{key}.missing_share",
                             optional=False) or 0.0,
        max_missing_share=_share(data.get("max_missing_share"), f"{key}.max_missing_share"),
        minimum=_bound(data.get("minimum"), f"{key}.minimum", dtype),
        maximum=_bound(data.get("maximum"), f"{key}.maximum", dtype),
        tolerance=float(tolerance),
        categories=categories,
        unique=_flag(data.get("unique", False), f"{key}.unique"),
        format=pattern,
        monotonic=_flag(data.get("monotonic", False), f"{key}.monotonic"),
        severity=_severities(data.get("severity"), f"{key}.severity"),
    )


def _parse_table(data: Any) -> TableSchema:
    data = _mapping(data, "", _TABLE_KEYS)
    layout = data.get("rasad_schema", SCHEMA_FORMAT)
    if layout != SCHEMA_FORMAT:
        raise _bad("rasad_schema", layout, f"this version of rasad reads {SCHEMA_FORMAT}")
    columns = data.get("columns")
    if not isinstance(columns, list) or not columns:
        raise _bad("columns", columns, "list at least one column")
    parsed = tuple(_parse_column(c, f"columns[{i}]") for i, c in enumerate(columns))
    names = [c.name for c in parsed]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise _bad("columns", repeated[0], "each column name may appear once")
    rules = _mapping(data.get("table") or {}, "table", _TABLE_RULE_KEYS)
    version = _int(data.get("version", 1), "version", optional=False)
    source = data.get("source")
    if source is not None and not isinstance(source, str):
        raise _bad("source", source, "use a text or leave it out")
    min_rows = _int(rules.get("min_rows"), "table.min_rows")
    max_rows = _int(rules.get("max_rows"), "table.max_rows")
    if min_rows is not None and max_rows is not None and max_rows < min_rows:
        raise _bad("table.max_rows", max_rows, f"it must be at least min_rows ({min_rows})")
    return TableSchema(
        columns=parsed,
        min_rows=min_rows,
        max_rows=max_rows,
        max_duplicate_share=_share(rules.get("max_duplicate_share"), "table.max_duplicate_share"),
        version=version or 0,
        source=source,
        severity=_severities(rules.get("severity"), "table.severity"),
    )
