"""Rendering for the CLI: rich tables for people, plain JSON for programs.

Text that came from users or data (names, reasons, actors, column names, paths,
error messages) goes through :func:`clean` before it reaches a terminal: control
characters are shown escaped, so an ANSI sequence or a newline in a name cannot
recolour, move or forge output, and rich markup in it is shown literally.
:func:`table` cleans every cell, :func:`say` escapes control characters in its
whole message (its own markup stays), and the error and log lines are cleaned too.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

# C0 controls, DEL, C1 controls, line/paragraph separators and bidirectional overrides
# (which reorder what a terminal shows).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e"
                      "\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# json.dumps leaves these unescaped when ensure_ascii is off.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e"
                          "\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\n``).

    >>> print(escape_controls("evil\\x1b[31m\\nname"))
    evil\\x1b[31m\\nname
    """
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), _hex(m.group())), text)


def clean(value: object) -> str:
    """Any value as text safe to print: control characters escaped, rich markup shown as is.

    >>> clean("[red]alarm\\n")
    '\\\\[red]alarm\\\\n'
    """
    return escape(escape_controls(str(value)))


def _hex(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def console() -> Console:
    # Looked up per call so output follows sys.stdout (tests capture it).
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160,
                   highlight=False, soft_wrap=False)


def err_console() -> Console:
    # soft_wrap: an error message stays one line however long it is (no hard wrap at 160).
    return Console(file=sys.stderr, width=None if sys.stderr.isatty() else 160, highlight=False,
                   soft_wrap=True)


JsonFlag = Annotated[bool, typer.Option(
    "--json", help="Print the result as JSON on stdout, and nothing else there.")]
"""``--json`` on every command: the machine-readable result on stdout (docs/cli.md)."""
OutputFile = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Also write the JSON report to this file.")]
"""``-o FILE``: the JSON report written to a file (the same JSON ``--json`` prints)."""
HtmlFile = Annotated[Path | None, typer.Option("--html", help="Write the HTML report.")]
"""``--html FILE``: the report as a self-contained HTML page."""

json_emitted: ContextVar[bool] = ContextVar("rasad_json_emitted", default=False)
"""Whether this command printed its JSON result: stdout then holds one document already,
so a later failure is not printed as a second one (``rasad.cli.app.run`` resets it)."""


def json_text(value: Any) -> str:
    """``value`` as JSON text: a typed result in its one JSON form, or plain data.

    Characters a terminal would interpret are escaped even where JSON allows them raw.

    >>> print(json_text({"name": "a\\u202eb", "n": 1}))
    {
      "name": "a\\u202eb",
      "n": 1
    }
    """
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    text = json.dumps(value, indent=2, default=str, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def emit_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout: a typed result in its one JSON form, or plain data."""
    sys.stdout.write(json_text(value) + "\n")
    json_emitted.set(True)


def emit_error(kind: str, message: str, exit_code: int) -> None:
    """Print a failure as ``{"error": {"type", "message", "exit_code"}}`` on stdout.

    The message is shown as the error line on stderr shows it: control characters
    escaped (``\\x1b``), so a name in it cannot drive a terminal that prints the JSON.

    >>> emit_error("InputError", "No dataset named 'x\\n'.", 2)
    {
      "error": {
        "type": "InputError",
        "message": "No dataset named 'x\\\\n'.",
        "exit_code": 2
      }
    }
    """
    emit_json({"error": {"type": kind, "message": escape_controls(message),
                         "exit_code": exit_code}})


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a table; every cell, header and the title are shown literally (see clean)."""
    grid = Table(title=None if title is None else clean(title), title_justify="left",
                 header_style="bold")
    for column in columns:
        grid.add_column(clean(column), overflow="fold")
    for row in rows:
        grid.add_row(*(clean(fmt(v)) for v in row))
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
    """Print a line of rich markup; values interpolated into it go through :func:`clean`."""
    console().print(escape_controls(message))


def say_command(command: str, indent: str = "  ") -> None:
    """Print a shell command as it must be typed: no markup, never wrapped, so it pastes."""
    console().print(indent + clean(command), soft_wrap=True, highlight=False)


class ConsoleLog(logging.Handler):
    """Shows rasad's log records (e.g. "waiting for the write lock") on stderr, cleaned."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            label = "warning" if record.levelno >= logging.WARNING else "note"
            err_console().print(f"[yellow]{label}:[/] {clean(record.getMessage())}")
        except Exception:  # noqa: BLE001 - logging must never break the command
            self.handleError(record)


def short(identifier: str, n: int = 8) -> str:
    return identifier[:n]


class DocumentFormat(enum.StrEnum):
    """The forms a generated document (a datasheet, a model card) is written in."""

    MD = "md"
    HTML = "html"
    JSON = "json"


FORMAT_BY_SUFFIX = {".html": DocumentFormat.HTML, ".htm": DocumentFormat.HTML,
                    ".json": DocumentFormat.JSON}
"""The format an ``-o`` file's suffix implies (anything else: Markdown)."""


def document_format(form: DocumentFormat | None, as_json: bool,
                    output: Path | None) -> DocumentFormat:
    """``--format`` if given; else JSON for ``--json`` on the terminal; else what the ``-o``
    file's suffix implies; else Markdown."""
    if form is not None:
        return form
    if as_json and output is None:
        return DocumentFormat.JSON
    if output is None:
        return DocumentFormat.MD
    return FORMAT_BY_SUFFIX.get(output.suffix.lower(), DocumentFormat.MD)

