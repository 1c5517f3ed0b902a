"""``POST /maintenance/gc``: collect the server's artifact store (``rasad gc``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from rasad import maintenance
from rasad.api.auth import ContextDep
from rasad.results import Result

router = APIRouter(prefix="/maintenance", tags=["maintenance"])

TEN_YEARS_S = 10 * 365 * 24 * 3600.0


class GcRequest(Result):
    """What to collect: list only (``dry_run``, the default) or delete, keeping blobs and
    temporary files younger than ``min_age_s``."""

    dry_run: bool = True
    min_age_s: float = Field(default=3600.0, ge=0.0, le=TEN_YEARS_S)


class BlobFound(Result):
    sha256: str
    size: int
    modified: float


class TempFound(Result):
    path: str
    size: int
    modified: float


class GcReportBody(Result):
    """Unreferenced blobs and stale temporary files (``rasad gc --json``); ``removed`` says
    whether they were deleted. ``modified`` is epoch seconds."""

    removed: bool
    bytes: int
    kept_young: int
    blobs: list[BlobFound]
    temporary_bytes: int
    temporary: list[TempFound]
    # The digests among ``blobs`` that only erased dataset versions referred to (the
    # retention rule of docs/subjects.md).
    erased: list[str] = []


@router.post("/gc", response_model=GcReportBody)
def gc(ctx: ContextDep, body: GcRequest) -> Response:
    """List, or delete, artifact blobs nothing refers to and temporary files left by killed
    writes (``project.maintain``: admins; a dry run too). ``rasad gc``."""
    report = maintenance.gc(ctx, dry_run=body.dry_run, min_age_s=body.min_age_s)
    return JSONResponse(report.to_dict())


__all__ = ["GcReportBody", "GcRequest", "router"]
