"""The HTML page shell every rasad report uses: inline CSS and a small sortable-table script.

Nothing is fetched from the network: the page opens offline, from a file, in any browser.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px}
.meta{color:#666;font-size:13px}
.summary{display:flex;gap:14px;flex-wrap:wrap;margin:14px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:130px}
.card .v{font-size:20px;font-weight:600} .card .k{font-size:12px;color:#666}
.bad{color:#c0392b} .good{color:#1e8449} .warn{color:#b9770e}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border-bottom:1px solid #e4e4e4;padding:4px 8px;text-align:left}
th.sortable{cursor:pointer;user-select:none} th.sortable:after{content:" \\2195";color:#aaa}
.grid{display:flex;flex-wrap:wrap;gap:14px}
.plot{border:1px solid #eee;border-radius:6px;padding:6px}
.plot h3{font-size:13px;margin:2px 0 4px 0}
"""

SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th.sortable').forEach(function(th, col){
    th.addEventListener('click', function(){
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var asc = th.getAttribute('data-order') !== 'asc';
      rows.sort(function(a, b){
        var x = a.cells[col].getAttribute('data-value') || a.cells[col].textContent;
        var y = b.cells[col].getAttribute('data-value') || b.cells[col].textContent;
        // Number, not parseFloat: parseFloat reads "2025-01" as 2025, so dates never sorted.
        var nx = x.trim() ? Number(x) : NaN, ny = y.trim() ? Number(y) : NaN;
        var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? r : -r;
      });
      rows.forEach(function(r){ body.appendChild(r); });
      th.setAttribute('data-order', asc ? 'asc' : 'desc');
    });
  });
});
"""


def page(title: str, body: str, *, data: Any = None) -> str:
    """A complete HTML document; ``data`` is embedded as JSON for machine readers."""
    embedded = ""
    if data is not None:
        text = json.dumps(data, default=str).replace("</", "<\\/")
        embedded = f'<script type="application/json" id="report-data">{text}</script>'
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{body}"
            f"{embedded}<script>{SCRIPT}</script></body></html>")


def cards(items: Sequence[tuple[str, str, str]]) -> str:
    """Summary cards: (label, value, css class)."""
    return '<div class="summary">' + "".join(
        f'<div class="card"><div class="v {cls}">{escape(value)}</div>'
        f'<div class="k">{escape(label)}</div></div>' for label, value, cls in items) + "</div>"


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, sortable: bool = True,
          html_columns: Sequence[int] = ()) -> str:
    """A table; cells in ``html_columns`` are inserted as HTML, the rest escaped."""
    cls = ' class="sortable"' if sortable else ""
    head = "".join(f"<th{cls}>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            if i in html_columns:
                cells.append(f"<td>{value}</td>")
                continue
            sort = f' data-value="{value}"' if isinstance(value, (int, float)) else ""
            cells.append(f"<td{sort}>{escape(fmt(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
