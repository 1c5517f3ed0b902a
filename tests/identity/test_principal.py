"""Principals as values, and the one permission check."""

from __future__ import annotations

import pytest

from rasad.errors import InputError, PermissionDenied, RasadError
from rasad.identity import (
    OS_USER,
    Permission,
    Principal,
    PrincipalKind,
    Role,
    check_principal_name,
    require,
)


def _principal(*roles: Role, auth: str = OS_USER) -> Principal:
    return Principal(name="amal", kind=PrincipalKind.PERSON, roles=roles, auth=auth)


def test_a_principal_is_an_immutable_value_with_roles_in_table_order() -> None:
    amal = _principal(Role.ADMIN, Role.VIEWER, Role.ADMIN)
    assert amal.roles == (Role.VIEWER, Role.ADMIN)
    with pytest.raises(ValueError, match="frozen"):
        amal.name = "someone-else"  # type: ignore[misc]
    assert Principal.from_json(amal.to_json()) == amal
    assert amal.to_dict() == {"name": "amal", "kind": "person", "roles": ["viewer", "admin"],
                              "auth": "os-user"}


def test_can_follows_the_role_table() -> None:
    officer = _principal(Role.APPROVER, Role.AUDITOR)
    assert officer.can(Permission.MODEL_APPROVE) and officer.can(Permission.AUDIT_READ)
    assert not officer.can(Permission.MODEL_PROMOTE)
    assert not _principal().can(Permission.READ)


def test_require_passes_silently_when_the_permission_is_held() -> None:
    require(_principal(Role.DEPLOYER), Permission.MODEL_PROMOTE, "promote credit@1")


def test_a_refusal_names_principal_permission_granting_roles_and_the_fix() -> None:
    with pytest.raises(PermissionDenied) as refused:
        require(_principal(Role.VIEWER), Permission.IDENTITY_MANAGE, "add principal 'bob'")
    message = str(refused.value)
    assert message.startswith("'amal' (os-user; roles: viewer) may not add principal 'bob': "
                              "that needs the permission identity.manage, which the role "
                              "admin grants.")
    assert "`rasad users grant amal admin`" in message
    assert isinstance(refused.value, PermissionError) and isinstance(refused.value, RasadError)
    assert refused.value.exit_code == 2


def test_a_refused_token_is_told_about_its_scope() -> None:
    scoped = _principal(Role.VIEWER, auth="token:0123456789abcdef")
    with pytest.raises(PermissionDenied, match=r"this token's scope leaves it out: use a "
                                               r"token created with `--role deployer`"):
        require(scoped, Permission.MODEL_PROMOTE, "promote credit@1")


def test_a_principal_without_roles_is_told_so() -> None:
    with pytest.raises(PermissionDenied, match=r"roles: none\) may not read"):
        require(_principal(), Permission.READ, "read datasets")


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "x" * 201, "amal\n", "ümit"])
def test_bad_principal_names_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="Principal name"):
        check_principal_name(name)


@pytest.mark.parametrize("name", ["amal", "amal@bank.example", "ci-bot", "a.b_c+d", "x" * 200])
def test_good_principal_names_pass(name: str) -> None:
    assert check_principal_name(name) == name
