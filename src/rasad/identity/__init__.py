"""Identity: who acts, with which roles, and how they proved it.

Principals (people and service accounts) hold roles; a role is a set of permissions
(:data:`ROLE_PERMISSIONS`, one explicit table); :func:`require` is the one check a
service makes before it changes anything. A principal authenticates as the local user
on a project whose database it opens itself (``os-user``), or with an API token
(``token:<id>``), stored hashed. See docs/identity.md.
"""

from rasad.identity.actor import current_actor
from rasad.identity.permissions import (
    PRESETS,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    parse_roles,
    permissions_of,
    roles_granting,
)
from rasad.identity.principal import (
    OS_USER,
    Principal,
    PrincipalKind,
    check_principal_name,
    require,
)
from rasad.identity.service import (
    CreatedToken,
    IdentityContext,
    PrincipalInfo,
    TokenInfo,
    add_principal,
    authenticate,
    bootstrap_admin,
    create_token,
    disable,
    grant,
    list_principals,
    list_tokens,
    local_principal,
    principal_info,
    revoke_role,
    revoke_token,
)
from rasad.identity.tokens import DEFAULT_LIFETIME, InvalidToken, parse_lifetime

__all__ = [
    "DEFAULT_LIFETIME",
    "OS_USER",
    "PRESETS",
    "ROLE_PERMISSIONS",
    "CreatedToken",
    "IdentityContext",
    "InvalidToken",
    "Permission",
    "Principal",
    "PrincipalInfo",
    "PrincipalKind",
    "Role",
    "TokenInfo",
    "add_principal",
    "authenticate",
    "bootstrap_admin",
    "check_principal_name",
    "create_token",
    "current_actor",
    "disable",
    "grant",
    "list_principals",
    "list_tokens",
    "local_principal",
    "parse_lifetime",
    "parse_roles",
    "permissions_of",
    "principal_info",
    "require",
    "revoke_role",
    "revoke_token",
    "roles_granting",
]
