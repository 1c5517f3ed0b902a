"""``/models``: the registry (list, show, versions, history, register) and deployments
(promote through the environment's gates, break-glass, roll back, where each version
serves)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field, StringConstraints

from rasad.api.auth import ContextDep
from rasad.api.bodies import (
    NO_NUL,
    NamePath,
    PromotionRequest,
    RetireRequest,
    RollbackRequest,
    SlotName,
    TextPath,
    TextQuery,
    VersionPath,
    respond,
)
from rasad.evaluation.behaviour import ModelTestReport
from rasad.registry import (
    Deployment,
    ModelDetail,
    ModelVersion,
    Registration,
    Retirement,
    models,
    promotion,
)
from rasad.release import service
from rasad.release.model_tests import run_model_tests
from rasad.release.requests import EnvironmentStatus
from rasad.release.requests import PromotionRequest as Request
from rasad.results import Result

router = APIRouter(prefix="/models", tags=["models"])


class RegistrationRequest(Result):
    """Register run ``run_id``'s model as the next version (``rasad models register``)."""

    run_id: Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=64)]


class BreakGlass(Result):
    """Deploy ``version`` to ``to`` whatever its gates and approvals say (admins only),
    with a written justification (``rasad promote --break-glass``)."""

    version: int = Field(ge=1, le=2**31 - 1)
    to: Annotated[str, StringConstraints(pattern=NO_NUL, max_length=200)]
    justification: Annotated[str, StringConstraints(pattern=NO_NUL, max_length=2000)]
    slot: SlotName = "primary"


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


@router.get("/{name}/tests", response_model=ModelTestReport)
def model_tests(ctx: ContextDep, name: NamePath,
                version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                data: TextQuery = None) -> Response:
    """Run the behavioural tests of ``promotion.tests`` on a version (default the latest),
    on ``data`` (a dataset version; default ``promotion.evaluation_data``). Stores nothing;
    a failed test is in the report, not an error. ``rasad test NAME@VERSION``."""
    return respond(run_model_tests(ctx, name, version, data=data))


@router.get("/{name}/history", response_model=list[Deployment])
def history(ctx: ContextDep, name: NamePath, env: TextQuery = None) -> Response:
    """Deployments, rollbacks and replacements, oldest first. ``rasad models history``."""
    if env is not None:
        models.check_environment(ctx, env)
    return respond([d for d in models.detail(ctx, name).history
                    if env is None or d.environment == env])


@router.get("/{name}/environments", response_model=list[EnvironmentStatus])
def environments(ctx: ContextDep, name: NamePath) -> Response:
    """Per environment: the version serving, the request that put it there (its gates and
    approvers), and whether it is an unreviewed break-glass promotion. ``rasad models show``."""
    return respond(service.environment_status(ctx, name))


@router.post("/{name}/promotions", status_code=201, response_model=Deployment,
             responses={200: {"model": Deployment,
                              "description": "That version serves there already."},
                        202: {"model": Request,
                              "description": "The environment needs approval: the request "
                                             "opened (its gates passed)."}})
def promote(ctx: ContextDep, name: NamePath, body: PromotionRequest) -> Response:
    """Run the environment's gates, then deploy (201) or open a request for approval (202).
    ``rasad promote NAME VERSION --to ENV``.

    A blocking gate is a 422 problem (`GatesFailed`) whose `request` member holds the
    failed request, with every gate's result and evidence."""
    outcome = service.promote(ctx, name, body.version, body.to, reason=body.reason,
                              slot=body.slot)
    if isinstance(outcome, Deployment):
        return respond(outcome, 201 if outcome.changed else 200)
    return respond(outcome, 202)


@router.post("/{name}/break-glass", status_code=201, response_model=Request)
def break_glass(ctx: ContextDep, name: NamePath, body: BreakGlass) -> Response:
    """Force a promotion past failed gates or missing approvals (``model.force``, admins);
    it stays marked until an approver reviews it. ``rasad promote --break-glass``."""
    return respond(service.force(ctx, name, body.version, body.to,
                                 justification=body.justification, slot=body.slot), 201)


@router.post("/{name}/rollbacks", status_code=201, response_model=Deployment)
def rollback(ctx: ContextDep, name: NamePath, body: RollbackRequest) -> Response:
    """Return an environment to the version its current deployment replaced.
    ``rasad rollback NAME --env ENV``."""
    return respond(promotion.rollback(ctx, name, body.env, reason=body.reason,
                                      slot=body.slot), 201)


@router.post("/{name}/retirements", status_code=201, response_model=Retirement)
def retire(ctx: ContextDep, name: NamePath, body: RetireRequest) -> Response:
    """End the model's canary or shadow in an environment.
    ``rasad retire NAME --env ENV --slot canary|shadow``."""
    return respond(promotion.retire(ctx, name, body.env, body.slot, reason=body.reason), 201)
