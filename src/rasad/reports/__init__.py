"""Self-contained HTML reports: inline SVG charts, inline CSS and script, no network."""

from rasad.reports.loop_timeline import EventKind, TimelineEvent, render_timeline
from rasad.reports.page import cards, page, table
from rasad.reports.svg import bars, histogram, interval_bars, timeline

__all__ = ["EventKind", "TimelineEvent", "bars", "cards", "histogram", "interval_bars", "page",
           "render_timeline", "table", "timeline"]
