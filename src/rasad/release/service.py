"""Governed promotion: gates, promotion requests, maker-checker approvals and break-glass.

Every promotion runs here. :func:`promote` runs the target environment's gates
(:func:`rasad.release.gates.evaluate`, before any lock is taken: gates score models and
write nothing), stores their report as a content-addressed blob, and then, in one
serialised transaction with its audit events:

- a blocking gate records a ``failed`` request (``promotion.gates_failed``) and raises
  :class:`~rasad.errors.GatesFailed`;
- an environment that needs no approval deploys at once (``model.promotion``, carrying
  the request and its gate report's hash);
- otherwise an ``open`` request waits for approvals (``promotion.requested``).

A new request (open, deployed or forced) supersedes the open requests of the same model
and environment (``promotion.superseded``). :func:`approve` records an approval and the
last one the rule needs deploys, in the same transaction; :func:`reject` closes a
request; :func:`force` is break-glass, marked until :func:`review`.

A canary or shadow (:mod:`rasad.registry.slots`) goes through the same flow as its
environment's primary: the environment's policy (gates, approval rule, strictness), the
champion gate against the environment's primary, and a request for the slot's stored
target (``production:canary``), so it supersedes only requests for that slot.

Under the write lock each decision re-reads what it depends on: the request's status,
its expiry (the context's clock), the approvals already given, the approver's roles (its
grants now) and the evidence key (:func:`rasad.release.gates.evidence_key`), so two
approvers at once give exactly one promotion and nothing is approved on evidence that no
longer holds. Maker-checker: whoever trained the run (``runs.created_by``), registered the
version (``model_versions.created_by``) or opened the request may not approve it, nor
review it when it was forced; nobody approves twice. A rejection deploys nothing, so the
maker of a request may withdraw it this way.

Rollback is not here: it returns to a version that already passed its gates
(:func:`rasad.registry.promotion.rollback`, ``model.promote``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rasad.errors import ConflictError, GatesFailed, InputError, PermissionDenied
from rasad.identity import Permission, Principal, Role
from rasad.identity.tokens import later
from rasad.registry import promotion as deployments
from rasad.registry.models import check_target, resolve, verify_artifact
from rasad.registry.slots import Slot, describe, environment_of, split, target, to_options
from rasad.registry.version import Deployment, ModelVersion
from rasad.release import _records as records
from rasad.release import gates
from rasad.release.report import GateReport, GateStatus
from rasad.release.requests import (
    Approval,
    Decision,
    EnvironmentStatus,
    PromotionRequest,
    RequestStatus,
)
from rasad.store._tables import (
    ApprovalRow,
    DeploymentRow,
    ModelVersionRow,
    PrincipalRow,
    PromotionRequestRow,
    RoleGrantRow,
    RunRow,
)

if TYPE_CHECKING:
    from rasad.artifacts.skops import TrustDecision
    from rasad.config import ApprovalRule
    from rasad.core import Context

_EVALUATED = frozenset({"validation", "metrics", "champion", "fairness", "model_tests"})
# Which gates read each part of the evidence key (the policy decides all of them).
_READS = {"evaluation_data": _EVALUATED, "evaluation_sha256": _EVALUATED,
          "champion": frozenset({"champion"})}


# -- promote and force -----------------------------------------------------------------


def promote(ctx: Context, name: str, version: int, to: str, *, reason: str | None = None,
            slot: Slot | str = Slot.PRIMARY) -> Deployment | PromotionRequest:
    """Run ``to``'s gates on ``name@version``, then deploy it or open a request.

    Needs ``model.promote``. A version that already serves ``to`` is left as it is
    (a :class:`Deployment` with ``changed=False``, nothing run or written). With ``slot``
    canary or shadow it becomes that slot of ``to`` under ``to``'s policy, its champion
    gate comparing it with ``to``'s primary.

    Returns
    -------
    Deployment or PromotionRequest
        The deployment (``request_id`` names the request holding the gate report) when
        ``to`` needs no approval; else the ``open`` request.

    Raises
    ------
    GatesFailed
        A gate blocks; ``.request`` is the ``failed`` request recorded with the report.
    InputError
        A canary of an environment without ``serving.environments.ENV.canary``.
    ConflictError
        What the gates read changed while they ran (another promotion, new evaluation
        data): run it again. A canary or shadow whose environment has no primary, or
        whose version is that primary.
    """
    stored = check_target(ctx, to, slot)
    action = f"promote {name}@{version} to {describe(stored)}"
    ctx.require(Permission.MODEL_PROMOTE, action)
    candidate = resolve(ctx, name, version=version)
    with ctx.read() as session:
        serving = records.current_deployment(session, name, stored)
        if serving is not None and serving.model_version_id == candidate.id:
            return Deployment.from_row(serving, candidate.version, None, changed=False)
        deployments.check_slot(session, candidate, stored)  # before the gates spend time
    decision, report, blob, rule = _evaluate(ctx, candidate, to)
    with ctx.transaction(Permission.MODEL_PROMOTE, action) as tx:
        now = ctx.clock()
        serving = records.current_deployment(tx.session, name, stored)
        if serving is not None and serving.model_version_id == candidate.id:
            return Deployment.from_row(serving, candidate.version, None, changed=False)
        deployments.check_slot(tx.session, candidate, stored)
        _check_still_holds(ctx, candidate, report)
        status = (RequestStatus.FAILED if not report.passed else
                  RequestStatus.OPEN if rule is not None else RequestStatus.PROMOTED)
        ttl = timedelta(days=ctx.config.promotion.request_ttl_days)
        row = records.new_request(
            tx, candidate, report, blob, environment=stored, status=status, now=now,
            reason=reason, rule=rule,
            expires_at=later(now, ttl) if status is RequestStatus.OPEN else None)
        summary = records.gate_summary(report, blob)
        if status is RequestStatus.FAILED:
            tx.record("promotion.gates_failed", f"model:{name}", {
                **records.about(row), "reason": reason, "gates": summary})
        else:
            records.supersede(tx, row, now)
        if status is RequestStatus.OPEN:
            tx.record("promotion.requested", f"model:{name}", {
                **records.about(row), "reason": reason, "gates": summary,
                "approvals_required": row.approvals_required,
                "approver_roles": json.loads(row.approver_roles),
                "expires_at": row.expires_at})
        outcome: Deployment | PromotionRequest
        if status is RequestStatus.PROMOTED:
            outcome = deployments.deploy(tx, ctx, candidate, stored, reason=reason,
                                         request_id=row.id, approvers=[], decision=decision,
                                         details={"gates": summary})
        else:
            outcome = records.read(ctx, tx.session, [row], now, checked=True)[0]
    if isinstance(outcome, PromotionRequest) and outcome.status is RequestStatus.FAILED:
        raise GatesFailed(_blocked(outcome), outcome)
    return outcome


def force(ctx: Context, name: str, version: int, to: str, *, justification: str,
          slot: Slot | str = Slot.PRIMARY) -> PromotionRequest:
    """Break-glass: deploy ``name@version`` to ``to`` (its ``slot``) whatever its gates and
    approvals say.

    Needs ``model.force`` (admins) and a written ``justification``. The gates still run,
    for the record; the artifact is still verified. The request is ``forced`` and stays
    marked (:class:`EnvironmentStatus`, ``models show``) until an approver reviews it
    (:func:`review`).

    Raises
    ------
    InputError
        The justification is empty.
    ConflictError
        The version already serves ``to``; a canary or shadow without a primary, or
        holding the primary's version.
    """
    stored = check_target(ctx, to, slot)
    text = (justification or "").strip()
    if not text:
        raise InputError("A break-glass promotion needs a written justification: say why "
                         "the gates or approvals must be bypassed (for example the incident "
                         "number).")
    action = f"force {name}@{version} into {describe(stored)} (break-glass)"
    ctx.require(Permission.MODEL_FORCE, action)
    candidate = resolve(ctx, name, version=version)
    with ctx.read() as session:
        deployments.check_slot(session, candidate, stored)  # before the gates spend time
    decision, report, blob, rule = _evaluate(ctx, candidate, to)
    with ctx.transaction(Permission.MODEL_FORCE, action) as tx:
        now = ctx.clock()
        serving = records.current_deployment(tx.session, name, stored)
        if serving is not None and serving.model_version_id == candidate.id:
            raise ConflictError(f"{candidate.ref} already serves {describe(stored)}; there "
                                "is nothing to force.")
        row = records.new_request(tx, candidate, report, blob, environment=stored,
                                  status=RequestStatus.FORCED, now=now, reason=text,
                                  rule=rule, expires_at=None, justification=text)
        records.supersede(tx, row, now)
        summary = records.gate_summary(report, blob)
        tx.record("promotion.break_glass", f"model:{name}", {
            **records.about(row), "justification": text, "gates": summary})
        deployments.deploy(tx, ctx, candidate, stored, reason=text, request_id=row.id,
                           approvers=[], break_glass=True, decision=decision,
                           details={"gates": summary})
        return records.read(ctx, tx.session, [row], now)[0]


def _evaluate(ctx: Context, candidate: ModelVersion, to: str
              ) -> tuple[TrustDecision, GateReport, str, ApprovalRule | None]:
    """Before any lock: the artifact verified, ``to``'s gates run and their report stored
    (content-addressed, so a report nobody records is only garbage for ``gc``), and the
    approval rule they will be judged under."""
    decision = verify_artifact(ctx, candidate.blob, candidate.trusted_types)
    report = gates.evaluate(ctx, candidate, to)
    blob = records.store_report(ctx, report)
    return decision, report, blob, gates.environment_policy(ctx, to).approval


# -- decisions -------------------------------------------------------------------------


def approve(ctx: Context, request_id: int, *, comment: str | None = None) -> PromotionRequest:
    """Approve request ``request_id``; the last approval its rule needs deploys it.

    Needs ``model.approve`` and one of the rule's roles; refused (ConflictError, naming
    what to do) for a maker of the version or the request, a second approval by the same
    person, and a request that is not open, expired or stale.
    """
    return _decide(ctx, request_id, Decision.APPROVE, _comment(comment, required=False))


def reject(ctx: Context, request_id: int, *, comment: str) -> PromotionRequest:
    """Reject open request ``request_id``, saying why (``model.approve`` and a rule role)."""
    return _decide(ctx, request_id, Decision.REJECT, _comment(comment, required=True))


def review(ctx: Context, request_id: int, *, comment: str) -> PromotionRequest:
    """Review break-glass request ``request_id`` after the fact; its marker goes away.

    Needs ``model.approve`` (and one of the rule's roles, where the environment has a
    rule); the admin who forced it, and the makers of the version, may not.
    """
    return _decide(ctx, request_id, Decision.REVIEW, _comment(comment, required=True))


def _comment(comment: str | None, *, required: bool) -> str | None:
    text = (comment or "").strip()
    if required and not text:
        raise InputError("Give a comment saying why (--comment TEXT): a rejection or a "
                         "review is read by auditors.")
    return text or None


_VERBS = {Decision.APPROVE: "approve", Decision.REJECT: "reject", Decision.REVIEW: "review"}


def _decide(ctx: Context, request_id: int, decision: Decision,
            comment: str | None) -> PromotionRequest:
    action = f"{_VERBS[decision]} promotion request #{request_id}"
    ctx.require(Permission.MODEL_APPROVE, action)
    principal = ctx.principal
    # Maker-checker first: it is the more basic refusal (a maker may hold the role, too).
    with ctx.read() as session:
        row = records.request_row(session, request_id)
        candidate = records.candidate_of(session, row)
        if decision is not Decision.REJECT:
            _check_not_a_maker(session, principal.name, row, decision)
    _check_roles(principal, set(principal.roles), row, action)
    with ctx.transaction(Permission.MODEL_APPROVE, action) as tx:
        now = ctx.clock()
        row = records.request_row(tx.session, request_id)
        given = records.decisions(tx.session, row.id)
        _check_decidable(ctx, tx.session, row, decision, given, candidate, now)
        if decision is not Decision.REJECT:
            _check_not_a_maker(tx.session, principal.name, row, decision)
        _check_roles(principal, _roles_now(tx.session, principal), row, action)
        tx.session.add(ApprovalRow(request_id=row.id, principal=tx.actor, auth=tx.auth,
                                   decision=str(decision), comment=comment, created_at=now))
        tx.session.flush()
        approvers = [a.principal for a in given if a.decision == Decision.APPROVE]
        if decision is Decision.APPROVE:
            approvers.append(tx.actor)
        details = {**records.about(row), "comment": comment}
        if decision is Decision.APPROVE:
            tx.record("promotion.approved", f"model:{row.model_name}", {
                **details, "approvals": len(approvers), "required": row.approvals_required})
            if len(approvers) >= row.approvals_required:
                row.status, row.closed_at = str(RequestStatus.PROMOTED), now
                deployments.deploy(tx, ctx, candidate, row.environment, reason=row.reason,
                                   request_id=row.id, approvers=approvers)
        elif decision is Decision.REJECT:
            row.status, row.closed_at = str(RequestStatus.REJECTED), now
            tx.record("promotion.rejected", f"model:{row.model_name}", details)
        else:
            tx.record("promotion.reviewed", f"model:{row.model_name}", details)
        tx.session.flush()
        return records.read(ctx, tx.session, [row], now, checked=True)[0]


def _check_decidable(ctx: Context, session: Session, row: PromotionRequestRow,
                     decision: Decision, given: list[Approval], candidate: ModelVersion,
                     now: str) -> None:
    """Refuse a decision the request's state does not allow, saying what to do instead."""
    head = f"Request #{row.id} ({row.model_name}@{row.version} -> {row.environment})"
    rerun = f"`rasad promote {row.model_name} {row.version} {to_options(row.environment)}`"
    status = records.status_of(row, now)
    if decision is Decision.REVIEW:
        if status is not RequestStatus.FORCED:
            raise ConflictError(f"{head} is {status}, not a break-glass promotion; only "
                                "forced promotions are reviewed after the fact.")
        done = next((a for a in given if a.decision == Decision.REVIEW), None)
        if done is not None:
            raise ConflictError(f"{head} was already reviewed by {done.principal} at "
                                f"{done.created_at}.")
        return
    if status is not RequestStatus.OPEN:
        raise ConflictError(f"{head} is {status}: {_closed(session, row, status, rerun)}")
    if decision is Decision.APPROVE:
        mine = next((a for a in given if a.principal == ctx.principal.name
                     and a.decision == Decision.APPROVE), None)
        if mine is not None:
            raise ConflictError(f"{ctx.principal.name!r} already approved request #{row.id} "
                                f"at {mine.created_at}; one person approves once. It needs "
                                "another approver.")
        env = environment_of(row.environment)
        now_key = gates.evidence_key(ctx, candidate, env)
        stale = records.stale_reason(json.loads(row.evidence_key), now_key, env)
        if stale is not None:
            raise ConflictError(f"{head} is stale: {stale}. Its gates must run again: "
                                f"{rerun} opens a new request.")
        check_target(ctx, *split(row.environment))  # a canary still has its traffic share


def _closed(session: Session, row: PromotionRequestRow, status: RequestStatus,
            rerun: str) -> str:
    """What to do about a request that can no longer be decided."""
    if status is RequestStatus.SUPERSEDED:
        newer = session.execute(
            select(func.max(PromotionRequestRow.id))
            .where(PromotionRequestRow.model_name == row.model_name,
                   PromotionRequestRow.environment == row.environment)).scalar()
        return (f"a newer request (#{newer}) replaced it; decide on that one (`rasad "
                f"requests show {newer}`).")
    if status is RequestStatus.EXPIRED:
        return (f"it expired at {row.expires_at} (promotion.request_ttl_days); run {rerun} "
                "to open a new request.")
    if status is RequestStatus.PROMOTED:
        return "it already deployed; there is nothing left to decide."
    if status is RequestStatus.FORCED:
        return (f"it was forced (break-glass); review it with `rasad requests review {row.id} "
                "--comment TEXT`.")
    if status is RequestStatus.FAILED:
        return f"its gates blocked it; fix what they found and run {rerun} again."
    return f"it was rejected; run {rerun} to open a new request."


def _check_roles(principal: Principal, roles: set[Role], row: PromotionRequestRow,
                 action: str) -> None:
    """Refuse a principal holding none of the roles the request's approval rule counts (a
    request whose environment has no rule counts anyone with ``model.approve``)."""
    allowed = json.loads(row.approver_roles)
    if allowed and not roles & {Role(r) for r in allowed}:
        held = ", ".join(sorted(roles)) or "none"
        env = environment_of(row.environment)
        raise PermissionDenied(
            f"{principal.name!r} ({principal.auth}) may not {action}: the approval rule of "
            f"{env} counts only {' or '.join(allowed)} (promotion.environments."
            f"{env}.approval.roles in rasad.yaml), and they hold {held}. An admin "
            f"can grant it: `rasad users grant {principal.name} {allowed[0]}`.")


def _roles_now(session: Session, principal: Principal) -> set[Role]:
    """The principal's roles in force under the lock: its grants now, within its token's
    scope (a local user of a project with no principals keeps the roles it was given)."""
    rows = session.execute(
        select(PrincipalRow.id, RoleGrantRow.role)
        .outerjoin(RoleGrantRow, RoleGrantRow.principal_id == PrincipalRow.id)
        .where(PrincipalRow.name == principal.name)).all()
    if not rows:
        return set(principal.roles)
    held = {Role(r.role) for r in rows if r.role is not None}
    return set(principal.roles) & held


def _check_not_a_maker(session: Session, name: str, row: PromotionRequestRow,
                       decision: Decision) -> None:
    """Maker-checker, read under the lock: the trainer, the registrar and the opener (or
    forcer) of a request may not approve or review it."""
    version = session.get(ModelVersionRow, row.model_version_id)
    assert version is not None  # foreign key
    trainer = session.execute(select(RunRow.created_by).where(RunRow.id == version.run_id)
                              ).scalar_one()
    makers = [(trainer, f"trained run {version.run_id[:8]}"),
              (version.created_by, f"registered {row.model_name}@{row.version}"),
              (row.opened_by, "forced it" if row.break_glass else "opened the request")]
    for maker, what in makers:
        if maker == name:
            raise ConflictError(
                f"{name!r} may not {_VERBS[decision]} request #{row.id}: they {what} "
                "(maker-checker: whoever trained the run, registered the version or opened "
                "the request cannot approve or review it). Another approver must.")


# -- reads -----------------------------------------------------------------------------


def list_requests(ctx: Context, *, model: str | None = None, environment: str | None = None,
                  status: RequestStatus | str | None = None) -> list[PromotionRequest]:
    """Promotion requests, newest first; of one model, environment or status when given.

    Raises
    ------
    InputError
        ``status`` is not a :class:`RequestStatus`.
    """
    ctx.require(Permission.READ, "list promotion requests")
    wanted = None if status is None else _parse_status(status)
    query = select(PromotionRequestRow).order_by(PromotionRequestRow.id.desc())
    if model is not None:
        query = query.where(PromotionRequestRow.model_name == model)
    if environment is not None:
        query = query.where(PromotionRequestRow.environment == environment)
    if wanted in (RequestStatus.OPEN, RequestStatus.EXPIRED):  # expiry is read, not stored
        query = query.where(PromotionRequestRow.status == str(RequestStatus.OPEN))
    elif wanted is not None:
        query = query.where(PromotionRequestRow.status == str(wanted))
    with ctx.read() as session:
        found = records.read(ctx, session, list(session.execute(query).scalars()), ctx.clock())
    return [r for r in found if wanted is None or r.status is wanted]


def get_request(ctx: Context, request_id: int) -> PromotionRequest:
    """Request ``request_id``, with its gate report, decisions, expiry and staleness."""
    ctx.require(Permission.READ, f"read promotion request #{request_id}")
    with ctx.read() as session:
        row = records.request_row(session, request_id)
        return records.read(ctx, session, [row], ctx.clock())[0]


def environment_status(ctx: Context, name: str) -> list[EnvironmentStatus]:
    """Per environment of the project, in order: what serves model ``name``, the request
    behind it (gates, approvers, break-glass) and the break-glass promotions not reviewed.

    Each environment's primary comes first (``environment`` is its name, whether or not
    anything serves it), then its canary and shadow (``production:canary``) where one
    serves or a break-glass promotion there awaits its review.

    Raises
    ------
    NotFoundError
        No model is named ``name``.
    """
    ctx.require(Permission.READ, f"read model {name!r}")
    resolve(ctx, name)  # the model must exist
    with ctx.read() as session:
        requests = {row.id: row for row in session.execute(
            select(PromotionRequestRow).where(PromotionRequestRow.model_name == name)
            .order_by(PromotionRequestRow.id)).scalars()}
        reviewed = set(session.execute(
            select(ApprovalRow.request_id).where(ApprovalRow.request_id.in_(list(requests)),
                                                 ApprovalRow.decision == Decision.REVIEW.value)
        ).scalars()) if requests else set()
        out = []
        for env in ctx.config.registry.environments:
            for slot in Slot:
                stored = target(env, slot)
                serving = records.current_deployment(session, name, stored)
                unreviewed = [r.id for r in requests.values() if r.environment == stored
                              and r.break_glass and r.id not in reviewed]
                if slot is Slot.PRIMARY or serving is not None or unreviewed:
                    out.append(_environment(ctx, session, stored, serving, requests,
                                            unreviewed))
    return out


def _environment(ctx: Context, session: Session, env: str, serving: DeploymentRow | None,
                 requests: dict[int, PromotionRequestRow],
                 unreviewed: list[int]) -> EnvironmentStatus:
    if serving is None:
        return EnvironmentStatus(environment=env, version=None, deployment_id=None, kind=None,
                                 deployed_by=None, deployed_at=None, request_id=None,
                                 gates_passed=None, blocking=[], approvers=[],
                                 break_glass=False, unreviewed=unreviewed)
    version = session.get(ModelVersionRow, serving.model_version_id)
    assert version is not None  # foreign key
    request = requests.get(serving.request_id) if serving.request_id is not None else None
    if request is None:  # a rollback: the request that first deployed that version here
        request = next((r for r in reversed(requests.values()) if r.environment == env
                        and r.model_version_id == version.id and r.status in (
                            RequestStatus.PROMOTED, RequestStatus.FORCED)), None)
    report = None if request is None else records.load_report(ctx, request.gates_blob)
    given = [] if request is None else records.decisions(session, request.id)
    approvers = [a.principal for a in given if a.decision is Decision.APPROVE]
    return EnvironmentStatus(
        environment=env, version=version.version, deployment_id=serving.id, kind=serving.kind,
        deployed_by=serving.deployed_by, deployed_at=serving.deployed_at,
        request_id=None if request is None else request.id,
        gates_passed=None if report is None else report.passed,
        blocking=[] if report is None else report.blocking, approvers=approvers,
        break_glass=request is not None and request.break_glass, unreviewed=unreviewed)


def _parse_status(status: RequestStatus | str) -> RequestStatus:
    try:
        return RequestStatus(str(status).strip().lower())
    except ValueError:
        raise InputError(f"Request status {str(status)!r} is not one of "
                         f"{', '.join(RequestStatus)}.") from None


# -- evidence --------------------------------------------------------------------------


def _check_still_holds(ctx: Context, candidate: ModelVersion, report: GateReport) -> None:
    """Under the lock, refuse to act on gate results whose inputs changed while they ran.

    Only what a gate that ran actually read counts (the policy is read by all of them): a
    champion gate that was skipped does not care that another promotion just landed.
    """
    now_key = gates.evidence_key(ctx, candidate, report.environment)
    changed = records.changed_keys(report.evidence_key, now_key)
    ran = {g.gate for g in report.gates if g.status is not GateStatus.SKIPPED}
    if any(key not in _READS or _READS[key] & ran for key in changed):
        raise ConflictError(
            f"What the gates of {candidate.ref} -> {report.environment} read changed while "
            f"they ran ({', '.join(changed)}: another promotion or new evaluation data "
            "landed); nothing was deployed. Run the promotion again.")


def _blocked(request: PromotionRequest) -> str:
    blocking = [g for g in request.gates.gates if g.gate in request.gates.blocking]
    found = "; ".join(f"{g.gate}: {g.summary}" for g in blocking)
    return (f"The gates of {request.environment} block {request.ref} ({found}). Nothing was "
            f"deployed; recorded as request #{request.id} (failed): `rasad requests show "
            f"{request.id}` shows every figure.")


__all__ = ["approve", "environment_status", "force", "get_request", "list_requests",
           "promote", "reject", "review"]
