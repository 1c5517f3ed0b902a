"""The model inventory (``rasad inventory``): every registered model, as a model-risk
function's register holds it. The result types are :mod:`rasad.governance.inventory`.

Read-only; needs ``read``. Where each figure comes from:

- owner and risk tier: ``governance.models.NAME`` of ``rasad.yaml``, as declared (what
  is not declared is listed in ``missing``);
- serving: the current deployments (:func:`rasad.registry.models.list_models`), each
  environment's primary, canary and shadow;
- training data: the ``train`` dataset versions of the versions serving anywhere (of the
  latest version when none serves), each with its last recorded validation;
- last approval: the newest ``approve`` decision on any of the model's requests;
- open requests (:func:`rasad.release.service.list_requests`, expired ones left out) and
  break-glass promotions no approver has reviewed;
- the loop: the open triggers of the monitors that judge the model
  (:func:`rasad.automation.monitors.monitor_model`), each with the retraining steps
  finished so far, and how the newest finished retraining ended;
- last alert: the newest drift, performance or estimated-performance result of those
  monitors that alerted. Results saved outside ``automation.monitors`` name no model and
  are not counted;
- retrain required: the open flags of data-subject erasures on the model's versions
  (:func:`rasad.governance.subjects.open_flags`), each with its due date.

This service lives in ``rasad.automation``, not ``rasad.governance``: it reads the
release records, and ``rasad.release`` imports ``rasad.governance`` (the fairness gate),
so a governance module importing it would close an import cycle; ``automation`` is the
lowest layer that sees the registry, the release records and the automation tables.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select

from rasad.errors import ConfigError
from rasad.governance.inventory import (
    CONTROLS,
    DECLARED_FIELDS,
    BreakGlass,
    DataValidation,
    Inventory,
    InventoryEntry,
    LastAlert,
    LastApproval,
    LastRetraining,
    LoopTrigger,
    OpenRequest,
    RetrainRequired,
    Serving,
)
from rasad.identity import Permission
from rasad.registry import models as registry
from rasad.registry.slots import Slot, split
from rasad.release import service as release
from rasad.release.requests import Decision, RequestStatus
from rasad.store._tables import (
    ApprovalRow,
    DatasetVersionRow,
    MonitorResultRow,
    PipelineStepRow,
    PromotionRequestRow,
    TriggerRow,
    ValidationRow,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rasad.core import Context
    from rasad.registry import ModelDetail

ALERT_KINDS = ("drift", "performance", "estimation")
"""The monitor result kinds whose alerts the inventory shows (validation is the data's)."""

_FINISHED = "finished"  # the pipeline_steps row that ends a retraining (automation.pipeline)


def inventory(ctx: Context) -> Inventory:
    """Every registered model with its declarations, serving, approvals and loop state.

    >>> import tempfile
    >>> from rasad import Project
    >>> with Project.init(tempfile.mkdtemp(), name="loans") as project:
    ...     inventory(project.context).models
    []
    """
    ctx.require(Permission.READ, "read the model inventory")
    details = registry.list_models(ctx)
    names = [d.name for d in details]
    opened = release.list_requests(ctx, status=RequestStatus.OPEN)
    forced = release.list_requests(ctx, status=RequestStatus.FORCED)
    from rasad.governance.subjects import open_flags

    monitors = _monitors_by_model(ctx)
    now = ctx.clock()
    with ctx.read() as session:
        flags: dict[str, list[RetrainRequired]] = {}
        for flag in open_flags(session, now):
            flags.setdefault(flag.model, []).append(RetrainRequired(
                version=flag.version, erasure_id=flag.erasure_id, due_at=flag.due_at,
                flagged_at=flag.flagged_at, overdue=flag.overdue))
        approvals = _last_approvals(session)
        validations = _validations(session, details)
        triggers = _open_triggers(session, monitors)
        retrainings = _last_retrainings(session)
        alerts = _last_alerts(session, monitors)
    declared = ctx.config.governance.models
    entries = []
    for detail in details:
        name = detail.name
        declaration = declared.get(name)
        entries.append(InventoryEntry(
            model=name, latest_version=max(v.version for v in detail.versions),
            versions=len(detail.versions), declared=declaration is not None,
            owner=declaration.owner if declaration else None,
            risk_tier=declaration.risk_tier if declaration else None,
            missing=[f for f in DECLARED_FIELDS
                     if declaration is None or getattr(declaration, f) is None],
            serving=_serving(detail, ctx.config.registry.environments),
            training_data=validations.get(name, []), last_approval=approvals.get(name),
            open_requests=[OpenRequest(
                id=r.id, version=r.version, environment=r.environment,
                opened_by=r.opened_by, opened_at=r.opened_at, expires_at=r.expires_at,
                approvals=len(r.approved_by), approvals_required=r.approvals_required,
                stale=r.stale) for r in opened if r.model == name],
            break_glass_unreviewed=[BreakGlass(
                request_id=r.id, version=r.version, environment=r.environment,
                forced_by=r.opened_by, forced_at=r.opened_at, justification=r.justification)
                for r in forced if r.model == name and r.reviewed is None],
            monitors=monitors.get(name, []), open_triggers=triggers.get(name, []),
            last_retraining=retrainings.get(name), last_alert=alerts.get(name),
            retrain_required=flags.get(name, [])))
    return Inventory(project=ctx.config.name, generated_at=now,
                     controls=list(CONTROLS), models=entries,
                     orphan_declarations=sorted(set(declared) - set(names)))


def _serving(detail: ModelDetail, order: list[str]) -> list[Serving]:
    """Each environment something serves in, in project order, with its three slots."""
    slots: dict[str, dict[str, int]] = {}
    for stored, version in detail.deployed.items():
        env, slot = split(stored)
        slots.setdefault(env, {})[str(slot)] = version
    return [Serving(environment=env, primary=found.get(Slot.PRIMARY),
                    canary=found.get(Slot.CANARY), shadow=found.get(Slot.SHADOW))
            for env in order if (found := slots.get(env))]


def _monitors_by_model(ctx: Context) -> dict[str, list[str]]:
    """The automation monitors judging each model (a monitor whose model cannot be told
    judges none)."""
    # Imported here: the monitors module (pandas, the prediction log) is not needed to
    # import this one.
    from rasad.automation.monitors import monitor_model

    automation = ctx.config.automation
    found: dict[str, list[str]] = {}
    for name, config in automation.monitors.items():
        try:
            found.setdefault(monitor_model(name, config, automation), []).append(name)
        except ConfigError:
            continue
    return found


def _last_approvals(session: Session) -> dict[str, LastApproval]:
    rows = session.execute(
        select(ApprovalRow, PromotionRequestRow)
        .join(PromotionRequestRow, PromotionRequestRow.id == ApprovalRow.request_id)
        .where(ApprovalRow.decision == Decision.APPROVE.value)
        .order_by(ApprovalRow.created_at, ApprovalRow.id)).all()
    return {request.model_name: LastApproval(
        request_id=request.id, version=request.version, environment=request.environment,
        approver=approval.principal, approved_at=approval.created_at)
        for approval, request in rows}  # the newest wins


def _validations(session: Session, details: list[ModelDetail]
                 ) -> dict[str, list[DataValidation]]:
    """The training datasets of each model's serving versions (the latest when none
    serves) with their last validation."""
    wanted: dict[str, dict[str, list[int]]] = {}
    for detail in details:
        numbers = set(detail.deployed.values()) or {max(v.version for v in detail.versions)}
        for version in sorted(numbers):
            found = next(v for v in detail.versions if v.version == version)
            for used in found.datasets:
                if used.get("role") == "train":
                    wanted.setdefault(detail.name, {}).setdefault(
                        used["dataset"], []).append(version)
    refs = {ref for by_ref in wanted.values() for ref in by_ref}
    last: dict[str, tuple[str, bool]] = {}
    names = sorted({ref.rpartition("@")[0] for ref in refs})
    if names:
        rows = session.execute(
            select(DatasetVersionRow.name, DatasetVersionRow.version, ValidationRow.created_at,
                   ValidationRow.ok)
            .join(ValidationRow, ValidationRow.dataset_version_id == DatasetVersionRow.id)
            .where(DatasetVersionRow.name.in_(names))
            .order_by(ValidationRow.created_at, ValidationRow.id)).all()
        for name, version, at, ok in rows:
            last[f"{name}@{version}"] = (at, bool(ok))  # the newest wins
    return {model: [DataValidation(dataset=ref, model_versions=versions,
                                   last_validated_at=last[ref][0] if ref in last else None,
                                   ok=last[ref][1] if ref in last else None)
                    for ref, versions in sorted(by_ref.items())]
            for model, by_ref in wanted.items()}


def _open_triggers(session: Session, monitors: dict[str, list[str]]
                   ) -> dict[str, list[LoopTrigger]]:
    model_of = {m: model for model, names in monitors.items() for m in names}
    rows = session.execute(select(TriggerRow).where(TriggerRow.status == "open",
                                                    TriggerRow.monitor.in_(list(model_of)))
                           .order_by(TriggerRow.id)).scalars().all() if model_of else []
    steps: dict[int | None, list[str]] = {}
    if rows:
        for trigger_id, step in session.execute(
                select(PipelineStepRow.trigger_id, PipelineStepRow.step)
                .where(PipelineStepRow.trigger_id.in_([r.id for r in rows]),
                       PipelineStepRow.step != _FINISHED)
                .order_by(PipelineStepRow.id)):
            steps.setdefault(trigger_id, []).append(step)
    found: dict[str, list[LoopTrigger]] = {}
    for row in rows:
        found.setdefault(model_of[row.monitor], []).append(LoopTrigger(
            id=row.id, monitor=row.monitor, kind=row.kind, summary=row.summary,
            actions=json.loads(row.actions), fired_at=row.fired_at,
            retraining=steps.get(row.id, [])))
    return found


def _last_retrainings(session: Session) -> dict[str, LastRetraining]:
    found: dict[str, LastRetraining] = {}
    for row in session.execute(select(PipelineStepRow).where(PipelineStepRow.step == _FINISHED)
                               .order_by(PipelineStepRow.finished_at,
                                         PipelineStepRow.id)).scalars():
        output = json.loads(row.output)
        found[output["model"]] = LastRetraining(  # the newest wins
            trigger_id=output["trigger_id"], status=output["status"],
            version=output.get("version"), request_id=output.get("request_id"),
            reason=output.get("reason"), finished_at=row.finished_at)
    return found


def _last_alerts(session: Session, monitors: dict[str, list[str]]) -> dict[str, LastAlert]:
    model_of = {m: model for model, names in monitors.items() for m in names}
    if not model_of:
        return {}
    found: dict[str, LastAlert] = {}
    for row in session.execute(
            select(MonitorResultRow).where(MonitorResultRow.alert.is_(True),
                                           MonitorResultRow.kind.in_(ALERT_KINDS),
                                           MonitorResultRow.monitor.in_(list(model_of)))
            .order_by(MonitorResultRow.created_at, MonitorResultRow.id)).scalars():
        found[model_of[row.monitor]] = LastAlert(  # the newest wins
            monitor=row.monitor, kind=row.kind, result_id=row.id, reference=row.reference,
            current=row.current, created_at=row.created_at)
    return found


__all__ = ["ALERT_KINDS", "inventory"]
