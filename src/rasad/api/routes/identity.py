"""``/whoami``, ``/users`` and ``/tokens``: principals, their roles, their API tokens."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from rasad import identity
from rasad.api.auth import ContextDep, PrincipalDep
from rasad.api.bodies import (
    NewPrincipal,
    NewToken,
    PrincipalPath,
    Roles,
    TextPath,
    TextQuery,
    respond,
)
from rasad.identity import CreatedToken, Principal, PrincipalInfo, TokenInfo

router = APIRouter(tags=["identity"])


@router.get("/whoami", response_model=Principal)
def whoami(who: PrincipalDep) -> Response:
    """The principal this request's token stands for, with the roles in force."""
    return respond(who)


@router.get("/users", response_model=list[PrincipalInfo])
def list_users(ctx: ContextDep) -> Response:
    """Every principal, disabled ones included. ``rasad users list``."""
    return respond(identity.list_principals(ctx))


@router.get("/users/{name}", response_model=PrincipalInfo)
def show_user(ctx: ContextDep, name: PrincipalPath) -> Response:
    """One principal with its roles."""
    return respond(identity.principal_info(ctx, name))


@router.post("/users", status_code=201, response_model=PrincipalInfo)
def add_user(ctx: ContextDep, body: NewPrincipal) -> Response:
    """Add a person or service account with roles. ``rasad users add``."""
    info = identity.add_principal(ctx, body.name, kind=body.kind,
                                  roles=identity.parse_roles(body.roles), by=ctx.principal)
    return respond(info, 201)


@router.post("/users/{name}/grant", response_model=PrincipalInfo)
def grant(ctx: ContextDep, name: PrincipalPath, body: Roles) -> Response:
    """Grant roles (or a preset's roles). ``rasad users grant NAME ROLE``."""
    roles = identity.parse_roles(body.roles)
    return respond(identity.grant(ctx, name, *roles, by=ctx.principal))


@router.post("/users/{name}/revoke", response_model=PrincipalInfo)
def revoke(ctx: ContextDep, name: PrincipalPath, body: Roles) -> Response:
    """Take roles away; the principal's tokens lose them too. ``rasad users revoke``."""
    roles = identity.parse_roles(body.roles)
    return respond(identity.revoke_role(ctx, name, *roles, by=ctx.principal))


@router.post("/users/{name}/disable", response_model=PrincipalInfo)
def disable(ctx: ContextDep, name: PrincipalPath) -> Response:
    """Disable a principal: it can no longer act and its tokens stop working."""
    return respond(identity.disable(ctx, name, by=ctx.principal))


@router.get("/tokens", response_model=list[TokenInfo])
def list_tokens(ctx: ContextDep, principal: TextQuery = None) -> Response:
    """Tokens (never their secrets), oldest first. ``rasad tokens list [NAME]``."""
    return respond(identity.list_tokens(ctx, principal))


@router.post("/tokens", status_code=201, response_model=CreatedToken)
def create_token(ctx: ContextDep, body: NewToken) -> Response:
    """Create a token; its text is in this response only (stored hashed, never shown
    again). ``rasad tokens create``."""
    roles = None if body.roles is None else identity.parse_roles(body.roles)
    created = identity.create_token(ctx, body.principal, roles=roles,
                                    lifetime=identity.parse_lifetime(body.expires),
                                    by=ctx.principal)
    response = respond(created, 201)
    response.headers["Cache-Control"] = "no-store"  # a secret: no cache may keep it
    return response


@router.post("/tokens/{token_id}/revoke", response_model=TokenInfo)
def revoke_token(ctx: ContextDep, token_id: TextPath) -> Response:
    """Revoke a token by its id; it stops working at once. ``rasad tokens revoke ID``."""
    return respond(identity.revoke_token(ctx, token_id, by=ctx.principal))
