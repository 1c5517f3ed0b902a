"""Where the automation stands: what ``rasad agent status`` shows.

:func:`status` reads, without changing anything: each monitor of ``automation.monitors``
with its schedule, last run (when, how it ended, what it found) and next run; the open
triggers (findings whose actions have not finished); the promotion requests waiting for
approvers; the recent alerts with the delivery status per channel; and the model versions
a data subject's erasure flagged 'retrain required', with their due dates.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select

from rasad.governance.subjects_result import RetrainFlag
from rasad.identity import Permission
from rasad.results import Result
from rasad.store._tables import MonitorStateRow, TriggerRow

if TYPE_CHECKING:
    from rasad.core import Context

RECENT_ALERTS = 20
"""How many of the newest alerts a status shows."""


class MonitorState(Result):
    """One monitor: its configuration at a glance and where it stands.

    ``next_run_at`` is None for on-arrival monitors (they run when a file arrives) and
    for scheduled ones not run yet (the next pass runs them).
    """

    name: str
    kind: str
    source: str
    schedule: str
    actions: list[str]
    cooldown_hours: float
    last_run_at: str | None = None
    last_status: str | None = None
    last_result_id: int | None = None
    last_fired_at: str | None = None
    next_run_at: str | None = None
    detail: str | None = None


class OpenTrigger(Result):
    """A trigger whose actions have not finished."""

    id: int
    monitor: str
    kind: str
    summary: str
    actions: list[str]
    fired_at: str
    monitor_result_id: int | None = None
    source_file_id: int | None = None


class PendingRequest(Result):
    """A promotion request waiting for approvers."""

    id: int
    model: str
    version: int
    environment: str
    opened_by: str
    opened_at: str
    expires_at: str | None
    approvals: int
    approvals_required: int


class AlertLine(Result):
    """A recent alert and how each of its deliveries stands (channel -> status)."""

    id: int
    monitor: str
    severity: str
    title: str
    created_at: str
    deliveries: dict[str, str]


class AgentStatus(Result):
    """What ``rasad agent status`` shows (``--json`` prints this)."""

    project: str
    monitors: list[MonitorState]
    open_triggers: list[OpenTrigger]
    pending_requests: list[PendingRequest]
    alerts: list[AlertLine]
    retrain_required: list[RetrainFlag] = []


def status(ctx: Context) -> AgentStatus:
    """Where the automation stands: monitors, open triggers, pending requests, alerts.

    Needs ``read``. Monitors come in the order ``rasad.yaml`` lists them; a state row of
    a monitor no longer configured is left out.
    """
    from rasad.automation import alerts as alert_service
    from rasad.governance.subjects import open_flags
    from rasad.release import service as release

    ctx.require(Permission.READ, "read the automation's status")
    configured = ctx.config.automation.monitors
    with ctx.read() as session:
        states = {row.monitor: row for row in session.execute(
            select(MonitorStateRow).where(MonitorStateRow.monitor.in_(sorted(configured)))
        ).scalars()}
        triggers = session.execute(select(TriggerRow).where(TriggerRow.status == "open")
                                   .order_by(TriggerRow.id)).scalars().all()
        flags = open_flags(session, ctx.clock())
    monitors = []
    for name, config in configured.items():
        base = MonitorState(name=name, kind=config.kind, source=config.source,
                            schedule=config.schedule, actions=list(config.actions),
                            cooldown_hours=config.cooldown_hours)
        row = states.get(name)
        if row is not None:
            base = base.model_copy(update={
                "last_run_at": row.last_run_at, "last_status": row.last_status,
                "last_result_id": row.last_result_id, "last_fired_at": row.last_fired_at,
                "next_run_at": None if config.schedule == "on_arrival" else row.next_run_at,
                "detail": row.detail})
        monitors.append(base)
    opened = [OpenTrigger(id=t.id, monitor=t.monitor, kind=t.kind, summary=t.summary,
                          actions=json.loads(t.actions), fired_at=t.fired_at,
                          monitor_result_id=t.monitor_result_id,
                          source_file_id=t.source_file_id) for t in triggers]
    pending = [PendingRequest(id=r.id, model=r.model, version=r.version,
                              environment=r.environment, opened_by=r.opened_by,
                              opened_at=r.opened_at, expires_at=r.expires_at,
                              approvals=sum(1 for a in r.approvals if a.decision == "approve"),
                              approvals_required=r.approvals_required)
               for r in release.list_requests(ctx, status="open")]
    recent = [AlertLine(id=a.id, monitor=a.monitor, severity=str(a.severity), title=a.title,
                        created_at=a.created_at,
                        deliveries={d.channel: str(d.status) for d in a.deliveries})
              for a in alert_service.alerts(ctx, limit=RECENT_ALERTS)]
    return AgentStatus(project=ctx.config.name, monitors=monitors, open_triggers=opened,
                       pending_requests=pending, alerts=recent, retrain_required=flags)


__all__ = ["RECENT_ALERTS", "AgentStatus", "AlertLine", "MonitorState", "OpenTrigger",
           "PendingRequest", "status"]
