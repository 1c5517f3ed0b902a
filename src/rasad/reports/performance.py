"""Performance tracking and estimation reports as self-contained HTML pages.

Like the drift page, it renders the JSON form (``to_dict()``) of a
``PerformanceReport`` or an ``EstimationReport``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from rasad.reports.page import cards, page, table
from rasad.reports.svg import timeline


def render_performance(report: Mapping[str, Any], *, title: str = "Performance report",
                       subtitle: str = "") -> str:
    estimated = report.get("kind") == "performance_estimation"
    metrics = list(report.get("metrics", []))
    reference = list(report.get("reference", []))
    current = list(report.get("current", []))
    summary = report.get("summary", {})
    body = [f"<h1>{escape(title)}</h1>"]
    if subtitle:
        body.append(f'<p class="meta">{escape(subtitle)}</p>')
    alerts = int(summary.get("alerts", 0) or 0)
    items = [
        ("method", str(report.get("method", "realized metrics")), ""),
        ("current chunks", str(summary.get("chunks", len(current))), ""),
        ("chunks alerting", str(summary.get("chunks_alerting", 0)),
         "bad" if summary.get("chunks_alerting") else "good"),
        ("alerts", str(alerts), "bad" if alerts else "good"),
    ]
    error = report.get("estimation_error")
    if isinstance(error, Mapping) and error.get("roc_auc") is not None:
        items.append(("MAE of estimated roc_auc", f"{error['roc_auc']:.4f}", ""))
    body.append(cards(items))
    calibration = report.get("calibration")
    if isinstance(calibration, Mapping) and calibration.get("reason"):
        body.append(f'<p class="meta">Calibration: {escape(str(calibration["reason"]))}</p>')
    for warning in report.get("warnings", []) or []:
        body.append(f'<p class="warn">{escape(str(warning))}</p>')
    body.append("<h2>Metrics per chunk</h2>")
    body.append('<div class="grid">')
    thresholds = report.get("thresholds", {})
    for metric in metrics:
        body.append(_metric_plot(metric, reference, current, thresholds.get(metric, {}),
                                 estimated))
    body.append("</div>")
    body.append("<h2>Table</h2>")
    body.append(_table(metrics, current, estimated))
    return page(title, "".join(body), data=report)


def _value(entry: Mapping[str, Any], estimated: bool) -> float | None:
    value = entry.get("estimate") if estimated else entry.get("value")
    return float(value) if value is not None else None


def _metric_plot(metric: str, reference: Sequence[Mapping[str, Any]],
                 current: Sequence[Mapping[str, Any]], bounds: Mapping[str, Any],
                 estimated: bool) -> str:
    chunks = [*reference, *current]
    labels = [("ref " if i < len(reference) else "") + str(c.get("key")) for i, c in
              enumerate(chunks)]
    entries = [c.get("metrics", {}).get(metric, {}) for c in chunks]
    series: dict[str, list[float | None]] = {
        "estimated" if estimated else "realized": [_value(e, estimated) for e in entries]}
    if estimated and any(e.get("realized") is not None for e in entries):
        series["realized"] = [e.get("realized") for e in entries]
    alerts = [bool(e.get("alert")) for e in entries]
    svg = timeline(labels, series, lower=bounds.get("lower"), upper=bounds.get("upper"),
                   alerts=alerts, title=metric)
    if not svg:
        return ""
    return f'<div class="plot"><h3>{escape(metric)}</h3>{svg}</div>'


def _table(metrics: Sequence[str], current: Sequence[Mapping[str, Any]], estimated: bool) -> str:
    rows = []
    for chunk in current:
        row: list[Any] = [chunk.get("key"), chunk.get("rows"), chunk.get("status")]
        for metric in metrics:
            entry = chunk.get("metrics", {}).get(metric, {})
            value = _value(entry, estimated)
            row.append(None if value is None else round(value, 4))
        row.append(", ".join(m for m in metrics
                             if chunk.get("metrics", {}).get(m, {}).get("alert")) or None)
        rows.append(row)
    return table(["chunk", "rows", "status", *metrics, "alerts"], rows)
