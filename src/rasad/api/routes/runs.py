"""``/runs``: training runs (list, show)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from rasad.api.auth import ContextDep
from rasad.api.bodies import TextPath, respond
from rasad.training import Run, RunStatus
from rasad.training import run as runs

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("", response_model=list[Run])
def list_runs(ctx: ContextDep,
              status: Annotated[RunStatus | None, Query()] = None) -> Response:
    """Runs, newest first, optionally of one status. ``rasad runs list``."""
    return respond(runs.list_runs(ctx, status=None if status is None else status.value))


@router.get("/{run_id}", response_model=Run)
def show(ctx: ContextDep, run_id: TextPath) -> Response:
    """One run, by id or a unique prefix of it. ``rasad runs show ID``."""
    return respond(runs.get(ctx, run_id))
