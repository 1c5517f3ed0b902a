"""Upkeep: garbage-collecting artifact blobs that nothing refers to."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rasad.artifacts import BlobInfo
from rasad.store._tables import (
    DatasetVersionRow,
    ModelVersionRow,
    MonitorResultRow,
    ReferenceProfileRow,
    RunRow,
    ValidationRow,
)

if TYPE_CHECKING:
    from rasad.project import Project

#: Every column that holds a blob digest. A new table that stores blobs adds itself here.
BLOB_REFERENCES = (
    DatasetVersionRow.blob,
    RunRow.model_blob,
    ModelVersionRow.blob,
    MonitorResultRow.blob,
    ValidationRow.blob,
    ReferenceProfileRow.blob,
)


@dataclass(frozen=True)
class GcReport:
    """Blobs nothing refers to; removed unless it was a dry run."""

    unreferenced: list[BlobInfo]
    removed: bool
    kept_young: int

    @property
    def bytes(self) -> int:
        return sum(b.size for b in self.unreferenced)

    def to_dict(self) -> dict[str, Any]:
        return {"removed": self.removed, "bytes": self.bytes, "kept_young": self.kept_young,
                "blobs": [{"sha256": b.digest, "size": b.size} for b in self.unreferenced]}


def referenced(session: Session) -> set[str]:
    found: set[str] = set()
    for column in BLOB_REFERENCES:
        found.update(d for d in session.execute(select(column).distinct()).scalars() if d)
    return found


def gc(project: Project, *, dry_run: bool = True, min_age_s: float = 3600.0) -> GcReport:
    """List (and unless ``dry_run``, delete) blobs no row refers to.

    Blobs younger than ``min_age_s`` are kept: a writer stores its blob before
    committing the row that refers to it, and must not lose it in between.
    """
    now = time.time()
    with project.transaction() as tx:  # holds the write lock: no new reference lands meanwhile
        refs = referenced(tx.session)
        orphans, young = [], 0
        for blob in project.artifacts.list_blobs():
            if blob.digest in refs:
                continue
            if now - blob.modified < min_age_s:
                young += 1
                continue
            orphans.append(blob)
        orphans.sort(key=lambda b: b.digest)
        if not dry_run and orphans:
            tx.record("artifacts.gc", "artifacts", {
                "removed": [b.digest for b in orphans], "bytes": sum(b.size for b in orphans)})
            for blob in orphans:
                project.artifacts.delete(blob.digest)
    return GcReport(orphans, removed=not dry_run, kept_young=young)
