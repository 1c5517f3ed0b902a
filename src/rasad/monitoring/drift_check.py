"""The drift check: compare current data with a reference, optionally save the result.

:func:`check` is the use-case behind ``rasad drift`` on a project, the Python
facade and the HTTP API: each side is a dataset version of the project (its rows
read after the hash check), a file path or a frame; the reference may be the
version's stored profile instead of its rows (:mod:`rasad.monitoring.reference`).
Identifier, time and free-text columns are those the reference version recorded
and ``rasad.yaml`` declares; the other kinds are inferred from the rows. The result,
a :class:`DriftCheck`, carries the :class:`~rasad.drift.DriftReport`, the
multivariate results when asked for, and the saved
:class:`~rasad.monitoring.results.MonitorResult` when ``save`` is given.

:func:`evaluate` is the same computation without a project (files or frames alone):
``rasad drift a.parquet b.parquet`` runs it where no project exists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeGuard

import pandas as pd
import pyarrow as pa
from pydantic import Field

from rasad.drift import (
    Chunker,
    DomainClassifierResult,
    DriftReport,
    PCAReconstructionResult,
    ReferenceProfile,
    compare,
)
from rasad.errors import InputError
from rasad.identity import Permission
from rasad.monitoring.results import MonitorKind, MonitorResult
from rasad.results import Result
from rasad.tables import ColumnKind

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.datasets.version import DatasetVersion

# The store and the datasets service are imported inside check(): evaluate() runs where
# there is no project (`rasad drift a.csv b.csv`), and must not pay their import time.

Data: TypeAlias = pd.DataFrame | pa.Table | str | os.PathLike[str]
"""Rows given directly: a DataFrame, an Arrow table, or a CSV or Parquet path."""


@dataclass(frozen=True)
class Rows:
    """Rows read from a source of the project other than a dataset version (a window of
    the prediction log, :mod:`rasad.serving.predlog`), and the reference that names them
    in a result, as ``NAME@VERSION`` names a dataset version.

    >>> Rows("log:credit@production[..]", pd.DataFrame({"x": [1]})).ref
    'log:credit@production[..]'
    """

    ref: str
    frame: pd.DataFrame


_DATA = (pd.DataFrame, pa.Table, str, os.PathLike, Rows)
Side: TypeAlias = "DatasetVersion | Data | Rows"
"""One side of a check: a project dataset version, rows given directly, or named rows
(which a saved result can refer to, like a dataset version)."""
Multivariate: TypeAlias = Annotated[DomainClassifierResult | PCAReconstructionResult,
                                    Field(discriminator="method")]


class DriftCheck(Result):
    """The outcome of a drift check.

    Its JSON is what ``rasad drift --json`` prints, what ``-o`` writes and what a saved
    result's blob holds: ``reference`` and ``current`` (dataset refs such as
    ``loans@2``, or paths), ``drift`` (the univariate report) and ``multivariate``
    (domain classifier and PCA reconstruction, when run). ``saved`` and
    ``profile_built`` say what this call stored; they are not part of the JSON, so a
    stored blob reads back with :meth:`from_json` as the check that made it.
    """

    reference: str
    current: str
    drift: DriftReport
    multivariate: tuple[Multivariate, ...] = ()
    saved: MonitorResult | None = Field(default=None, exclude=True)
    """The stored result when the check was saved, else None."""
    profile_built: bool | None = Field(default=None, exclude=True)
    """With a stored reference profile: True if this check built it, False if it was
    reused; None when the reference rows were compared."""

    @property
    def drifted(self) -> bool:
        """Drift by the univariate verdict or by any multivariate method."""
        return self.drift.drifted or any(item.drifted for item in self.multivariate)

    def summary(self) -> dict[str, Any]:
        """The short form kept in the result's row and audit event."""
        return {"drifted": self.drift.drifted, "reason": self.drift.reason,
                "drifted_columns": list(self.drift.drifted_columns),
                "multivariate": {item.method: item.drifted for item in self.multivariate}}


def check(ctx: Context, reference: Side, current: Side, *,
          columns: Sequence[str] | None = None, chunker: Chunker | None = None,
          multivariate: bool = False, use_profile: bool = False, save: bool = False,
          monitor: str = "drift") -> DriftCheck:
    """Compare ``current`` with ``reference`` on a project; save the result if asked.

    Parameters
    ----------
    ctx : Context
        The project's context.
    reference, current : DatasetVersion, DataFrame, pyarrow.Table, str, PathLike or Rows
        A dataset version of the project (see :func:`rasad.datasets.service.get`), also
        as ``NAME@VERSION`` text when no file has that name, rows given directly (a
        frame, a table, a file's path), or :class:`Rows` (a window of the prediction log).
    columns : sequence of str, optional
        Columns to compare; by default all.
    chunker : Chunker, optional
        Also compare each chunk of the current data.
    multivariate : bool
        Also run the domain classifier and PCA reconstruction on the same columns.
    use_profile : bool
        Compare against the reference version's stored profile (built and stored on
        first use) instead of its rows. Needs a dataset version as the reference.
    save : bool
        Store the result under ``monitor`` (kind ``drift``) with its audit event.
        Needs a dataset version as the reference, and a dataset version or
        :class:`Rows` as the current data.
    monitor : str
        The monitor name a saved result is filed under.

    Returns
    -------
    DriftCheck

    Raises
    ------
    InputError
        If an option does not fit the sides (see above), the monitor name is not
        allowed, or no column could be compared; nothing is stored then.
    """
    from rasad.datasets.service import load_frame

    reference, current = _named_version(ctx, reference), _named_version(ctx, current)
    check_options(reference, current, multivariate=multivariate, use_profile=use_profile,
                  save=save, monitor=monitor)
    # Before any work: a principal who may not save is refused, not told after the check.
    ctx.require(Permission.MONITOR_WRITE if save else Permission.READ,
                f"save a drift result to monitor {monitor!r}" if save else "check drift")
    profile: ReferenceProfile | None = None
    built: bool | None = None
    if use_profile and _is_version(reference):  # check_options made sure
        from rasad.monitoring.reference import reference_profile

        profile, built = reference_profile(ctx, reference)
    names = list(columns) if columns is not None else None
    # A stored profile fixed its kinds (the version's) when it was built.
    kinds = None if profile is not None else _declared_kinds(ctx, reference, names, chunker)
    ref_rows: ReferenceProfile | Data = (
        profile if profile is not None
        else load_frame(ctx, reference) if _is_version(reference) else _data(reference))
    cur_rows = load_frame(ctx, current) if _is_version(current) else _data(current)
    result = evaluate(ref_rows, cur_rows, reference_label=_label(reference),
                      current_label=_label(current), columns=names, chunker=chunker,
                      multivariate=multivariate, kinds=kinds)
    if built is not None:
        result = result.model_copy(update={"profile_built": built})
    if not save:
        return result
    from rasad.monitoring.results import save_result

    saved = save_result(ctx, monitor=monitor, kind=MonitorKind.DRIFT,
                        reference=result.reference, current=result.current,
                        alert=result.drifted, summary=result.summary(),
                        payload=result.to_dict())
    return result.model_copy(update={"saved": saved})


def check_options(reference: Side, current: Side, *, multivariate: bool = False,
                  use_profile: bool = False, save: bool = False, monitor: str = "drift"
                  ) -> None:
    """Refuse options that do not fit the sides, before any work (see :func:`check`).

    >>> check_options("ref.csv", "cur.csv", save=True)
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: --save keeps results of a project's datasets; give both sides \
as NAME[@VERSION] (add files with `rasad data add`).
    """
    if save:
        from rasad.names import check_name

        # A bad name must not cost a comparison, nor leave anything behind.
        check_name(monitor, "Monitor")
        if not (_is_version(reference)
                and (_is_version(current) or isinstance(current, Rows))):
            raise InputError("--save keeps results of a project's datasets; give both sides "
                             "as NAME[@VERSION] (add files with `rasad data add`).")
    if use_profile:
        if multivariate:
            raise InputError("--multivariate needs the reference rows; drop --use-profile.")
        if not _is_version(reference):
            raise InputError("--use-profile works with a project dataset as the reference "
                             "(NAME[@VERSION]), not a file.")


def evaluate(reference: Data | ReferenceProfile, current: Data, *, reference_label: str,
             current_label: str, columns: Sequence[str] | None = None,
             chunker: Chunker | None = None, multivariate: bool = False,
             kinds: Mapping[str, ColumnKind] | None = None) -> DriftCheck:
    """The drift check on rows alone, without a project (nothing is stored).

    The labels name the sides in the result. ``kinds`` fixes some columns' kinds, as
    :func:`rasad.drift.compare` takes them.

    Raises
    ------
    InputError
        If no column could be compared, or ``multivariate`` is asked of a profile.

    Examples
    --------
    >>> import pandas as pd
    >>> result = evaluate(pd.DataFrame({"x": range(100)}), pd.DataFrame({"x": range(50, 150)}),
    ...                   reference_label="before", current_label="after")
    >>> result.drifted, result.drift.drifted_columns, result.saved
    (True, ('x',), None)
    """
    names = list(columns) if columns is not None else None
    report = compare(reference, current, columns=names, chunker=chunker, kinds=kinds)
    if report.n_counted == 0:
        reasons = "; ".join(f"{c.name}: {c.reason}" for c in report.columns)
        raise InputError(f"No column could be compared ({reasons}). Check that both files "
                         "hold the same kind of data.")
    extra: tuple[DomainClassifierResult | PCAReconstructionResult, ...] = ()
    if multivariate:
        if isinstance(reference, ReferenceProfile):
            raise InputError("--multivariate needs the reference rows; drop --use-profile.")
        # The kinds the univariate check used, so both leave out the same columns.
        used = {c.name: c.kind for c in report.columns if c.kind is not None}
        extra = _multivariate(reference, current, names, chunker, used)
    return DriftCheck(reference=reference_label, current=current_label, drift=report,
                      multivariate=extra)


def _is_version(side: Side) -> TypeGuard[DatasetVersion]:
    """A dataset version of the project, as opposed to rows given directly."""
    return not isinstance(side, _DATA)


def _data(side: Data | Rows) -> Data:
    return side.frame if isinstance(side, Rows) else side


def _label(side: Side) -> str:
    if _is_version(side) or isinstance(side, Rows):
        return side.ref
    if isinstance(side, (str, os.PathLike)):
        return os.fspath(side)
    return "DataFrame" if isinstance(side, pd.DataFrame) else "Arrow table"


def _declared_kinds(ctx: Context, reference: Side, names: list[str] | None,
                    chunker: Chunker | None) -> dict[str, ColumnKind] | None:
    """Identifier, time and free-text columns of a reference dataset version: those the
    version recorded when it was added, and those ``rasad.yaml`` declares now.

    The other columns' kinds are inferred from the rows, as for files.
    """
    if not _is_version(reference):
        return None
    from rasad.drift.reference import TESTED_KINDS

    kinds = {name: kind for name, kind in reference.kinds.items() if kind not in TESTED_KINDS}
    data = ctx.config.data
    kinds.update({name: ColumnKind.IDENTIFIER for name in data.id_columns})
    kinds.update({name: ColumnKind.DATETIME for name in data.time_columns})
    skip = chunker.time_column if chunker is not None else None
    return {name: kind for name, kind in kinds.items()
            if name in reference.kinds and name != skip and (names is None or name in names)}


def _multivariate(reference: Data, current: Data, columns: list[str] | None,
                  chunker: Chunker | None, kinds: Mapping[str, ColumnKind | str]
                  ) -> tuple[DomainClassifierResult, PCAReconstructionResult]:
    from rasad.drift import domain_classifier, pca_reconstruction

    ref, cur = _frame(reference), _frame(current)
    if chunker is not None and chunker.time_column is not None:
        kinds = {**kinds, chunker.time_column: ColumnKind.DATETIME}
    return (domain_classifier(ref, cur, columns=columns, kinds=kinds),
            pca_reconstruction(ref, cur, columns=columns, kinds=kinds, chunker=chunker))


DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")


def _named_version(ctx: Context, side: Side) -> Side:
    """A side given as ``NAME@VERSION`` (or ``NAME``) text, not a file that exists and not
    a data file's name, is that dataset version, as over the server; anything else is
    returned as it is."""
    if not isinstance(side, str) or "/" in side or "\\" in side or os.path.exists(side) \
            or side.lower().endswith(DATA_SUFFIXES):
        return side
    from rasad.datasets import service as datasets
    from rasad.names import parse_ref

    name, version = parse_ref(side)
    return datasets.get(ctx, name, version)


def _frame(data: Data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pa.Table):
        return data.to_pandas()
    from rasad.tables import read_table

    return read_table(data).to_pandas()


__all__ = ["Data", "DriftCheck", "Rows", "Side", "check", "check_options", "evaluate"]
