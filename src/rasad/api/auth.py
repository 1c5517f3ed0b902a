"""Token authentication as FastAPI dependencies: a per-request context for its principal.

The server opens the project once (:func:`rasad.api.create_app` keeps that context on
``app.state``); each request presents ``Authorization: Bearer rsd_...``, which
:func:`rasad.identity.authenticate` turns into a :class:`~rasad.identity.Principal`,
and the request's services receive a context acting as that principal. Tests replace
these dependencies through ``app.dependency_overrides``.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rasad.core import Context
from rasad.identity import InvalidToken, Principal, authenticate

bearer = HTTPBearer(
    auto_error=False, scheme_name="token",
    description="A rasad API token (`rasad tokens create NAME`): `Authorization: Bearer rsd_...`.")


def server_context(request: Request) -> Context:
    """The context the server opened the project with (its database and artifact store)."""
    context: Context = request.app.state.context
    return context


def principal(
    server: Annotated[Context, Depends(server_context)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The principal the request's bearer token stands for.

    Raises
    ------
    InvalidToken
        If there is no bearer token, or it does not authenticate (401).
    """
    if credentials is None:
        raise InvalidToken("This request has no API token: send `Authorization: Bearer "
                           "rsd_...`. An admin creates one with `rasad tokens create NAME`.")
    return authenticate(server, credentials.credentials)


def context(
    server: Annotated[Context, Depends(server_context)],
    who: Annotated[Principal, Depends(principal)],
) -> Context:
    """A context acting as the request's principal.

    It shares the server's database engine and artifact store (one connection pool per
    server, not one per request); only who acts differs.
    """
    return dataclasses.replace(server, actor=who.name, authenticated=who)


ContextDep = Annotated[Context, Depends(context)]
PrincipalDep = Annotated[Principal, Depends(principal)]

__all__ = ["ContextDep", "PrincipalDep", "bearer", "context", "principal", "server_context"]
