"""``/requests``: promotion requests and the decisions on them (approve, reject, review).

A request is what ``POST /models/{name}/promotions`` opens where the environment needs
approval (docs/promotion.md). Who may decide is the service's rule: a principal without
``model.approve`` gets 403; the maker of the version or of the request, a second approval
by the same person, and a request that is no longer open, stale or expired get 409.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import StringConstraints

from rasad.api.auth import ContextDep
from rasad.api.bodies import NO_NUL, IdPath, TextQuery, respond
from rasad.release import service
from rasad.release.requests import PromotionRequest, RequestStatus
from rasad.results import Result

router = APIRouter(prefix="/requests", tags=["promotion requests"])

Comment = Annotated[str, StringConstraints(pattern=NO_NUL, max_length=2000)]


class Decision(Result):
    """An approval, with an optional comment (``rasad approve ID --comment``)."""

    comment: Comment | None = None


class Explained(Result):
    """A rejection or an after-the-fact review: the comment says why (required)."""

    comment: Comment


# Text, not the enum: the service reads it as the CLI does (any case) and refuses an
# unknown status with its own message, the same one a local call gets.
StatusQuery = Annotated[str | None, Query(
    pattern=NO_NUL, max_length=400,
    description=f"One of {', '.join(RequestStatus)} (any case).")]


@router.get("", response_model=list[PromotionRequest])
def list_requests(ctx: ContextDep, model: TextQuery = None, env: TextQuery = None,
                  status: StatusQuery = None) -> Response:
    """Promotion requests, newest first, optionally of one model, environment or status.
    ``rasad requests list``."""
    return respond(service.list_requests(ctx, model=model, environment=env, status=status))


@router.get("/{request_id}", response_model=PromotionRequest)
def show(ctx: ContextDep, request_id: IdPath) -> Response:
    """One request: its gates and their evidence, decisions, staleness and expiry.
    ``rasad requests show ID``."""
    return respond(service.get_request(ctx, request_id))


@router.post("/{request_id}/approve", response_model=PromotionRequest)
def approve(ctx: ContextDep, request_id: IdPath, body: Decision) -> Response:
    """Approve; the last approval the rule needs deploys the version in the same
    transaction. ``rasad approve ID``."""
    return respond(service.approve(ctx, request_id, comment=body.comment))


@router.post("/{request_id}/reject", response_model=PromotionRequest)
def reject(ctx: ContextDep, request_id: IdPath, body: Explained) -> Response:
    """Reject, saying why. ``rasad reject ID --comment TEXT``."""
    return respond(service.reject(ctx, request_id, comment=body.comment))


@router.post("/{request_id}/review", response_model=PromotionRequest)
def review(ctx: ContextDep, request_id: IdPath, body: Explained) -> Response:
    """Review a break-glass promotion after the fact. ``rasad requests review ID``."""
    return respond(service.review(ctx, request_id, comment=body.comment))
