"""``/models``: the registry (list, show, versions, history, register) and deployments
(promote, roll back)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import StringConstraints

from rasad.api.auth import ContextDep
from rasad.api.bodies import (
    NO_NUL,
    NamePath,
    PromotionRequest,
    RollbackRequest,
    TextPath,
    TextQuery,
    VersionPath,
    respond,
)
from rasad.registry import Deployment, ModelDetail, ModelVersion, Registration, models, promotion
from rasad.results import Result

router = APIRouter(prefix="/models", tags=["models"])


class RegistrationRequest(Result):
    """Register run ``run_id``'s model as the next version (``rasad models register``)."""

    run_id: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=64)]


@router.get("", response_model=list[ModelDetail])
def list_models(ctx: ContextDep) -> Response:
    """Every model with its versions, deployments and history. ``rasad models list``."""
    return respond(models.list_models(ctx))


@router.get("/{name}", response_model=ModelDetail)
def show(ctx: ContextDep, name: NamePath) -> Response:
    """One model. ``rasad models show NAME``."""
    return respond(models.detail(ctx, name))


@router.get("/{name}/versions", response_model=list[ModelVersion])
def versions(ctx: ContextDep, name: NamePath) -> Response:
    """A model's versions, oldest first."""
    return respond(models.detail(ctx, name).versions)


@router.post("/{name}/versions", status_code=201, response_model=Registration,
             responses={200: {"model": Registration,
                              "description": "The run is a version of this model already."}})
def register(ctx: ContextDep, name: NamePath, body: RegistrationRequest) -> Response:
    """Register a finished run's model as the next version. ``rasad models register``."""
    registration = models.register(ctx, body.run_id, name)
    return respond(registration, 201 if registration.created else 200)


@router.get("/{name}/versions/{version}", response_model=ModelVersion)
def version(ctx: ContextDep, name: NamePath, version: VersionPath) -> Response:
    """One version of a model."""
    return respond(models.resolve(ctx, name, version=version))


@router.get("/{name}/environments/{env}", response_model=ModelVersion)
def serving(ctx: ContextDep, name: NamePath, env: TextPath) -> Response:
    """The version that serves ``env``."""
    return respond(models.resolve(ctx, name, env=env))


@router.get("/{name}/history", response_model=list[Deployment])
def history(ctx: ContextDep, name: NamePath, env: TextQuery = None) -> Response:
    """Deployments, rollbacks and replacements, oldest first. ``rasad models history``."""
    if env is not None:
        models.check_environment(ctx, env)
    return respond([d for d in models.detail(ctx, name).history
                    if env is None or d.environment == env])


@router.post("/{name}/promotions", status_code=201, response_model=Deployment,
             responses={200: {"model": Deployment,
                              "description": "That version serves there already."}})
def promote(ctx: ContextDep, name: NamePath, body: PromotionRequest) -> Response:
    """Deploy a version to an environment; the version serving there leaves.
    ``rasad promote NAME VERSION --to ENV``."""
    deployment = promotion.promote(ctx, name, body.version, body.to, reason=body.reason)
    return respond(deployment, 201 if deployment.changed else 200)


@router.post("/{name}/rollbacks", status_code=201, response_model=Deployment)
def rollback(ctx: ContextDep, name: NamePath, body: RollbackRequest) -> Response:
    """Return an environment to the version its current deployment replaced.
    ``rasad rollback NAME --env ENV``."""
    return respond(promotion.rollback(ctx, name, body.env, reason=body.reason), 201)
