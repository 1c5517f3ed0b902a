"""``/evidence``: what a client needs to verify an evidence pack (docs/evidence.md).

Evidence packs are written where the command runs, not by the server: the pack is signed
with the ledger checkpoint key, and the server holds no one's key (as for ``rasad audit
checkpoint``). A client verifies a pack it holds against the keys the project trusts,
which this route returns (public keys are not secrets).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from rasad.api.auth import ContextDep
from rasad.api.bodies import respond
from rasad.compliance.evidence import TrustedKeys, trusted_keys

router = APIRouter(prefix="/evidence", tags=["governance"])


@router.get("/keys", response_model=TrustedKeys)
def keys(ctx: ContextDep,
         public_key: Annotated[list[str] | None, Query()] = None) -> Response:
    """The public keys evidence packs are checked against: ``public_key`` when given, else
    ``audit.public_keys``, else the first checkpoint key the ledger recorded. Needs
    ``audit.read``. ``rasad evidence verify DIR`` with ``RASAD_URL``."""
    return respond(trusted_keys(ctx, public_key))
