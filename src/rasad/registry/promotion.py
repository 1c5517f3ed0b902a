"""Promotion: the one place a model version starts serving in an environment.

A rollback is a promotion too (invariant 3): it redeploys the version the current
deployment replaced. Both run through :func:`_deploy`, inside one serialised
transaction with its audit event, so at most one version serves a model in an
environment even when several processes promote at once. Both need ``model.promote``,
checked before anything is read and again under the write lock.

Policy gates and approvals plug in above this module: :func:`rasad.release.service.promote`
runs the environment's gates and records a promotion request, then calls :func:`deploy`
inside its own transaction (at once, or when the last approval arrives), so the request,
the approval and the deployment are one change. :func:`promote` here is the bare deploy
step, without gates, for code that sets a stage up (tests, the demo's seeding).

Nothing starts serving unchecked: the version's bytes are verified first (present,
matching their hash, a skops archive, holding only recorded types the trust policy
allows; :func:`~rasad.registry.models.verify_artifact`), so a blob swapped or
damaged after registration, or a row forged to point at a pickle, is refused with
no deployment and no event. A version that relies on the project's own
``registry.trusted_types`` records that reliance (``registry.trust``) with the
deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from rasad.errors import ConflictError
from rasad.identity import Permission
from rasad.ledger import Tx, utc_now
from rasad.registry.models import check_environment, record_trust, resolve, verify_artifact
from rasad.registry.version import Deployment, DeploymentKind, ModelVersion
from rasad.store._tables import CurrentDeploymentRow, DeploymentRow, ModelVersionRow

if TYPE_CHECKING:
    from rasad.artifacts.skops import TrustDecision
    from rasad.core import Context


def promote(ctx: Context, name: str, version: int, to: str, *,
            reason: str | None = None) -> Deployment:
    """Deploy ``name@version`` to environment ``to``; the version serving there leaves.

    Needs ``model.promote``.
    """
    check_environment(ctx, to)
    action = f"promote {name}@{version} to {to}"
    ctx.require(Permission.MODEL_PROMOTE, action)
    candidate = resolve(ctx, name, version=version)
    decision = verify_artifact(ctx, candidate.blob, candidate.trusted_types)
    with ctx.transaction(Permission.MODEL_PROMOTE, action) as tx:
        deployment = _deploy(tx, candidate, to, kind=DeploymentKind.PROMOTION, reason=reason)
        if deployment.changed:
            record_trust(tx, ctx, f"model:{candidate.ref}", decision, f"promotion to {to}")
        return deployment


def deploy(tx: Tx, ctx: Context, candidate: ModelVersion, env: str, *, reason: str | None,
           request_id: int, approvers: list[str], break_glass: bool = False,
           decision: TrustDecision | None = None,
           details: Mapping[str, Any] | None = None) -> Deployment:
    """Deploy ``candidate`` to ``env`` inside ``tx``, a transaction the caller holds.

    For :mod:`rasad.release.service`, which checked the permission, the gates and the
    approvals of request ``request_id`` under the same lock. The artifact is verified here,
    under the lock, as a rollback's is, unless the caller passes the ``decision`` it just
    made; the ``model.promotion`` event carries the request, its approvers, whether it was
    forced, and ``details``.
    """
    if decision is None:
        decision = verify_artifact(ctx, candidate.blob, candidate.trusted_types)
    deployment = _deploy(tx, candidate, env, kind=DeploymentKind.PROMOTION, reason=reason,
                         request_id=request_id, details={
                             "request_id": request_id, "approvers": approvers,
                             "break_glass": break_glass, **(details or {})})
    if deployment.changed:
        record_trust(tx, ctx, f"model:{candidate.ref}", decision, f"promotion to {env}")
    return deployment


def rollback(ctx: Context, name: str, env: str, *, reason: str | None = None) -> Deployment:
    """Return ``env`` to the version the current deployment replaced (needs
    ``model.promote``)."""
    check_environment(ctx, env)
    action = f"roll back {name} in {env}"
    ctx.require(Permission.MODEL_PROMOTE, action)
    resolve(ctx, name)  # the model must exist
    with ctx.transaction(Permission.MODEL_PROMOTE, action) as tx:
        current = _current_row(tx, name, env)
        if current is None:
            raise ConflictError(f"Model {name!r} has nothing deployed in {env!r}; there is "
                                "nothing to roll back.")
        if current.previous_id is None:
            raise ConflictError(f"Model {name!r} in {env!r} has no earlier deployment to roll "
                                "back to.")
        previous = tx.session.get(DeploymentRow, current.previous_id)
        assert previous is not None  # foreign key
        target_row = tx.session.get(ModelVersionRow, previous.model_version_id)
        assert target_row is not None
        target = ModelVersion.from_row(target_row, [])
        # Checked inside the transaction: the target is only known here, and a rollback
        # must not put back bytes that were damaged or swapped since they last served.
        decision = verify_artifact(ctx, target.blob, target.trusted_types)
        deployment = _deploy(tx, target, env, kind=DeploymentKind.ROLLBACK, reason=reason,
                             previous_id=previous.previous_id, replaced=current)
        record_trust(tx, ctx, f"model:{target.ref}", decision, f"rollback in {env}")
        return deployment


def _current_row(tx: Tx, name: str, env: str) -> DeploymentRow | None:
    pointer = tx.session.get(CurrentDeploymentRow, (name, env))
    return tx.session.get(DeploymentRow, pointer.deployment_id) if pointer else None


def _deploy(tx: Tx, candidate: ModelVersion, env: str, *, kind: DeploymentKind,
            reason: str | None, previous_id: int | None = None,
            replaced: DeploymentRow | None = None, request_id: int | None = None,
            details: Mapping[str, Any] | None = None) -> Deployment:
    name = candidate.name
    assert candidate.id is not None  # read from the database, never from JSON
    current = replaced if replaced is not None else _current_row(tx, name, env)
    current_version = None
    if current is not None:
        current_version = tx.session.execute(
            select(ModelVersionRow.version).where(ModelVersionRow.id == current.model_version_id)
        ).scalar_one()
        if kind is DeploymentKind.PROMOTION and current.model_version_id == candidate.id:
            return Deployment.from_row(current, candidate.version, None, changed=False)
    if kind is DeploymentKind.PROMOTION:
        previous_id = current.id if current else None
    row = DeploymentRow(
        model_name=name, environment=env, model_version_id=candidate.id, previous_id=previous_id,
        kind=str(kind), reason=reason, deployed_by=tx.actor, deployed_at=utc_now(),
        request_id=request_id)
    tx.session.add(row)
    tx.session.flush()
    pointer = tx.session.get(CurrentDeploymentRow, (name, env))
    if pointer is None:
        tx.session.add(CurrentDeploymentRow(model_name=name, environment=env,
                                            deployment_id=row.id, active=True))
    else:
        pointer.deployment_id = row.id
    tx.session.flush()
    tx.record(f"model.{kind}", f"model:{name}", {
        "environment": env, "version": candidate.version, "previous_version": current_version,
        "artifact_sha256": candidate.blob, "reason": reason, **(details or {})})
    return Deployment.from_row(row, candidate.version, current_version)
