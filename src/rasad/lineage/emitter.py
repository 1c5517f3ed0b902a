"""Sending the OpenLineage events of ledger entries: after a transaction commits (best
effort), and again on demand (:func:`replay`, ``rasad lineage emit``).

The ledger is the source of truth: an event is built from an audit entry (and the rows it
names), never from a service's arguments, so what a replay sends for an entry is what was
sent when it committed, with the same run ids.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit

from sqlalchemy import select

from rasad.errors import ConfigError, InputError
from rasad.identity import Permission
from rasad.ledger import AuditEvent
from rasad.lineage._safe import scrub, where
from rasad.results import Result
from rasad.store._tables import AuditEventRow

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent
    from openlineage.client.transport import Transport
    from sqlalchemy.orm import Session

    from rasad.config import LineageConfig, ProjectConfig
    from rasad.store import Database

INSTALL: Final = "pip install 'rasad[lineage]'"
"""How to get the OpenLineage client rasad's ``lineage`` extra pins."""

ACTIONS: Final = frozenset({"dataset.add", "run.start", "run.finish", "run.fail",
                            "model.register", "model.promotion", "model.rollback",
                            "model.retire"})
"""The ledger actions that have a lineage meaning (the keys of the mapping table)."""

COOL_OFF_S: Final = 30.0
"""After a failed send, how long an emitter skips sending (logging what it skipped) rather
than make every change in a long-running server wait for an endpoint that is down."""

BATCH: Final = 500
"""Ledger entries read per query by :func:`replay`."""

log = logging.getLogger("rasad.lineage")


class ContextLike(Protocol):
    """What :func:`replay` needs of :class:`rasad.core.Context` (this package sits below
    it, so it names the attributes it reads rather than the class)."""

    @property
    def root(self) -> Path: ...

    @property
    def config(self) -> ProjectConfig: ...

    @property
    def db(self) -> Database: ...

    def require(self, permission: Permission, action: str) -> None: ...


class Emission(Result):
    """What :func:`replay` sent: the OpenLineage events of the ledger entries from
    ``since`` (to ``until`` when given) that have a lineage meaning, and where; when a
    send failed, the entry it failed at (nothing from it on was sent) and why."""

    destination: str
    since: int
    until: int | None
    entries: int
    events: int
    last_seq: int | None
    failed_seq: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when every event was sent."""
        return self.failed_seq is None

    @property
    def message(self) -> str:
        """One sentence saying what was sent, and how to resume after a failure.

        >>> Emission(destination="lineage.jsonl", since=1, until=None, entries=1, events=2,
        ...          last_seq=4).message
        'Sent 2 OpenLineage event(s) for 1 ledger entry (from 1) to lineage.jsonl.'
        """
        span = f"from {self.since}" + (f" to {self.until}" if self.until is not None else "")
        sent = (f"Sent {self.events} OpenLineage event(s) for {self.entries} ledger "
                f"entr{'y' if self.entries == 1 else 'ies'} ({span}) to {self.destination}")
        if self.ok:
            return sent + "."
        return (f"{sent}, then stopped at entry {self.failed_seq}: {self.error}. Resend "
                f"from there with `rasad lineage emit --since {self.failed_seq}`.")


class Emitter:
    """Builds and sends the OpenLineage events of ledger entries through the transport
    ``config`` names (``root`` anchors a relative file path).

    The constructor does no I/O; :meth:`check` loads the client and builds the transport.
    One emitter serves many transactions (a server's): sends are serialised, and after a
    failure it skips sending for :data:`COOL_OFF_S` seconds.
    """

    def __init__(self, config: LineageConfig, *, namespace: str, root: Path) -> None:
        self.config = config
        self.namespace = namespace
        self.root = root
        self._transport: Transport | None = None
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._down_until = 0.0

    @classmethod
    def of(cls, config: ProjectConfig, root: Path) -> Emitter | None:
        """The emitter a project's configuration asks for; None when ``transport: none``."""
        if config.lineage.transport == "none":
            return None
        return cls(config.lineage, namespace=config.lineage.namespace or config.name,
                   root=root)

    @property
    def destination(self) -> str:
        """Where events go, fit for a message (no credentials)."""
        return where(self.config)

    def check(self) -> None:
        """Load the OpenLineage client and build the transport, once.

        Raises
        ------
        ConfigError
            The client is not installed (naming ``pip install 'rasad[lineage]'``), or the
            API key variable is not set.
        """
        if self._transport is not None:
            return
        try:
            from rasad.lineage._transport import build_transport
        except ImportError as exc:
            raise ConfigError(
                f"lineage.transport is {self.config.transport!r} in rasad.yaml, which needs "
                f"the OpenLineage client ({exc.name} is not installed): {INSTALL}, or set "
                "lineage.transport: none.") from None
        transport, secrets = build_transport(self.config, self.root)
        password = urlsplit(self.config.url).password if self.config.url else None
        self._secrets = (*secrets, *((password,) if password else ()))
        self._transport = transport

    def events(self, session: Session, entries: Sequence[AuditEvent]) -> list[RunEvent]:
        """The OpenLineage events of ``entries``, in ledger order."""
        self.check()
        from rasad.lineage._mapping import Scope, to_openlineage

        scope = Scope(self.namespace, session)
        return [built for entry in entries if entry.action in ACTIONS
                for built in to_openlineage(scope, entry)]

    def send(self, events: Sequence[RunEvent]) -> None:
        """Send ``events`` in order; the transport's error propagates."""
        self.check()
        assert self._transport is not None
        with self._lock:
            for event in events:
                self._transport.emit(event)

    def committed(self, db: Database, entries: Sequence[AuditEvent]) -> int:
        """Send the events of ``entries``, which a transaction just committed; best effort.

        A failure (the endpoint down, the file not writable) is logged as a warning that
        names the entries, the destination and how to resend them, never a credential or a
        value from the data, and the committed change stands. Returns the events sent.
        """
        relevant = [entry for entry in entries if entry.action in ACTIONS]
        if not relevant:
            return 0
        first, last = relevant[0].seq, relevant[-1].seq
        span = f"{first}" if first == last else f"{first}-{last}"
        resend = f"resend with `rasad lineage emit --since {first}`"
        if time.monotonic() < self._down_until:
            log.warning("OpenLineage events for ledger entry %s were not sent: %s failed "
                        "moments ago. The change is committed; %s.", span, self.destination,
                        resend)
            return 0
        try:
            with db.read() as session:
                built = self.events(session, relevant)
            self.send(built)
        except Exception as exc:  # noqa: BLE001 - best effort: the change is committed
            self._down_until = time.monotonic() + COOL_OFF_S
            log.warning("OpenLineage events for ledger entry %s were not sent to %s (%s). "
                        "The change is committed; %s.", span, self.destination,
                        self.describe(exc), resend)
            return 0
        return len(built)

    def describe(self, exc: BaseException) -> str:
        """``exc`` for a message: its type and text, with this emitter's secrets masked."""
        text = str(exc)
        return scrub(f"{type(exc).__name__}: {text}" if text else type(exc).__name__,
                     self._secrets)


def replay(ctx: ContextLike, *, since: int | None = None,
           until: int | None = None) -> Emission:
    """Send again the OpenLineage events of ledger entries ``since``..``until``
    (inclusive; default: all), e.g. after the endpoint was down.

    Run ids are derived from the ledger, so an event Marquez already has updates its run
    instead of adding one. Stops at the first entry whose events cannot be sent. Needs
    ``audit.read`` (it exports what the ledger records).

    Raises
    ------
    ConfigError
        ``lineage.transport`` is none, or the OpenLineage client is missing.
    InputError
        A bound below 1, or ``since`` after ``until``.
    """
    ctx.require(Permission.AUDIT_READ, "send the ledger's OpenLineage events")
    for label, bound in (("--since", since), ("--until", until)):
        if bound is not None and bound < 1:
            raise InputError(f"{label} {bound} is not a ledger entry: entries are numbered "
                             "from 1 (`rasad audit log` lists them).")
    if since is not None and until is not None and since > until:
        raise InputError(f"--since {since} is after --until {until}; give a range that "
                         "starts before it ends.")
    emitter = Emitter.of(ctx.config, ctx.root)
    if emitter is None:
        raise ConfigError("lineage.transport is none in rasad.yaml, so there is nowhere to "
                          "send events: set it to http (with url), file (with path) or "
                          "console, then run `rasad lineage emit` again.")
    emitter.check()
    low = since or 1
    entries = sent = 0
    last: int | None = None
    for batch in _batches(ctx.db, low, until):
        with ctx.db.read() as session:
            built = [(entry.seq, emitter.events(session, [entry])) for entry in batch]
        for seq, events in built:
            try:
                emitter.send(events)
            except Exception as exc:  # noqa: BLE001 - reported, and the replay can resume
                return Emission(destination=emitter.destination, since=low, until=until,
                                entries=entries, events=sent, last_seq=last,
                                failed_seq=seq, error=emitter.describe(exc))
            entries, sent, last = entries + 1, sent + len(events), seq
    return Emission(destination=emitter.destination, since=low, until=until,
                    entries=entries, events=sent, last_seq=last)


def _batches(db: Database, low: int, until: int | None) -> Iterator[list[AuditEvent]]:
    """The ledger entries with a lineage meaning from ``low`` to ``until``, in order."""
    last = low - 1
    while True:
        query: Any = (select(AuditEventRow)
                      .where(AuditEventRow.seq > last, AuditEventRow.action.in_(ACTIONS))
                      .order_by(AuditEventRow.seq).limit(BATCH))
        if until is not None:
            query = query.where(AuditEventRow.seq <= until)
        with db.read() as session:
            rows = [AuditEvent.from_row(row) for row in session.execute(query).scalars()]
        if not rows:
            return
        yield rows
        last = rows[-1].seq
