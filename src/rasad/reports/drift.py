"""The drift report as a self-contained HTML page.

It renders the typed results (:class:`~rasad.drift.DriftReport` and the multivariate
results); a saved JSON report becomes a page later, without recomputing anything, by
reading it back first (``DriftReport.from_json``). The page embeds the same JSON for
machine readers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from rasad.reports.page import cards, fmt, page, table
from rasad.reports.svg import bars, histogram, timeline

if TYPE_CHECKING:
    from rasad.drift import (
        ChunkDrift,
        ColumnDrift,
        DomainClassifierResult,
        DriftReport,
        MethodResult,
        PCAReconstructionResult,
    )

    Multivariate = DomainClassifierResult | PCAReconstructionResult

MAX_PLOTS = 60


def render_drift(report: DriftReport | Mapping[str, Any], *, title: str = "Drift report",
                 multivariate: Sequence[Multivariate | Mapping[str, Any]] = (),
                 subtitle: str = "") -> str:
    """The HTML page for a drift report and, optionally, multivariate results.

    Parameters
    ----------
    report : DriftReport
        The univariate report. Its JSON form (a dict, as ``to_dict()`` gives and as
        stored) is read back into the model first.
    multivariate : sequence of DomainClassifierResult or PCAReconstructionResult
        Multivariate results, or their JSON forms.
    title, subtitle : str
        The page's heading and the line under it.
    """
    drift = _as_report(report)
    methods = [_as_multivariate(item) for item in multivariate]
    body = [f"<h1>{escape(title)}</h1>"]
    if subtitle:
        body.append(f'<p class="meta">{escape(subtitle)}</p>')
    body.append(_summary(drift, methods))
    body.append("<h2>Columns</h2>")
    body.append(_column_table(drift.columns))
    if methods:
        body.append("<h2>Multivariate drift</h2>")
        body.extend(_multivariate(item) for item in methods)
    if drift.chunks:
        body.append("<h2>Over time</h2>")
        body.append(_timelines(drift.chunks, drift.drifted_columns))
    body.append("<h2>Distributions</h2>")
    body.append(_plots(drift.columns))
    return page(title, "".join(body), data={
        "drift": drift.to_dict(), "multivariate": [item.to_dict() for item in methods]})


def _as_report(report: DriftReport | Mapping[str, Any]) -> DriftReport:
    from rasad.drift import DriftReport

    return report if isinstance(report, DriftReport) else DriftReport.from_dict(report)


def _as_multivariate(item: Multivariate | Mapping[str, Any]) -> Multivariate:
    from pydantic import TypeAdapter

    from rasad.drift import MultivariateResult

    if not isinstance(item, Mapping):
        return item
    result: Multivariate = TypeAdapter(MultivariateResult).validate_python(item)
    return result


def _summary(report: DriftReport, multivariate: Sequence[Multivariate]) -> str:
    items = [
        ("dataset verdict", "drift" if report.drifted else "no drift",
         "bad" if report.drifted else "good"),
        ("columns drifted", f"{report.n_drifted} of {report.n_counted}",
         "bad" if report.n_drifted else "good"),
        ("reference rows", f"{report.reference_rows:,}", ""),
        ("current rows", f"{report.current_rows:,}", ""),
    ]
    for item in multivariate:
        items.append((item.method, "drift" if item.drifted else "no drift",
                      "bad" if item.drifted else "good"))
    return cards(items) + f'<p id="verdict">{escape(report.reason)}</p>'


def _figure(result: MethodResult) -> float | None:
    """The figure a method is judged by: its (adjusted) p-value, or its distance."""
    if _is_p(result):
        return _known(result.adjusted_p_value or result.p_value)
    return _known(result.statistic)


def _known(value: Any) -> Any:
    """None for a figure that does not exist (NaN, infinite), as the JSON has it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _deciding(column: ColumnDrift) -> str:
    parts = []
    for result in column.results:
        if not result.deciding:
            continue
        figure = f"p={fmt(_figure(result))}" if _is_p(result) else fmt(_figure(result))
        parts.append(f"{result.method.value} {figure} (thr {fmt(result.threshold)})")
    return "; ".join(parts)


def _column_table(columns: Sequence[ColumnDrift]) -> str:
    rows = []
    for column in columns:
        new = column.new_categories
        rows.append([
            column.name, column.kind.value if column.kind is not None else None,
            column.status.value, "yes" if column.drifted else "no", _deciding(column),
            column.missing.difference if column.missing is not None else None,
            ", ".join(f"{n.category} ({n.share:.1%})" for n in new[:5]) or None,
            column.reason,
        ])
    rows.sort(key=lambda r: (r[3] != "yes", str(r[0])))
    return table(["column", "kind", "status", "drifted", "deciding methods",
                  "missing share change", "new categories", "reason"], rows)


def _scalar_figures(item: Multivariate) -> list[list[Any]]:
    """The result's single-valued figures, by name, in the order of its JSON."""
    rows = []
    for name in type(item).model_fields:
        value = getattr(item, name)
        if name != "method" and (value is None or isinstance(value, int | float | str | bool)):
            rows.append([name, _known(value)])
    return rows


def _multivariate(item: Multivariate) -> str:
    name = item.method
    parts = [f"<h3>{escape(name)}</h3>",
             table(["figure", "value"], _scalar_figures(item), sortable=False)]
    if item.excluded:
        parts.append(f'<p class="meta">Left out of {escape(name)}:</p>')
        parts.append(table(["column", "kind", "reason"],
                           [[e.column, e.kind.value, e.reason] for e in item.excluded],
                           sortable=False))
    if item.method == "domain_classifier" and item.importances:
        top = item.importances[:10]
        parts.append(bars([f.column for f in top],
                          {"importance": [max(0.0, f.importance or 0.0) for f in top]},
                          title=f"{name}: features that separate the sides", y_label=""))
    if item.method == "pca_reconstruction" and item.chunks:
        chunks = item.chunks
        parts.append(timeline([c.key for c in chunks], {"error": [_known(c.error) for c in chunks]},
                              lower=_known(chunks[0].lower_threshold),
                              upper=_known(chunks[0].upper_threshold),
                              alerts=[c.drifted for c in chunks],
                              title=f"{name} per chunk", y_label="reconstruction error"))
    return "".join(parts)


def _timelines(chunks: Sequence[ChunkDrift], drifted: Sequence[str]) -> str:
    labels = [chunk.key for chunk in chunks]
    parts = ['<div class="grid">']
    parts.append(_plot("share of drifted columns", timeline(
        labels, {"share": [chunk.share for chunk in chunks]},
        alerts=[chunk.drifted for chunk in chunks])))
    for name in list(drifted)[:12]:
        series: list[float | None] = []
        flags: list[bool] = []
        threshold = None
        for chunk in chunks:
            column = next((c for c in chunk.columns if c.name == name), None)
            deciding = [r for r in column.results if r.deciding] if column is not None else []
            # A distance reads better over time than p-values that shrink with chunk size.
            result = next((r for r in deciding if not _is_p(r)), deciding[0] if deciding else None)
            if column is None or result is None:
                series.append(None)
                flags.append(False)
                continue
            series.append(_figure(result))
            threshold = result.threshold
            flags.append(column.drifted)
        parts.append(_plot(f"{name} per chunk", timeline(labels, {name: series},
                                                         upper=threshold, alerts=flags)))
    parts.append("</div>")
    return "".join(parts)


def _is_p(result: MethodResult) -> bool:
    return result.kind.value == "p-value"


def _plot(title: str, svg: str) -> str:
    if not svg:
        return ""
    return f'<div class="plot"><h3>{escape(title)}</h3>{svg}</div>'


def _plots(columns: Sequence[ColumnDrift]) -> str:
    ordered = sorted(columns, key=lambda c: (not c.drifted, c.name))
    parts = ['<div class="grid">']
    for column in ordered[:MAX_PLOTS]:
        hist = column.histogram
        if hist is None:
            continue
        series = {"reference": list(hist.reference), "current": list(hist.current)}
        if hist.edges:
            svg = histogram(list(hist.edges), series)
        else:
            svg = bars(list(hist.labels or ()), series)
        flag = " (drifted)" if column.drifted else ""
        parts.append(_plot(f"{column.name}{flag}", svg))
    parts.append("</div>")
    if len(ordered) > MAX_PLOTS:
        parts.append(f'<p class="meta">Plots shown for {MAX_PLOTS} of {len(ordered)} columns, '
                     "drifted first; the JSON report has every figure.</p>")
    return "".join(parts)
