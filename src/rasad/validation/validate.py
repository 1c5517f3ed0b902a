"""Validation: check a batch against a :class:`~rasad.validation.TableSchema`.

Every check runs and every failure is collected, never just the first. Column value
checks (nulls, range, categories, duplicate keys, format) run in Pandera
(``lazy=True``); rasad adds what Pandera lacks: missing and unexpected columns, counting
values that cannot be read as the declared type, monotonic time, row-count bounds,
duplicate rows and the missing share against the reference. Row numbers in the
report are positions in the input (0 for the first row), whatever its index.

>>> import pandas as pd
>>> from rasad.validation import infer_schema
>>> schema = infer_schema(pd.DataFrame({"age": [20, 35, 50, 65]}))
>>> report = validate(pd.DataFrame({"age": [30, 90, None, 40]}), schema)
>>> report.ok
False
>>> [(r.check.value, r.failing, [e.row for e in r.examples]) for r in report.errors]
[('nulls', 1, [2]), ('out_of_range', 1, [1])]
"""

from __future__ import annotations

import math
import os
from typing import Any, Final

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
from pydantic import AliasChoices, Field, computed_field

from rasad.results import Result
from rasad.tables import read_table
from rasad.validation.schema import CheckKind, ColumnSchema, Severity, TableSchema

MAX_EXAMPLES: Final[int] = 5
"""Failing rows quoted per check."""

_TRUE: Final[frozenset[str]] = frozenset({"true", "1", "yes", "t", "y"})
_FALSE: Final[frozenset[str]] = frozenset({"false", "0", "no", "f", "n"})


class Example(Result):
    """One failing row: its position in the input and its value (None when missing)."""

    row: int
    value: Any = None

    def masked(self) -> Example:
        """A copy with the value masked (see :func:`mask_value`).

        >>> Example(row=3, value="Fatimah").masked()
        Example(row=3, value='F*****h')
        """
        return self.model_copy(update={"value": mask_value(self.value)})


def mask_value(value: Any) -> Any:
    """Mask text, keeping its first and last character; other values pass through.

    Examples
    --------
    >>> mask_value("Fatimah"), mask_value("ab"), mask_value(42.5)
    ('F*****h', '**', 42.5)
    """
    if not isinstance(value, str):
        return value
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]


def _absent(value: Any) -> bool:
    return value is None


class CheckResult(Result):
    """The outcome of one check on one column (``column`` None for table checks).

    ``failing`` counts failing rows (for ``row_count``, the row count itself) and
    ``share`` is ``failing`` over the number of rows; ``examples`` quotes at most
    :data:`MAX_EXAMPLES` of them, first rows first.
    """

    check: CheckKind
    column: str | None
    severity: Severity
    passed: bool
    failing: int = 0
    share: float = 0.0
    examples: tuple[Example, ...] = ()
    message: str = ""

    def masked(self) -> CheckResult:
        """A copy with every example's value masked."""
        return self.model_copy(update={"examples": tuple(e.masked() for e in self.examples)})


class ValidationReport(Result):
    """Every check run by :func:`validate`, passed or failed, in a fixed order.

    Its JSON carries the raw values of failing rows; :meth:`masked` hides text values
    (first and last character kept) and is what rasad stores and prints, since an
    identifier or free-text column can hold personal data. ``data`` and ``schema``
    name what was validated against what when the caller says so (the CLI and the
    project services do); they are left out of the JSON when unset.

    >>> from rasad.validation import infer_schema
    >>> import pandas as pd
    >>> schema = infer_schema(pd.DataFrame({"city": ["Riyadh", "Jeddah"]}))
    >>> report = validate(pd.DataFrame({"city": ["Riyadh", "Atlantis"]}), schema)
    >>> [e.value for r in report.errors for e in r.examples]
    ['Atlantis']
    >>> [e["value"] for r in report.masked().to_dict()["results"] for e in r["examples"]]
    ['A******s']
    >>> report.to_dict()["errors"], ValidationReport.from_json(report.to_json()) == report
    (1, True)
    """

    data: str | None = Field(default=None, exclude_if=_absent,
                             description="The data validated: a path or NAME@VERSION.")
    schema_label: str | None = Field(
        default=None, exclude_if=_absent, serialization_alias="schema",
        validation_alias=AliasChoices("schema", "schema_label"),
        description="The schema it was validated against.")
    rows: int
    results: tuple[CheckResult, ...]

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """Checks that failed, errors and warnings."""
        return tuple(r for r in self.results if not r.passed)

    @property
    def errors(self) -> tuple[CheckResult, ...]:
        """Failed checks of severity error."""
        return tuple(r for r in self.failures if r.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[CheckResult, ...]:
        """Failed checks of severity warning."""
        return tuple(r for r in self.failures if r.severity is Severity.WARNING)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """True when no check of severity error failed."""
        return not self.errors

    @computed_field(alias="errors")  # type: ignore[prop-decorator]
    @property
    def error_count(self) -> int:
        """How many checks of severity error failed (``errors`` in the JSON)."""
        return len(self.errors)

    @computed_field(alias="warnings")  # type: ignore[prop-decorator]
    @property
    def warning_count(self) -> int:
        """How many checks of severity warning failed (``warnings`` in the JSON)."""
        return len(self.warnings)

    def masked(self) -> ValidationReport:
        """A copy with every example's text value masked (see :func:`mask_value`).

        Use it before storing, printing or sending a report.
        """
        return self.model_copy(update={"results": tuple(r.masked() for r in self.results)})

    def labelled(self, data: str, schema: str) -> ValidationReport:
        """A copy naming the data validated and the schema it was validated against."""
        return self.model_copy(update={"data": data, "schema_label": schema})


def validate(
    data: pd.DataFrame | pyarrow.Table | str | os.PathLike[str], schema: TableSchema
) -> ValidationReport:
    """Validate ``data`` against ``schema``, collecting every failure.

    Parameters
    ----------
    data : pandas.DataFrame, pyarrow.Table, str or os.PathLike
        The batch, or a CSV, TSV or Parquet path.
    schema : TableSchema
        What the batch must look like.

    Returns
    -------
    ValidationReport
        One result per check and column, in schema order, then the table checks.

    Raises
    ------
    InputError
        If a path cannot be read.
    """
    frame = _frame(data)
    rows = len(frame)
    results: list[CheckResult] = []
    present = [column for column in schema.columns if column.name in frame.columns]
    for column in schema.columns:
        if column.name not in frame.columns:
            results.append(_result(
                CheckKind.MISSING_COLUMN, column.name, column.severity_of(
                    CheckKind.MISSING_COLUMN), rows, rows, [],
                f"Column '{column.name}' is missing; add it or remove it from the schema."))
    for name in frame.columns:
        if name not in schema.names:
            results.append(_result(
                CheckKind.UNEXPECTED_COLUMN, str(name),
                schema.severity_of(CheckKind.UNEXPECTED_COLUMN), rows, rows, [],
                f"Column '{name}' is not in the schema; drop it or add it to the schema."))
    coerced: dict[str, pd.Series] = {}
    unreadable: dict[str, np.ndarray] = {}
    for column in present:
        values, bad = _coerce(frame[column.name], column.dtype)
        coerced[column.name] = values
        unreadable[column.name] = bad
        results.append(_from_mask(
            CheckKind.WRONG_TYPE, column, frame[column.name], bad, rows,
            f"values cannot be read as {column.dtype}"))
    cases = _run_pandera(pd.DataFrame(coerced, copy=False), present)
    for column in present:
        results.extend(_column_results(column, frame[column.name], coerced[column.name],
                                       unreadable[column.name], cases, rows))
    results.extend(_table_results(frame, schema, rows))
    return ValidationReport(rows=rows, results=tuple(results))


def _frame(data: pd.DataFrame | pyarrow.Table | str | os.PathLike[str]) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    table = data if isinstance(data, pyarrow.Table) else read_table(data)
    return table.to_pandas(date_as_object=False)


def _coerce(series: pd.Series, dtype: str) -> tuple[pd.Series, np.ndarray]:
    """The series as ``dtype`` (unreadable values missing) and the unreadable-value mask."""
    present = series.notna().to_numpy()
    if dtype in ("int64", "float64"):
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            values = series
        else:
            values = pd.to_numeric(series.astype(object), errors="coerce")
        bad = present & values.isna().to_numpy()
        if dtype == "int64":
            numbers = values.to_numpy(dtype=float, na_value=np.nan)
            fraction = np.isfinite(numbers) & (numbers != np.floor(numbers))
            bad |= fraction
            values = values.mask(fraction)
        return values, bad
    if dtype in ("datetime64", "date"):
        if pd.api.types.is_datetime64_any_dtype(series):
            return series, np.zeros(len(series), dtype=bool)
        values = pd.to_datetime(series, errors="coerce", format="mixed")
        return values, present & values.isna().to_numpy()
    if dtype == "bool":
        if pd.api.types.is_bool_dtype(series):
            return series, np.zeros(len(series), dtype=bool)
        text = series.astype(object).map(lambda v: str(v).strip().lower(), na_action="ignore")
        values = text.map(lambda v: True if v in _TRUE else False if v in _FALSE else None)
        return values, present & values.isna().to_numpy()
    if pd.api.types.is_string_dtype(series):
        return series, np.zeros(len(series), dtype=bool)
    return series.map(str, na_action="ignore"), np.zeros(len(series), dtype=bool)


def _value_checks(column: ColumnSchema) -> list[tuple[CheckKind, pa.Check]]:
    """Pandera checks of a column, in order; the order maps failures back to checks."""
    checks = []
    if column.categories is not None:
        checks.append((CheckKind.UNSEEN_CATEGORY, pa.Check.isin(list(column.categories))))
    if column.format is not None:
        checks.append((CheckKind.FORMAT, pa.Check.str_matches(f"(?:{column.format})\\Z")))
    low, high = _range(column)
    if low is not None and high is not None:
        checks.append((CheckKind.OUT_OF_RANGE, pa.Check.in_range(low, high)))
    elif low is not None:
        checks.append((CheckKind.OUT_OF_RANGE, pa.Check.ge(low)))
    elif high is not None:
        checks.append((CheckKind.OUT_OF_RANGE, pa.Check.le(high)))
    return checks


def _pandera_column(column: ColumnSchema) -> pa.Column:
    checks = [check for _, check in _value_checks(column)]
    return pa.Column(
        None, checks=checks, nullable=column.nullable, unique=column.unique,
        report_duplicates="exclude_first", required=False,
    )


def to_pandera(schema: TableSchema) -> pa.DataFrameSchema:
    """The equivalent Pandera schema (column value checks only, without coercion).

    Useful to compare with Pandera or to reuse its tooling; the missing-share,
    duplicate-row, monotonic and type-coercion checks have no Pandera counterpart here.
    """
    return pa.DataFrameSchema({c.name: _pandera_column(c) for c in schema.columns})


def _range(column: ColumnSchema) -> tuple[Any, Any]:
    if column.dtype in ("datetime64", "date"):
        if not isinstance(column.minimum, str) or not isinstance(column.maximum, str):
            return None, None
        low, high = pd.Timestamp(column.minimum), pd.Timestamp(column.maximum)
        margin = (high - low) * column.tolerance
        return low - margin, high + margin
    return column.bounds()


def _run_pandera(frame: pd.DataFrame, columns: list[ColumnSchema]) -> pd.DataFrame:
    schema = pa.DataFrameSchema({c.name: _pandera_column(c) for c in columns})
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as error:
        return error.failure_cases
    return pd.DataFrame({"column": [], "check": [], "check_number": [], "index": [],
                         "failure_case": []})


_PANDERA_CHECKS: Final[dict[str, CheckKind]] = {
    "not_nullable": CheckKind.NULLS,
    "field_uniqueness": CheckKind.DUPLICATE_KEY,
}


def _column_results(
    column: ColumnSchema, original: pd.Series, values: pd.Series, unreadable: np.ndarray,
    cases: pd.DataFrame, rows: int,
) -> list[CheckResult]:
    mine = cases[cases["column"] == column.name]
    checks = []
    if not column.nullable:
        checks.append(CheckKind.NULLS)
    if _range(column) != (None, None):
        checks.append(CheckKind.OUT_OF_RANGE)
    if column.categories is not None:
        checks.append(CheckKind.UNSEEN_CATEGORY)
    if column.unique:
        checks.append(CheckKind.DUPLICATE_KEY)
    if column.format is not None:
        checks.append(CheckKind.FORMAT)
    numbered = [kind for kind, _ in _value_checks(column)]
    found = pd.Series([
        _PANDERA_CHECKS.get(str(name)) if number is None or pd.isna(number)
        else numbered[int(number)]
        for name, number in zip(mine["check"], mine["check_number"], strict=True)
    ], index=mine.index, dtype=object)
    results = []
    for check in checks:
        positions = mine.loc[found == check, "index"].dropna().astype(int).to_numpy()
        bad = np.zeros(rows, dtype=bool)
        bad[positions] = True
        if check is CheckKind.NULLS:
            bad &= ~unreadable  # already reported as wrong_type
        results.append(_from_mask(check, column, original, bad, rows, _WHAT[check]))
    if column.monotonic:
        stamps = pd.to_datetime(values, errors="coerce")
        running = stamps.cummax()
        bad = (stamps < running.shift(1)).to_numpy(dtype=bool, na_value=False)
        results.append(_from_mask(CheckKind.MONOTONIC, column, original, bad, rows,
                                  _WHAT[CheckKind.MONOTONIC]))
    if column.max_missing_share is not None:
        missing = original.isna().to_numpy()
        share = missing.sum() / rows if rows else 0.0
        result = _from_mask(CheckKind.MISSING_SHARE, column, original, missing, rows,
                            f"share of missing values exceeds {column.max_missing_share:g} "
                            f"(reference {column.missing_share:g})")
        if share <= column.max_missing_share:
            result = _result(CheckKind.MISSING_SHARE, column.name, result.severity, rows, 0,
                             [], "")
        results.append(result)
    return results


_WHAT: Final[dict[CheckKind, str]] = {
    CheckKind.NULLS: "values are missing but the column is not nullable",
    CheckKind.OUT_OF_RANGE: "values are outside the allowed range",
    CheckKind.UNSEEN_CATEGORY: "values are not among the allowed categories",
    CheckKind.DUPLICATE_KEY: "values repeat an earlier row's value",
    CheckKind.FORMAT: "values do not match the format",
    CheckKind.MONOTONIC: "values are earlier than a previous row's",
}


def _from_mask(
    check: CheckKind, column: ColumnSchema, original: pd.Series, bad: np.ndarray, rows: int,
    what: str,
) -> CheckResult:
    positions = np.flatnonzero(bad)
    examples = [Example(row=int(p), value=_plain(original.iloc[p]))
                for p in positions[:MAX_EXAMPLES]]
    message = ""
    if len(positions):
        message = f"Column '{column.name}': {len(positions)} of {rows} {what}"
        if check is CheckKind.OUT_OF_RANGE:
            low, high = _range(column)
            message += f" [{low}, {high}]"
        elif check is CheckKind.FORMAT:
            message += f" {column.format!r}"
        message += "."
    return _result(check, column.name, column.severity_of(check), rows, len(positions),
                   examples, message)


def _result(
    check: CheckKind, column: str | None, severity: Severity, rows: int, failing: int,
    examples: list[Example], message: str,
) -> CheckResult:
    return CheckResult(
        check=check, column=column, severity=severity, passed=failing == 0 and not message,
        failing=failing, share=failing / rows if rows else 0.0, examples=tuple(examples),
        message=message,
    )


def _plain(value: Any) -> Any:
    """A JSON-ready Python value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp,)) or hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _table_results(frame: pd.DataFrame, schema: TableSchema, rows: int) -> list[CheckResult]:
    results = []
    severity = schema.severity_of(CheckKind.ROW_COUNT)
    too_few = schema.min_rows is not None and rows < schema.min_rows
    too_many = schema.max_rows is not None and rows > schema.max_rows
    message = ""
    if too_few or too_many:
        message = (f"The table has {rows} rows; the schema allows "
                   f"{schema.min_rows if schema.min_rows is not None else 0} to "
                   f"{schema.max_rows if schema.max_rows is not None else 'any number'}.")
    results.append(CheckResult(
        check=CheckKind.ROW_COUNT, column=None, severity=severity, passed=not message,
        failing=rows if message else 0, share=1.0 if message else 0.0, message=message))
    if schema.max_duplicate_share is not None and rows:
        duplicated = _duplicated_rows(frame)
        count = int(duplicated.sum())
        share = count / rows
        positions = np.flatnonzero(duplicated)[:MAX_EXAMPLES]
        failed = share > schema.max_duplicate_share
        results.append(CheckResult(
            check=CheckKind.DUPLICATE_ROWS, column=None,
            severity=schema.severity_of(CheckKind.DUPLICATE_ROWS), passed=not failed,
            failing=count if failed else 0, share=share if failed else 0.0,
            examples=tuple(Example(row=int(p)) for p in positions) if failed else (),
            message=f"{count} of {rows} rows repeat an earlier row (share {share:.4g}, "
                    f"allowed {schema.max_duplicate_share:g})." if failed else "",
        ))
    return results


def _duplicated_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows equal to an earlier row, as ``frame.duplicated()`` but hashing rows first.

    Factorising every column of a wide table is slow; one 64-bit hash per row finds
    the few candidate rows, and only those are compared exactly.
    """
    hashes = pd.util.hash_pandas_object(frame, index=False)
    candidates = hashes.duplicated(keep=False).to_numpy()
    result = np.zeros(len(frame), dtype=bool)
    if candidates.any():
        subset = frame.iloc[np.flatnonzero(candidates)]
        result[np.flatnonzero(candidates)] = subset.duplicated(keep="first").to_numpy()
    return result
