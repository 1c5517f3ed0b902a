"""The role table: who may do what, written once."""

from __future__ import annotations

import pytest

from rasad.errors import InputError
from rasad.identity import (
    PRESETS,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    parse_roles,
    permissions_of,
    roles_granting,
)

P = Permission


def test_every_role_has_a_row_and_every_permission_a_role() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert all(roles_granting(p) for p in Permission)
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)
    # Every role reads, except the prediction server's clients: they score, nothing more.
    assert all(P.READ in granted for role, granted in ROLE_PERMISSIONS.items()
               if role is not Role.PREDICTOR)


@pytest.mark.parametrize(("role", "allowed", "refused"), [
    (Role.VIEWER, {P.READ}, set(Permission) - {P.READ}),
    (Role.DATA_SCIENTIST, {P.DATASET_WRITE, P.RUN_WRITE, P.MODEL_REGISTER, P.MONITOR_WRITE},
     {P.MODEL_PROMOTE, P.MODEL_APPROVE, P.IDENTITY_MANAGE, P.AUDIT_READ}),
    (Role.APPROVER, {P.MODEL_APPROVE}, {P.MODEL_PROMOTE, P.MODEL_REGISTER, P.IDENTITY_MANAGE}),
    (Role.DEPLOYER, {P.MODEL_PROMOTE, P.MONITOR_WRITE},
     {P.MODEL_APPROVE, P.MODEL_REGISTER, P.DATASET_WRITE, P.IDENTITY_MANAGE}),
    (Role.AUDITOR, {P.AUDIT_READ, P.AUDIT_CHECKPOINT},
     {P.DATASET_WRITE, P.MODEL_PROMOTE, P.MODEL_APPROVE, P.IDENTITY_MANAGE, P.PREDICT}),
    (Role.PREDICTOR, {P.PREDICT}, set(Permission) - {P.PREDICT}),
])
def test_each_role_grants_its_work_and_nothing_else(role: Role, allowed: set[Permission],
                                                    refused: set[Permission]) -> None:
    granted = ROLE_PERMISSIONS[role]
    assert allowed <= granted
    assert not refused & granted


def test_the_maker_is_never_the_checker() -> None:
    # No role but admin can both build a model and approve or deploy it.
    for role, granted in ROLE_PERMISSIONS.items():
        if role is not Role.ADMIN:
            assert not ({P.MODEL_REGISTER, P.MODEL_APPROVE} <= granted)
            assert not ({P.MODEL_APPROVE, P.MODEL_PROMOTE} <= granted)


def test_only_predictor_and_admin_may_score_through_the_server() -> None:
    assert roles_granting(P.PREDICT) == [Role.PREDICTOR, Role.ADMIN]
    assert ROLE_PERMISSIONS[Role.PREDICTOR] == {P.PREDICT}  # reads nothing else


def test_model_risk_officer_is_approver_plus_auditor() -> None:
    assert PRESETS["model_risk_officer"] == {Role.APPROVER, Role.AUDITOR}
    granted = permissions_of(parse_roles(["model_risk_officer"]))
    assert granted == {P.READ, P.MODEL_APPROVE, P.AUDIT_READ, P.AUDIT_CHECKPOINT}


def test_role_names_are_forgiving_about_case_and_dashes_and_strict_otherwise() -> None:
    assert parse_roles(["Data-Scientist", "admin"]) == {Role.DATA_SCIENTIST, Role.ADMIN}
    with pytest.raises(InputError, match=r"Unknown role 'root'\. Roles: viewer, "
                                         r"data_scientist.*model_risk_officer"):
        parse_roles(["viewer", "root"])
