"""Drift reports: typed, immutable results per column, per chunk and for the dataset.

:func:`rasad.drift.compare` returns a :class:`DriftReport`. Each compared column has
a :class:`ColumnDrift` with a :class:`ColumnStatus` and the reason for it, the result
of every method run (:class:`~rasad.drift.methods.MethodResult`), the change in its
missing share (:class:`MissingChange`), categories never seen in the reference,
summaries of both sides and a histogram for plotting. Each is a
:class:`rasad.results.Result`: ``to_json()`` and ``to_dict()`` render every figure
(no NaN: figures that do not exist are null), ``from_json()`` and ``from_dict()``
read it back.

The dataset verdict (:func:`verdict`): the dataset drifted when at least one counted
column drifted and the share of drifted columns among the counted ones is at least
the policy's ``drift_share``. Counted columns are those with a verdict of their own:
status tested, constant, too few values, or all missing (their missing share is
still tested). Columns on one side only, of mismatched kinds, or of kinds that are
not tested are listed but not counted.

>>> verdict([], drift_share=0.0)
(False, 0, 0, 0.0, 'no column could be compared')
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Final

from pydantic import AliasChoices, Field, computed_field, field_validator

from rasad.drift._model import Figure
from rasad.drift.methods import Method, MethodResult, ValueKind
from rasad.drift.policy import Combine, DriftPolicy
from rasad.errors import NotFoundError
from rasad.results import Result
from rasad.tables.column_kind import ColumnKind


class ColumnStatus(enum.StrEnum):
    """What rasad could do with a column, each with a reason in the report."""

    TESTED = "tested"
    CONSTANT = "constant"
    TOO_FEW_VALUES = "too few values"
    ALL_MISSING = "all missing"
    KIND_MISMATCH = "kind mismatch"
    NOT_TESTED = "not tested"
    REFERENCE_ONLY = "reference only"
    CURRENT_ONLY = "current only"


COUNTED: Final[frozenset[ColumnStatus]] = frozenset({
    ColumnStatus.TESTED, ColumnStatus.CONSTANT, ColumnStatus.TOO_FEW_VALUES,
    ColumnStatus.ALL_MISSING,
})
"""Statuses that count in the dataset verdict."""


class MissingChange(Result):
    """The change in a column's missing share, tested on its own.

    Drifted when the pooled two-proportion z-test gives ``p < alpha`` (after the
    policy's correction) and the shares differ by at least ``min_change``.
    """

    reference_share: float
    current_share: float
    statistic: Figure
    p_value: Figure
    threshold: float
    min_change: float
    drifted: bool
    adjusted_p_value: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def difference(self) -> float:
        """Current share minus reference share."""
        return self.current_share - self.reference_share


class SideSummary(Result):
    """One side of a column: rows, present values, missing share; numbers for numeric.

    ``minimum`` and ``maximum`` are ``min`` and ``max`` in JSON.
    """

    rows: int
    values: int
    missing_share: float
    mean: float | None = None
    std: float | None = None
    minimum: float | None = Field(default=None, serialization_alias="min",
                                  validation_alias=AliasChoices("min", "minimum"))
    median: float | None = None
    maximum: float | None = Field(default=None, serialization_alias="max",
                                  validation_alias=AliasChoices("max", "maximum"))


class Histogram(Result):
    """Shares of each side per bin (numeric: ``edges``) or per category (``labels``).

    Numeric bins are equal-width between the 0.5% and 99.5% quantiles of both sides;
    the outer bins also hold the values beyond.
    """

    edges: tuple[float, ...] | None = None
    labels: tuple[str, ...] | None = None
    reference: tuple[float, ...]
    current: tuple[float, ...]


class NewCategory(Result):
    """A category the reference never had, and its share of the current values."""

    category: str
    share: float


class ColumnDrift(Result):
    """Everything a report says about one column.

    Parameters
    ----------
    name : str
        The column.
    status : ColumnStatus
        What could be done with it.
    drifted : bool
        Whether its values or its missing share drifted.
    reason : str
        Why this status and verdict, naming the figures that decided.
    rule : str
        Why these methods ("method chosen because ..."): the policy rule and its
        reason, or the override.
    kind : ColumnKind or None
        The reference column's kind.
    value_kind : ValueKind or None
        How the values were compared.
    combine : Combine or None
        How the deciding methods combined.
    results : tuple of MethodResult
        Deciding methods first, then those only reported.
    missing : MissingChange or None
        The missing-share test (None for columns on one side only).
    new_categories : tuple of NewCategory
        Categories the reference never had, with their share of the current values,
        largest first.
    reference, current : SideSummary or None
        Summaries of both sides.
    histogram : Histogram or None
        For plotting.
    """

    name: str
    status: ColumnStatus
    drifted: bool
    reason: str
    rule: str = ""
    kind: ColumnKind | None = None
    value_kind: ValueKind | None = None
    combine: Combine | None = None
    results: tuple[MethodResult, ...] = ()
    missing: MissingChange | None = None
    new_categories: tuple[NewCategory, ...] = ()
    reference: SideSummary | None = None
    current: SideSummary | None = None
    histogram: Histogram | None = None

    @property
    def counted(self) -> bool:
        """Whether the column counts in the dataset verdict."""
        return self.status in COUNTED

    def result(self, method: Method | str) -> MethodResult:
        """The result of ``method``.

        Raises
        ------
        NotFoundError
            If the method did not run on this column; the message lists those that did.
        """
        for result in self.results:
            if result.method == method:
                return result
        raise NotFoundError(
            f"Method {str(method)!r} did not run on column {self.name!r}; it ran "
            f"{', '.join(r.method.value for r in self.results) or 'no method'}.")


def verdict(columns: Sequence[ColumnDrift], drift_share: float
            ) -> tuple[bool, int, int, float, str]:
    """The dataset verdict: (drifted, drifted columns, counted columns, share, reason).

    >>> cols = [ColumnDrift(name=name, status=status, drifted=drifted, reason="")
    ...         for name, status, drifted in [("a", ColumnStatus.TESTED, True),
    ...                                       ("b", ColumnStatus.TESTED, False),
    ...                                       ("c", ColumnStatus.NOT_TESTED, False)]]
    >>> verdict(cols, drift_share=0.5)
    (True, 1, 2, 0.5, 'drift: 1 of 2 counted columns drifted (50%), at least 50% needed')
    """
    counted = [column for column in columns if column.counted]
    if not counted:
        return False, 0, 0, 0.0, "no column could be compared"
    n_drifted = sum(column.drifted for column in counted)
    share = n_drifted / len(counted)
    drifted = n_drifted > 0 and share >= drift_share
    need = "at least one needed" if drift_share == 0 else f"at least {drift_share:.0%} needed"
    word = "drift" if drifted else "no drift"
    return drifted, n_drifted, len(counted), share, (
        f"{word}: {n_drifted} of {len(counted)} counted columns drifted ({share:.0%}), {need}")


class ChunkDrift(Result):
    """The comparison of the reference with one chunk of the current data."""

    key: str
    rows: int
    start: str | None
    end: str | None
    drifted: bool
    n_drifted: int
    n_counted: int
    share: float
    columns: tuple[ColumnDrift, ...]

    def column(self, name: str) -> ColumnDrift:
        """The result for column ``name`` in this chunk (NotFoundError lists the columns)."""
        return _find(self.columns, name)


class DriftReport(Result):
    """The result of :func:`rasad.drift.compare`.

    ``columns`` compare the reference with the whole current data; ``chunks``, when a
    chunker was given, compare it with each chunk in turn. The report's JSON
    (:meth:`to_json`, :meth:`to_dict`) reads back with :meth:`from_json` and
    :meth:`from_dict`, including reports stored by earlier versions of rasad; its
    JSON Schema is ``DriftReport.model_json_schema(mode="serialization")``.
    """

    drifted: bool
    reason: str
    n_drifted: int
    n_counted: int
    share: float
    reference_rows: int
    current_rows: int
    from_profile: bool = False
    policy: DriftPolicy
    columns: tuple[ColumnDrift, ...]
    chunks: tuple[ChunkDrift, ...] = ()

    @field_validator("policy", mode="before")
    @classmethod
    def _stored_policy(cls, value: object) -> object:
        # A stored policy is read as DriftPolicy.from_dict reads it (unknown keys ignored).
        return DriftPolicy.from_dict(value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def drifted_columns(self) -> tuple[str, ...]:
        """Names of the columns that drifted, in report order."""
        return tuple(column.name for column in self.columns if column.drifted)

    def column(self, name: str) -> ColumnDrift:
        """The result for column ``name``.

        Raises
        ------
        NotFoundError
            If the report has no such column; the message lists them.
        """
        return _find(self.columns, name)


def _find(columns: Sequence[ColumnDrift], name: str) -> ColumnDrift:
    for column in columns:
        if column.name == name:
            return column
    raise NotFoundError(f"The drift report has no column {name!r}; columns are "
                        f"{', '.join(repr(c.name) for c in columns)}.")
