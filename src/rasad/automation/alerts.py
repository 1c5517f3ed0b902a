"""Alerts: raised once per dedupe key, delivered to each channel with retries and back-off.

:func:`raise_alert` records an alert and one pending delivery per channel, with its audit
event, in one transaction; a second alert with the same ``dedupe_key`` (the same monitor
finding within its cooldown, however many agents saw it) records nothing.

:func:`deliver_due` sends what is due. Each delivery is first *taken* in a short
transaction: an UPDATE from ``pending`` to ``sending`` guarded by the state that was read
(status, attempts, ``next_attempt_at``), so of two agents only one wins it. While it is
``sending``, ``next_attempt_at`` is its lease (``automation.agent.lease_seconds`` plus room
for the channel's timeouts, :data:`TIMEOUT_PHASES`): if the agent stops before recording
an outcome, the delivery falls due again when the lease runs out and another agent takes it
over (delivery is at least once; the message carries the alert's id for a receiver to drop
a repeat). The message is sent outside any transaction, then the outcome is recorded,
guarded by the same lease:

- sent: ``delivered_at`` set, with an ``alert.deliver`` audit event;
- failed, with retries left: ``pending`` again, due ``backoff_seconds * 2**(attempts-1)``
  after the failure (at most a day: :func:`backoff`);
- failed after ``automation.alerts.retries`` retries (``1 + retries`` attempts):
  ``failed``, with an ``alert.deliver`` audit event. ``last_error`` keeps the last
  failure's text, which never holds a secret (see :mod:`rasad.automation.channels`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from rasad.automation.channels import AlertMessage, DeliveryFailed, Sender, sender_for
from rasad.errors import InputError
from rasad.identity import Permission
from rasad.identity.tokens import later
from rasad.ledger import canonical_json
from rasad.names import check_name
from rasad.results import Result
from rasad.store._tables import AlertDeliveryRow, AlertRow
from rasad.store.lengths import check_length

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.ledger import Tx

log = logging.getLogger("rasad.automation")

DELIVERY_BATCH: Final = 100
"""At most this many deliveries are sent by one :func:`deliver_due` call (the rest: next
pass), so a long outage does not keep one pass busy for hours."""
MAX_BACKOFF: Final = timedelta(days=1)
"""The longest wait between two attempts, however many retries ``retries`` allows (30 s
doubled 99 times would be longer than the universe is old)."""
TIMEOUT_PHASES: Final = 4
"""A channel's ``timeout_seconds`` bounds each phase of a send (connect, write, read and
the like), so an attempt's lease is the agent's ``lease_seconds`` plus this many timeouts:
an attempt that is merely slow is never taken over while it still runs."""


def backoff(backoff_seconds: float, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``backoff_seconds *
    2**(attempts-1)``, at most :data:`MAX_BACKOFF`.

    >>> [str(backoff(30.0, n)) for n in (1, 2, 3)]
    ['0:00:30', '0:01:00', '0:02:00']
    >>> backoff(30.0, 100) == MAX_BACKOFF
    True
    """
    seconds = backoff_seconds * 2.0 ** (attempts - 1)
    return min(MAX_BACKOFF, timedelta(seconds=min(seconds, MAX_BACKOFF.total_seconds())))


class Severity(StrEnum):
    """How urgent an alert is (``automation.monitors.NAME.severity``)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class DeliveryStatus(StrEnum):
    """Where one alert's delivery to one channel stands."""

    PENDING = "pending"
    """Waiting to be sent (first time, or again after a failure) at ``next_attempt_at``."""
    SENDING = "sending"
    """Taken by an agent until ``next_attempt_at`` (its lease)."""
    SENT = "sent"
    """The channel took it, at ``delivered_at``."""
    FAILED = "failed"
    """Every attempt failed; ``last_error`` says how the last one did."""


class Delivery(Result):
    """One alert's delivery to one channel.

    ``attempts`` counts the attempts started (a delivery being sent counts its current
    one); ``next_attempt_at`` is when a pending one is due, or a sending one's lease ends.
    """

    alert_id: int
    channel: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    delivered_at: str | None
    next_attempt_at: str | None

    @classmethod
    def from_row(cls, row: AlertDeliveryRow) -> Delivery:
        return cls(alert_id=row.alert_id, channel=row.channel,
                   status=DeliveryStatus(row.status), attempts=row.attempts,
                   last_error=row.last_error, delivered_at=row.delivered_at,
                   next_attempt_at=row.next_attempt_at)


class Alert(Result):
    """An alert a monitor raised, with its deliveries (one per channel, by name).

    >>> alert = Alert(id=1, monitor="income-drift", severity="warning", title="Drift",
    ...               body={"psi": 0.3}, dedupe_key="income-drift:2026-12-06",
    ...               trigger_id=None, created_at="2026-12-06T10:00:00.000000Z",
    ...               deliveries=[])
    >>> alert.severity
    <Severity.WARNING: 'warning'>
    >>> Alert.from_json(alert.to_json()) == alert
    True
    """

    id: int
    monitor: str
    severity: Severity
    title: str
    body: dict[str, Any]
    dedupe_key: str
    trigger_id: int | None
    created_at: str
    deliveries: list[Delivery]

    @classmethod
    def from_rows(cls, row: AlertRow, deliveries: Iterable[AlertDeliveryRow]) -> Alert:
        return cls(id=row.id, monitor=row.monitor, severity=Severity(row.severity),
                   title=row.title, body=json.loads(row.body), dedupe_key=row.dedupe_key,
                   trigger_id=row.trigger_id, created_at=row.created_at,
                   deliveries=[Delivery.from_row(d)
                               for d in sorted(deliveries, key=lambda d: d.channel)])


def raise_alert(ctx: Context, *, monitor: str, severity: str, title: str,
                body: dict[str, Any], dedupe_key: str, trigger_id: int | None = None,
                channels: list[str] | None = None) -> Alert | None:
    """Record an alert and a pending delivery to each channel, with its audit event.

    Parameters
    ----------
    monitor : str
        The monitor that raised it (a name, as ``automation.monitors`` holds them); the
        audit event's subject is ``monitor:NAME``.
    severity : str
        ``info``, ``warning`` or ``critical``.
    title, body
        One line for people; the details (JSON-able, kept small: every channel sends it).
    dedupe_key : str
        At most one alert per key, ever: the caller chooses it to say "the same finding"
        (for example the monitor and the start of its cooldown window).
    trigger_id : int, optional
        The trigger (``triggers`` row) that raised it.
    channels : list of str, optional
        Names in ``automation.alerts.channels``; every configured channel by default.

    Returns
    -------
    Alert or None
        The alert, its deliveries pending and due now; None if an alert with
        ``dedupe_key`` exists (then nothing is written).

    Raises
    ------
    InputError
        A bad monitor name, severity, empty title, unknown channel, or a body that is not
        JSON. Needs ``monitor.write`` (:class:`~rasad.errors.PermissionDenied`).
    """
    check_name(monitor, "Monitor")
    level = _severity(severity)
    if not title.strip():
        raise InputError(f"Alert of monitor {monitor!r} has an empty title; give it one line "
                         "saying what was found.")
    if not dedupe_key:
        raise InputError(f"Alert of monitor {monitor!r} has an empty dedupe_key; use one that "
                         "names the finding (for example the monitor and its window).")
    check_length(dedupe_key, "alerts.dedupe_key", "Alert dedupe key")
    targets = _channels(ctx, channels)
    try:
        text = canonical_json(body)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Alert body of monitor {monitor!r} is not JSON ({exc}); use "
                         "strings, numbers, booleans, lists and dicts.") from None
    action = f"raise an alert of monitor {monitor!r}"
    ctx.require(Permission.MONITOR_WRITE, action)
    with ctx.transaction(Permission.MONITOR_WRITE, action) as tx:
        taken = tx.session.execute(select(AlertRow.id).where(
            AlertRow.dedupe_key == dedupe_key)).first()
        if taken is not None:
            return None
        now = ctx.clock()
        row = AlertRow(dedupe_key=dedupe_key, monitor=monitor, severity=level.value,
                       title=title, body=text, trigger_id=trigger_id, created_at=now)
        tx.session.add(row)
        tx.session.flush()
        deliveries = [AlertDeliveryRow(alert_id=row.id, channel=name,
                                       status=DeliveryStatus.PENDING.value, attempts=0,
                                       next_attempt_at=now) for name in targets]
        tx.session.add_all(deliveries)
        tx.session.flush()
        tx.record("alert.raise", f"monitor:{monitor}", {
            "alert_id": row.id, "severity": level.value, "title": title,
            "dedupe_key": dedupe_key, "trigger_id": trigger_id, "channels": targets,
            "body_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()})
        return Alert.from_rows(row, deliveries)


def deliver_due(ctx: Context, *, owner: str,
                limit: int = DELIVERY_BATCH) -> list[Delivery]:
    """Send every delivery that is due (up to ``limit``), each by one agent only, and
    record how each went (see the module's docstring).

    Parameters
    ----------
    owner : str
        The agent sending (named in the audit events of the outcomes).
    limit : int
        At most this many deliveries in this call.

    Returns
    -------
    list of Delivery
        The deliveries this call took, as recorded after sending: sent, pending again
        (with the time of the next attempt) or failed. Those another agent took first are
        not in it.
    """
    if not owner:
        raise InputError("deliver_due needs the name of the agent sending (owner).")
    ctx.require(Permission.MONITOR_WRITE, "deliver alerts")
    with ctx.read() as session:
        due = session.execute(
            select(AlertDeliveryRow.id, AlertDeliveryRow.status, AlertDeliveryRow.attempts,
                   AlertDeliveryRow.next_attempt_at)
            .where(AlertDeliveryRow.status.in_([DeliveryStatus.PENDING.value,
                                                DeliveryStatus.SENDING.value]),
                   AlertDeliveryRow.next_attempt_at <= ctx.clock())
            .order_by(AlertDeliveryRow.next_attempt_at, AlertDeliveryRow.id)
            .limit(limit)).all()
    done: list[Delivery] = []
    for delivery_id, status, attempts, next_at in due:
        taken = _take(ctx, delivery_id, status, attempts, next_at, owner=owner)
        if taken is None:
            continue
        if isinstance(taken, Delivery):  # given up while taking it: nothing to send
            done.append(taken)
            continue
        sender, message, lease = taken
        error: str | None = None
        try:
            sender.send(message, now=ctx.clock())
        except DeliveryFailed as exc:
            error = str(exc)
        except Exception as exc:  # a sender's bug must not strand the other deliveries
            error = f"channel {sender.name!r}: unexpected {type(exc).__name__}"
            log.warning("Alert channel %r failed unexpectedly (%s); recorded as a failed "
                        "attempt.", sender.name, type(exc).__name__)
        recorded = _record(ctx, delivery_id, attempts + 1, lease, error, owner=owner)
        if recorded is not None:
            done.append(recorded)
    return done


def alerts(ctx: Context, *, monitor: str | None = None, limit: int = 100) -> list[Alert]:
    """The latest alerts, newest first, with their deliveries; of one monitor if given."""
    if limit < 1:
        raise InputError(f"limit={limit} is not allowed: list at least 1 alert.")
    ctx.require(Permission.READ, "list alerts")
    with ctx.read() as session:
        query = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)
        if monitor is not None:
            query = query.where(AlertRow.monitor == monitor)
        rows = list(session.execute(query).scalars())
        by_alert: dict[int, list[AlertDeliveryRow]] = {row.id: [] for row in rows}
        if rows:
            for delivery in session.execute(select(AlertDeliveryRow).where(
                    AlertDeliveryRow.alert_id.in_(list(by_alert)))).scalars():
                by_alert[delivery.alert_id].append(delivery)
        return [Alert.from_rows(row, by_alert[row.id]) for row in rows]


def _severity(value: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise InputError(f"Alert severity {value!r} is not one of "
                         f"{', '.join(s.value for s in Severity)}.") from None


def _channels(ctx: Context, names: list[str] | None) -> list[str]:
    configured = ctx.config.automation.alerts.channels
    if names is None:
        return list(configured)
    unknown = [name for name in names if name not in configured]
    if unknown:
        raise InputError(f"Alert channel(s) {', '.join(map(repr, unknown))} not in "
                         f"automation.alerts.channels of rasad.yaml "
                         f"({', '.join(configured) or 'none configured'}).")
    return list(dict.fromkeys(names))


_Taken = tuple[Sender, AlertMessage, str]


def _take(ctx: Context, delivery_id: int, status: str, attempts: int, next_at: str | None,
          *, owner: str) -> _Taken | Delivery | None:
    """Take one due delivery for this agent: its sender, message and lease; a Delivery if
    it was given up instead; None if another agent took it first."""
    config = ctx.config.automation
    with ctx.transaction(Permission.MONITOR_WRITE, "deliver alerts") as tx:
        seen = (AlertDeliveryRow.id == delivery_id, AlertDeliveryRow.status == status,
                AlertDeliveryRow.attempts == attempts,
                AlertDeliveryRow.next_attempt_at == next_at)
        row = tx.session.execute(select(AlertDeliveryRow).where(*seen)).scalar_one_or_none()
        if row is None:
            return None
        alert = tx.session.get(AlertRow, row.alert_id)
        if alert is None:  # the foreign key makes this impossible; a clear failure if not
            raise InputError(f"Alert delivery {delivery_id} names alert {row.alert_id}, "
                             "which does not exist.")
        give_up: str | None = None
        if status == DeliveryStatus.SENDING.value:
            stopped = (f"attempt {attempts} was taken by an agent that stopped before "
                       "recording its outcome (its lease ran out)")
            if attempts > config.alerts.retries:
                give_up = stopped
            else:
                row.last_error = stopped
        channel = config.alerts.channels.get(row.channel)
        if channel is None and give_up is None:
            give_up = (f"channel {row.channel!r} is no longer in automation.alerts.channels "
                       f"({', '.join(config.alerts.channels) or 'none configured'})")
        if channel is None or give_up is not None:
            row.status, row.last_error, row.next_attempt_at = \
                DeliveryStatus.FAILED.value, give_up, None
            tx.session.flush()
            _audit(tx, alert, row, owner)
            return Delivery.from_row(row)
        timeout = getattr(channel, "timeout_seconds", 0.0)
        lease = later(ctx.clock(), timedelta(
            seconds=config.agent.lease_seconds + TIMEOUT_PHASES * timeout))
        row.status, row.attempts, row.next_attempt_at = \
            DeliveryStatus.SENDING.value, attempts + 1, lease
        tx.session.flush()
        message = AlertMessage(project=ctx.config.name, alert_id=alert.id,
                               monitor=alert.monitor, severity=alert.severity,
                               title=alert.title, body=_loads(alert.body),
                               created_at=alert.created_at)
        return sender_for(row.channel, channel, root=ctx.root), message, lease


def _record(ctx: Context, delivery_id: int, attempts: int, lease: str, error: str | None,
            *, owner: str) -> Delivery | None:
    """Record the outcome of the attempt that holds ``lease``; None if the lease was lost
    (the attempt ran past it and another agent took the delivery over)."""
    config = ctx.config.automation.alerts
    with ctx.transaction(Permission.MONITOR_WRITE, "deliver alerts") as tx:
        now = ctx.clock()
        row = tx.session.execute(select(AlertDeliveryRow).where(
            AlertDeliveryRow.id == delivery_id,
            AlertDeliveryRow.status == DeliveryStatus.SENDING.value,
            AlertDeliveryRow.attempts == attempts,
            AlertDeliveryRow.next_attempt_at == lease)).scalar_one_or_none()
        if row is None:
            log.warning("Alert delivery %d: attempt %d outlasted its lease and another agent "
                        "took it over; its outcome is not recorded.", delivery_id, attempts)
            return None
        if error is None:
            row.status, row.delivered_at, row.next_attempt_at = \
                DeliveryStatus.SENT.value, now, None
        elif attempts > config.retries:
            row.status, row.last_error, row.next_attempt_at = \
                DeliveryStatus.FAILED.value, error, None
        else:
            row.status, row.last_error, row.next_attempt_at = \
                DeliveryStatus.PENDING.value, error, \
                later(now, backoff(config.backoff_seconds, attempts))
        tx.session.flush()
        if row.status != DeliveryStatus.PENDING.value:
            alert = tx.session.get(AlertRow, row.alert_id)
            if alert is not None:
                _audit(tx, alert, row, owner)
        return Delivery.from_row(row)


def _audit(tx: Tx, alert: AlertRow, row: AlertDeliveryRow, owner: str) -> None:
    details: dict[str, Any] = {"alert_id": alert.id, "channel": row.channel,
                               "status": row.status, "attempts": row.attempts,
                               "agent": owner}
    if row.status == DeliveryStatus.FAILED.value:
        details["error"] = row.last_error
    tx.record("alert.deliver", f"monitor:{alert.monitor}", details)


def _loads(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text)
    return loaded

__all__ = ["DELIVERY_BATCH", "MAX_BACKOFF", "TIMEOUT_PHASES", "Alert", "Delivery",
           "DeliveryStatus", "Severity", "alerts", "backoff", "deliver_due", "raise_alert"]
