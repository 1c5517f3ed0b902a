"""Promotion requests as rows and back: writing them, reading them into results, and
telling whether the evidence a request's gates used still holds.

Private to :mod:`rasad.release`; :mod:`rasad.release.service` holds the use-cases and
every check of who may do what.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rasad.errors import NotFoundError
from rasad.ledger import Tx, canonical_json
from rasad.registry.slots import environment_of
from rasad.registry.version import ModelVersion
from rasad.release import gates
from rasad.release.report import GateReport
from rasad.release.requests import Approval, Decision, PromotionRequest, RequestStatus
from rasad.store._tables import (
    ApprovalRow,
    CurrentDeploymentRow,
    DeploymentRow,
    ModelVersionRow,
    PromotionRequestRow,
)

if TYPE_CHECKING:
    from rasad.config import ApprovalRule
    from rasad.core import Context


def current_deployment(session: Session, name: str, env: str) -> DeploymentRow | None:
    """The deployment serving ``name`` in ``env`` now, if any."""
    pointer = session.get(CurrentDeploymentRow, (name, env))
    return session.get(DeploymentRow, pointer.deployment_id) if pointer else None


def request_row(session: Session, request_id: int) -> PromotionRequestRow:
    """Request ``request_id``'s row; a NotFoundError naming the ids there are if none."""
    row = session.get(PromotionRequestRow, request_id)
    if row is not None:
        return row
    count, last = session.execute(
        select(func.count(), func.max(PromotionRequestRow.id))).one()
    known = (f"ids run up to {last} ({count} in all)" if count else
             "the project has no promotion requests yet")
    raise NotFoundError(f"No promotion request #{request_id}; {known}. Run `rasad requests "
                        "list` to see them.")


def candidate_of(session: Session, row: PromotionRequestRow) -> ModelVersion:
    """The version a request is about (with its row id; lineage left out)."""
    version = session.get(ModelVersionRow, row.model_version_id)
    assert version is not None  # foreign key
    return ModelVersion.from_row(version, [])


def status_of(row: PromotionRequestRow, now: str) -> RequestStatus:
    """The stored status, or ``expired`` for an open request past its time."""
    status = RequestStatus(row.status)
    if status is RequestStatus.OPEN and row.expires_at is not None and now >= row.expires_at:
        return RequestStatus.EXPIRED
    return status


def new_request(tx: Tx, candidate: ModelVersion, report: GateReport, blob: str, *,
                environment: str, status: RequestStatus, now: str, reason: str | None,
                rule: ApprovalRule | None, expires_at: str | None,
                justification: str | None = None) -> PromotionRequestRow:
    """Write a request for ``candidate`` to ``environment`` (a stored target: the
    environment, or ``ENV:SLOT`` for a canary or shadow) with its stored ``report``
    (``blob``; the gates of the target's environment), under the approval ``rule`` of that
    environment (None: it needs no approval)."""
    assert candidate.id is not None  # read from the database
    assert environment_of(environment) == report.environment  # the gates of its environment
    closed = status is not RequestStatus.OPEN
    row = PromotionRequestRow(
        model_name=candidate.name, model_version_id=candidate.id, version=candidate.version,
        environment=environment, status=str(status), gates_blob=blob,
        gates_passed=report.passed, evidence_key=canonical_json(report.evidence_key),
        approvals_required=rule.approvals if rule else 0,
        approver_roles=canonical_json(list(rule.roles) if rule else []),
        break_glass=status is RequestStatus.FORCED, justification=justification,
        reason=reason, opened_by=tx.actor, opened_at=now, expires_at=expires_at,
        closed_at=now if closed else None)
    tx.session.add(row)
    tx.session.flush()
    return row


def supersede(tx: Tx, newer: PromotionRequestRow, now: str) -> None:
    """Close the open requests of ``newer``'s model and environment, each with its event."""
    older = tx.session.execute(
        select(PromotionRequestRow).where(
            PromotionRequestRow.model_name == newer.model_name,
            PromotionRequestRow.environment == newer.environment,
            PromotionRequestRow.status == str(RequestStatus.OPEN),
            PromotionRequestRow.id != newer.id)).scalars().all()
    for row in older:
        if status_of(row, now) is not RequestStatus.OPEN:
            continue  # expired already: nothing left to supersede
        row.status, row.closed_at = str(RequestStatus.SUPERSEDED), now
        tx.record("promotion.superseded", f"model:{row.model_name}", {
            **about(row), "superseded_by": newer.id})
    tx.session.flush()


def about(row: PromotionRequestRow) -> dict[str, Any]:
    """What every request event names."""
    return {"request_id": row.id, "version": row.version, "environment": row.environment}


def gate_summary(report: GateReport, blob: str) -> dict[str, Any]:
    """A gate report in an audit event: each gate's status, and the full report's hash."""
    return {"report_sha256": blob, "passed": report.passed, "blocking": report.blocking,
            "results": {g.gate: str(g.status) for g in report.gates}}


def store_report(ctx: Context, report: GateReport) -> str:
    """Store ``report`` as canonical JSON named by its sha256 (returned)."""
    return ctx.artifacts.put_bytes(canonical_json(report.to_dict()).encode("utf-8"))


def load_report(ctx: Context, blob: str) -> GateReport:
    """A stored gate report, after the artifact store checks its hash."""
    return GateReport.from_json(ctx.artifacts.get_bytes(blob))


def decisions(session: Session, request_id: int) -> list[Approval]:
    """The decisions on one request, in order."""
    return decisions_of(session, [request_id]).get(request_id, [])


def decisions_of(session: Session, ids: list[int]) -> dict[int, list[Approval]]:
    """The decisions on each of ``ids``, in order, in one query."""
    found: dict[int, list[Approval]] = {}
    if not ids:
        return found
    rows = session.execute(select(ApprovalRow).where(ApprovalRow.request_id.in_(ids))
                           .order_by(ApprovalRow.id)).scalars()
    for row in rows:
        found.setdefault(row.request_id, []).append(Approval(
            principal=row.principal, auth=row.auth, decision=Decision(row.decision),
            comment=row.comment, created_at=row.created_at))
    return found


def read(ctx: Context, session: Session, rows: list[PromotionRequestRow], now: str, *,
         checked: bool = False) -> list[PromotionRequest]:
    """The requests ``rows`` hold, with their reports, decisions, deployment and staleness
    (``checked``: the caller has just compared the evidence, under the lock)."""
    ids = [row.id for row in rows]
    decided = decisions_of(session, ids)
    deployed: dict[int | None, int] = {
        request: deployment for request, deployment in session.execute(
            select(DeploymentRow.request_id, DeploymentRow.id)
            .where(DeploymentRow.request_id.in_(ids)))} if ids else {}
    out = []
    for row in rows:
        given = decided.get(row.id, [])
        status = status_of(row, now)
        stale = None
        if status is RequestStatus.OPEN and not checked:
            env = environment_of(row.environment)  # a canary's gates are its environment's
            now_key = gates.evidence_key(ctx, candidate_of(session, row), env)
            stale = stale_reason(json.loads(row.evidence_key), now_key, env)
        out.append(PromotionRequest(
            id=row.id, model=row.model_name, version=row.version, environment=row.environment,
            status=status, reason=row.reason, opened_by=row.opened_by, opened_at=row.opened_at,
            expires_at=row.expires_at, gates=load_report(ctx, row.gates_blob),
            approvals_required=row.approvals_required,
            approver_roles=json.loads(row.approver_roles),
            approvals=[a for a in given if a.decision is not Decision.REVIEW],
            break_glass=row.break_glass, justification=row.justification,
            reviewed=next((a for a in given if a.decision is Decision.REVIEW), None),
            deployment_id=deployed.get(row.id), closed_at=row.closed_at, stale=stale))
    return out


def changed_keys(stored: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The keys of an evidence key whose values differ between ``stored`` and ``now``."""
    return sorted(key for key in set(stored) | set(now) if stored.get(key) != now.get(key))


def stale_reason(stored: dict[str, Any], now: dict[str, Any], env: str) -> str | None:
    """Why the evidence a request's gates used no longer holds (None: it holds).

    >>> stale_reason({"champion": None, "evaluation_data": "eval@1"},
    ...              {"champion": "credit@1", "evaluation_data": "eval@1"}, "production")
    'production is now served by credit@1 (the gates compared against none)'
    >>> stale_reason({"policy_sha256": "a"}, {"policy_sha256": "a"}, "production") is None
    True
    """
    changed = changed_keys(stored, now)
    reasons = []
    if "policy_sha256" in changed:
        reasons.append(f"the promotion policy of {env} in rasad.yaml changed since the gates "
                       "ran")
    if "evaluation_data" in changed or "evaluation_sha256" in changed:
        reasons.append(f"the evaluation data is now {now.get('evaluation_data') or 'none'} "
                       f"(the gates ran on {stored.get('evaluation_data') or 'none'})")
    if "champion" in changed:
        reasons.append(f"{env} is now served by {now.get('champion') or 'no version'} (the "
                       f"gates compared against {stored.get('champion') or 'none'})")
    known = {"policy_sha256", "evaluation_data", "evaluation_sha256", "champion"}
    reasons += [f"the gate evidence {key!r} changed" for key in changed if key not in known]
    return "; ".join(reasons) or None
