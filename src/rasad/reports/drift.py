"""The drift report as a self-contained HTML page.

It renders the JSON form of the results (``DriftReport.to_dict()`` and the
multivariate results' ``to_dict()``), so a saved JSON report can be turned into a
page later without recomputing anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from rasad.reports.page import cards, fmt, page, table
from rasad.reports.svg import bars, histogram, timeline

MAX_PLOTS = 60


def render_drift(report: Mapping[str, Any], *, title: str = "Drift report",
                 multivariate: Sequence[Mapping[str, Any]] = (),
                 subtitle: str = "") -> str:
    """The HTML page for a drift report dict (and optional multivariate result dicts)."""
    body = [f"<h1>{escape(title)}</h1>"]
    if subtitle:
        body.append(f'<p class="meta">{escape(subtitle)}</p>')
    body.append(_summary(report, multivariate))
    body.append("<h2>Columns</h2>")
    body.append(_column_table(report.get("columns", [])))
    if multivariate:
        body.append("<h2>Multivariate drift</h2>")
        body.extend(_multivariate(item) for item in multivariate)
    chunks = report.get("chunks") or []
    if chunks:
        body.append("<h2>Over time</h2>")
        body.append(_timelines(chunks, report.get("drifted_columns", [])))
    body.append("<h2>Distributions</h2>")
    body.append(_plots(report.get("columns", [])))
    return page(title, "".join(body), data={"drift": report, "multivariate": list(multivariate)})


def _summary(report: Mapping[str, Any], multivariate: Sequence[Mapping[str, Any]]) -> str:
    drifted = bool(report.get("drifted"))
    items = [
        ("dataset verdict", "drift" if drifted else "no drift", "bad" if drifted else "good"),
        ("columns drifted", f"{report.get('n_drifted', 0)} of {report.get('n_counted', 0)}",
         "bad" if report.get("n_drifted") else "good"),
        ("reference rows", f"{report.get('reference_rows', 0):,}", ""),
        ("current rows", f"{report.get('current_rows', 0):,}", ""),
    ]
    for item in multivariate:
        name = str(item.get("method", "multivariate"))
        items.append((name, "drift" if item.get("drifted") else "no drift",
                      "bad" if item.get("drifted") else "good"))
    reason = escape(str(report.get("reason", "")))
    return cards(items) + f'<p id="verdict">{reason}</p>'


def _deciding(column: Mapping[str, Any]) -> str:
    parts = []
    for result in column.get("results", []):
        if not result.get("deciding", True):
            continue
        value = result.get("adjusted_p_value") or result.get("p_value")
        figure = f"p={fmt(value)}" if _is_p(result) else fmt(
            result.get("statistic"))
        parts.append(f"{result.get('method')} {figure} (thr {fmt(result.get('threshold'))})")
    return "; ".join(parts)


def _column_table(columns: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for column in columns:
        missing = column.get("missing") or {}
        new = column.get("new_categories") or []
        rows.append([
            column.get("name"), column.get("kind"), column.get("status"),
            "yes" if column.get("drifted") else "no", _deciding(column),
            missing.get("difference"),
            ", ".join(f"{n['category']} ({n['share']:.1%})" for n in new[:5]) or None,
            column.get("reason"),
        ])
    rows.sort(key=lambda r: (r[3] != "yes", str(r[0])))
    return table(["column", "kind", "status", "drifted", "deciding methods",
                  "missing share change", "new categories", "reason"], rows)


def _multivariate(item: Mapping[str, Any]) -> str:
    name = str(item.get("method", "multivariate"))
    keys = [k for k, v in item.items() if isinstance(v, (int, float, str, bool)) or v is None]
    rows = [[k, item[k]] for k in keys if k not in ("method",)]
    parts = [f"<h3>{escape(name)}</h3>", table(["figure", "value"], rows, sortable=False)]
    excluded = item.get("excluded") or []
    if excluded:
        parts.append(f'<p class="meta">Left out of {escape(name)}:</p>')
        parts.append(table(["column", "kind", "reason"],
                           [[e.get("column"), e.get("kind"), e.get("reason")] for e in excluded],
                           sortable=False))
    features = item.get("importances") or []
    if features:
        top = features[:10]
        parts.append(bars([str(f.get("column")) for f in top],
                          {"importance": [max(0.0, float(f.get("importance") or 0))
                                          for f in top]},
                          title=f"{name}: features that separate the sides", y_label=""))
    chunks = item.get("chunks") or []
    if chunks:
        parts.append(timeline([str(c.get("key")) for c in chunks],
                              {"error": [c.get("error") for c in chunks]},
                              lower=chunks[0].get("lower_threshold"),
                              upper=chunks[0].get("upper_threshold"),
                              alerts=[bool(c.get("drifted")) for c in chunks],
                              title=f"{name} per chunk", y_label="reconstruction error"))
    return "".join(parts)


def _timelines(chunks: Sequence[Mapping[str, Any]], drifted: Sequence[str]) -> str:
    labels = [str(c.get("key")) for c in chunks]
    parts = ['<div class="grid">']
    parts.append(_plot("share of drifted columns", timeline(
        labels, {"share": [c.get("share") for c in chunks]},
        alerts=[bool(c.get("drifted")) for c in chunks])))
    names = list(drifted)[:12]
    for name in names:
        series: list[float | None] = []
        flags: list[bool] = []
        threshold = None
        for chunk in chunks:
            column = next((c for c in chunk.get("columns", []) if c.get("name") == name), None)
            deciding = [r for r in (column or {}).get("results", []) if r.get("deciding", True)]
            # A distance reads better over time than p-values that shrink with chunk size.
            result = next((r for r in deciding if not _is_p(r)), deciding[0] if deciding else None)
            if result is None:
                series.append(None)
                flags.append(False)
                continue
            is_p = _is_p(result)
            series.append(result.get("adjusted_p_value") or result.get("p_value") if is_p
                          else result.get("statistic"))
            threshold = result.get("threshold")
            flags.append(bool((column or {}).get("drifted")))
        parts.append(_plot(f"{name} per chunk", timeline(labels, {name: series},
                                                         upper=threshold, alerts=flags)))
    parts.append("</div>")
    return "".join(parts)


def _is_p(result: Mapping[str, Any]) -> bool:
    return result.get("kind") == "p-value"


def _plot(title: str, svg: str) -> str:
    if not svg:
        return ""
    return f'<div class="plot"><h3>{escape(title)}</h3>{svg}</div>'


def _plots(columns: Sequence[Mapping[str, Any]]) -> str:
    ordered = sorted(columns, key=lambda c: (not c.get("drifted"), str(c.get("name"))))
    parts = ['<div class="grid">']
    for column in ordered[:MAX_PLOTS]:
        hist = column.get("histogram")
        if not hist:
            continue
        series = {"reference": hist.get("reference", []), "current": hist.get("current", [])}
        if hist.get("edges"):
            svg = histogram(hist["edges"], series)
        else:
            svg = bars(hist.get("labels") or [], series)
        flag = " (drifted)" if column.get("drifted") else ""
        parts.append(_plot(f"{column.get('name')}{flag}", svg))
    parts.append("</div>")
    if len(ordered) > MAX_PLOTS:
        parts.append(f'<p class="meta">Plots shown for {MAX_PLOTS} of {len(ordered)} columns, '
                     "drifted first; the JSON report has every figure.</p>")
    return "".join(parts)
