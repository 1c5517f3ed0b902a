"""Saved check results: a row with the summary, the full JSON as an artifact, one audit event.

Drift, performance, estimation and fairness results computed on a project's data are
kept so that monitors, alerts, gates and dashboards can read their history:
:func:`save_result` stores one, :func:`list_results` and :func:`get_result` read them
back as :class:`MonitorResult` values, and :func:`load_payload` reads the full saved
report after checking its hash.
"""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING, Any

from rasad.errors import InputError, NotFoundError
from rasad.results import Result

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.store._tables import MonitorResultRow

# The store (SQLAlchemy, Alembic) is imported inside the functions that use it: the drift
# check's result type refers to MonitorResult, and `rasad drift a.csv b.csv` runs without
# a project, so importing this module must not cost the store's import time.


class MonitorKind(enum.StrEnum):
    """What kind of check a saved result holds."""

    DRIFT = "drift"
    PERFORMANCE = "performance"
    ESTIMATION = "estimation"
    FAIRNESS = "fairness"
    VALIDATION = "validation"
    """An arriving file checked by an automation validation monitor."""


class MonitorResult(Result):
    """One saved result: what was compared, whether it alerted, a summary, and the blob
    (sha256 of the canonical JSON) holding the full report.

    >>> MonitorResult.from_dict({
    ...     "id": 1, "monitor": "credit", "kind": "drift", "reference": "loans@1",
    ...     "current": "loans@2", "alert": True, "summary": {"drifted": True},
    ...     "blob": "ab" * 32, "created_by": "ana", "created_at": "2025-01-06T10:00:00Z",
    ... }).kind
    <MonitorKind.DRIFT: 'drift'>
    """

    id: int
    monitor: str
    kind: MonitorKind
    reference: str
    current: str
    alert: bool
    summary: dict[str, Any]
    blob: str
    created_by: str
    created_at: str

    @classmethod
    def from_row(cls, row: MonitorResultRow) -> MonitorResult:
        return cls(id=row.id, monitor=row.monitor, kind=MonitorKind(row.kind),
                   reference=row.reference, current=row.current, alert=row.alert,
                   summary=json.loads(row.summary), blob=row.blob, created_by=row.created_by,
                   created_at=row.created_at)


def _kind(kind: MonitorKind | str) -> MonitorKind:
    try:
        return MonitorKind(kind)
    except ValueError:
        raise InputError(f"Monitor result kind {str(kind)!r} is not one of "
                         f"{', '.join(k.value for k in MonitorKind)}.") from None


def save_result(ctx: Context, *, monitor: str, kind: MonitorKind | str, reference: str,
                current: str, alert: bool, summary: dict[str, Any],
                payload: dict[str, Any]) -> MonitorResult:
    """Store ``payload`` as a blob and record the result with its audit event.

    ``summary`` goes in the row and the audit event (keep it small); ``payload`` is
    the full report, stored as canonical JSON named by its sha256. The row and the
    event are written in one transaction; a bad monitor name or kind stores nothing.
    Needs ``monitor.write``, checked before the blob is stored and again under the lock.
    """
    from rasad.identity import Permission
    from rasad.ledger import canonical_json
    from rasad.names import check_name
    from rasad.store._tables import MonitorResultRow

    check_name(monitor, "Monitor")
    kind = _kind(kind)
    action = f"save a {kind.value} result of monitor {monitor!r}"
    ctx.require(Permission.MONITOR_WRITE, action)
    blob = ctx.artifacts.put_bytes(canonical_json(payload).encode("utf-8"))
    with ctx.transaction(Permission.MONITOR_WRITE, action) as tx:
        row = MonitorResultRow(monitor=monitor, kind=kind.value, reference=reference,
                               current=current, alert=alert, summary=canonical_json(summary),
                               blob=blob, created_by=tx.actor, created_at=ctx.clock())
        tx.session.add(row)
        tx.session.flush()
        tx.record("monitor.result", f"monitor:{monitor}", {
            "kind": kind.value, "reference": reference, "current": current, "alert": alert,
            "summary": summary, "result_sha256": blob})
        return MonitorResult.from_row(row)


def list_results(ctx: Context, monitor: str | None = None,
                 kind: MonitorKind | str | None = None) -> list[MonitorResult]:
    """Saved results, oldest first; of one monitor and/or one kind when given.

    An unknown kind is an :class:`~rasad.errors.InputError` naming the kinds; a
    monitor with no results gives an empty list.
    """
    from sqlalchemy import select

    from rasad.identity import Permission
    from rasad.store._tables import MonitorResultRow

    ctx.require(Permission.READ, "list monitor results")
    checked = None if kind is None else _kind(kind)
    with ctx.read() as session:
        query = select(MonitorResultRow).order_by(MonitorResultRow.id)
        if monitor is not None:
            query = query.where(MonitorResultRow.monitor == monitor)
        if checked is not None:
            query = query.where(MonitorResultRow.kind == checked.value)
        return [MonitorResult.from_row(r) for r in session.execute(query).scalars()]


def get_result(ctx: Context, id: int) -> MonitorResult:  # noqa: A002 - the result's own name
    """The saved result with this id; :class:`~rasad.errors.NotFoundError` if there is none."""
    from sqlalchemy import func, select

    from rasad.identity import Permission
    from rasad.store._tables import MonitorResultRow

    ctx.require(Permission.READ, f"read monitor result {id}")
    with ctx.read() as session:
        row = session.get(MonitorResultRow, id)
        if row is not None:
            return MonitorResult.from_row(row)
        count, last = session.execute(
            select(func.count(), func.max(MonitorResultRow.id))).one()
    known = (f"ids run up to {last} ({count} saved)" if count else
             "the project has no saved results yet")
    raise NotFoundError(f"No monitor result with id {id}; {known}. "
                        "Run `rasad monitor results` to list them.")


def load_payload(ctx: Context, result: MonitorResult) -> dict[str, Any]:
    """The full saved JSON, after the artifact store checks it against its hash.

    A changed, truncated or missing blob raises :class:`~rasad.errors.IntegrityError`.
    """
    from rasad.identity import Permission

    ctx.require(Permission.READ, f"read monitor result {result.id}")
    data: dict[str, Any] = json.loads(ctx.artifacts.get_bytes(result.blob))
    return data


__all__ = ["MonitorKind", "MonitorResult", "get_result", "list_results", "load_payload",
           "save_result"]
