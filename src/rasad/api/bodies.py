"""Request bodies, the response models the services do not define yet, and the one way a
result becomes a response body.

A response body is the result's one JSON form (:meth:`rasad.results.Result.to_json`:
aliases applied, NaN as null), the same text ``--json`` prints. The models below give the
OpenAPI schema those bodies for the values that are still plain dataclasses with a
``to_dict`` (a dataset added, an audit event, a verification), with the same keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal

from fastapi import Path, Query
from fastapi.responses import Response
from pydantic import Field, StringConstraints

from rasad.identity import PrincipalKind
from rasad.identity.principal import PRINCIPAL_NAME
from rasad.names import NAME_PATTERN
from rasad.results import Result
from rasad.tables import ColumnKind

# PostgreSQL text cannot hold NUL, and no rasad value needs one: refuse it at the door
# (422) rather than let the database fail the request. Lengths bound what a row can hold.
NO_NUL: Final = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(pattern=NO_NUL, max_length=2000)]
ClientPath = Annotated[str, StringConstraints(pattern=NO_NUL, min_length=1, max_length=4096)]
"""A file as a client names it (a path on the client's machine, up to PATH_MAX): a label
the server records and never opens."""
NamePath = Annotated[str, Path(pattern=NAME_PATTERN.pattern, description="A dataset or model "
                               "name: letters, digits, '.', '_', '-'.")]
PrincipalPath = Annotated[str, Path(pattern=PRINCIPAL_NAME.pattern)]
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="A version number, from 1.")]
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
TextPath = Annotated[str, Path(pattern=NO_NUL, max_length=200)]
TextQuery = Annotated[str | None, Query(pattern=NO_NUL, max_length=400)]


def respond(value: Result | Sequence[Result], status_code: int = 200) -> Response:
    """``value`` (a result or a list of them) in its one JSON form."""
    if isinstance(value, Result):
        body = value.to_json()
    else:
        body = "[" + ",".join(item.to_json() for item in value) + "]"
    return Response(body, status_code=status_code, media_type="application/json")


# ---- responses ------------------------------------------------------------------------


class DatasetAdded(Result):
    """What uploading a dataset did: ``rasad data add --json`` (the version without its
    profile, plus whether it was created and the message)."""

    created: bool
    message: str
    name: str
    version: int
    content_hash: str
    rows: int
    columns: int
    kinds: dict[str, ColumnKind]
    source: str
    parent_id: int | None
    created_by: str
    created_at: str


class AuditEventBody(Result):
    """One ledger entry (``rasad audit log --json``)."""

    seq: int
    occurred_at: str
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class ProblemFound(Result):
    """One thing ``audit verify`` found wrong."""

    kind: str
    message: str
    seq: int | None
    checkpoint: int | None
    row: str | None


class CheckpointsChecked(Result):
    verified: int
    latest: int | None
    trusted_keys: list[str]
    key_source: str | None


class VerificationBody(Result):
    """The outcome of ``audit verify`` (``rasad audit verify --json``); ``ok`` false is a
    finding, not an error, so it is sent with 200."""

    ok: bool
    events: int
    first_bad_seq: int | None
    reason: str | None
    problems: list[ProblemFound]
    checkpoints: CheckpointsChecked
    state: dict[str, int] | None
    notes: list[str]


# ---- requests -------------------------------------------------------------------------


SlotName = Literal["primary", "canary", "shadow"]
"""Which deployment of the environment (docs/promotion.md, "Canary and shadow")."""


class PromotionRequest(Result):
    """Deploy ``version`` of the model to environment ``to`` (``rasad promote``)."""

    version: int = Field(ge=1, le=2**31 - 1)
    to: Annotated[str, StringConstraints(pattern=NO_NUL, max_length=200)]
    reason: Text | None = None
    slot: SlotName = "primary"


class RollbackRequest(Result):
    """Return environment ``env`` to the version its current deployment replaced."""

    env: Annotated[str, StringConstraints(pattern=NO_NUL, max_length=200)]
    reason: Text | None = None
    slot: SlotName = "primary"


class RetireRequest(Result):
    """End the canary or shadow of the model in ``env`` (``rasad retire``)."""

    env: Annotated[str, StringConstraints(pattern=NO_NUL, max_length=200)]
    slot: Literal["canary", "shadow"]
    reason: Text | None = None


RoleName = Annotated[str, StringConstraints(pattern=NO_NUL, max_length=100)]


class NewPrincipal(Result):
    """A person or service account to add (``rasad users add``)."""

    name: Annotated[str, StringConstraints(pattern=PRINCIPAL_NAME.pattern)]
    kind: PrincipalKind = PrincipalKind.PERSON
    roles: list[RoleName] = Field(default_factory=list, max_length=20,
                                  description="Roles or presets (model_risk_officer).")


class Roles(Result):
    """Roles (or presets) to grant or revoke."""

    roles: list[RoleName] = Field(min_length=1, max_length=20)


class NewToken(Result):
    """A token to create (``rasad tokens create``)."""

    principal: Annotated[str, StringConstraints(pattern=PRINCIPAL_NAME.pattern)]
    roles: list[RoleName] | None = Field(default=None, max_length=20, description=(
        "Limit the token to these roles; default every role the principal holds."))
    expires: Annotated[str, StringConstraints(pattern=NO_NUL, max_length=20)] = Field(
        default="90d", description="Lifetime: 30m, 12h, 90d, 2w, or 'never'.")


__all__ = ["AuditEventBody", "ClientPath", "DatasetAdded", "IdPath", "NamePath", "NewPrincipal",
           "NewToken", "PrincipalPath", "PromotionRequest", "RollbackRequest", "Roles", "Text",
           "TextPath", "TextQuery", "VerificationBody", "VersionPath", "respond"]
