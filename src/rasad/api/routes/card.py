"""``/models/{name}/.../card``: model cards (``rasad card``, docs/cards.md)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from rasad.api.auth import ContextDep
from rasad.api.bodies import NamePath, VersionPath, respond
from rasad.compliance.card import model_card
from rasad.governance.card_result import ModelCard

router = APIRouter(prefix="/models", tags=["governance"])


@router.get("/{name}/card", response_model=ModelCard)
def latest_card(ctx: ContextDep, name: NamePath) -> Response:
    """The model card of the latest version. ``rasad card NAME --format json``."""
    return respond(model_card(ctx, name))


@router.get("/{name}/versions/{version}/card", response_model=ModelCard)
def show_card(ctx: ContextDep, name: NamePath, version: VersionPath) -> Response:
    """The model card of one version, generated from the records: model details and the
    run, intended use and limitations as rasad.yaml declares them (missing ones listed),
    training and evaluation data with their datasheets, metrics with intervals on the
    evaluation data and its slices, fairness, gate results and approvals, drift and
    performance while serving, permutation importance. ``rasad card NAME@VERSION
    --format json``."""
    return respond(model_card(ctx, name, version))
