"""``rasad pii scan DATA``: personal data by column, with masked examples only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from rasad._files import check_outputs, write_text_atomic
from rasad.cli._context import state
from rasad.cli._inputs import resolve_side
from rasad.cli._output import JsonFlag, OutputFile, emit_json, say, table
from rasad.errors import NotFoundError

app = typer.Typer(help="Personal data detection.", no_args_is_help=True)


@app.command("scan")
def scan_cmd(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="CSV/Parquet file or NAME[@VERSION].")],
    protected: Annotated[str | None, typer.Option(
        help="Comma-separated protected attributes (default: data.protected_attributes in "
             "rasad.yaml).")] = None,
    all_rows: Annotated[bool, typer.Option("--all-rows", help="Scan every row, not a "
                                                               "sample.")] = False,
    as_json: JsonFlag = False,
    output: OutputFile = None,
) -> None:
    """Scan column names and values for personal data; raw values are never shown."""
    from rasad.validation.pii import DEFAULT_SAMPLE_ROWS, TABLE_COLUMNS, scan

    check_outputs([output], inputs=[data])
    attributes: list[str] | None = None
    if protected:
        attributes = [c.strip() for c in protected.split(",") if c.strip()]
    side = resolve_side(ctx, data)
    label = str(side) if isinstance(side, Path) else side.ref
    if not isinstance(side, Path):
        report = state(ctx).project().scan_pii(side.ref, protected_attributes=attributes,
                                               all_rows=all_rows)
    else:
        if attributes is None:
            attributes = _declared_attributes(ctx)
        report = scan(side, protected_attributes=attributes,
                      sample_rows=None if all_rows else DEFAULT_SAMPLE_ROWS).labelled(label)
    if output is not None:
        write_text_atomic(output, report.to_json(indent=2) + "\n")
    if as_json:
        emit_json(report)
        return
    if not report.columns:
        say(f"No personal data found in {label} ({report.columns_scanned} columns).")
        return
    table(f"Personal data in {label}", list(TABLE_COLUMNS), report.to_rows())


def _declared_attributes(ctx: typer.Context) -> list[str]:
    """A file scanned inside a local project still gets the project's declared attributes;
    a file is scanned here, not on a server, so a server's rasad.yaml does not apply."""
    from rasad.cli._context import URL_ENV

    if os.environ.get(URL_ENV, "").strip():
        return []
    try:
        return list(state(ctx).project().config.data.protected_attributes)
    except NotFoundError:
        return []
