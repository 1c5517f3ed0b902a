"""``/audit``: the ledger's events and its verification."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import StringConstraints

from rasad import audit
from rasad.api.auth import ContextDep
from rasad.api.bodies import NO_NUL, AuditEventBody, TextQuery, VerificationBody, respond

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/events", response_model=list[AuditEventBody])
def events(ctx: ContextDep, subject: TextQuery = None, action: TextQuery = None,
           limit: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """Audit events in order, optionally of one subject ('model:credit', 'model:*') or
    action, at most ``limit``. ``rasad audit log``."""
    found = audit.log(ctx, subject=subject, action=action, limit=limit)
    return respond([AuditEventBody.from_dict(event.to_dict()) for event in found])


Key = Annotated[str, StringConstraints(pattern=NO_NUL, max_length=200)]


@router.get("/verify", response_model=VerificationBody)
def verify(
    ctx: ContextDep,
    public_key: Annotated[list[Key] | None, Query(
        description="A trusted checkpoint public key (base64); repeat for several. Default: "
                    "audit.public_keys, else the first key the ledger recorded.",
        max_length=20)] = None,
    replay: bool = True,
) -> Response:
    """Check the chain, the signed checkpoints in the project's checkpoint store
    (``audit.checkpoints``) and, with ``replay``, the state tables. ``rasad audit verify``.

    A broken chain is a finding (``ok`` false), sent with 200. The checkpoint store is the
    server's own: a client cannot point the server at another location.
    """
    result = audit.verify(ctx, public_keys=public_key or None, replay=replay)
    return respond(VerificationBody.from_dict(result.to_dict()))
