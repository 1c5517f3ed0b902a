"""Upkeep: garbage-collecting artifact blobs nothing refers to, and stale temporary files.

Erased subjects (docs/subjects.md, "Retention"). A dataset version that held a data subject
when the subject was erased (``erased_versions``) keeps its row, but its blob, which still
holds the subject's rows, and its subject-id index blobs are *released*: gc removes them,
as if nothing referred to them, once both hold:

1. ``governance.erasure.keep_days`` have passed since the erasure;
2. no model version trained on that dataset version (any role) is needed: none serves in
   any environment or slot, and none is the candidate of an open promotion request.

A blob another row still refers to (the same content as a version that is not erased, for
instance) is kept. Until then ``rasad subject find`` lists the version as superseded by the
erasure, blob kept; afterwards as removed, and reading that version fails (its blob is
missing).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rasad.artifacts import BlobInfo, TempFile
from rasad.config import STATE_DIR
from rasad.errors import InputError
from rasad.identity import Permission
from rasad.store._tables import (
    CurrentDeploymentRow,
    DatasetVersionRow,
    DeploymentRow,
    ErasedVersionRow,
    ErasureRow,
    ModelVersionRow,
    MonitorResultRow,
    PromotionRequestRow,
    ReferenceProfileRow,
    RunDatasetRow,
    RunRow,
    SubjectIndexRow,
    ValidationRow,
)

if TYPE_CHECKING:
    from rasad.core import Context

#: Every column that holds a blob digest. A new table that stores blobs adds itself here.
BLOB_REFERENCES = (
    DatasetVersionRow.blob,
    RunRow.model_blob,
    ModelVersionRow.blob,
    MonitorResultRow.blob,
    ValidationRow.blob,
    ReferenceProfileRow.blob,
    PromotionRequestRow.gates_blob,
    SubjectIndexRow.blob,
)
#: The references a version's erasure releases (see the module docstring): the column and
#: the column naming the dataset version it belongs to.
RELEASED_BY_ERASURE = (
    (DatasetVersionRow.blob, DatasetVersionRow.id),
    (SubjectIndexRow.blob, SubjectIndexRow.dataset_version_id),
)


@dataclass(frozen=True)
class GcReport:
    """Blobs nothing refers to and stale temporary files; removed unless it was a dry run."""

    unreferenced: list[BlobInfo]
    removed: bool
    kept_young: int
    temporary: list[TempFile] = field(default_factory=list)
    #: The digests among ``unreferenced`` that only erased dataset versions referred to
    #: (released by the retention rule of the module docstring).
    erased: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(b.size for b in self.unreferenced)

    @property
    def temporary_bytes(self) -> int:
        return sum(t.size for t in self.temporary)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``rasad gc --json``, and the API's answer); ``modified`` is epoch
        seconds."""
        return {"removed": self.removed, "bytes": self.bytes, "kept_young": self.kept_young,
                "blobs": [{"sha256": b.digest, "size": b.size, "modified": b.modified}
                          for b in self.unreferenced],
                "temporary_bytes": self.temporary_bytes,
                "temporary": [{"path": t.path, "size": t.size, "modified": t.modified}
                              for t in self.temporary],
                "erased": list(self.erased)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GcReport:
        """A report read back from its JSON form.

        >>> report = GcReport([BlobInfo("ab" * 32, 5, 1.5)], removed=False, kept_young=2)
        >>> GcReport.from_dict(report.to_dict()) == report
        True
        """
        return cls([BlobInfo(b["sha256"], b["size"], b["modified"]) for b in data["blobs"]],
                   removed=data["removed"], kept_young=data["kept_young"],
                   temporary=[TempFile(t["path"], t["size"], t["modified"])
                              for t in data["temporary"]],
                   erased=list(data.get("erased", [])))


def referenced(session: Session, released: Collection[int] = ()) -> set[str]:
    """Every blob digest a row refers to, leaving out the references of the dataset
    versions in ``released`` (erased versions whose blobs may go)."""
    found: set[str] = set()
    for column in BLOB_REFERENCES:
        query = select(column).distinct()
        owner = next((o for c, o in RELEASED_BY_ERASURE if c is column), None)
        if released and owner is not None:
            query = query.where(owner.not_in(sorted(released)))
        found.update(d for d in session.execute(query).scalars() if d)
    return found


def released_versions(session: Session, now: str, keep_days: int) -> set[int]:
    """The erased dataset versions whose blobs the retention rule lets gc remove at
    ``now`` (the module docstring): ``keep_days`` passed since the erasure, and no model
    version trained on them serves or waits in an open promotion request."""
    moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    erased: dict[int, str] = {}
    for version_id, erased_at in session.execute(
            select(ErasedVersionRow.dataset_version_id, ErasureRow.created_at)
            .join(ErasureRow, ErasureRow.id == ErasedVersionRow.erasure_id)):
        first = erased.get(version_id)
        erased[version_id] = erased_at if first is None else min(first, erased_at)
    due = {v for v, at in erased.items()
           if datetime.fromisoformat(at.replace("Z", "+00:00")) + timedelta(days=keep_days)
           <= moment}
    if not due:
        return set()
    serving = select(DeploymentRow.model_version_id).join(
        CurrentDeploymentRow, CurrentDeploymentRow.deployment_id == DeploymentRow.id
    ).where(CurrentDeploymentRow.active.is_(True))
    pending = select(PromotionRequestRow.model_version_id).where(
        PromotionRequestRow.status == "open")
    needed = set(session.execute(
        select(RunDatasetRow.dataset_version_id)
        .join(ModelVersionRow, ModelVersionRow.run_id == RunDatasetRow.run_id)
        .where(RunDatasetRow.dataset_version_id.in_(sorted(due)),
               ModelVersionRow.id.in_(serving.union(pending)))).scalars())
    return due - needed


def gc(ctx: Context, *, dry_run: bool = True, min_age_s: float = 3600.0) -> GcReport:
    """List (and unless ``dry_run``, delete) unreferenced blobs and stale temporary files.

    Blobs and temporary files younger than ``min_age_s`` are kept, and so is a local
    temporary file a live process still holds locked (a write in progress). Why a blob a writer
    is about to record can never be deleted is explained in ``rasad.artifacts.store``:
    the references are read and the blobs listed and deleted under the write lock, and
    the writer's own transaction re-checks its blobs once it holds that lock.

    Needs ``project.maintain`` (admin), a dry run too: it holds the write lock while it
    lists the store, and deleting is not undone.

    >>> import tempfile
    >>> from rasad import Project
    >>> project = Project.init(tempfile.mkdtemp())
    >>> orphan = project.artifacts.put_bytes(b"never referenced")
    >>> report = gc(Project.open(project.root).context, dry_run=True, min_age_s=0)
    >>> [b.digest == orphan for b in report.unreferenced], report.removed, report.temporary
    ([True], False, [])
    """
    if min_age_s < 0:
        raise InputError(f"--min-age must be 0 or more seconds, not {min_age_s:g}.")
    action = "list unreferenced artifacts" if dry_run else "delete unreferenced artifacts"
    ctx.require(Permission.PROJECT_MAINTAIN, action)
    store = ctx.artifacts
    # This thread's own blobs awaiting their transaction: gc's transaction settles them,
    # and a caller may still record them.
    in_flight = store.unsettled()
    now = time.time()
    # The transaction holds the write lock: no new reference lands meanwhile.
    with ctx.transaction(Permission.PROJECT_MAINTAIN, action) as tx:
        released = released_versions(tx.session, ctx.clock(),
                                     ctx.config.governance.erasure.keep_days)
        refs = referenced(tx.session, released) | in_flight
        held = referenced(tx.session) if released else refs
        orphans, young = [], 0
        for blob in store.list_blobs():
            if blob.digest in refs:
                continue
            if now - blob.modified < min_age_s:
                young += 1
                continue
            orphans.append(blob)
        orphans.sort(key=lambda b: b.digest)
        temporary = [t for t in _temporary(ctx)
                     if now - t.modified >= min_age_s and not store.in_use(t)]
        temporary.sort(key=lambda t: t.path)
        erased = sorted(b.digest for b in orphans if b.digest in held)
        if not dry_run and (orphans or temporary):
            tx.record("artifacts.gc", "artifacts", {
                "removed": [b.digest for b in orphans], "bytes": sum(b.size for b in orphans),
                "temporary": len(temporary),
                "temporary_bytes": sum(t.size for t in temporary),
                **({"erased": erased} if erased else {})})
            for blob in orphans:
                store.delete(blob.digest)
            for temp in temporary:
                _delete_temporary(ctx, temp)
            store.prune_temporary()
    return GcReport(orphans, removed=not dry_run, kept_young=young, temporary=temporary,
                    erased=erased)


def _temporary(ctx: Context) -> list[TempFile]:
    """The store's ``tmp/`` files, plus ``.rasad/tmp/`` where older versions staged data."""
    found = list(ctx.artifacts.list_temporary())
    legacy = ctx.root / STATE_DIR / "tmp"
    if legacy.is_dir():
        for path in legacy.rglob("*"):
            if path.is_file():
                stat = path.stat()
                found.append(TempFile(str(path), stat.st_size, stat.st_mtime))
    return found


def _delete_temporary(ctx: Context, temp: TempFile) -> None:
    legacy = ctx.root / STATE_DIR / "tmp"
    if Path(temp.path).is_relative_to(legacy):
        Path(temp.path).unlink(missing_ok=True)
    else:
        ctx.artifacts.delete_temporary(temp.path)
