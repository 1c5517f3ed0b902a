"""``rasad data add | list | show``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli._context import state
from rasad.cli._output import JsonFlag, clean, emit_json, fmt, say, table
from rasad.names import parse_ref

if TYPE_CHECKING:
    from rasad.datasets import DatasetVersion

app = typer.Typer(help="Versioned datasets.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A CSV or Parquet file.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name.")],
    description: Annotated[str | None, typer.Option(help="What this version holds.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Store a file as a new immutable version (identical content is stored once)."""
    result = state(ctx).project().add_dataset(path, name, description=description)
    if as_json:
        emit_json(result.to_dict())
    else:
        say(result.message)


@app.command("list")
def list_(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this dataset.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List dataset versions."""
    versions = state(ctx).project().datasets(name)
    if as_json:
        emit_json([v.to_dict(with_profile=False) for v in versions])
        return
    table(None, ["dataset", "rows", "columns", "sha256", "created by", "created at"],
          [[v.ref, f"{v.rows:,}", v.columns, v.content_hash[:12], v.created_by,
            v.created_at[:19].replace("T", " ")] for v in versions])


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[@VERSION]")],
    as_json: JsonFlag = False,
) -> None:
    """Show a version (the latest by default): kinds and profile."""
    name, version = parse_ref(ref)
    item = state(ctx).project().dataset(name, version)
    if as_json:
        emit_json(item.to_dict())
        return
    _render(item)


def _render(item: DatasetVersion) -> None:
    say(f"[bold]{item.ref}[/]  {item.rows:,} rows x {item.columns} columns  "
        f"sha256 {item.content_hash}")
    say(f"added by {clean(item.created_by)} at {item.created_at} from {clean(item.source)}")
    rows = []
    # An infinite column appears only when some column holds inf (none is the usual case).
    infinite = any(col.infinite for col in item.profile.columns)
    for col in item.profile.columns:
        if col.top:
            summary = ", ".join(f"{v} ({c:,})" for v, c in col.top[:4])
        elif col.mean is not None:
            summary = (f"min {fmt(col.min)}  median {fmt((col.quantiles or {}).get('0.5'))}  "
                       f"max {fmt(col.max)}  mean {fmt(col.mean)}  std {fmt(col.std)}")
        else:
            summary = f"{fmt(col.min)} .. {fmt(col.max)}"
        shares = [f"{col.missing_share:.1%}"]
        if infinite:
            shares.append(f"{col.infinite:,} ({col.infinite_share:.1%})" if col.infinite else "")
        rows.append([col.name, str(col.kind), col.dtype, *shares, col.n_unique, summary])
    header = ["column", "kind", "dtype", "missing", *(["infinite"] if infinite else []),
              "distinct", "profile"]
    table(None, header, rows)
