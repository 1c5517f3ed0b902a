"""Who acts: a :class:`Principal` (a person or a service account) with its roles and how it
authenticated, and :func:`require`, the one permission check.

>>> amal = Principal(name="amal", kind=PrincipalKind.PERSON, roles=[Role.VIEWER],
...                  auth=OS_USER)
>>> amal.can(Permission.READ), amal.can(Permission.MODEL_PROMOTE)
(True, False)
>>> require(amal, Permission.MODEL_PROMOTE, "promote credit@3 to production")
Traceback (most recent call last):
...
rasad.errors.PermissionDenied: 'amal' (os-user; roles: viewer) may not promote credit@3 to \
production: that needs the permission model.promote, which the roles deployer or admin \
grant. A principal with identity.manage (role admin) can grant it: \
`rasad users grant amal deployer`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from pydantic import field_validator

from rasad.errors import InputError, PermissionDenied
from rasad.identity.permissions import Permission, Role, ordered, permissions_of, roles_granting
from rasad.results import Result

OS_USER: Final = "os-user"
"""``Principal.auth`` of the local operating-system user (or ``RASAD_USER``) on a project
whose database this process opens itself: no secret is checked (see docs/identity.md)."""
TOKEN_AUTH_PREFIX: Final = "token:"
"""``Principal.auth`` of a principal authenticated by an API token: ``token:<token id>``."""

# Principal names are recorded as the actor of audit events, so they share that column's
# 200 characters; '@' and '+' are allowed for e-mail addresses.
PRINCIPAL_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$")


class PrincipalKind(StrEnum):
    """A person, or a service account (a pipeline, the serving process, CI)."""

    PERSON = "person"
    SERVICE = "service"


def check_principal_name(name: str) -> str:
    """Validate a principal name and return it unchanged.

    >>> check_principal_name("amal@bank.example")
    'amal@bank.example'
    >>> check_principal_name("amal bank")
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Principal name 'amal bank' is not allowed: use letters, digits, \
'.', '_', '-', '@' and '+', starting with a letter or digit (at most 200 characters).
    """
    if not PRINCIPAL_NAME.fullmatch(name or ""):
        raise InputError(f"Principal name {name!r} is not allowed: use letters, digits, '.', "
                         "'_', '-', '@' and '+', starting with a letter or digit (at most 200 "
                         "characters).")
    return name


class Principal(Result):
    """An authenticated actor: who, what kind, which roles are in force, and how it proved it.

    Parameters
    ----------
    name : str
        The principal's name, recorded on audit events.
    kind : PrincipalKind
        Person or service account.
    roles : tuple of Role
        The roles in force for this authentication: the principal's granted roles, narrowed
        to a token's scope when it authenticated with a token. Kept in table order.
    auth : str
        How it authenticated: ``"os-user"`` (a local project) or ``"token:<token id>"``.
    """

    name: str
    kind: PrincipalKind
    roles: tuple[Role, ...]
    auth: str

    @field_validator("roles")
    @classmethod
    def _in_table_order(cls, roles: tuple[Role, ...]) -> tuple[Role, ...]:
        return ordered(roles)

    @property
    def permissions(self) -> frozenset[Permission]:
        """Every permission this principal's roles grant."""
        return permissions_of(self.roles)

    def can(self, permission: Permission) -> bool:
        """Whether the roles in force grant ``permission``."""
        return permission in self.permissions


def require(principal: Principal, permission: Permission, action: str) -> None:
    """Refuse ``action`` unless ``principal`` holds ``permission``.

    Parameters
    ----------
    principal : Principal
        Who wants to act.
    permission : Permission
        What the action needs.
    action : str
        The action in words, completing "may not ...": ``"add principal 'bob'"``.

    Raises
    ------
    PermissionDenied
        Naming the principal, its roles, the missing permission, the roles that grant it
        and who can grant them.
    """
    if principal.can(permission):
        return
    held = ", ".join(principal.roles) if principal.roles else "none"
    granting = roles_granting(permission)
    noun = "role" if len(granting) == 1 else "roles"
    verb = "grants" if len(granting) == 1 else "grant"
    managers = " or ".join(roles_granting(Permission.IDENTITY_MANAGE))
    message = (f"{principal.name!r} ({principal.auth}; roles: {held}) may not {action}: that "
               f"needs the permission {permission}, which the {noun} "
               f"{' or '.join(granting)} {verb}. A principal with "
               f"{Permission.IDENTITY_MANAGE} (role {managers}) can grant it: "
               f"`rasad users grant {principal.name} {granting[0]}`.")
    if principal.auth.startswith(TOKEN_AUTH_PREFIX):
        message += (" If the principal holds that role already, this token's scope leaves it "
                    f"out: use a token created with `--role {granting[0]}`.")
    raise PermissionDenied(message)


__all__ = ["OS_USER", "PRINCIPAL_NAME", "TOKEN_AUTH_PREFIX", "Principal", "PrincipalKind",
           "check_principal_name", "require"]
