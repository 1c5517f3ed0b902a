"""The automation loop's timeline as a self-contained HTML page.

Month by month, the page shows what the loop did: files ingested, monitor runs (drift,
performance, validation; fired or not), alerts with their severity and delivery status,
retrainings (trigger, version, request), promotion requests, approvals and deployments.
It renders a list of :class:`TimelineEvent` values and nothing else: this module reads no
store, so whoever collects the events (the demo, the agent's status) decides what goes in.

The page needs no network and no JavaScript: inline CSS, an inline SVG overview (one
column per month, one lane per kind of event, each mark linking to its month), then one
section per month. Every text from an event is escaped, and the events are embedded as
JSON (with ``<``, ``>`` and ``&`` written as ``\\u003c`` and so on) for machine readers.

(The module is not called ``timeline``: :func:`rasad.reports.timeline` is the metric
chart of :mod:`rasad.reports.svg`, and a submodule of that name would replace it.)

>>> events = [
...     TimelineEvent(month=7, at="2025-07-31T09:00:00+00:00", kind="monitor",
...                   title="income drift", detail="ks p=1e-40", severity="warning",
...                   status="fired"),
...     TimelineEvent(month=7, at="2025-07-31T09:00:01+00:00", kind="alert",
...                   title="Drift in income", severity="warning", status="sent")]
>>> html = render_timeline(events, months=range(1, 13))
>>> html.count('<section class="month"'), "Drift in income" in html
(12, True)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from html import escape

from pydantic import Field, ValidationError, field_validator

from rasad.errors import InputError
from rasad.reports.page import CSS, cards
from rasad.results import Result


class EventKind(StrEnum):
    """What happened; the order of the members is the order of the overview's lanes."""

    INGEST = "ingest"
    MONITOR = "monitor"
    ALERT = "alert"
    RETRAIN = "retrain"
    REQUEST = "request"
    APPROVAL = "approval"
    DEPLOYMENT = "deployment"


class TimelineEvent(Result):
    """One thing the automation loop did, placed in a (simulated) month.

    Parameters
    ----------
    month : int
        The month it belongs to, from 1; 0 stands for the set-up before the first month.
    at : str
        When, as ISO 8601 text (what ``ctx.clock()`` gives); orders events in a month.
    kind : EventKind
        ``ingest``, ``monitor``, ``alert``, ``retrain``, ``request``, ``approval`` or
        ``deployment``.
    title : str
        One line: "income drifted", "credit-risk v2 requested for production".
    detail : str
        More text, shown under the title (the statistic, the trigger, the reason).
    severity : str, optional
        An alert's severity. For a monitor, a severity means the monitor fired and
        ``None`` that it ran and found nothing. ``critical``/``error``, ``warning`` and
        ``info`` get colours; other words are shown as written.
    status : str, optional
        A short state shown as a badge: an alert's delivery status (``sent``,
        ``failed``, ``pending``), a request's (``pending``, ``approved``), a file's
        (``ingested``, ``rejected``).
    """

    month: int = Field(ge=0)
    at: str
    kind: EventKind
    title: str
    detail: str = ""
    severity: str | None = None
    status: str | None = None

    @field_validator("at")
    @classmethod
    def _iso_time(cls, value: str) -> str:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"at must be ISO 8601 text such as '2025-07-31T09:00:00+00:00'; "
                             f"got {value!r}") from None
        return value

    @property
    def moment(self) -> datetime:
        """``at`` as a timezone-aware time (a time without an offset is taken as UTC)."""
        parsed = datetime.fromisoformat(self.at)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_SEVERITY_CLASS = {"critical": "sev-critical", "error": "sev-critical", "high": "sev-critical",
                   "warning": "sev-warning", "warn": "sev-warning", "medium": "sev-warning",
                   "info": "sev-info", "low": "sev-info"}
"""Known severities and their colour class; any other word gets ``sev-other``."""

_STATUS_CLASS = {**dict.fromkeys(("failed", "rejected", "stopped", "refused", "error",
                                  "fired"), "bad"),
                 **dict.fromkeys(("pending", "retry", "retrying", "waiting", "requested"),
                                 "warn"),
                 **dict.fromkeys(("sent", "delivered", "approved", "deployed", "ingested",
                                  "ok", "passed", "quiet"), "good")}
"""Known statuses and their colour; any other word is shown uncoloured."""

_RANK = {"sev-critical": 4, "sev-warning": 3, "sev-other": 2, "sev-info": 1, "sev-none": 0}
_FILL = {"sev-critical": "#c0392b", "sev-warning": "#e67e22", "sev-other": "#8e44ad",
         "sev-info": "#2e86c1", "sev-none": "#95a5a6"}
_KIND_LABEL = {EventKind.INGEST: "ingest", EventKind.MONITOR: "monitor",
               EventKind.ALERT: "alert", EventKind.RETRAIN: "retraining",
               EventKind.REQUEST: "request", EventKind.APPROVAL: "approval",
               EventKind.DEPLOYMENT: "deployment"}

_TIMELINE_CSS = """
.overview{margin:10px 0 18px 0;overflow-x:auto}
.overview text{font-size:11px;fill:#444}
.month{border-top:1px solid #ddd;margin-top:18px}
.month h2{margin:14px 0 6px 0}
.events{list-style:none;padding:0;margin:0}
.event{border-left:4px solid #95a5a6;padding:6px 10px;margin:6px 0;background:#fafafa}
.event.sev-critical{border-left-color:#c0392b} .event.sev-warning{border-left-color:#e67e22}
.event.sev-info{border-left-color:#2e86c1} .event.sev-other{border-left-color:#8e44ad}
.event .time{color:#666;font-size:12px;margin-right:8px;font-family:monospace}
.badge{display:inline-block;font-size:11px;border:1px solid #ccc;border-radius:9px;
padding:0 7px;margin-right:5px;background:#fff}
.badge.kind{background:#eef2fb;border-color:#c5d0ee}
.event .title{font-weight:600;margin-top:3px}
.event .detail{font-size:13px;color:#444;white-space:pre-wrap;margin-top:2px}
.empty{color:#888;font-size:13px}
"""


def render_timeline(events: Iterable[TimelineEvent | Mapping[str, object]], *,
                    title: str = "Automation timeline", subtitle: str = "",
                    months: Iterable[int] | None = None) -> str:
    """The HTML page for a list of timeline events.

    Parameters
    ----------
    events : iterable of TimelineEvent
        The events, in any order, or their JSON forms (dicts as ``to_dict()`` gives).
        Within a month they are shown by time, ties in the order given.
    title, subtitle : str
        The page's heading and the line under it.
    months : iterable of int, optional
        The months to show, also those without events (``range(1, 13)`` for a year);
        by default every month from the first to the last event's. Months of events
        outside it are added.

    Returns
    -------
    str
        A complete HTML document with no external reference and no script to run.

    Raises
    ------
    InputError
        If an event is not a valid :class:`TimelineEvent`, or a month is negative.
    """
    items = _as_events(events)
    shown = _months(items, months)
    by_month: dict[int, list[TimelineEvent]] = {month: [] for month in shown}
    order = sorted(range(len(items)), key=lambda i: (items[i].month, items[i].moment, i))
    for i in order:
        by_month[items[i].month].append(items[i])
    body = [f"<h1>{escape(title)}</h1>"]
    if subtitle:
        body.append(f'<p class="meta">{escape(subtitle)}</p>')
    body.append(_summary(items, shown))
    if shown:
        body.append(_overview(by_month))
    body.extend(_month_section(month, by_month[month]) for month in shown)
    data = json.dumps({"events": [item.to_dict() for item in items], "months": shown})
    for char, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        data = data.replace(char, code)
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}{_TIMELINE_CSS}</style></head>"
            f"<body>{''.join(body)}"
            f'<script type="application/json" id="report-data">{data}</script>'
            "</body></html>")


def _as_events(events: Iterable[TimelineEvent | Mapping[str, object]]) -> list[TimelineEvent]:
    items = []
    for index, event in enumerate(events):
        if isinstance(event, TimelineEvent):
            items.append(event)
            continue
        try:
            items.append(TimelineEvent.model_validate(event))
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}"
                                 for e in error.errors())
            raise InputError(f"Timeline event {index} is not valid ({problems}). Give month, "
                             "at (ISO time), kind, title and optionally detail, severity, "
                             "status.") from None
    return items


def _months(items: Sequence[TimelineEvent], months: Iterable[int] | None) -> list[int]:
    chosen = set(months) if months is not None else set()
    bad = sorted((m for m in chosen if isinstance(m, bool) or not isinstance(m, int) or m < 0),
                 key=repr)
    if bad:
        raise InputError(f"months must be whole numbers, 0 or more; got {bad}.")
    present = {item.month for item in items}
    if months is None and present:
        chosen = set(range(min(present), max(present) + 1))
    return sorted(chosen | present)


def _severity_class(event: TimelineEvent) -> str:
    if event.severity is None:
        return "sev-none"
    return _SEVERITY_CLASS.get(event.severity.strip().lower(), "sev-other")


def _month_label(month: int) -> str:
    return "Before month 1" if month == 0 else f"Month {month}"


def _summary(items: Sequence[TimelineEvent], shown: Sequence[int]) -> str:
    def count(kind: EventKind) -> int:
        return sum(1 for item in items if item.kind is kind)

    monitors = count(EventKind.MONITOR)
    fired = sum(1 for item in items if item.kind is EventKind.MONITOR and item.severity)
    failed = sum(1 for item in items if item.kind is EventKind.ALERT
                 and (item.status or "").lower() == "failed")
    return cards([
        ("months", str(len([m for m in shown if m > 0])), ""),
        ("monitor runs fired", f"{fired} of {monitors}", "warn" if fired else "good"),
        ("alerts", str(count(EventKind.ALERT)), "warn" if count(EventKind.ALERT) else ""),
        ("alert deliveries failed", str(failed), "bad" if failed else "good"),
        ("retrainings", str(count(EventKind.RETRAIN)), ""),
        ("promotion requests", str(count(EventKind.REQUEST)), ""),
        ("approvals", str(count(EventKind.APPROVAL)), ""),
        ("deployments", str(count(EventKind.DEPLOYMENT)), ""),
    ])


def _overview(by_month: Mapping[int, Sequence[TimelineEvent]]) -> str:
    """One column per month, one lane per kind; a mark's colour is its worst severity."""
    months = list(by_month)
    left, top, column, lane = 90, 22, 44, 24
    width = left + column * len(months) + 10
    height = top + lane * len(EventKind) + 6
    # No xmlns: inline SVG in HTML needs none, and the page carries no URL at all.
    parts = [f'<div class="overview"><svg viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" class="chart" aria-label="events per month">']
    for j, month in enumerate(months):
        x = left + column * j + column / 2
        parts.append(f'<text x="{x:.0f}" y="14" text-anchor="middle">{month}</text>')
    for i, kind in enumerate(EventKind):
        y = top + lane * i + lane / 2
        parts.append(f'<text x="{left - 8}" y="{y + 4:.0f}" text-anchor="end">'
                     f"{_KIND_LABEL[kind]}</text>")
        parts.append(f'<line x1="{left}" y1="{y:.0f}" x2="{width - 10}" y2="{y:.0f}" '
                     'stroke="#eee"/>')
        for j, month in enumerate(months):
            cell = [event for event in by_month[month] if event.kind is kind]
            if not cell:
                continue
            worst = max((_severity_class(event) for event in cell), key=_RANK.__getitem__)
            x = left + column * j + column / 2
            tip = "\n".join(event.title for event in cell)
            parts.append(f'<a href="#month-{month}" class="mark {worst}" data-kind="{kind}">'
                         f"<title>{escape(tip)}</title>"
                         f'<circle cx="{x:.0f}" cy="{y:.0f}" r="{6 + min(len(cell), 4)}" '
                         f'fill="{_FILL[worst]}" fill-opacity="0.85"/>')
            if len(cell) > 1:
                parts.append(f'<text x="{x:.0f}" y="{y + 4:.0f}" text-anchor="middle" '
                             f'style="fill:#fff;font-size:10px">{len(cell)}</text>')
            parts.append("</a>")
    parts.append("</svg></div>")
    return "".join(parts)


def _month_section(month: int, events: Sequence[TimelineEvent]) -> str:
    head = (f'<section class="month" id="month-{month}"><h2>{_month_label(month)}</h2>')
    if not events:
        return head + '<p class="empty">Nothing happened.</p></section>'
    return head + '<ol class="events">' + "".join(_event(e) for e in events) + "</ol></section>"


def _event(event: TimelineEvent) -> str:
    severity = _severity_class(event)
    badges = [f'<span class="badge kind">{_KIND_LABEL[event.kind]}</span>']
    if event.severity is not None:
        badges.append(f'<span class="badge severity {severity}">{escape(event.severity)}</span>')
    elif event.kind is EventKind.MONITOR:
        badges.append('<span class="badge severity sev-none">did not fire</span>')
    if event.status is not None:
        colour = _STATUS_CLASS.get(event.status.strip().lower(), "")
        badges.append(f'<span class="badge status {colour}">{escape(event.status)}</span>')
    detail = f'<div class="detail">{escape(event.detail)}</div>' if event.detail else ""
    return (f'<li class="event {severity}" data-kind="{event.kind}">'
            f'<span class="time">{escape(event.at)}</span>{"".join(badges)}'
            f'<div class="title">{escape(event.title)}</div>{detail}</li>')


__all__ = ["EventKind", "TimelineEvent", "render_timeline"]
