"""Errors as RFC 9457 problem details, from one table of rasad error classes.

Every refusal the API sends is ``application/problem+json``: ``type`` (a URN naming the
kind of problem), ``title`` (the same for every problem of that type), ``status`` (the
HTTP status), ``detail`` (rasad's message: the bad value and the next step), plus two
members a client can map back onto the same exception: ``error`` (the class name) and
``exit_code`` (what the CLI exits with for it). :data:`PROBLEMS` is the one table from
error class to status; a class not listed takes the row of its nearest listed base.
A promotion that a gate blocks (:class:`~rasad.errors.GatesFailed`, a ``CheckFailed``)
adds one extension member, ``request``: the failed request with every gate's evidence.

>>> problem_for(NotFoundError("No dataset named 'loans'.")).model_dump(exclude_none=True)
{'type': 'urn:rasad:problem:not-found', 'title': 'Not found', 'status': 404, \
'detail': "No dataset named 'loans'.", 'error': 'NotFoundError', 'exit_code': 2}
>>> PROBLEMS[InvalidToken].status, status_of(ConfigError("bad key"))
(401, 500)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Final

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import Field
from starlette.exceptions import HTTPException

from rasad.errors import (
    CheckFailed,
    ConfigError,
    ConflictError,
    GatesFailed,
    InputError,
    IntegrityError,
    NotFoundError,
    PermissionDenied,
    RasadError,
    SchemaVersionError,
    UntrustedArtifactError,
)
from rasad.identity import InvalidToken
from rasad.ledger import LedgerDamaged
from rasad.results import Result
from rasad.store import DatabaseBusy, DatabaseUnavailable

MEDIA_TYPE: Final = "application/problem+json"
TYPE_PREFIX: Final = "urn:rasad:problem:"
log = logging.getLogger("rasad.api")


@dataclass(frozen=True)
class ProblemType:
    """One row of :data:`PROBLEMS`: the status and the fixed part of the problem."""

    status: int
    slug: str
    title: str

    @property
    def type(self) -> str:
        return TYPE_PREFIX + self.slug


# Order does not matter: the lookup walks the raised class's MRO, so a subclass listed
# here (InvalidToken under PermissionDenied, ConfigError under InputError) wins over its base.
PROBLEMS: Mapping[type[BaseException], ProblemType] = MappingProxyType({
    # The token is missing, malformed, unknown, expired or revoked: authenticate again.
    InvalidToken: ProblemType(401, "invalid-token", "Not authenticated"),
    # Authenticated, but the roles in force do not grant the permission; nothing changed.
    PermissionDenied: ProblemType(403, "permission-denied", "Permission denied"),
    NotFoundError: ProblemType(404, "not-found", "Not found"),
    ConflictError: ProblemType(409, "conflict", "Conflicts with the current state"),
    # Stored bytes or the chain disagree with their record: the server's state is the
    # problem, and the same request will fail until it is repaired, so 409, not 5xx.
    IntegrityError: ProblemType(409, "integrity", "Stored data failed its integrity check"),
    LedgerDamaged: ProblemType(409, "ledger-damaged", "The audit ledger is damaged"),
    # The request was understood but what it names failed a check (CLI exit 1).
    CheckFailed: ProblemType(422, "check-failed", "A check failed"),
    UntrustedArtifactError: ProblemType(422, "untrusted-artifact",
                                        "The artifact holds types the trust policy refuses"),
    InputError: ProblemType(422, "invalid-input", "Invalid input"),
    # rasad.yaml or the server's environment is wrong: the operator's problem, not the client's.
    ConfigError: ProblemType(500, "server-configuration", "The server is misconfigured"),
    SchemaVersionError: ProblemType(503, "schema-version",
                                    "The database needs `rasad db upgrade`"),
    DatabaseUnavailable: ProblemType(503, "database-unavailable",
                                     "The metadata database cannot be reached"),
    DatabaseBusy: ProblemType(503, "database-busy", "The database write lock is busy"),
    RasadError: ProblemType(400, "bad-request", "Bad request"),
})
"""Each rasad error class's HTTP status (docs/api.md shows it beside the CLI exit codes)."""

INTERNAL: Final = ProblemType(500, "internal", "Internal server error")


class Problem(Result):
    """An RFC 9457 problem details object, as the API sends it."""

    type: str
    title: str
    status: int
    detail: str
    error: str | None = None
    exit_code: int | None = None
    errors: list[dict[str, Any]] | None = None
    request: dict[str, Any] | None = Field(default=None, description=(
        "GatesFailed only: the promotion request recorded as failed, with its gate report "
        "(the PromotionRequest schema)."))


def problem_type(error: BaseException) -> ProblemType:
    """The row of :data:`PROBLEMS` for ``error``: its class's, else its nearest base's."""
    for cls in type(error).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls]
    return INTERNAL


def status_of(error: BaseException) -> int:
    """The HTTP status ``error`` is sent with."""
    return problem_type(error).status


def problem_for(error: RasadError) -> Problem:
    """The problem details of a rasad error."""
    row = problem_type(error)
    request = error.request.to_dict() if isinstance(error, GatesFailed) else None
    return Problem(type=row.type, title=row.title, status=row.status, detail=str(error),
                   error=type(error).__name__, exit_code=error.exit_code, request=request)


def http_problem(status: int, detail: str) -> Problem:
    """A problem for a status the HTTP layer chose itself (405, 413, an unknown route...)."""
    phrase = HTTPStatus(status).phrase
    return Problem(type=f"{TYPE_PREFIX}http-{status}", title=phrase, status=status,
                   detail=detail)


def render(problem: Problem, headers: Mapping[str, str] | None = None) -> Response:
    """The response carrying ``problem`` (``None`` members left out)."""
    body = problem.model_dump_json(exclude_none=True)
    return Response(body, status_code=problem.status, media_type=MEDIA_TYPE,
                    headers=dict(headers or {}))


def _headers(request: Request, error: BaseException) -> dict[str, str]:
    if isinstance(error, InvalidToken):
        # RFC 6750: a 401 names the scheme to use; the error code only when a token was sent.
        sent = "authorization" in request.headers
        return {"WWW-Authenticate": 'Bearer realm="rasad"'
                + (', error="invalid_token"' if sent else "")}
    if isinstance(error, DatabaseBusy):
        return {"Retry-After": "1"}
    return {}


async def rasad_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RasadError)  # registered for RasadError only
    problem = problem_for(exc)
    if problem.status >= 500:
        log.error("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return render(problem, _headers(request, exc))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return render(http_problem(exc.status_code, detail), exc.headers)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors(), exclude={"ctx", "url"})
    where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                      for e in errors[:5])
    row = PROBLEMS[InputError]
    problem = Problem(type=row.type, title=row.title, status=row.status,
                      detail=f"The request is not valid: {where}.", error="InputError",
                      exit_code=InputError.exit_code, errors=errors)
    return render(problem)


async def internal_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the server's log; the client learns nothing about internals.
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return render(Problem(type=INTERNAL.type, title=INTERNAL.title, status=500,
                          detail="The server failed to handle this request; its log has the "
                                 "details. Report it with the time of the request."))


HANDLERS: Mapping[int | type[Exception], Any] = MappingProxyType({
    RasadError: rasad_error,
    HTTPException: http_error,
    RequestValidationError: validation_error,
    Exception: internal_error,
})
"""The exception handlers :func:`rasad.api.create_app` installs."""

__all__ = ["HANDLERS", "INTERNAL", "MEDIA_TYPE", "PROBLEMS", "Problem", "ProblemType",
           "http_problem", "problem_for", "problem_type", "render", "status_of"]
