"""``/monitor/results``: saved drift, performance, estimation and fairness results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from rasad.api.auth import ContextDep
from rasad.api.bodies import NO_NUL, IdPath, TextQuery, respond
from rasad.monitoring.results import (
    MonitorKind,
    MonitorResult,
    get_result,
    list_results,
    load_payload,
)

router = APIRouter(prefix="/monitor", tags=["monitoring"])


# Text, not the enum: the service refuses an unknown kind with its own message, the same
# one a local call gets.
KindQuery = Annotated[str | None, Query(
    pattern=NO_NUL, max_length=400,
    description=f"One of {', '.join(k.value for k in MonitorKind)}.")]


@router.get("/results", response_model=list[MonitorResult])
def results(ctx: ContextDep, monitor: TextQuery = None, kind: KindQuery = None) -> Response:
    """Saved results, oldest first. ``rasad monitor results``."""
    return respond(list_results(ctx, monitor, kind))


@router.get("/results/{result_id}", response_model=MonitorResult)
def show(ctx: ContextDep, result_id: IdPath) -> Response:
    """One saved result's summary."""
    return respond(get_result(ctx, result_id))


@router.get("/results/{result_id}/report", response_model=dict[str, Any])
def report(ctx: ContextDep, result_id: IdPath) -> Response:
    """The full saved report, checked against its hash. ``rasad monitor show ID``."""
    # Stored as canonical JSON (NaN already null), so the standard encoder sends it as is.
    return JSONResponse(load_payload(ctx, get_result(ctx, result_id)))
