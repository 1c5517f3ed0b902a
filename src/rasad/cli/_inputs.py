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
    path = Path(ref)
    if path.exists():
        return path, str(path), None
    if "/" in ref or path.suffix.lower() in DATA_SUFFIXES:
        raise InputError(f"Cannot read {ref!r}: no such file; check the path.")
    from rasad.names import parse_ref

    name, version = parse_ref(ref)
    try:
        project = state(ctx).project()
    except NotFoundError:
        raise InputError(f"{ref!r} is not a file, and there is no project to look up a dataset "
                         "of that name; give a CSV or Parquet path.") from None
    item = project.dataset(name, version)
    return project.load_dataset(item.name, item.version), item.ref, item
