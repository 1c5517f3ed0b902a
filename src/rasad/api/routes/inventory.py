"""``/inventory``: the model inventory (``rasad inventory``, docs/governance.md)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from rasad.api.auth import ContextDep
from rasad.api.bodies import respond
from rasad.automation.inventory import inventory
from rasad.governance.inventory import Inventory

router = APIRouter(prefix="/inventory", tags=["governance"])


@router.get("", response_model=Inventory)
def show(ctx: ContextDep) -> Response:
    """Every registered model: declared owner and risk tier, serving versions, last
    validation and approval, open requests, unreviewed break-glass promotions, the
    automation loop's state, the last alert. ``rasad inventory``."""
    return respond(inventory(ctx))
