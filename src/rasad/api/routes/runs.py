"""``/runs``: training runs (list, show)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from rasad.api.auth import ContextDep
from rasad.api.bodies import NO_NUL, TextPath, respond
from rasad.training import Run, RunStatus
from rasad.training import run as runs

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("", response_model=list[Run])
def list_runs(ctx: ContextDep,
              status: Annotated[str | None, Query(
                  pattern=NO_NUL, max_length=400,
                  description="One of " + ", ".join(s.value for s in RunStatus) + ".")] = None
              ) -> Response:
    """Runs, newest first, optionally of one status. ``rasad runs list``."""
    # A plain string: the service names the statuses in its refusal, as it does locally.
    return respond(runs.list_runs(ctx, status=status))


@router.get("/{run_id}", response_model=Run)
def show(ctx: ContextDep, run_id: TextPath) -> Response:
    """One run, by id or a unique prefix of it. ``rasad runs show ID``."""
    return respond(runs.get(ctx, run_id))
