"""``rasad pii scan DATA``: personal data by column, with masked examples only."""

from __future__ import annotations

from typing import Annotated

import typer

from rasad.cli._context import state
from rasad.cli._inputs import resolve_data
from rasad.cli._output import emit_json, say, table
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
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Scan column names and values for personal data; raw values are never shown."""
    from rasad.validation.pii import TABLE_COLUMNS, scan

    attributes: list[str] = []
    if protected:
        attributes = [c.strip() for c in protected.split(",") if c.strip()]
    else:
        try:
            attributes = list(state(ctx).project().config.data.protected_attributes)
        except NotFoundError:
            attributes = []
    source, label, _ = resolve_data(ctx, data)
    report = scan(source, protected_attributes=attributes,
                  sample_rows=None if all_rows else 100_000)
    if as_json:
        emit_json({"data": label, **report.to_dict()})
        return
    if not report.columns:
        say(f"No personal data found in {label} ({report.columns_scanned} columns).")
        return
    table(f"Personal data in {label}", list(TABLE_COLUMNS), report.to_rows())
