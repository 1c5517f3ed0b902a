"""Reads that several services share: a run by id or unique prefix, and the dataset
versions runs used, fetched for many runs in one query (no query per run).

>>> from rasad.store import Database, migrate
>>> db = Database("sqlite://")
>>> _ = migrate.upgrade(db)
>>> with db.read() as session:
...     run_datasets(session, ["nope"])
{'nope': []}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from rasad.errors import InputError, NotFoundError
from rasad.store._tables import DatasetVersionRow, RunDatasetRow, RunRow


def run_row(session: Session, run_id: str) -> RunRow:
    """The run whose id is ``run_id`` or starts with it; a prefix must match one run."""
    rows = session.execute(select(RunRow).where(RunRow.id.startswith(run_id))).scalars().all()
    if len(rows) != 1:
        if not rows:
            raise NotFoundError(f"No run {run_id!r}. Run `rasad runs list` to see run ids.")
        raise InputError(f"Run id prefix {run_id!r} matches {len(rows)} runs; give more "
                         "characters.")
    return rows[0]


def run_datasets(session: Session, run_ids: Iterable[str] | Select[Any]
                 ) -> dict[str, list[dict[str, Any]]]:
    """The dataset versions each run used: ``{run_id: [{dataset, content_hash, role}]}``.

    One query, however many runs. ``run_ids`` is either the ids (every one of them is a
    key of the answer, with ``[]`` for a run that used no dataset) or a query selecting
    them, such as ``select(ModelVersionRow.run_id)``, which keeps a long list of ids out of
    the statement (then only runs that used a dataset are keys).
    """
    found: dict[str, list[dict[str, Any]]] = {}
    if isinstance(run_ids, Select):
        wanted: Select[Any] | list[str] = run_ids
    else:
        wanted = sorted(set(run_ids))
        found = {run_id: [] for run_id in wanted}
        if not wanted:
            return found
    rows = session.execute(
        select(RunDatasetRow.run_id, DatasetVersionRow.name, DatasetVersionRow.version,
               DatasetVersionRow.content_hash, RunDatasetRow.role)
        .join(RunDatasetRow, RunDatasetRow.dataset_version_id == DatasetVersionRow.id)
        .where(RunDatasetRow.run_id.in_(wanted))
        .order_by(RunDatasetRow.run_id, RunDatasetRow.role, DatasetVersionRow.name)).all()
    for run_id, name, version, content_hash, role in rows:
        found.setdefault(run_id, []).append({"dataset": f"{name}@{version}",
                                             "content_hash": content_hash, "role": role})
    return found


__all__ = ["run_datasets", "run_row"]
