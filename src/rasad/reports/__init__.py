"""Self-contained HTML reports: inline SVG charts, inline CSS and script, no network."""

from rasad.reports.page import cards, page, table
from rasad.reports.svg import bars, histogram, interval_bars, timeline

__all__ = ["bars", "cards", "histogram", "interval_bars", "page", "table", "timeline"]
