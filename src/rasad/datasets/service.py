"""Storing and reading dataset versions: the service functions over the pure reader."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import func, select

from rasad.artifacts import sha256_file
from rasad.datasets.version import AddResult, DatasetVersion
from rasad.errors import InputError, NotFoundError
from rasad.identity import Permission
from rasad.ledger import canonical_json
from rasad.names import check_name
from rasad.store._tables import DatasetVersionRow
from rasad.tables._reader import read_table, write_parquet
from rasad.tables.kinds import infer_kinds
from rasad.tables.profile import profile_table

if TYPE_CHECKING:
    from rasad.core import Context

def add(ctx: Context, source: str | os.PathLike[str] | pd.DataFrame, name: str,
        *, description: str | None = None, client_source: str | None = None,
        origin: tuple[str, str] | None = None, parent: DatasetVersion | None = None
        ) -> AddResult:
    """Store ``source`` as the next version of ``name``; identical content is not stored twice.

    Needs ``dataset.write``: checked before the file is read and again under the lock.
    ``client_source`` is for a door that stores a copy of a caller's file (the HTTP API):
    the version's source and its audit event name the caller's file, marked
    ``"source_from": "client"``, instead of the copy. ``origin`` is the same for a service
    that stages what it read elsewhere: ``(source text, who read it)``, e.g. the watched
    file's URL and ``"automation"``. ``parent`` is the version this one derives from (an
    append, an erasure): recorded as its parent and in the audit event.
    """
    if parent is not None and parent.name != name:
        raise InputError(f"A parent of {name!r} must be one of its versions, not {parent.ref}.")
    check_name(name)
    action = f"add a version of dataset {name!r}"
    ctx.require(Permission.DATASET_WRITE, action)
    table = read_table(source)
    data = ctx.config.data
    kinds = infer_kinds(
        table,
        id_columns=[c for c in data.id_columns if c in table.column_names],
        time_columns=[c for c in data.time_columns if c in table.column_names],
    )
    marks: dict[str, str] = {} if parent is None else {"parent": parent.ref}
    if client_source is not None:
        source_text, marks = client_source, {**marks, "source_from": "client"}
    elif origin is not None:
        source_text, marks = origin[0], {**marks, "source_from": origin[1]}
    elif isinstance(source, pd.DataFrame):
        source_text = "pandas.DataFrame"
    else:
        source_text = str(Path(source).resolve())
    # The staged file stays until the row is committed: if a concurrent `rasad gc` removes
    # an old copy of this blob meanwhile, the transaction stores it again from this file.
    with ctx.artifacts.staging_file(".parquet") as staged:
        write_parquet(table, str(staged))
        content_hash = sha256_file(staged)
        existing = _find_by_hash(ctx, name, content_hash)
        if existing is not None:
            return AddResult(existing, created=False)
        profile = profile_table(table, kinds)
        ctx.artifacts.put_file(staged, digest=content_hash, link=True)
        with ctx.transaction(Permission.DATASET_WRITE, action) as tx:
            row = tx.session.execute(
                select(DatasetVersionRow).where(DatasetVersionRow.name == name,
                                                DatasetVersionRow.content_hash == content_hash)
                .order_by(DatasetVersionRow.version.desc()).limit(1)
            ).scalar_one_or_none()
            if row is not None:  # another process stored the same content meanwhile
                return AddResult(DatasetVersion.from_row(row), created=False)
            latest = tx.session.execute(
                select(func.max(DatasetVersionRow.version)).where(DatasetVersionRow.name == name)
            ).scalar()
            row = DatasetVersionRow(
                name=name, version=(latest or 0) + 1, content_hash=content_hash,
                blob=content_hash, rows=table.num_rows, columns=table.num_columns,
                kinds=canonical_json({k: str(v) for k, v in kinds.items()}),
                profile=canonical_json(profile.to_dict()), source=source_text,
                parent_id=None if parent is None else parent.id,
                created_by=tx.actor, created_at=ctx.clock(),
            )
            tx.session.add(row)
            tx.session.flush()
            tx.record("dataset.add", f"dataset:{name}@{row.version}", {
                "content_hash": content_hash, "rows": row.rows, "columns": row.columns,
                "source": source_text, **marks, "description": description,
            })
            return AddResult(DatasetVersion.from_row(row), created=True)


def _find_by_hash(ctx: Context, name: str, content_hash: str) -> DatasetVersion | None:
    with ctx.db.read() as session:
        # The latest version with this content: an erasure can write a version whose
        # content equals an older one's (rasad.governance.subjects).
        row = session.execute(
            select(DatasetVersionRow).where(DatasetVersionRow.name == name,
                                            DatasetVersionRow.content_hash == content_hash)
            .order_by(DatasetVersionRow.version.desc()).limit(1)
        ).scalar_one_or_none()
        return DatasetVersion.from_row(row) if row is not None else None


def list_versions(ctx: Context, name: str | None = None) -> list[DatasetVersion]:
    """Every version (of one name, or of all), by name then version (needs ``read``)."""
    ctx.require(Permission.READ, "list datasets")
    with ctx.db.read() as session:
        query = select(DatasetVersionRow).order_by(DatasetVersionRow.name,
                                                   DatasetVersionRow.version)
        if name is not None:
            query = query.where(DatasetVersionRow.name == name)
        rows = session.execute(query).scalars().all()
    if name is not None and not rows:
        raise NotFoundError(f"No dataset named {name!r}. {_known_names(ctx)}")
    return [DatasetVersion.from_row(r) for r in rows]


def get(ctx: Context, name: str, version: int | None = None) -> DatasetVersion:
    """One version; the latest when ``version`` is None (needs ``read``)."""
    ctx.require(Permission.READ, f"read dataset {name!r}")
    with ctx.db.read() as session:
        query = select(DatasetVersionRow).where(DatasetVersionRow.name == name)
        if version is None:
            query = query.order_by(DatasetVersionRow.version.desc()).limit(1)
        else:
            query = query.where(DatasetVersionRow.version == version)
        row = session.execute(query).scalar_one_or_none()
        if row is not None:
            return DatasetVersion.from_row(row)
        versions = session.execute(
            select(DatasetVersionRow.version).where(DatasetVersionRow.name == name)
            .order_by(DatasetVersionRow.version)
        ).scalars().all()
    if not versions:
        raise NotFoundError(f"No dataset named {name!r}. {_known_names(ctx)}")
    raise NotFoundError(f"Dataset {name!r} has no version {version}; versions are "
                        f"{_span(list(versions))}. Run `rasad data list {name}`.")


def load_frame(ctx: Context, version: DatasetVersion) -> pd.DataFrame:
    """Read a version's rows after checking the stored file against its hash."""
    ctx.require(Permission.READ, f"read dataset {version.name!r}")
    with ctx.artifacts.local_copy(version.blob) as path:
        return pd.read_parquet(path)


def _known_names(ctx: Context) -> str:
    with ctx.db.read() as session:
        names = session.execute(select(DatasetVersionRow.name).distinct()
                                .order_by(DatasetVersionRow.name)).scalars().all()
    if not names:
        return "The project has no datasets yet; add one with `rasad data add PATH --name NAME`."
    return "Known datasets: " + ", ".join(names) + "."


def _span(versions: list[int]) -> str:
    if versions == list(range(versions[0], versions[-1] + 1)) and len(versions) > 2:
        return f"{versions[0]}-{versions[-1]}"
    return ", ".join(map(str, versions))
