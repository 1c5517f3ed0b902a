"""Roles and the permissions they grant: one explicit table, read by every check.

A permission names one kind of state change (or reading); a role is a named set of
permissions given to principals. Grants hold roles only: a preset such as
``model_risk_officer`` is expanded into its roles when it is granted, so the table
below is the whole truth about who may do what.

>>> for role, permissions in ROLE_PERMISSIONS.items():
...     print(f"{role:<15}", " ".join(sorted(permissions)))
viewer          read
data_scientist  dataset.write model.register monitor.write read run.write
approver        model.approve read
deployer        model.promote monitor.write read
auditor         audit.checkpoint audit.read read
predictor       predict
admin           audit.checkpoint audit.read dataset.write identity.manage model.approve \
model.force model.promote model.register monitor.write predict project.maintain read run.write \
subject.erase
>>> sorted(PRESETS["model_risk_officer"])
[<Role.APPROVER: 'approver'>, <Role.AUDITOR: 'auditor'>]
>>> [str(r) for r in roles_granting(Permission.MODEL_APPROVE)]
['approver', 'admin']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from rasad.errors import InputError


class Permission(StrEnum):
    """What an action needs. Values are what the audit log and error messages show."""

    READ = "read"
    """See datasets, runs, models, deployments, monitors and principals."""
    DATASET_WRITE = "dataset.write"
    """Add dataset versions, schemas and validations."""
    RUN_WRITE = "run.write"
    """Start, log to and close training runs."""
    MODEL_REGISTER = "model.register"
    """Register a model version from a run."""
    MODEL_PROMOTE = "model.promote"
    """Promote or roll back a model version in an environment (deploy)."""
    MODEL_APPROVE = "model.approve"
    """Approve or reject a promotion request (the checker in maker-checker)."""
    MODEL_FORCE = "model.force"
    """Break-glass: deploy a version past failed gates or missing approvals, with a written
    justification; marked until an approver reviews it. Admins only."""
    MONITOR_WRITE = "monitor.write"
    """Create monitors; save their results (drift, performance, estimation, fairness),
    alerts and reference profiles."""
    AUDIT_READ = "audit.read"
    """Read and verify the audit log, export evidence."""
    AUDIT_CHECKPOINT = "audit.checkpoint"
    """Sign ledger checkpoints."""
    IDENTITY_MANAGE = "identity.manage"
    """Add, disable and grant roles to principals; create and revoke their tokens."""
    PROJECT_MAINTAIN = "project.maintain"
    """Maintenance of the project itself: database upgrades, artifact garbage collection."""
    PREDICT = "predict"
    """Score with deployed models through the prediction server and send feedback."""
    SUBJECT_ERASE = "subject.erase"
    """Erase a data subject: new dataset versions without them, the prediction log
    redacted, the models trained on them flagged for retraining. Admins only."""


class Role(StrEnum):
    """A named set of permissions (see :data:`ROLE_PERMISSIONS`)."""

    VIEWER = "viewer"
    DATA_SCIENTIST = "data_scientist"
    APPROVER = "approver"
    DEPLOYER = "deployer"
    AUDITOR = "auditor"
    PREDICTOR = "predictor"
    ADMIN = "admin"


P = Permission
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType({
    # Looks at everything that is not the audit trail; changes nothing.
    Role.VIEWER: frozenset({P.READ}),
    # Builds models: data in, runs, registered versions, and watches them. Cannot deploy
    # or approve: the maker is never the checker.
    Role.DATA_SCIENTIST: frozenset({P.READ, P.DATASET_WRITE, P.RUN_WRITE, P.MODEL_REGISTER,
                                    P.MONITOR_WRITE}),
    # Decides on promotions; builds and deploys nothing.
    Role.APPROVER: frozenset({P.READ, P.MODEL_APPROVE}),
    # ML engineer / operator: moves approved versions between environments, runs monitors.
    Role.DEPLOYER: frozenset({P.READ, P.MODEL_PROMOTE, P.MONITOR_WRITE}),
    # Reads and seals the trail; changes no model or data.
    Role.AUDITOR: frozenset({P.READ, P.AUDIT_READ, P.AUDIT_CHECKPOINT}),
    # A client of the prediction server (an application, a service account): scores and
    # sends feedback, and reads nothing of the registry, the data or the trail.
    Role.PREDICTOR: frozenset({P.PREDICT}),
    # Everything, including who may do what.
    Role.ADMIN: frozenset(Permission),
})
"""Each role's permissions: the one table every permission check reads."""
del P

PRESETS: Mapping[str, frozenset[Role]] = MappingProxyType({
    # A bank's model-risk or compliance officer decides on promotions and audits the trail.
    "model_risk_officer": frozenset({Role.APPROVER, Role.AUDITOR}),
})
"""Named bundles of roles, expanded when granted (a grant always stores roles)."""


def roles_granting(permission: Permission) -> list[Role]:
    """The roles that grant ``permission``, in table order."""
    return [role for role, granted in ROLE_PERMISSIONS.items() if permission in granted]


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    """Every permission the ``roles`` grant together.

    >>> sorted(permissions_of([Role.VIEWER, Role.APPROVER]))
    [<Permission.MODEL_APPROVE: 'model.approve'>, <Permission.READ: 'read'>]
    """
    found: set[Permission] = set()
    for role in roles:
        found |= ROLE_PERMISSIONS[role]
    return frozenset(found)


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Roles from their names (as typed on the command line), presets expanded.

    >>> ordered(parse_roles(["viewer", "model-risk-officer"]))
    (<Role.VIEWER: 'viewer'>, <Role.APPROVER: 'approver'>, <Role.AUDITOR: 'auditor'>)
    >>> parse_roles(["superuser"])
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Unknown role 'superuser'. Roles: viewer, data_scientist, \
approver, deployer, auditor, predictor, admin; presets: model_risk_officer (approver, auditor).
    """
    roles: set[Role] = set()
    for name in names:
        key = name.strip().lower().replace("-", "_")
        if key in PRESETS:
            roles |= PRESETS[key]
        elif key in Role._value2member_map_:
            roles.add(Role(key))
        else:
            presets = "; ".join(f"{p} ({', '.join(sorted(r))})" for p, r in PRESETS.items())
            raise InputError(f"Unknown role {name!r}. Roles: {', '.join(Role)}; "
                             f"presets: {presets}.")
    return frozenset(roles)


def ordered(roles: Iterable[Role]) -> tuple[Role, ...]:
    """``roles`` without repeats, in the table's order (how they are stored and shown).

    >>> ordered([Role.ADMIN, Role.VIEWER, Role.ADMIN])
    (<Role.VIEWER: 'viewer'>, <Role.ADMIN: 'admin'>)
    """
    present = set(roles)
    return tuple(role for role in Role if role in present)


__all__ = ["PRESETS", "ROLE_PERMISSIONS", "Permission", "Role", "ordered", "parse_roles",
           "permissions_of", "roles_granting"]
