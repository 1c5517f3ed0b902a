"""Promotion: the one place a model version starts serving in an environment, or stops.

A rollback is a promotion too (invariant 3): it redeploys the version the current
deployment replaced. Both run through :func:`_deploy`, inside one serialised
transaction with its audit event, so at most one version serves a model in an
environment even when several processes promote at once. Both need ``model.promote``,
checked before anything is read and again under the write lock.

Each environment has three slots (:mod:`rasad.registry.slots`): the primary, a canary and
a shadow, each deployed, rolled back and audited like the primary under its stored
target (``production:canary``), its events carrying ``slot``. A canary or shadow runs
only beside a primary and never holds the primary's version: a version that becomes the
primary (promoted or rolled back to) retires the canary or shadow that held it, in the
same transaction, each with its ``model.retire`` event. :func:`retire` ends a canary or
shadow on purpose; its pointer row is deleted (the history rows stay), so every reader
of ``current_deployments`` sees an empty slot without a filter to forget.

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

Prediction servers follow deployments live (docs/serving.md): on PostgreSQL every
deployment also sends ``NOTIFY`` on :data:`DEPLOYMENTS_CHANNEL` inside its transaction,
so it is delivered on commit only (a rolled-back promotion wakes nobody). The payload
names the model, environment and version; listeners treat it as a hint to look again,
since a database shared by several projects (one schema each) notifies them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select, text

from rasad.errors import ConflictError, InputError
from rasad.identity import Permission
from rasad.ledger import Tx, canonical_json, utc_now
from rasad.registry.models import (
    check_environment,
    check_target,
    record_trust,
    resolve,
    verify_artifact,
)
from rasad.registry.slots import Slot, describe, parse_slot, split, target
from rasad.registry.version import Deployment, DeploymentKind, ModelVersion, Retirement
from rasad.store._tables import CurrentDeploymentRow, DeploymentRow, ModelVersionRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rasad.artifacts.skops import TrustDecision
    from rasad.core import Context

DEPLOYMENTS_CHANNEL: Final = "rasad_deployments"
"""The PostgreSQL ``LISTEN`` channel a deployment notifies (``rasad serve`` listens)."""


def promote(ctx: Context, name: str, version: int, to: str, *,
            reason: str | None = None, slot: Slot | str = Slot.PRIMARY) -> Deployment:
    """Deploy ``name@version`` to ``slot`` of environment ``to``; the version serving
    there leaves.

    Needs ``model.promote``.
    """
    stored = check_target(ctx, to, slot)
    action = f"promote {name}@{version} to {describe(stored)}"
    ctx.require(Permission.MODEL_PROMOTE, action)
    candidate = resolve(ctx, name, version=version)
    decision = verify_artifact(ctx, candidate.blob, candidate.trusted_types)
    with ctx.transaction(Permission.MODEL_PROMOTE, action) as tx:
        deployment = _start(tx, candidate, stored, kind=DeploymentKind.PROMOTION,
                            reason=reason)
        if deployment.changed:
            record_trust(tx, ctx, f"model:{candidate.ref}", decision,
                         f"promotion to {stored}")
        return deployment


def deploy(tx: Tx, ctx: Context, candidate: ModelVersion, env: str, *, reason: str | None,
           request_id: int, approvers: list[str], break_glass: bool = False,
           decision: TrustDecision | None = None,
           details: Mapping[str, Any] | None = None) -> Deployment:
    """Deploy ``candidate`` to ``env`` inside ``tx``, a transaction the caller holds.

    ``env`` is a stored target: an environment (its primary) or ``ENV:SLOT``. For
    :mod:`rasad.release.service`, which checked the permission, the gates and the
    approvals of request ``request_id`` under the same lock. The artifact is verified here,
    under the lock, as a rollback's is, unless the caller passes the ``decision`` it just
    made; the ``model.promotion`` event carries the request, its approvers, whether it was
    forced, and ``details``.

    Raises
    ------
    ConflictError
        A canary or shadow whose environment has no primary, or whose version is the
        primary there (:func:`check_slot`).
    """
    if decision is None:
        decision = verify_artifact(ctx, candidate.blob, candidate.trusted_types)
    deployment = _start(tx, candidate, env, kind=DeploymentKind.PROMOTION, reason=reason,
                        request_id=request_id, details={
                            "request_id": request_id, "approvers": approvers,
                            "break_glass": break_glass, **(details or {})})
    if deployment.changed:
        record_trust(tx, ctx, f"model:{candidate.ref}", decision, f"promotion to {env}")
    return deployment


def rollback(ctx: Context, name: str, env: str, *, reason: str | None = None,
             slot: Slot | str = Slot.PRIMARY) -> Deployment:
    """Return ``slot`` of ``env`` to the version its current deployment replaced (needs
    ``model.promote``)."""
    stored = check_target(ctx, env, slot)
    where = _where(stored)
    action = f"roll back {name} in {describe(stored)}"
    ctx.require(Permission.MODEL_PROMOTE, action)
    resolve(ctx, name)  # the model must exist
    with ctx.transaction(Permission.MODEL_PROMOTE, action) as tx:
        current = _current_row(tx, name, stored)
        if current is None:
            raise ConflictError(f"Model {name!r} has nothing deployed {where}; there is "
                                "nothing to roll back.")
        if current.previous_id is None:
            raise ConflictError(f"Model {name!r} {where} has no earlier deployment to roll "
                                "back to.")
        previous = tx.session.get(DeploymentRow, current.previous_id)
        assert previous is not None  # foreign key
        target_row = tx.session.get(ModelVersionRow, previous.model_version_id)
        assert target_row is not None
        back = ModelVersion.from_row(target_row, [])
        # Checked inside the transaction: the target is only known here, and a rollback
        # must not put back bytes that were damaged or swapped since they last served.
        decision = verify_artifact(ctx, back.blob, back.trusted_types)
        deployment = _start(tx, back, stored, kind=DeploymentKind.ROLLBACK, reason=reason,
                            previous_id=previous.previous_id, replaced=current)
        record_trust(tx, ctx, f"model:{back.ref}", decision, f"rollback in {stored}")
        return deployment


def retire(ctx: Context, name: str, env: str, slot: Slot | str, *,
           reason: str | None = None) -> Retirement:
    """End the canary or shadow of model ``name`` in ``env`` (needs ``model.promote``).

    Its pointer row goes; its deployment history stays. The ``model.retire`` event names
    the version and the deployment that ended.

    Raises
    ------
    InputError
        ``slot`` is the primary: it is replaced (``promote``) or rolled back, never left
        empty.
    ConflictError
        Nothing serves that slot.
    """
    check_environment(ctx, env)
    chosen = parse_slot(slot)
    if chosen is Slot.PRIMARY:
        raise InputError(f"The primary of {env} is not retired: it answers the requests. "
                         f"Promote another version (`rasad promote {name} VERSION --to "
                         f"{env}`) or roll back (`rasad rollback {name} --env {env}`); "
                         "retire takes --slot canary or --slot shadow.")
    stored = target(env, chosen)
    action = f"retire the {chosen} of {name} in {env}"
    ctx.require(Permission.MODEL_PROMOTE, action)
    resolve(ctx, name)  # the model must exist
    with ctx.transaction(Permission.MODEL_PROMOTE, action) as tx:
        pointer = tx.session.get(CurrentDeploymentRow, (name, stored))
        if pointer is None:
            raise ConflictError(f"Model {name!r} has no {chosen} in {env!r}; there is "
                                "nothing to retire.")
        return _retire(tx, pointer, reason)


def check_slot(session: Session, candidate: ModelVersion, stored: str) -> None:
    """Refuse a canary or shadow that cannot run: nothing is primary in its environment,
    or ``candidate`` is that primary (a version is never two slots of one environment at
    once). Nothing to check for a primary."""
    env, slot = split(stored)
    if slot is Slot.PRIMARY:
        return
    pointer = session.get(CurrentDeploymentRow, (candidate.name, env))
    primary = session.get(DeploymentRow, pointer.deployment_id) if pointer else None
    if primary is None:
        raise ConflictError(
            f"Model {candidate.name!r} has no primary in {env!r}: a {slot} runs beside the "
            f"version that answers there. Promote one first (`rasad promote {candidate.name} "
            f"VERSION --to {env}`).")
    if primary.model_version_id == candidate.id:
        raise ConflictError(
            f"{candidate.ref} is the primary of {env}; it cannot also be its {slot}. "
            f"Promote another version as the {slot}.")


def _where(stored: str) -> str:
    env, slot = split(stored)
    return f"in {env!r}" if slot is Slot.PRIMARY else f"as the {slot} of {env!r}"


def _start(tx: Tx, candidate: ModelVersion, stored: str, *, kind: DeploymentKind,
           reason: str | None, previous_id: int | None = None,
           replaced: DeploymentRow | None = None, request_id: int | None = None,
           details: Mapping[str, Any] | None = None) -> Deployment:
    """:func:`_deploy` with the slots kept apart: a canary or shadow is checked
    (:func:`check_slot`) and its event carries ``slot``; a new primary retires the canary
    or shadow that held its version."""
    env, slot = split(stored)
    check_slot(tx.session, candidate, stored)
    extra = dict(details or {})
    if slot is not Slot.PRIMARY:
        extra["slot"] = str(slot)
    deployment = _deploy(tx, candidate, stored, kind=kind, reason=reason,
                         previous_id=previous_id, replaced=replaced, request_id=request_id,
                         details=extra)
    if slot is Slot.PRIMARY and deployment.changed:
        for other in (Slot.CANARY, Slot.SHADOW):
            pointer = tx.session.get(CurrentDeploymentRow, (candidate.name, target(env, other)))
            if pointer is None:
                continue
            held = tx.session.get(DeploymentRow, pointer.deployment_id)
            if held is not None and held.model_version_id == candidate.id:
                _retire(tx, pointer, f"{candidate.ref} became the primary of {env}")
    return deployment


def _retire(tx: Tx, pointer: CurrentDeploymentRow, reason: str | None) -> Retirement:
    """Empty a canary or shadow slot and record it (``model.retire``)."""
    ended = tx.session.get(DeploymentRow, pointer.deployment_id)
    assert ended is not None  # foreign key
    version, blob = tx.session.execute(
        select(ModelVersionRow.version, ModelVersionRow.blob)
        .where(ModelVersionRow.id == ended.model_version_id)).one()
    name, stored = pointer.model_name, pointer.environment
    tx.session.delete(pointer)
    tx.session.flush()
    tx.record("model.retire", f"model:{name}", {
        "environment": stored, "slot": str(split(stored)[1]), "version": version,
        "artifact_sha256": blob, "deployment_id": ended.id, "reason": reason})
    _notify(tx, {"model": name, "environment": stored, "version": None})
    return Retirement(model_name=name, environment=stored, version=version,
                      deployment_id=ended.id, reason=reason, retired_by=tx.actor,
                      retired_at=utc_now())


def _notify(tx: Tx, payload: Mapping[str, Any]) -> None:
    """Wake prediction servers on PostgreSQL: the notification is queued with the
    transaction, so it is delivered on commit and never on rollback."""
    if tx.session.get_bind().dialect.name == "postgresql":
        tx.session.execute(text("SELECT pg_notify(:channel, :payload)"), {
            "channel": DEPLOYMENTS_CHANNEL, "payload": canonical_json(dict(payload))})


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
    _notify(tx, {"model": name, "environment": env, "version": candidate.version})
    return Deployment.from_row(row, candidate.version, current_version)
