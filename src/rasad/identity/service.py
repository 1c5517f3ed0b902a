"""The identity use-cases: principals, their roles, their API tokens, and authentication.

Every change writes its rows and its audit event in one serialised transaction, after
checking that the acting principal ``by`` (the context's principal unless given) holds
``identity.manage``: once before the transaction (a cheap refusal) and again under the
write lock against the roles ``by`` holds then (:func:`authorize`, which every service's
transaction uses), so a role revoked or a principal disabled a moment earlier cannot act.
A refused call changes nothing. Each event names its actor and how it authenticated
(the transaction adds that); details name the principal, roles, kind and expiry, never a
token secret or its hash.

``ctx`` is a :class:`rasad.core.Context` (or the :class:`rasad.Project` facade). This
package sits below ``rasad.core`` in the layers (the context carries a principal, so
core imports identity), so the context's type is written here as the small protocol
:class:`IdentityContext`, which ``Context`` satisfies.

A project with no principals yet is *unclaimed* (it was created before identities
existed): :func:`rasad.identity.local_principal` lets its local user act as admin, and
the first identity change that user makes records them as the project's first admin, in
the same transaction, so a project never has principals but no admin.

>>> import tempfile
>>> from rasad import Project
>>> ctx = Project.init(tempfile.mkdtemp(), name="loans").context
>>> me = local_principal(ctx)
>>> bob = add_principal(ctx, "bob", roles=[Role.DATA_SCIENTIST], by=me)
>>> created = create_token(ctx, "bob", lifetime=None, by=me)
>>> authenticate(ctx, created.token) == Principal(
...     name="bob", kind="person", roles=["data_scientist"], auth=f"token:{created.info.id}")
True
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any, Protocol

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from rasad.errors import ConflictError, InputError, NotFoundError, PermissionDenied
from rasad.identity.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    Role,
    ordered,
    permissions_of,
)
from rasad.identity.principal import (
    OS_USER,
    TOKEN_AUTH_PREFIX,
    Principal,
    PrincipalKind,
    check_principal_name,
    require,
)
from rasad.identity.tokens import (
    DEFAULT_LIFETIME,
    InvalidToken,
    hash_secret,
    later,
    new_token,
    parse_token,
    secret_matches,
)
from rasad.results import Result
from rasad.store._tables import ApiTokenRow, PrincipalRow, RoleGrantRow

UNLISTED_ROLES: tuple[Role, ...] = (Role.VIEWER,)
"""The roles of a local user who is not a principal of a claimed project: reading only."""


class AuditedWrite(Protocol):
    """A write transaction that records audit events (:class:`rasad.ledger.Tx`)."""

    @property
    def session(self) -> Session: ...

    def record(self, action: str, subject: str,
               details: Mapping[str, Any] | None = None) -> object: ...


class IdentityContext(Protocol):
    """What the identity services use of :class:`rasad.core.Context`."""

    @property
    def actor(self) -> str: ...

    @property
    def clock(self) -> Callable[[], str]: ...

    @property
    def principal(self) -> Principal: ...

    def transaction(self, permission: Permission | None = None, action: str = "", *,
                    by: Principal | None = None) -> AbstractContextManager[AuditedWrite]: ...

    def read(self) -> AbstractContextManager[Session]: ...


class PrincipalInfo(Result):
    """A principal as stored: what ``rasad users list`` shows."""

    name: str
    kind: PrincipalKind
    roles: tuple[Role, ...]
    created_by: str
    created_at: str
    disabled_at: str | None = None


class TokenInfo(Result):
    """An API token as stored, without its secret: what ``rasad tokens list`` shows."""

    id: str
    principal: str
    roles: tuple[Role, ...]
    created_by: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None = None


class CreatedToken(Result):
    """A new token: the full token text, shown this once, and its stored description."""

    token: str = Field(repr=False)
    info: TokenInfo


# ---- reading -------------------------------------------------------------------------


def _row(session: Session, name: str) -> PrincipalRow:
    row = session.execute(select(PrincipalRow).where(PrincipalRow.name == name)).scalar()
    if row is None:
        known = session.execute(select(PrincipalRow.name).order_by(PrincipalRow.name)
                                .limit(20)).scalars().all()
        listed = ", ".join(known) if known else "none yet"
        raise NotFoundError(f"No principal named {name!r}; principals: {listed}. Add one "
                            f"with `rasad users add {name}`.")
    return row


def _roles(session: Session, principal_id: int) -> tuple[Role, ...]:
    names = session.execute(select(RoleGrantRow.role)
                            .where(RoleGrantRow.principal_id == principal_id)).scalars()
    return ordered(Role(name) for name in names)


def _info(session: Session, row: PrincipalRow) -> PrincipalInfo:
    return PrincipalInfo(name=row.name, kind=PrincipalKind(row.kind),
                         roles=_roles(session, row.id), created_by=row.created_by,
                         created_at=row.created_at, disabled_at=row.disabled_at)


def _token_info(row: ApiTokenRow, principal: str) -> TokenInfo:
    return TokenInfo(id=row.id, principal=principal, roles=_stored_roles(row.roles),
                     created_by=row.created_by, created_at=row.created_at,
                     expires_at=row.expires_at, revoked_at=row.revoked_at)


def _stored_roles(text: str) -> tuple[Role, ...]:
    return ordered(Role(name) for name in json.loads(text))


def principal_info(ctx: IdentityContext, name: str) -> PrincipalInfo:
    """One principal, with its roles (needs ``read``)."""
    require(ctx.principal, Permission.READ, f"read principal {name!r}")
    with ctx.read() as session:
        return _info(session, _row(session, name))


def list_principals(ctx: IdentityContext) -> list[PrincipalInfo]:
    """Every principal, disabled ones included, by name (needs ``read``)."""
    require(ctx.principal, Permission.READ, "list principals")
    with ctx.read() as session:
        rows = session.execute(select(PrincipalRow).order_by(PrincipalRow.name)).scalars()
        return [_info(session, row) for row in rows]


def list_tokens(ctx: IdentityContext, name: str | None = None) -> list[TokenInfo]:
    """Every token (of principal ``name`` if given), oldest first; never a secret (needs
    ``read``: ids, owners and expiry are not secrets)."""
    require(ctx.principal, Permission.READ, "list tokens")
    query = (select(ApiTokenRow, PrincipalRow.name)
             .join(PrincipalRow, PrincipalRow.id == ApiTokenRow.principal_id)
             .order_by(ApiTokenRow.created_at, ApiTokenRow.id))
    with ctx.read() as session:
        if name is not None:
            query = query.where(ApiTokenRow.principal_id == _row(session, name).id)
        return [_token_info(row, owner) for row, owner in session.execute(query)]


def is_claimed(session: Session) -> bool:
    """Whether the project has any principal (see the module docstring on unclaimed ones)."""
    return session.execute(select(PrincipalRow.id).limit(1)).first() is not None


def local_principal(ctx: IdentityContext) -> Principal:
    """The local user (``ctx.actor``: ``RASAD_USER``, else the operating-system user) as a
    principal authenticated as ``os-user``, with the roles granted to that name.

    On an unclaimed project (no principals yet) the local user acts as admin, as everyone
    could before identities existed. On a claimed project a name that is not a principal
    holds :data:`UNLISTED_ROLES` (viewer): it may read, as anyone who can open the
    database file can, and change nothing.

    Raises
    ------
    PermissionDenied
        If that principal is disabled.
    """
    name = ctx.actor
    with ctx.read() as session:
        if not is_claimed(session):
            return Principal(name=name, kind=PrincipalKind.PERSON, roles=(Role.ADMIN,),
                             auth=OS_USER)
        row = session.execute(select(PrincipalRow).where(PrincipalRow.name == name)).scalar()
        if row is None:  # reads only: the database file is readable to them anyway
            return Principal(name=name, kind=PrincipalKind.PERSON, roles=UNLISTED_ROLES,
                             auth=OS_USER)
        if row.disabled_at is not None:
            raise PermissionDenied(f"Principal {name!r} was disabled at {row.disabled_at}; "
                                   "an admin can tell you why (`rasad audit log --subject "
                                   f"principal:{name}`).")
        return Principal(name=name, kind=PrincipalKind(row.kind),
                         roles=_roles(session, row.id), auth=OS_USER)


def _covered(scope: Iterable[Role], held: Iterable[Role]) -> tuple[Role, ...]:
    """The roles of a token's ``scope`` its principal can still exercise: those it holds,
    or whose permissions its roles grant anyway (an admin's read-only token is a viewer's)."""
    held = tuple(held)
    allowed = permissions_of(held)
    return tuple(role for role in scope if role in held or ROLE_PERMISSIONS[role] <= allowed)


# ---- authentication ------------------------------------------------------------------


def authenticate(ctx: IdentityContext, token: str) -> Principal:
    """The principal a token stands for, with the roles in force: the token's scope
    narrowed to the roles the principal still holds.

    The secret is compared in constant time; an unknown id and a wrong secret get the same
    answer, and only the holder of the right secret learns that a token expired, was
    revoked or belongs to a disabled principal.

    Raises
    ------
    InvalidToken
        If the token is malformed, unknown, wrong, expired or revoked, or its principal is
        disabled.
    """
    parsed = parse_token(token)
    now = ctx.clock()
    with ctx.read() as session:
        found = session.execute(
            select(ApiTokenRow, PrincipalRow)
            .join(PrincipalRow, PrincipalRow.id == ApiTokenRow.principal_id)
            .where(ApiTokenRow.id == parsed.id)).first()
        # An unknown id still costs one comparison, so timing tells little about ids.
        stored = found[0].secret_sha256 if found else hash_secret("")
        if not secret_matches(parsed.secret, stored) or found is None:
            raise InvalidToken(f"Token {parsed.id} is not valid (unknown, or the secret is "
                               "wrong). Ask an admin for a new one (`rasad tokens create`).")
        row, owner = found
        if row.revoked_at is not None:
            raise InvalidToken(f"Token {row.id} of {owner.name!r} was revoked at "
                               f"{row.revoked_at}. Ask an admin for a new one.")
        if row.expires_at is not None and row.expires_at <= now:
            raise InvalidToken(f"Token {row.id} of {owner.name!r} expired at "
                               f"{row.expires_at}. Ask an admin for a new one.")
        if owner.disabled_at is not None:
            raise InvalidToken(f"Principal {owner.name!r} was disabled at "
                               f"{owner.disabled_at}; its tokens no longer work.")
        in_force = _covered(_stored_roles(row.roles), _roles(session, owner.id))
        return Principal(name=owner.name, kind=PrincipalKind(owner.kind), roles=in_force,
                         auth=f"{TOKEN_AUTH_PREFIX}{row.id}")


# ---- changes -------------------------------------------------------------------------


def authorize(tx: AuditedWrite, by: Principal, permission: Permission, action: str, *,
              now: str) -> None:
    """Check ``by`` again under the write lock, against the roles it holds now.

    :meth:`rasad.core.Context.transaction` calls this once it holds the lock. ``by`` was
    built before the transaction began; a role revoked, a principal disabled, a token
    revoked or expired, or the project claimed since then must not let a stale value act.
    On an unclaimed project the local user may do anything, and its first identity change
    (``identity.manage``) records it as the project's first admin, in this transaction.

    Raises
    ------
    PermissionDenied
        If ``by`` does not hold ``permission`` now.
    """
    # One query for the common case (the principal exists): its state and grants together,
    # since this runs inside every write transaction.
    rows = tx.session.execute(
        select(PrincipalRow.disabled_at, RoleGrantRow.role)
        .outerjoin(RoleGrantRow, RoleGrantRow.principal_id == PrincipalRow.id)
        .where(PrincipalRow.name == by.name)).all()
    if not rows:
        if by.auth == OS_USER and not is_claimed(tx.session):
            if permission is Permission.IDENTITY_MANAGE:
                bootstrap_admin(tx, by.name, now=now)
            return
        current = _covered(by.roles, UNLISTED_ROLES) if by.auth == OS_USER else ()
    elif rows[0].disabled_at is not None or not _token_in_force(tx.session, by.auth, now):
        current = ()
    else:
        held = ordered(Role(r.role) for r in rows if r.role is not None)
        current = _covered(by.roles, held)
    require(by.model_copy(update={"roles": current}), permission, action)


def _token_in_force(session: Session, auth: str, now: str) -> bool:
    """Whether the token ``auth`` names (if any) is neither revoked nor expired."""
    if not auth.startswith(TOKEN_AUTH_PREFIX):
        return True
    row = session.get(ApiTokenRow, auth.removeprefix(TOKEN_AUTH_PREFIX))
    return (row is not None and row.revoked_at is None
            and (row.expires_at is None or row.expires_at > now))


def bootstrap_admin(tx: AuditedWrite, name: str, *, now: str,
                    record: bool = True) -> PrincipalInfo:
    """Record ``name`` as a person holding ``admin``, inside ``tx``: the creator of a new
    project (``rasad init``), or the first user to manage an unclaimed one.

    ``name`` is the local user's name as the context records it (``RASAD_USER``, else
    the operating-system user), taken as it is: the names :func:`add_principal` accepts
    are stricter, but the first admin is whoever the system says is acting.

    ``record=False`` leaves the event to the caller: ``rasad init`` names the first admin
    in its own ``project.init`` event (``first_admin``), one fact in one event, so a new
    ledger still starts with that one event.

    Raises
    ------
    ConflictError
        If the project already has principals.
    """
    if is_claimed(tx.session):
        raise ConflictError("This project has principals already; its first admin exists. "
                            "Use `rasad users grant NAME admin`.")
    row = PrincipalRow(name=name, kind=PrincipalKind.PERSON.value, created_by=name,
                       created_at=now)
    tx.session.add(row)
    tx.session.flush()
    tx.session.add(RoleGrantRow(principal_id=row.id, role=Role.ADMIN.value, granted_by=name,
                                granted_at=now))
    tx.session.flush()
    if record:
        tx.record("principal.add", f"principal:{name}",
                  {"kind": PrincipalKind.PERSON, "roles": [Role.ADMIN], "first_admin": True})
    return _info(tx.session, row)


def add_principal(ctx: IdentityContext, name: str, *, kind: PrincipalKind = PrincipalKind.PERSON,
                  roles: Iterable[Role] = (), by: Principal | None = None) -> PrincipalInfo:
    """Add a person or service account with ``roles``.

    Raises
    ------
    PermissionDenied
        If ``by`` lacks ``identity.manage``.
    ConflictError
        If the name is taken (disabled principals keep theirs).
    """
    check_principal_name(name)
    granted = ordered(roles)
    action = f"add principal {name!r}"
    by = ctx.principal if by is None else by
    now = ctx.clock()
    with ctx.transaction(Permission.IDENTITY_MANAGE, action, by=by) as tx:
        taken = tx.session.execute(select(PrincipalRow)
                                   .where(PrincipalRow.name == name)).scalar()
        if taken is not None:
            state = "a disabled principal" if taken.disabled_at else "a principal"
            raise ConflictError(f"{name!r} is {state} already. See `rasad users list`.")
        row = PrincipalRow(name=name, kind=PrincipalKind(kind).value, created_by=by.name,
                           created_at=now)
        tx.session.add(row)
        tx.session.flush()
        for role in granted:
            tx.session.add(RoleGrantRow(principal_id=row.id, role=role.value, granted_by=by.name,
                                        granted_at=now))
        tx.session.flush()
        tx.record("principal.add", f"principal:{name}",
                  {"kind": PrincipalKind(kind), "roles": list(granted)})
        return _info(tx.session, row)


def _enabled_row(tx: AuditedWrite, name: str) -> PrincipalRow:
    row = _row(tx.session, name)
    if row.disabled_at is not None:
        raise ConflictError(f"Principal {name!r} is disabled (since {row.disabled_at}); "
                            "its roles and tokens cannot change.")
    return row


def _keep_an_admin(tx: AuditedWrite, row: PrincipalRow, what: str) -> None:
    """Refuse a change that would leave the project with no enabled admin."""
    others = tx.session.execute(
        select(PrincipalRow.name)
        .join(RoleGrantRow, RoleGrantRow.principal_id == PrincipalRow.id)
        .where(RoleGrantRow.role == Role.ADMIN.value, PrincipalRow.disabled_at.is_(None),
               PrincipalRow.id != row.id).limit(1)).first()
    if others is None:
        raise ConflictError(f"{what} would leave the project without an enabled admin. "
                            f"Grant admin to someone else first (`rasad users grant NAME "
                            "admin`).")


def grant(ctx: IdentityContext, name: str, *roles: Role,
          by: Principal | None = None) -> PrincipalInfo:
    """Give principal ``name`` the ``roles`` (one event per role it did not hold yet).

    Raises
    ------
    ConflictError
        If ``name`` is disabled.
    """
    wanted = ordered(Role(role) for role in roles)
    if not wanted:
        raise InputError(f"Name at least one role to grant {name!r}: {', '.join(Role)}.")
    action = f"grant {', '.join(wanted)} to {name!r}"
    by = ctx.principal if by is None else by
    now = ctx.clock()
    with ctx.transaction(Permission.IDENTITY_MANAGE, action, by=by) as tx:
        row = _enabled_row(tx, name)
        held = _roles(tx.session, row.id)
        for role in wanted:
            if role in held:
                continue
            tx.session.add(RoleGrantRow(principal_id=row.id, role=role.value,
                                        granted_by=by.name, granted_at=now))
            tx.session.flush()
            tx.record("principal.grant", f"principal:{name}", {"role": role})
        return _info(tx.session, row)


def revoke_role(ctx: IdentityContext, name: str, *roles: Role,
                by: Principal | None = None) -> PrincipalInfo:
    """Take the ``roles`` from principal ``name``; its tokens lose them too.

    Raises
    ------
    ConflictError
        If ``name`` does not hold one of them, or it would take the last enabled admin's
        ``admin``.
    """
    wanted = ordered(Role(role) for role in roles)
    if not wanted:
        raise InputError(f"Name at least one role to revoke from {name!r}.")
    action = f"revoke {', '.join(wanted)} from {name!r}"
    by = ctx.principal if by is None else by
    with ctx.transaction(Permission.IDENTITY_MANAGE, action, by=by) as tx:
        row = _row(tx.session, name)
        held = _roles(tx.session, row.id)
        missing = [role for role in wanted if role not in held]
        if missing:
            raise ConflictError(f"{name!r} does not hold the role {', '.join(missing)} "
                                f"(roles: {', '.join(held) or 'none'}).")
        if Role.ADMIN in wanted and row.disabled_at is None:
            _keep_an_admin(tx, row, f"Revoking admin from {name!r}")
        for role in wanted:
            grant_row = tx.session.get(RoleGrantRow, (row.id, role.value))
            tx.session.delete(grant_row)
            tx.session.flush()
            tx.record("principal.revoke", f"principal:{name}", {"role": role})
        return _info(tx.session, row)


def disable(ctx: IdentityContext, name: str, *, by: Principal | None = None) -> PrincipalInfo:
    """Disable principal ``name``: it can no longer act, and its tokens stop working.

    The row stays (audit events name it) and the name stays taken.
    """
    action = f"disable principal {name!r}"
    by = ctx.principal if by is None else by
    now = ctx.clock()
    with ctx.transaction(Permission.IDENTITY_MANAGE, action, by=by) as tx:
        row = _enabled_row(tx, name)
        if Role.ADMIN in _roles(tx.session, row.id):
            _keep_an_admin(tx, row, f"Disabling {name!r}")
        row.disabled_at = now
        tx.session.flush()
        tx.record("principal.disable", f"principal:{name}")
        return _info(tx.session, row)


def create_token(ctx: IdentityContext, name: str, *, roles: Iterable[Role] | None = None,
                 lifetime: timedelta | None = DEFAULT_LIFETIME,
                 by: Principal | None = None) -> CreatedToken:
    """Make an API token for principal ``name``; the only time its text is available.

    Parameters
    ----------
    name : str
        The principal the token authenticates as.
    roles : iterable of Role, optional
        The token's scope, a subset of the roles ``name`` holds; default all of them.
    lifetime : timedelta or None
        How long it works (default 90 days); None for no expiry.
    by : Principal
        Who creates it; needs ``identity.manage``.

    Raises
    ------
    InputError
        If a scope role is not held by ``name``, or the principal holds no role at all.
    """
    action = f"create a token for {name!r}"
    by = ctx.principal if by is None else by
    if lifetime is not None and lifetime <= timedelta(0):
        raise InputError(f"A token lifetime must be positive, not {lifetime}.")
    now = ctx.clock()
    with ctx.transaction(Permission.IDENTITY_MANAGE, action, by=by) as tx:
        row = _enabled_row(tx, name)
        held = _roles(tx.session, row.id)
        scope = held if roles is None else ordered(Role(r) for r in roles)
        extra = [role for role in scope if role not in _covered(scope, held)]
        if extra:
            raise InputError(f"{name!r} does not hold {', '.join(extra)} (roles: "
                             f"{', '.join(held) or 'none'}); a token can narrow its "
                             f"principal's permissions, never widen them. Grant the role "
                             f"first (`rasad users grant {name} {extra[0]}`).")
        if not scope:
            raise InputError(f"{name!r} holds no roles, so a token could do nothing. Grant "
                             f"one first (`rasad users grant {name} viewer`).")
        made = new_token()
        token_row = ApiTokenRow(
            id=made.id, principal_id=row.id, secret_sha256=made.secret_sha256,
            roles=json.dumps([role.value for role in scope]), created_by=by.name,
            created_at=now, expires_at=None if lifetime is None else later(now, lifetime))
        tx.session.add(token_row)
        tx.session.flush()
        tx.record("token.create", f"token:{made.id}",
                  {"principal": name, "roles": list(scope), "expires_at": token_row.expires_at,
                   })
        return CreatedToken(token=made.text, info=_token_info(token_row, name))


def revoke_token(ctx: IdentityContext, token_id: str, *,
                 by: Principal | None = None) -> TokenInfo:
    """Revoke a token by its public id; it stops working at once.

    Raises
    ------
    NotFoundError
        If no token has that id.
    ConflictError
        If it was revoked already.
    """
    action = f"revoke token {token_id!r}"
    by = ctx.principal if by is None else by
    now = ctx.clock()
    with ctx.transaction(Permission.IDENTITY_MANAGE, action, by=by) as tx:
        found = tx.session.execute(
            select(ApiTokenRow, PrincipalRow.name)
            .join(PrincipalRow, PrincipalRow.id == ApiTokenRow.principal_id)
            .where(ApiTokenRow.id == token_id)).first()
        if found is None:
            raise NotFoundError(f"No token with id {token_id!r}. See `rasad tokens list` "
                                "(the id is the part after rsd_, before the second '_').")
        row, owner = found
        if row.revoked_at is not None:
            raise ConflictError(f"Token {token_id} was revoked already, at {row.revoked_at}.")
        row.revoked_at = now
        tx.session.flush()
        tx.record("token.revoke", f"token:{token_id}", {"principal": owner})
        return _token_info(row, owner)


__all__ = ["UNLISTED_ROLES", "AuditedWrite", "CreatedToken", "IdentityContext", "PrincipalInfo",
           "TokenInfo", "add_principal", "authenticate", "authorize", "bootstrap_admin",
           "create_token", "disable", "grant", "is_claimed", "list_principals", "list_tokens",
           "local_principal", "principal_info", "revoke_role", "revoke_token"]
