"""Self-contained HTML reports: inline SVG charts, inline CSS and script, no network."""

from rasad.reports.page import cards, page, table
from rasad.reports.svg import bars, histogram, timeline

__all__ = ["bars", "cards", "histogram", "page", "table", "timeline"]
