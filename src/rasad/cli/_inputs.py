"""Data arguments: a CSV or Parquet path, or NAME[@VERSION] of a project's dataset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rasad.cli._context import state
from rasad.errors import InputError, NotFoundError

DATA_SUFFIXES = (".csv", ".tsv", ".gz", ".parquet", ".pq")

if TYPE_CHECKING:
    from rasad.datasets import DatasetVersion


def resolve_data(ctx: typer.Context, ref: str) -> tuple[Any, str, DatasetVersion | None]:
    """(data, label, dataset version): a path as given, or a project dataset's rows."""
    side = resolve_side(ctx, ref)
    if isinstance(side, Path):
        return side, str(side), None
    project = state(ctx).project()
    return project.load_dataset(side.name, side.version), side.ref, side


def resolve_side(ctx: typer.Context, ref: str) -> Path | DatasetVersion:
    """A path that exists as given, else the project dataset version ``NAME[@VERSION]``.

    Only a name that is not a file is looked up, and only then is the project opened:
    commands on files work where there is no project.
    """
    path = Path(ref)
    if path.exists():
        return path
    if "/" in ref or path.suffix.lower() in DATA_SUFFIXES:
        raise InputError(f"Cannot read {ref!r}: no such file; check the path.")
    from rasad.names import parse_ref

    name, version = parse_ref(ref)
    try:
        project = state(ctx).project()
    except NotFoundError:
        raise InputError(f"{ref!r} is not a file, and there is no project to look up a dataset "
                         "of that name; give a CSV or Parquet path.") from None
    return project.dataset(name, version)
