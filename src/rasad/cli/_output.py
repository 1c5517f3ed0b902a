"""Rendering for the CLI: rich tables for people, plain JSON for programs."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def console() -> Console:
    # Looked up per call so output follows sys.stdout (tests capture it).
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160,
                   highlight=False, soft_wrap=False)


def err_console() -> Console:
    # soft_wrap: an error message stays one line however long it is (no hard wrap at 160).
    return Console(file=sys.stderr, width=None if sys.stderr.isatty() else 160, highlight=False,
                   soft_wrap=True)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*(fmt(v) for v in row))
    console().print(grid)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def say(message: str) -> None:
    console().print(message)


def short(identifier: str, n: int = 8) -> str:
    return identifier[:n]
