"""Performance tracking and estimation reports as self-contained HTML pages.

The page is drawn from a typed :class:`~rasad.monitoring.PerformanceReport` or
:class:`~rasad.monitoring.EstimationReport` (a stored one reads back with
``from_dict``), and embeds its JSON form.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from rasad.monitoring.estimation import EstimatedChunk, EstimatedMetric, EstimationReport
from rasad.monitoring.performance import ChunkPerformance, MetricValue, PerformanceReport
from rasad.monitoring.thresholds import Bounds
from rasad.reports.page import cards, page, table
from rasad.reports.svg import timeline

_Chunk = ChunkPerformance | EstimatedChunk
_Entry = MetricValue | EstimatedMetric


def render_performance(report: PerformanceReport | EstimationReport, *,
                       title: str = "Performance report", subtitle: str = "") -> str:
    """The report as one HTML page: summary cards, a timeline per metric, a table.

    Parameters
    ----------
    report : PerformanceReport or EstimationReport
    title, subtitle : str

    Returns
    -------
    str
        A self-contained page (inline CSS and SVG, no network access).
    """
    summary = report.summary
    body = [f"<h1>{escape(title)}</h1>"]
    if subtitle:
        body.append(f'<p class="meta">{escape(subtitle)}</p>')
    estimation = report if isinstance(report, EstimationReport) else None
    items = [
        ("method", "realized metrics" if estimation is None else estimation.method.value, ""),
        ("current chunks", str(summary.chunks), ""),
        ("chunks alerting", str(summary.chunks_alerting),
         "bad" if summary.chunks_alerting else "good"),
        ("alerts", str(summary.alerts), "bad" if summary.alerts else "good"),
    ]
    error = (estimation.estimation_error if estimation is not None else None) or {}
    if error.get("roc_auc") is not None:
        items.append(("MAE of estimated roc_auc", f"{error['roc_auc']:.4f}", ""))
    body.append(cards(items))
    calibration = estimation.calibration if estimation is not None else None
    if calibration is not None and calibration.reason:
        body.append(f'<p class="meta">Calibration: {escape(calibration.reason)}</p>')
    for warning in report.warnings:
        body.append(f'<p class="warn">{escape(warning)}</p>')
    body.append("<h2>Metrics per chunk</h2>")
    body.append('<div class="grid">')
    for metric in report.metrics:
        body.append(_metric_plot(metric, report.reference, report.current,
                                 report.thresholds.get(metric)))
    body.append("</div>")
    body.append("<h2>Table</h2>")
    body.append(_table(report.metrics, report.current))
    return page(title, "".join(body), data=report.to_dict())


def _value(entry: _Entry | None) -> float | None:
    if entry is None:
        return None
    return entry.estimate if isinstance(entry, EstimatedMetric) else entry.value


def _realized(entry: _Entry | None) -> float | None:
    return entry.realized if isinstance(entry, EstimatedMetric) else None


def _metric_plot(metric: str, reference: Sequence[_Chunk], current: Sequence[_Chunk],
                 bounds: Bounds | None) -> str:
    chunks: list[_Chunk] = [*reference, *current]
    labels = [("ref " if i < len(reference) else "") + c.key for i, c in enumerate(chunks)]
    entries: list[_Entry | None] = [c.metrics.get(metric) for c in chunks]
    estimated = any(isinstance(c, EstimatedChunk) for c in chunks)
    series: dict[str, list[float | None]] = {
        "estimated" if estimated else "realized": [_value(e) for e in entries]}
    realized = [_realized(e) for e in entries]
    if estimated and any(value is not None for value in realized):
        series["realized"] = realized
    alerts = [bool(e is not None and e.alert) for e in entries]
    svg = timeline(labels, series, lower=None if bounds is None else bounds.lower,
                   upper=None if bounds is None else bounds.upper, alerts=alerts, title=metric)
    if not svg:
        return ""
    return f'<div class="plot"><h3>{escape(metric)}</h3>{svg}</div>'


def _table(metrics: Sequence[str], current: Sequence[_Chunk]) -> str:
    rows = []
    for chunk in current:
        row: list[object] = [chunk.key, chunk.rows, chunk.status.value]
        for metric in metrics:
            value = _value(chunk.metrics.get(metric))
            row.append(None if value is None else round(value, 4))
        row.append(", ".join(m for m in metrics
                             if (entry := chunk.metrics.get(m)) is not None and entry.alert)
                   or None)
        rows.append(row)
    return table(["chunk", "rows", "status", *metrics, "alerts"], rows)
