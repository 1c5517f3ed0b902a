"""Comparing one column: status, methods, missing share, summaries; then the final verdict.

:func:`draft` runs everything for one column against the whole current side or one
chunk of it, flagging with the raw p-values; :func:`finalise` applies the
multiple-testing correction's adjusted p-values and writes the verdict and its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from pydantic import BaseModel

from rasad.drift._columns import (
    Family,
    category_codes,
    count_codes,
    family_of,
    float_values,
    missing_count,
)
from rasad.drift.categorical import CATEGORICAL_METHODS, CategoricalPair
from rasad.drift.methods import (
    METHODS,
    MethodKind,
    MethodResult,
    ValueKind,
    flags,
    two_proportion_z,
)
from rasad.drift.numeric import (
    NUMERIC_METHODS,
    NumericPair,
    bin_counts,
    plot_edges,
    quantiles,
    sorted_finite,
)
from rasad.drift.policy import Combine, DriftPolicy, MethodSpec, Rule
from rasad.drift.reference import NOT_COMPARED, TESTED_KINDS, Prepared, ReferenceColumn
from rasad.drift.report import (
    ColumnDrift,
    ColumnStatus,
    Histogram,
    MissingChange,
    NewCategory,
    SideSummary,
)
from rasad.tables.column_kind import ColumnKind

PLOT_CATEGORIES: Final[int] = 50
"""Most categories a histogram lists; the rest are summed as ``(other)``."""

_NUMERIC_FAMILIES: Final[frozenset[Family]] = frozenset(
    {Family.NUMBER, Family.BOOLEAN, Family.NULL})
Floats = npt.NDArray[np.float64]
_Model = TypeVar("_Model", bound=BaseModel)
Compute = Callable[[MethodSpec], tuple[float, float | None]]


@dataclass(frozen=True, eq=False)
class Current:
    """The current side of one column, read once for the whole data and every chunk."""

    rows: int
    family: Family
    arrow_type: str
    numbers: Floats | None = None
    codes: npt.NDArray[np.intp] | None = None
    labels: tuple[str, ...] = ()
    missing: int = 0

    @classmethod
    def read(cls, column: pa.ChunkedArray, kind: ColumnKind) -> Current:
        family = family_of(column.type)
        rows, arrow_type = len(column), str(column.type)
        if kind is ColumnKind.NUMERIC and family in _NUMERIC_FAMILIES:
            return cls(rows, family, arrow_type, numbers=float_values(column))
        if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN) and family is not Family.OTHER:
            codes, labels = category_codes(column)
            return cls(rows, family, arrow_type, codes=codes, labels=labels)
        return cls(rows, family, arrow_type, missing=missing_count(column))


@dataclass(frozen=True)
class Draft:
    """A column's comparison before correction, and the status note its reason starts with."""

    column: ColumnDrift
    note: str = ""


def one_side(name: str, status: ColumnStatus) -> Draft:
    side = "reference" if status is ColumnStatus.REFERENCE_ONLY else "current"
    return Draft(ColumnDrift(name=name, status=status, drifted=False,
                             reason=f"the column is only in the {side} data"))


def mismatch(name: str, ref: ReferenceColumn, current: Current) -> Draft | None:
    """A not-tested or kind-mismatch draft, or None when the column can be compared."""
    ref_summary = SideSummary(rows=ref.rows, values=ref.count,
                              missing_share=_share(ref.missing, ref.rows))
    if ref.kind not in TESTED_KINDS:
        return Draft(ColumnDrift(name=name, status=ColumnStatus.NOT_TESTED, drifted=False,
                                 reason=NOT_COMPARED[ref.kind], kind=ref.kind,
                                 reference=ref_summary))
    problem = None
    if ref.kind is ColumnKind.NUMERIC and ref.family not in _NUMERIC_FAMILIES:
        problem = f"the column is numeric but the reference holds {ref.family.value}"
    elif ref.kind is ColumnKind.NUMERIC and current.family not in _NUMERIC_FAMILIES:
        problem = (f"the reference holds numbers but the current data holds "
                   f"{current.family.value} ({current.arrow_type})")
    elif ref.family is Family.OTHER or current.family is Family.OTHER:
        problem = f"values of type {current.arrow_type} cannot be compared as categories"
    elif Family.NULL not in (ref.family, current.family) and ref.family is not current.family:
        problem = (f"the reference holds {ref.family.value} but the current data holds "
                   f"{current.family.value} ({current.arrow_type})")
    if problem is None:
        return None
    return Draft(ColumnDrift(name=name, status=ColumnStatus.KIND_MISMATCH, drifted=False,
                             reason=problem, kind=ref.kind, reference=ref_summary))


def draft(name: str, prepared: Prepared, current: Current, index: npt.NDArray[np.intp] | None,
          policy: DriftPolicy) -> Draft:
    """Compare the reference column with the current rows at ``index`` (all when None)."""
    if current.numbers is not None:
        return _numeric(name, prepared, current, index, policy)
    return _categorical(name, prepared, current, index, policy)


# --- numeric ---------------------------------------------------------------------------


def _numeric(name: str, prepared: Prepared, current: Current,
             index: npt.NDArray[np.intp] | None, policy: DriftPolicy) -> Draft:
    ref = prepared.column
    assert current.numbers is not None
    numbers = current.numbers if index is None else current.numbers[index]
    values = sorted_finite(numbers)
    rows = len(numbers)
    cur_summary = _numeric_side(rows, values)
    summary = ref.numeric
    ref_summary = SideSummary(rows=ref.rows, values=ref.count,
                              missing_share=_share(ref.missing, ref.rows))
    if summary is not None:
        ref_summary = _replace(ref_summary, mean=summary.mean, std=summary.std,
                               minimum=summary.minimum, median=summary.median,
                               maximum=summary.maximum)
    missing = _missing(ref, rows - len(values), rows, policy)
    base = ColumnDrift(name=name, status=ColumnStatus.TESTED, drifted=False, reason="",
                       kind=ref.kind, value_kind=ValueKind.NUMERIC, missing=missing,
                       reference=ref_summary, current=cur_summary)
    if summary is None or not len(values):
        return _all_missing(base, ref.count, len(values))
    assert prepared.values is not None
    edges = plot_edges(prepared.values, values)
    base = _replace(base, histogram=Histogram(
        reference=tuple(_shares(bin_counts(prepared.values, edges[1:-1]))),
        current=tuple(_shares(bin_counts(values, edges[1:-1]))), edges=tuple(edges.tolist())))
    if summary.minimum == summary.maximum:
        constant = summary.minimum
        equal = int(np.searchsorted(values, constant, "right")
                    - np.searchsorted(values, constant, "left"))
        indicator = CategoricalPair((f"= {constant:g}", "other"), np.array([summary.count, 0]),
                                    np.array([equal, len(values) - equal]))
        return _constant(base, f"{constant:g}", indicator, policy)
    n = min(summary.count, len(values))
    rule, why = policy.rule_for(name, ValueKind.NUMERIC, n)
    if rule is None:
        return Draft(_replace(base, status=ColumnStatus.TOO_FEW_VALUES, rule=why),
                     f"too few values to compare ({why})")
    pair = NumericPair(prepared.values, values, summary.std, np.asarray(summary.edges),
                       np.asarray(summary.bin_counts, dtype=np.int64))
    results = _run(rule, policy, lambda spec: NUMERIC_METHODS[spec.method](pair))
    return Draft(_replace(base, rule=why, combine=rule.combine, results=results))


def _numeric_side(rows: int, values: Floats) -> SideSummary:
    if not len(values):
        return SideSummary(rows=rows, values=0, missing_share=_share(rows, rows))
    return SideSummary(
        rows=rows, values=len(values), missing_share=_share(rows - len(values), rows),
        mean=float(np.mean(values)),
        std=float(np.std(values, ddof=1)) if len(values) > 1 else None,
        minimum=float(values[0]), median=float(quantiles(values, [0.5])[0]),
        maximum=float(values[-1]))


# --- categorical -----------------------------------------------------------------------


def _categorical(name: str, prepared: Prepared, current: Current,
                 index: npt.NDArray[np.intp] | None, policy: DriftPolicy) -> Draft:
    ref = prepared.column
    assert current.codes is not None
    codes = current.codes if index is None else current.codes[index]
    own = count_codes(codes, len(current.labels))
    rows = len(codes)
    present = int(own.sum())
    ref_categories = ref.categories or ()
    ref_labels = [label for label, _ in ref_categories]
    known = set(ref_labels)
    new = [(label, int(count)) for label, count in zip(current.labels, own, strict=True)
           if count > 0 and label not in known]
    new.sort(key=lambda item: (-item[1], item[0]))
    labels = (*ref_labels, *(label for label, _ in new))
    position = {label: i for i, label in enumerate(labels)}
    cur_counts = np.zeros(len(labels), dtype=np.int64)
    for label, count in zip(current.labels, own, strict=True):
        if count > 0:
            cur_counts[position[label]] += count
    ref_counts = np.array([count for _, count in ref_categories] + [0] * len(new),
                          dtype=np.int64)
    missing = _missing(ref, rows - present, rows, policy)
    value_kind = ValueKind.BINARY if len(labels) == 2 else ValueKind.CATEGORICAL
    base = ColumnDrift(
        name=name, status=ColumnStatus.TESTED, drifted=False, reason="", kind=ref.kind,
        value_kind=value_kind, missing=missing,
        new_categories=tuple(NewCategory(category=label, share=count / present)
                             for label, count in new),
        reference=SideSummary(rows=ref.rows, values=ref.count,
                              missing_share=_share(ref.missing, ref.rows)),
        current=SideSummary(rows=rows, values=present,
                            missing_share=_share(rows - present, rows)),
        histogram=_category_histogram(labels, ref_counts, cur_counts))
    if not ref.count or not present:
        return _all_missing(base, ref.count, present)
    if len(ref_labels) == 1:
        pair = CategoricalPair((ref_labels[0], "other"), np.array([ref.count, 0]),
                               np.array([cur_counts[0], present - cur_counts[0]]))
        return _constant(base, repr(ref_labels[0]), pair, policy)
    rule, why = policy.rule_for(name, value_kind, min(ref.count, present))
    if rule is None:
        return Draft(_replace(base, status=ColumnStatus.TOO_FEW_VALUES, rule=why),
                     f"too few values to compare ({why})")
    pair = CategoricalPair(labels, ref_counts, cur_counts)
    results = _run(rule, policy, lambda spec: CATEGORICAL_METHODS[spec.method](pair))
    return Draft(_replace(base, rule=why, combine=rule.combine, results=results))


def _category_histogram(labels: tuple[str, ...], reference: npt.NDArray[np.int64],
                        current: npt.NDArray[np.int64]) -> Histogram:
    ref_shares = np.asarray(_shares(reference))
    cur_shares = np.asarray(_shares(current))
    if len(labels) <= PLOT_CATEGORIES:
        return Histogram(reference=tuple(ref_shares.tolist()),
                         current=tuple(cur_shares.tolist()), labels=labels)
    keep = np.sort(np.argsort(-(ref_shares + cur_shares), kind="stable")[:PLOT_CATEGORIES - 1])
    rest = np.setdiff1d(np.arange(len(labels)), keep)
    return Histogram(
        reference=(*ref_shares[keep].tolist(), float(ref_shares[rest].sum())),
        current=(*cur_shares[keep].tolist(), float(cur_shares[rest].sum())),
        labels=(*(labels[i] for i in keep), "(other)"))


# --- shared ----------------------------------------------------------------------------


def _replace(model: _Model, **changes: object) -> _Model:
    """A copy of a result with some fields changed (their values are already typed)."""
    return model.model_copy(update=changes)


def _constant(base: ColumnDrift, value: str, pair: CategoricalPair,
              policy: DriftPolicy) -> Draft:
    """A reference holding one value: compare the share of current values equal to it."""
    base = _replace(base, status=ColumnStatus.CONSTANT)
    if pair.current[1] == 0:
        return Draft(base, f"the reference holds one value ({value}) and so does the current "
                           "data")
    note = f"the reference holds one value ({value}); compared the share of current values " \
           "equal to it"
    rule, why = policy.rule_for(base.name, ValueKind.BINARY,
                                int(min(pair.reference.sum(), pair.current.sum())),
                                override=False)
    if rule is None:
        return Draft(_replace(base, status=ColumnStatus.TOO_FEW_VALUES, rule=why),
                     f"{note}, but there are too few values ({why})")
    results = _run(rule, policy, lambda spec: CATEGORICAL_METHODS[spec.method](pair))
    return Draft(_replace(base, value_kind=ValueKind.BINARY, rule=why, combine=rule.combine,
                         results=results), note)


def _all_missing(base: ColumnDrift, ref_values: int, cur_values: int) -> Draft:
    sides = [side for side, n in (("reference", ref_values), ("current data", cur_values))
             if not n]
    return Draft(_replace(base, status=ColumnStatus.ALL_MISSING),
                 f"the {' and the '.join(sides)} {'have' if len(sides) > 1 else 'has'} "
                 "no values")


def _run(rule: Rule, policy: DriftPolicy, compute: Compute) -> tuple[MethodResult, ...]:
    results = []
    for deciding, specs in ((True, rule.methods), (False, rule.report)):
        for spec in specs:
            statistic, p_value = compute(spec)
            kind = METHODS[spec.method].kind
            threshold = policy.threshold(spec)
            value = p_value if kind is MethodKind.P_VALUE and p_value is not None else statistic
            results.append(MethodResult(method=spec.method, kind=kind, statistic=statistic,
                                        p_value=p_value, threshold=threshold,
                                        drifted=flags(kind, value, threshold),
                                        deciding=deciding))
    return tuple(results)


def _missing(ref: ReferenceColumn, missing: int, rows: int, policy: DriftPolicy
             ) -> MissingChange:
    z, p = two_proportion_z(ref.missing, ref.rows, missing, rows)
    ref_share, cur_share = _share(ref.missing, ref.rows), _share(missing, rows)
    drifted = p < policy.alpha and abs(cur_share - ref_share) >= policy.missing_min_change
    return MissingChange(reference_share=ref_share, current_share=cur_share, statistic=z,
                         p_value=p, threshold=policy.alpha,
                         min_change=policy.missing_min_change, drifted=drifted)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _shares(counts: npt.NDArray[np.int64]) -> list[float]:
    total = counts.sum()
    shares: list[float] = (counts / total).tolist() if total else [0.0] * len(counts)
    return shares


# --- after correction ------------------------------------------------------------------


def finalise(item: Draft, adjusted: dict[int, float], missing_adjusted: float | None,
             policy: DriftPolicy) -> ColumnDrift:
    """The final column: adjusted p-values applied, verdict and reason written.

    ``adjusted`` maps positions in ``results`` to adjusted p-values.
    """
    column = item.column
    if not column.counted:
        return column
    results = tuple(
        _adjust(result, adjusted[i]) if i in adjusted else result
        for i, result in enumerate(column.results))
    missing = column.missing
    if missing is not None and missing_adjusted is not None:
        missing = _replace(missing, adjusted_p_value=missing_adjusted, drifted=(
            missing_adjusted < missing.threshold
            and abs(missing.difference) >= missing.min_change))
    deciding = [r for r in results if r.deciding]
    combine = column.combine or Combine.ALL
    values_drifted = bool(deciding) and (
        all(r.drifted for r in deciding) if combine is Combine.ALL
        else any(r.drifted for r in deciding))
    missing_drifted = missing is not None and missing.drifted
    parts = [item.note] if item.note else []
    values = _decision(deciding, combine, values_drifted) if deciding else ""
    missed = _missing_reason(missing) if missing is not None and missing.drifted else ""
    # What decided comes first: a column that drifted by its missing share alone
    # says so before listing the value tests that did not flag.
    ordered = (missed, values) if missed and not values_drifted else (values, missed)
    parts.extend(part for part in ordered if part)
    return _replace(column, results=results, missing=missing,
                   drifted=values_drifted or missing_drifted, reason="; ".join(parts))


def _adjust(result: MethodResult, adjusted: float) -> MethodResult:
    return _replace(result, adjusted_p_value=adjusted,
                   drifted=flags(result.kind, adjusted, result.threshold))


def _decision(deciding: list[MethodResult], combine: Combine, drifted: bool) -> str:
    flagged = [r.describe() for r in deciding if r.drifted]
    calm = [r.describe() for r in deciding if not r.drifted]
    joiner = " and " if combine is Combine.ALL else " or "
    if drifted:
        return "values drifted: " + joiner.join(flagged)
    text = "values did not drift: " + " and ".join(calm)
    if flagged:
        text += f" (though {' and '.join(flagged)})"
    return text


def _missing_reason(missing: MissingChange) -> str:
    """The missing-share change with the test that found it.

    >>> print(_missing_reason(MissingChange(
    ...     reference_share=0.034, current_share=0.003, statistic=9.1, p_value=1e-19,
    ...     threshold=0.05, min_change=0.01, drifted=True, adjusted_p_value=4e-19)))
    missing share drifted: 3.4% -> 0.3% (two-proportion z-test, adjusted p=4e-19 < 0.05)
    """
    p = (f"adjusted p={missing.adjusted_p_value:.3g}" if missing.adjusted_p_value is not None
         else f"p={missing.p_value:.3g}")
    return (f"missing share drifted: {_percent(missing.reference_share)} -> "
            f"{_percent(missing.current_share)} (two-proportion z-test, {p} < "
            f"{missing.threshold:g})")


def _percent(share: float) -> str:
    """A share as a percentage; a small one keeps two significant digits, not 0.0%.

    >>> _percent(0.034), _percent(0.0004), _percent(0.0)
    ('3.4%', '0.04%', '0.0%')
    """
    if 0 < abs(share) < 0.001:
        return f"{share * 100:.2g}%"
    return f"{share:.1%}"
