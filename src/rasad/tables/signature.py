"""Model input signatures: which columns a model takes, of which kinds and categories.

A :class:`Signature` is recorded from the training features when a model is trained.
Before scoring, :meth:`Signature.check` compares new input with it and returns a
:class:`SignatureReport` (missing columns, values of the wrong type, unseen categories,
extra columns), and :meth:`Signature.coerce` returns the input in the exact columns and
dtypes the fitted pipeline expects.

Category values are compared as text labels
(:func:`rasad.tables.kinds.category_label`), so ``3`` and ``3.0`` are the same
category whichever way a file stored them.

>>> import pandas as pd
>>> from rasad.tables.kinds import ColumnKind
>>> train = pd.DataFrame({"age": [31, 45, 52], "region": ["north", "south", "north"]})
>>> signature = Signature.from_frame(
...     train, {"age": ColumnKind.NUMERIC, "region": ColumnKind.CATEGORICAL})
>>> report = signature.check(pd.DataFrame({"age": ["40", "abc"], "region": ["Mars", "north"]}))
>>> report.ok
False
>>> report.raise_for_errors()  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
rasad.errors.InputError: Input does not match the model signature:
column 'age' has 1 non-numeric value (e.g. 'abc').

Infinity is a number but not one a model can score; it is named as such:

>>> infinite = pd.DataFrame({"age": [float("inf"), 40], "region": ["north", "south"]})
>>> signature.check(infinite).errors()
["column 'age' has 1 infinite value (e.g. 'inf')"]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from rasad.errors import InputError
from rasad.tables.kinds import ColumnKind, category_label

MAX_EXAMPLES: Final[int] = 3
"""Most example values a :class:`WrongType` keeps."""
_SHOWN_CATEGORIES: Final[int] = 5

_TRUE: Final[frozenset[str]] = frozenset({"true", "t", "yes", "y", "1"})
_FALSE: Final[frozenset[str]] = frozenset({"false", "f", "no", "n", "0"})
_PROBLEM_WORDS: Final[dict[ColumnKind, str]] = {
    ColumnKind.NUMERIC: "non-numeric",
    ColumnKind.DATETIME: "unparseable date/time",
    ColumnKind.BOOLEAN: "non-boolean",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One input column of a model.

    Parameters
    ----------
    name : str
        Column name.
    kind : ColumnKind
        How the model treats the column.
    dtype : str
        The pandas dtype seen in training, e.g. ``"float64"`` (informational).
    categories : tuple of str or None
        For categorical and boolean columns: the sorted category labels seen in
        training. None for other kinds.

    Examples
    --------
    >>> spec = ColumnSpec("region", ColumnKind.CATEGORICAL, "str", ("north", "south"))
    >>> spec.to_dict()
    {'name': 'region', 'kind': 'categorical', 'dtype': 'str', 'categories': ['north', 'south']}
    >>> ColumnSpec.from_dict(spec.to_dict()) == spec
    True
    """

    name: str
    kind: ColumnKind
    dtype: str
    categories: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The spec as a JSON-ready dict."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "dtype": self.dtype,
            "categories": list(self.categories) if self.categories is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSpec:
        """Rebuild a spec from :meth:`to_dict` output.

        Raises
        ------
        InputError
            If a key is missing or the kind is unknown.
        """
        try:
            categories = data.get("categories")
            return cls(
                name=data["name"],
                kind=ColumnKind(data["kind"]),
                dtype=data["dtype"],
                categories=tuple(categories) if categories is not None else None,
            )
        except (KeyError, ValueError, TypeError) as error:
            raise InputError(
                f"Stored signature column is malformed ({type(error).__name__}: {error}); "
                "register the model again."
            ) from None


@dataclass(frozen=True)
class WrongType:
    """Values of one column that cannot be read as the column's kind.

    ``infinite`` marks the ``inf`` and ``-inf`` of a numeric column: numbers, but
    none a model can score. A column holding both text and infinity has one
    :class:`WrongType` for each.

    Examples
    --------
    >>> WrongType("age", ColumnKind.NUMERIC, 3, ("abc", "n/a")).describe()
    "column 'age' has 3 non-numeric values (e.g. 'abc', 'n/a')"
    >>> WrongType("ratio", ColumnKind.NUMERIC, 2, ("inf", "-inf"), infinite=True).describe()
    "column 'ratio' has 2 infinite values (e.g. 'inf', '-inf')"
    """

    column: str
    kind: ColumnKind
    count: int
    examples: tuple[str, ...]
    infinite: bool = False

    def describe(self) -> str:
        """One clause for a message."""
        word = ("infinite" if self.infinite
                else _PROBLEM_WORDS.get(self.kind, f"non-{self.kind.value}"))
        noun = "value" if self.count == 1 else "values"
        shown = ", ".join(repr(example) for example in self.examples)
        return f"column '{self.column}' has {self.count} {word} {noun} (e.g. {shown})"

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready dict."""
        return {
            "column": self.column,
            "kind": self.kind.value,
            "count": self.count,
            "examples": list(self.examples),
            "infinite": self.infinite,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WrongType:
        """Rebuild from :meth:`to_dict` output (older reports have no ``infinite``)."""
        return cls(data["column"], ColumnKind(data["kind"]), data["count"],
                   tuple(data["examples"]), bool(data.get("infinite", False)))


@dataclass(frozen=True)
class UnseenCategories:
    """Category values of one column that training never saw, with their row counts.

    Examples
    --------
    >>> UnseenCategories("region", (("Mars", 2), ("Venus", 1))).describe()
    "column 'region' has unseen categories 'Mars' (2 rows), 'Venus' (1 row)"
    """

    column: str
    values: tuple[tuple[str, int], ...]

    def describe(self) -> str:
        """One clause for a message; lists the most frequent values first."""
        shown = ", ".join(
            f"{value!r} ({rows} {'row' if rows == 1 else 'rows'})"
            for value, rows in self.values[:_SHOWN_CATEGORIES]
        )
        more = len(self.values) - _SHOWN_CATEGORIES
        tail = f" and {more} more" if more > 0 else ""
        return f"column '{self.column}' has unseen categories {shown}{tail}"

    def to_dict(self) -> dict[str, Any]:
        """The finding as a JSON-ready dict."""
        return {"column": self.column, "values": [[value, rows] for value, rows in self.values]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UnseenCategories:
        """Rebuild from :meth:`to_dict` output."""
        return cls(data["column"], tuple((value, rows) for value, rows in data["values"]))


@dataclass(frozen=True)
class SignatureReport:
    """What :meth:`Signature.check` found in an input frame.

    Missing columns and wrong types are errors; unseen categories are errors only when
    checking strictly; extra columns are informational (they are dropped by
    :meth:`Signature.coerce`).

    Examples
    --------
    >>> report = SignatureReport(missing_columns=("income",), extra_columns=("notes",),
    ...                          model="loans")
    >>> report.ok
    False
    >>> report.warnings()
    ["extra column 'notes' is not used by the model"]
    >>> report.raise_for_errors()
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Input does not match model 'loans' signature: missing column 'income'.
    """

    missing_columns: tuple[str, ...] = ()
    wrong_types: tuple[WrongType, ...] = ()
    unseen_categories: tuple[UnseenCategories, ...] = ()
    extra_columns: tuple[str, ...] = ()
    model: str | None = None

    @property
    def ok(self) -> bool:
        """True when no column is missing and no value has the wrong type."""
        return not self.missing_columns and not self.wrong_types

    def errors(self, strict_categories: bool = False) -> list[str]:
        """The problems that make the input unusable, one clause each."""
        found = [f"missing column '{name}'" for name in self.missing_columns]
        found += [problem.describe() for problem in self.wrong_types]
        if strict_categories:
            found += [unseen.describe() for unseen in self.unseen_categories]
        return found

    def warnings(self, strict_categories: bool = False) -> list[str]:
        """Findings that do not stop scoring, one clause each."""
        found = [] if strict_categories else [u.describe() for u in self.unseen_categories]
        found += [f"extra column '{name}' is not used by the model" for name in self.extra_columns]
        return found

    def raise_for_errors(self, strict_categories: bool = False) -> None:
        """Raise one :class:`~rasad.errors.InputError` listing every error, if any.

        Parameters
        ----------
        strict_categories : bool
            Treat unseen categories as errors.
        """
        found = self.errors(strict_categories)
        if found:
            subject = f"model '{self.model}'" if self.model else "the model"
            fix = (" Replace the infinite values with numbers or leave them missing."
                   if any(problem.infinite for problem in self.wrong_types) else "")
            raise InputError(
                f"Input does not match {subject} signature: {'; '.join(found)}.{fix}")

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "ok": self.ok,
            "model": self.model,
            "missing_columns": list(self.missing_columns),
            "wrong_types": [problem.to_dict() for problem in self.wrong_types],
            "unseen_categories": [unseen.to_dict() for unseen in self.unseen_categories],
            "extra_columns": list(self.extra_columns),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignatureReport:
        """Rebuild a report from :meth:`to_dict` output."""
        return cls(
            missing_columns=tuple(data["missing_columns"]),
            wrong_types=tuple(WrongType.from_dict(p) for p in data["wrong_types"]),
            unseen_categories=tuple(
                UnseenCategories.from_dict(u) for u in data["unseen_categories"]
            ),
            extra_columns=tuple(data["extra_columns"]),
            model=data.get("model"),
        )


@dataclass(frozen=True)
class Signature:
    """The input columns of a model, in order.

    Examples
    --------
    >>> import pandas as pd
    >>> from rasad.tables.kinds import ColumnKind
    >>> frame = pd.DataFrame({"age": [31, 45], "member": [True, False]})
    >>> signature = Signature.from_frame(
    ...     frame, {"age": ColumnKind.NUMERIC, "member": ColumnKind.BOOLEAN})
    >>> [spec.categories for spec in signature.columns]
    [None, ('False', 'True')]
    >>> inputs = signature.coerce(pd.DataFrame({"member": ["true", "no"], "age": ["40", 38]}))
    >>> inputs.dtypes.astype(str).to_dict()
    {'age': 'float64', 'member': 'bool'}
    """

    columns: tuple[ColumnSpec, ...]

    def __post_init__(self) -> None:
        names = [spec.name for spec in self.columns]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise InputError(
                f"Signature has duplicate column(s) {', '.join(repr(n) for n in duplicates)}; "
                "each column may appear once."
            )

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in order."""
        return tuple(spec.name for spec in self.columns)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, kinds: Mapping[str, ColumnKind]) -> Signature:
        """Record the signature of ``frame``'s columns, in frame order.

        Parameters
        ----------
        frame : pandas.DataFrame
            The training features (without the target).
        kinds : mapping of str to ColumnKind
            A kind for every column of ``frame``; extra entries are ignored.

        Raises
        ------
        InputError
            If a column has no kind, column names repeat, or values do not fit their
            kind (e.g. text in a numeric column).
        """
        _check_unique_names(frame, "Training frame")
        names = [str(name) for name in frame.columns]
        missing = [name for name in names if name not in kinds]
        if missing:
            raise InputError(
                f"No kind given for column(s) {', '.join(repr(n) for n in missing)}; "
                "pass a kind for every feature column."
            )
        specs = []
        for name in names:
            kind = ColumnKind(kinds[name])
            column = frame[name]
            categories = None
            if kind is ColumnKind.CATEGORICAL:
                categories = tuple(sorted(set(_labels(column).dropna())))
            elif kind is ColumnKind.BOOLEAN:
                booleans, _ = _to_bool(column)
                categories = tuple(sorted({str(value) for value in booleans.dropna()}))
            specs.append(ColumnSpec(name, kind, str(column.dtype), categories))
        signature = cls(tuple(specs))
        wrong = signature.check(frame).wrong_types
        if wrong:
            fix = ("replace the infinite values with numbers or leave them missing"
                   if all(problem.infinite for problem in wrong)
                   else "fix the values or the kinds")
            raise InputError(
                "Training frame does not fit the kinds given: "
                f"{'; '.join(problem.describe() for problem in wrong)}; {fix}."
            )
        return signature

    def check(self, frame: pd.DataFrame, model: str | None = None) -> SignatureReport:
        """Compare ``frame`` with the signature.

        Parameters
        ----------
        frame : pandas.DataFrame
            Input to score.
        model : str, optional
            Model name, for the report's messages.

        Raises
        ------
        InputError
            If the frame has duplicate column names.
        """
        report, _ = self._inspect(frame, model, convert=False)
        return report

    def coerce(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return ``frame`` with exactly the signature's columns, in order, typed for scoring.

        Numeric columns become ``float64``; categorical, text and identifier columns
        ``object`` holding text labels (NaN when missing); boolean columns ``bool``
        (``object`` with NaN when values are missing); datetime columns ``datetime64``.
        The index is kept. Unseen categories pass through (an encoder fitted with
        ``handle_unknown="ignore"`` handles them).

        Raises
        ------
        InputError
            If columns are missing or values have the wrong type; the message lists
            every problem.
        """
        report, converted = self._inspect(frame, None, convert=True)
        report.raise_for_errors(strict_categories=False)
        return pd.DataFrame(converted, index=frame.index, columns=list(self.names))

    def to_dict(self) -> dict[str, Any]:
        """The signature as a JSON-ready dict."""
        return {"columns": [spec.to_dict() for spec in self.columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        """Rebuild a signature from :meth:`to_dict` output.

        Raises
        ------
        InputError
            If the data is malformed.
        """
        try:
            columns = data["columns"]
        except (KeyError, TypeError):
            raise InputError(
                "Stored signature is malformed (no 'columns'); register the model again."
            ) from None
        return cls(tuple(ColumnSpec.from_dict(column) for column in columns))

    def _inspect(
        self, frame: pd.DataFrame, model: str | None, convert: bool
    ) -> tuple[SignatureReport, dict[str, pd.Series]]:
        _check_unique_names(frame, "Input")
        present = set(frame.columns)
        wanted = set(self.names)
        missing = tuple(name for name in self.names if name not in present)
        extra = tuple(str(name) for name in frame.columns if name not in wanted)
        wrong: list[WrongType] = []
        unseen: list[UnseenCategories] = []
        converted: dict[str, pd.Series] = {}
        for spec in self.columns:
            if spec.name not in present:
                continue
            column = frame[spec.name]
            values, bad, infinite = _convert(column, spec.kind, convert)
            if bad is not None and bad.any():
                examples = _examples(column[bad])
                wrong.append(WrongType(spec.name, spec.kind, int(bad.sum()), examples))
            if infinite is not None and infinite.any():
                examples = _examples(column[infinite])
                wrong.append(WrongType(spec.name, spec.kind, int(infinite.sum()), examples,
                                       infinite=True))
            if spec.categories is not None:
                found = _unseen(values if spec.kind is ColumnKind.BOOLEAN else column,
                                spec.categories)
                if found:
                    unseen.append(UnseenCategories(spec.name, found))
            if convert:
                converted[spec.name] = values
        report = SignatureReport(missing, tuple(wrong), tuple(unseen), extra, model)
        return report, converted


def _check_unique_names(frame: pd.DataFrame, what: str) -> None:
    duplicated = frame.columns[frame.columns.duplicated()]
    if len(duplicated):
        names = ", ".join(repr(str(name)) for name in dict.fromkeys(duplicated))
        raise InputError(f"{what} has duplicate column names {names}; rename or drop them.")


def _convert(
    column: pd.Series, kind: ColumnKind, convert: bool
) -> tuple[pd.Series, pd.Series | None, pd.Series | None]:
    """The column as ``kind`` wants it, a mask of values that do not convert, and a
    mask of infinite numbers (numeric columns only)."""
    if kind is ColumnKind.NUMERIC:
        if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
                column.dtype):
            numbers = column.astype("float64")
            infinite = pd.Series(np.isinf(numbers.to_numpy()), index=column.index)
            return (numbers if convert else column), None, infinite
        parsed = pd.to_numeric(column, errors="coerce").astype("float64")
        # Infinity parses ("inf", "-Infinity") but is not a number a model can score.
        unparsed = column.notna() & parsed.isna()
        infinite = pd.Series(np.isinf(parsed.to_numpy()), index=column.index)
        return parsed, unparsed, infinite
    if kind is ColumnKind.DATETIME:
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            return column, None, None
        times = _to_datetime(column)
        return times, column.notna() & times.isna(), None
    if kind is ColumnKind.BOOLEAN:
        return (*_to_bool(column), None)
    return (_labels(column) if convert else column), None, None


def _to_datetime(column: pd.Series) -> pd.Series:
    try:
        return pd.to_datetime(column, format="ISO8601", errors="coerce")
    except (ValueError, TypeError):
        # Mixed zone offsets cannot share one naive dtype; compare them in UTC.
        return pd.to_datetime(column, format="ISO8601", errors="coerce", utc=True)


def _to_bool(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Booleans (``bool`` dtype, or ``object`` with NaN), and the values that are not."""
    if pd.api.types.is_bool_dtype(column.dtype) and not column.isna().any():
        return column.astype(bool), pd.Series(False, index=column.index)
    mapping: dict[Any, Any] = {}
    for value in column.dropna().unique():
        mapping[value] = _as_bool(value)
    values = column.map(mapping)
    bad = column.notna() & values.isna()
    if not column.isna().any():
        if not bad.any():
            return values.astype(bool), bad
    return values.astype(object).where(values.notna(), np.nan), bad


def _as_bool(value: object) -> bool | None:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return None


def _labels(column: pd.Series) -> pd.Series:
    """Category labels as ``object`` text, NaN where missing."""
    uniques = column.dropna().unique()
    mapping = {value: category_label(value) for value in uniques}
    if all(isinstance(value, str) and mapping[value] == value for value in mapping):
        labels = column.astype(object)
    else:
        labels = column.map(mapping).astype(object)
    return labels.where(column.notna(), np.nan)


def _unseen(column: pd.Series, categories: Iterable[str]) -> tuple[tuple[str, int], ...]:
    known = set(categories)
    counts: dict[str, int] = {}
    for value, rows in column.dropna().value_counts(sort=False).items():
        label = category_label(value)
        if label not in known:
            counts[label] = counts.get(label, 0) + int(rows)
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _examples(values: pd.Series) -> tuple[str, ...]:
    return tuple(str(value) for value in values.drop_duplicates().head(MAX_EXAMPLES))
