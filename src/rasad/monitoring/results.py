"""Saved check results: a row with the summary, the full JSON as an artifact, one audit event.

Drift, performance, estimation and fairness results computed on a project's data are
kept so that monitors, alerts, gates and dashboards can read their history.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from rasad.errors import InputError
from rasad.ledger import canonical_json
from rasad.store._tables import MonitorResultRow

if TYPE_CHECKING:
    from rasad.core import Context


class MonitorKind(enum.StrEnum):
    """What kind of check a saved result holds."""

    DRIFT = "drift"
    PERFORMANCE = "performance"
    ESTIMATION = "estimation"
    FAIRNESS = "fairness"


@dataclass(frozen=True)
class MonitorResult:
    """One saved result."""

    id: int
    monitor: str
    kind: str
    reference: str
    current: str
    alert: bool
    summary: dict[str, Any]
    blob: str
    created_by: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_row(cls, row: MonitorResultRow) -> MonitorResult:
        return cls(row.id, row.monitor, row.kind, row.reference, row.current, row.alert,
                   json.loads(row.summary), row.blob, row.created_by, row.created_at)


def save_result(ctx: Context, *, monitor: str, kind: str, reference: str, current: str,
                alert: bool, summary: dict[str, Any], payload: dict[str, Any]) -> MonitorResult:
    """Store ``payload`` as a blob and record the result with its audit event."""
    from rasad.names import check_name

    check_name(monitor, "Monitor")
    try:
        kind = MonitorKind(kind).value
    except ValueError:
        raise InputError(f"Monitor result kind {kind!r} is not one of "
                         f"{', '.join(k.value for k in MonitorKind)}.") from None
    blob = ctx.artifacts.put_bytes(canonical_json(payload).encode("utf-8"))
    with ctx.transaction() as tx:
        row = MonitorResultRow(monitor=monitor, kind=kind, reference=reference, current=current,
                               alert=alert, summary=canonical_json(summary), blob=blob,
                               created_by=tx.actor, created_at=ctx.clock())
        tx.session.add(row)
        tx.session.flush()
        tx.record("monitor.result", f"monitor:{monitor}", {
            "kind": kind, "reference": reference, "current": current, "alert": alert,
            "summary": summary, "result_sha256": blob})
        return MonitorResult.from_row(row)


def list_results(ctx: Context, monitor: str | None = None) -> list[MonitorResult]:
    with ctx.db.read() as session:
        query = select(MonitorResultRow).order_by(MonitorResultRow.id)
        if monitor is not None:
            query = query.where(MonitorResultRow.monitor == monitor)
        return [MonitorResult.from_row(r) for r in session.execute(query).scalars()]


def load_payload(ctx: Context, result: MonitorResult) -> dict[str, Any]:
    """The full saved JSON, after its hash is checked."""
    data: dict[str, Any] = json.loads(ctx.artifacts.get_bytes(result.blob))
    return data
