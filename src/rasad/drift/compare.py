"""Univariate drift between a reference and current data: :func:`compare`.

Every column common to both sides is compared by the rule its
:class:`~rasad.drift.policy.DriftPolicy` gives it; the deciding p-values of all
columns are corrected together (Benjamini-Hochberg by default); the dataset verdict
follows from the share of drifted columns. With a chunker, the same is done for each
chunk of the current data against the same reference. Columns are compared in
parallel threads: sorting, binary search and Arrow's hashing release the GIL.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from rasad.drift._column import Current, Draft, draft, finalise, mismatch, one_side
from rasad.drift.chunking import Chunk, Chunker
from rasad.drift.methods import MethodKind
from rasad.drift.policy import Correction, DriftPolicy
from rasad.drift.reference import ReferenceProfile, Source, TableReference, read_side
from rasad.drift.report import ChunkDrift, ColumnDrift, ColumnStatus, DriftReport, verdict
from rasad.errors import InputError
from rasad.tables.column_kind import ColumnKind


def compare(
    reference: Source | ReferenceProfile,
    current: Source,
    *,
    columns: Sequence[str] | None = None,
    policy: DriftPolicy | None = None,
    kinds: Mapping[str, ColumnKind | str] | None = None,
    chunker: Chunker | None = None,
    workers: int | None = None,
) -> DriftReport:
    """Compare ``current`` with ``reference``, column by column, and give a verdict.

    Parameters
    ----------
    reference : DataFrame, pyarrow.Table, str, PathLike or ReferenceProfile
        The reference data, a CSV or Parquet path, or a stored profile of it.
    current : DataFrame, pyarrow.Table, str or PathLike
        The data to check.
    columns : sequence of str, optional
        Columns to compare; by default every column of either side (those on one
        side only are reported as such).
    policy : DriftPolicy, optional
        Methods, thresholds and the verdict rule; ``DriftPolicy()`` by default.
    kinds : mapping of str to ColumnKind, optional
        Kinds of some columns; the others are inferred from the reference. A
        profile fixes its kinds when it is built.
    chunker : Chunker, optional
        Also compare each chunk of the current data (rows, equal parts, or periods
        of a time column, which is then not compared itself).
    workers : int, optional
        Threads; by default one per CPU.

    Returns
    -------
    DriftReport

    Raises
    ------
    InputError
        If a side cannot be read or is empty, the sides have no column in common, a
        named column is in neither side, a kind is unknown, or an override names a
        method that does not apply to its column.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> reference = pd.DataFrame({"income": rng.normal(50, 10, 5000),
    ...                           "region": rng.choice(["n", "s", "e"], 5000)})
    >>> current = pd.DataFrame({"income": rng.normal(55, 10, 5000),
    ...                         "region": rng.choice(["n", "s", "e"], 5000)})
    >>> report = compare(reference, current)
    >>> report.drifted, report.drifted_columns
    (True, ('income',))
    >>> print(report.column("income").reason)
    values drifted: ks adjusted p=4.91e-104 < 0.05 and wasserstein 0.53 >= 0.1
    >>> print(report.column("region").reason)
    values did not drift: chi_square adjusted p=0.417 >= 0.05 and jensen_shannon 0.0125 < 0.1
    """
    policy = policy if policy is not None else DriftPolicy()
    cur_table = read_side(current, "current")
    if isinstance(reference, ReferenceProfile):
        if kinds:
            raise InputError("Kinds are fixed when a reference profile is built; pass them to "
                             "ReferenceProfile.from_frame instead.")
        if reference.bins != policy.bins:
            raise InputError(
                f"The reference profile has {reference.bins} bins but the policy asks for "
                f"{policy.bins}; build the profile with bins={policy.bins} or use "
                f"DriftPolicy(bins={reference.bins}).")
        source: ReferenceProfile | TableReference = reference
        ref_names = reference.names
        ref_rows = reference.rows
    else:
        ref_table = read_side(reference, "reference")
        ref_names = ref_table.schema.names
        ref_rows = ref_table.num_rows
    names, common = _select(ref_names, cur_table.schema.names, columns, chunker)
    if not isinstance(reference, ReferenceProfile):
        _check_kinds(kinds, names)
        source = TableReference(ref_table.select(common), kinds, policy.bins)
    chunks = _chunks(cur_table, chunker)

    def one(name: str) -> list[Draft]:
        if name not in common:
            status = (ColumnStatus.REFERENCE_ONLY if name in ref_names
                      else ColumnStatus.CURRENT_ONLY)
            return [one_side(name, status)] * (len(chunks) + 1)
        prepared = source.prepare(name)
        if prepared.column.kind is ColumnKind.NUMERIC:
            _refuse_text_in_numbers(name, cur_table.column(name))
        current_side = Current.read(cur_table.column(name), prepared.column.kind)
        early = mismatch(name, prepared.column, current_side)
        if early is not None:
            return [early] * (len(chunks) + 1)
        return [draft(name, prepared, current_side, index, policy)
                for index in (None, *(chunk.index for chunk in chunks))]

    threads = max(1, min(workers or os.cpu_count() or 1, len(names)))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        drafts = list(pool.map(one, names))
    overall = _finish([d[0] for d in drafts], policy)
    drifted, n_drifted, n_counted, share, reason = verdict(overall, policy.drift_share)
    return DriftReport(
        columns=overall, drifted=drifted, reason=reason, n_drifted=n_drifted,
        n_counted=n_counted, share=share, policy=policy, reference_rows=ref_rows,
        current_rows=cur_table.num_rows, from_profile=isinstance(reference, ReferenceProfile),
        chunks=tuple(_chunk(chunk, _finish([d[i + 1] for d in drafts], policy), policy)
                     for i, chunk in enumerate(chunks)))


def _select(ref_names: Sequence[str], cur_names: Sequence[str], columns: Sequence[str] | None,
            chunker: Chunker | None) -> tuple[list[str], list[str]]:
    """The columns to report, and those of them on both sides."""
    in_ref, in_cur = set(ref_names), set(cur_names)
    if columns is None:
        names = [*ref_names, *(name for name in cur_names if name not in in_ref)]
    else:
        names = list(dict.fromkeys(columns))
        unknown = [name for name in names if name not in in_ref and name not in in_cur]
        if unknown:
            raise InputError(
                f"Column(s) {', '.join(repr(n) for n in unknown)} are in neither side; "
                "columns are "
                f"{', '.join(repr(n) for n in dict.fromkeys([*ref_names, *cur_names]))}.")
    if chunker is not None and chunker.time_column is not None:
        names = [name for name in names if name != chunker.time_column]
    common = [name for name in names if name in in_ref and name in in_cur]
    if not common:
        raise InputError(
            "The reference and current data have no column in common to compare; reference "
            f"columns are {', '.join(repr(n) for n in ref_names)}, current columns are "
            f"{', '.join(repr(n) for n in cur_names)}.")
    return names, common


def _check_kinds(kinds: Mapping[str, ColumnKind | str] | None, names: Sequence[str]) -> None:
    unknown = [name for name in (kinds or {}) if name not in names]
    if unknown:
        raise InputError(f"Kinds name column(s) {', '.join(repr(n) for n in unknown)} that are "
                         f"not compared; compared columns are "
                         f"{', '.join(repr(n) for n in names)}.")


def _chunks(table: pa.Table, chunker: Chunker | None) -> list[Chunk]:
    if chunker is None:
        return []
    if chunker.time_column is not None:
        if chunker.time_column not in table.schema.names:
            raise InputError(f"Time column {chunker.time_column!r} is not in the current data; "
                             f"columns are {', '.join(repr(n) for n in table.schema.names)}.")
        frame = pd.DataFrame({chunker.time_column: table.column(chunker.time_column).to_pandas()})
    else:
        frame = pd.DataFrame(index=pd.RangeIndex(table.num_rows))
    return chunker.split(frame)


def _finish(drafts: Sequence[Draft], policy: DriftPolicy) -> tuple[ColumnDrift, ...]:
    """Correct the deciding p-values of the counted columns together, then finalise each."""
    family: list[tuple[int, int | None, float]] = []  # (draft, result or None=missing, p)
    for i, item in enumerate(drafts):
        column = item.column
        if not column.counted:
            continue
        for j, result in enumerate(column.results):
            p = result.p_value
            if result.deciding and result.kind is MethodKind.P_VALUE and p is not None \
                    and not np.isnan(p):
                family.append((i, j, p))
        if column.missing is not None:
            family.append((i, None, column.missing.p_value))
    adjusted = _correct(np.array([p for _, _, p in family]), policy.correction)
    by_draft: dict[int, dict[int, float]] = {}
    missing: dict[int, float] = {}
    if adjusted is not None:
        for (i, position, _), value in zip(family, adjusted, strict=True):
            if position is None:
                missing[i] = float(value)
            else:
                by_draft.setdefault(i, {})[position] = float(value)
    return tuple(finalise(item, by_draft.get(i, {}), missing.get(i), policy)
                 for i, item in enumerate(drafts))


def _correct(p_values: np.ndarray, correction: Correction) -> np.ndarray | None:
    if correction is Correction.NONE or not len(p_values):
        return None
    if correction is Correction.BONFERRONI:
        return np.minimum(p_values * len(p_values), 1.0)
    return np.asarray(stats.false_discovery_control(p_values, method="bh"))


def _chunk(chunk: Chunk, columns: tuple[ColumnDrift, ...], policy: DriftPolicy) -> ChunkDrift:
    drifted, n_drifted, n_counted, share, _ = verdict(columns, policy.drift_share)
    return ChunkDrift(key=chunk.key, rows=chunk.rows, start=chunk.start, end=chunk.end,
                      columns=columns, drifted=drifted, n_drifted=n_drifted,
                      n_counted=n_counted, share=share)


def _refuse_text_in_numbers(name: str, column: pa.ChunkedArray) -> None:
    """A numeric column whose current values are mostly numbers but partly text is bad input.

    A column that is text through and through changed kind, and is reported as a
    kind mismatch; a few unreadable values among numbers are a data error the user
    must fix, so they stop the comparison (exit 2) instead of silently dropping the
    column from the verdict.
    """
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return
    distinct = pc.unique(column.drop_null()).to_pylist()
    if not distinct:
        return
    parsed = pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce")
    bad = [value for value, number in zip(distinct, parsed, strict=True) if pd.isna(number)]
    if bad and len(bad) < len(distinct) / 2:
        examples = ", ".join(repr(v) for v in bad[:3])
        raise InputError(
            f"Column {name!r} is numeric in the reference but the current data has "
            f"{len(bad)} distinct value(s) that are not numbers (e.g. {examples}); fix them, "
            "or leave the column out with --columns.")

