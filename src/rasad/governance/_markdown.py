"""Markdown for the governance documents (datasheets, model cards): table cells that are
escaped and on one line, and tables.

>>> md_table(["a", "b"], [["x|y", 0.123456], [None, True]])
['| a | b |', '|---|---|', '| x\\\\|y | 0.1235 |', '| – | yes |', '']
"""

from __future__ import annotations

from collections.abc import Sequence


def cell(value: object) -> str:
    """A value for a Markdown table cell: escaped, on one line."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = (str(value).replace("\\", "\\\\").replace("|", "\\|").replace("&", "&amp;")
            .replace("<", "&lt;"))
    return " ".join(text.split())


def md_table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A Markdown table (``(none)`` when there are no rows)."""
    if not rows:
        return ["(none)", ""]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return out + [""]


__all__ = ["cell", "md_table"]
