"""The agent: one pass over the automation's due work, or passes for as long as it runs.

:func:`run_pass` does, in order:

1. **Ingest.** Each new file of each ``files`` source becomes a dataset version, or is
   rejected (:func:`rasad.automation.sources.ingest`, which claims the file so that
   exactly one agent ingests it).
2. **Arrivals.** Each on-arrival monitor judges each file of its source that it has not
   judged yet (:func:`rasad.automation.monitors.run_monitor`). A rejected file that no
   ``validation`` monitor watches raises one alert of its own. Files seen within
   :data:`ARRIVAL_HORIZON` count, so the work of an agent killed after an ingest is
   picked up by the next pass; older files are not judged again (a monitor added today
   does not judge last year's files).
3. **Schedules.** Each cron monitor whose next run (``monitor_states.next_run_at``) is
   due runs once for that slot; a monitor never run before runs at once. Missed slots
   are not caught up one by one: the next run is the first slot after the pass.
4. **Triggers.** A monitor that fired, outside its ``cooldown_hours`` since it last set
   something off, opens a trigger (``triggers``, whose unique key is the finding: one
   file, or one schedule slot). Each open trigger's actions run under a claim: an alert
   (:func:`rasad.automation.alerts.raise_alert`, deduplicated by the trigger's key) and/or
   a retraining (:func:`rasad.automation.pipeline.retrain`, which resumes from its last
   finished step), then the trigger is closed. A killed agent's trigger is taken over
   when its lease runs out.
5. **Deliveries.** Due alert deliveries are sent (:func:`rasad.automation.alerts.deliver_due`).
6. **Checkpoint.** When ``automation.agent.checkpoints`` (cron) has a slot not signed
   yet, one agent signs the ledger head (:func:`rasad.audit.checkpoint`).

Every piece of work is claimed (:mod:`rasad.automation.claims`) before it is done, with a
key naming it (``monitor:NAME:file:ID``, ``monitor:NAME:at:SLOT``, ``trigger:ID``,
``checkpoint:SLOT``), and finished after: any number of agents, started together or
restarted, do each piece once. A failure in one piece is reported in
:attr:`PassReport.problems` and does not stop the others.

:func:`serve_forever` makes a pass every ``interval`` seconds, with a health endpoint
(``GET /healthz``); SIGTERM stops it after the current pass.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from rasad.automation import claims
from rasad.automation.monitors import (
    Arrival,
    MonitorRun,
    MonitorStatus,
    monitor_model,
    parse_time,
    problems_of,
    run_monitor,
    time_text,
)
from rasad.config import FileSourceConfig
from rasad.errors import ConflictError, PermissionDenied, RasadError
from rasad.identity import Permission
from rasad.results import Result
from rasad.store import DatabaseBusy, DatabaseUnavailable
from rasad.store._tables import MonitorStateRow, SourceFileRow, TriggerRow, WorkClaimRow

if TYPE_CHECKING:
    from rasad.config import MonitorConfig
    from rasad.core import Context

log = logging.getLogger("rasad.automation")

ARRIVAL_HORIZON: Final = timedelta(days=7)
"""How far back an on-arrival monitor looks for files it has not judged yet.

Long enough to pick up the work of an agent that was down for a weekend; short enough
that a monitor added later does not judge the whole history of its source."""

RETRIED: Final = (PermissionDenied, DatabaseBusy, DatabaseUnavailable)
"""Errors that say nothing about the work itself: a role not granted yet, a database
busy or away. The work is released, not finished, and a later pass does it."""

REJECTED_SEVERITY: Final = "warning"
"""The severity of the alert a rejected file raises when no validation monitor watches
its source."""


class _Later(Exception):
    """Work that cannot be done now (another agent's claim still runs): released, not
    finished, so a later pass does it."""


class TriggerInfo(Result):
    """A trigger a pass opened or closed."""

    id: int
    key: str
    monitor: str
    summary: str
    actions: list[str]
    status: str
    outcome: dict[str, Any] = {}


class PassReport(Result):
    """What one pass did.

    ``problems`` lists the pieces of work that failed (each names the work and the
    error); a pass with problems still did the rest.
    """

    owner: str
    started_at: str
    finished_at: str
    ingested: list[dict[str, Any]] = []
    monitors: list[MonitorRun] = []
    cooled: list[str] = []
    deferred: list[str] = []
    triggers: list[TriggerInfo] = []
    deliveries: list[dict[str, Any]] = []
    checkpoint: dict[str, Any] | None = None
    problems: list[str] = []

    @property
    def ok(self) -> bool:
        """No piece of work failed."""
        return not self.problems


def run_pass(ctx: Context, *, owner: str, now: str | None = None) -> PassReport:
    """One pass over the due work of ``automation:`` (see the module notes).

    Parameters
    ----------
    ctx : Context
        Acting as the agent's principal (a service account; docs/automation.md names the
        roles it needs).
    owner : str
        This agent's name on its claims (``host:pid`` by default in ``rasad agent``).
    now : str, optional
        The time of the pass, ISO 8601 UTC: what schedules, windows and cooldowns count
        from. Default ``ctx.clock()``.

    Returns
    -------
    PassReport
        What was done; a piece of work that failed is listed in ``problems``. Work refused
        for a missing role, or for a database busy or away (:data:`RETRIED`), is left for
        a later pass; the principal's roles are read again at each pass.
    """
    # A fresh context over the same stores: the principal's roles are read again at each
    # pass, so a role granted to (or revoked from) a running agent counts from the next one.
    ctx = dataclasses.replace(ctx)
    started = now or ctx.clock()
    report: dict[str, Any] = {
        "owner": owner, "started_at": started, "ingested": [], "monitors": [], "cooled": [],
        "deferred": [], "triggers": [], "deliveries": [], "checkpoint": None, "problems": []}
    work = _Pass(ctx, owner, started, report)
    work.ingest()
    work.arrivals()
    work.schedules()
    work.triggers()
    work.deliver()
    work.checkpoint()
    return PassReport(**report, finished_at=ctx.clock())


class _Pass:
    """The state of one pass: who, when, and what it has done so far."""

    def __init__(self, ctx: Context, owner: str, now: str, report: dict[str, Any]) -> None:
        self.ctx = ctx
        self.owner = owner
        self.now = now
        self.report = report
        self.automation = ctx.config.automation
        self.lease = self.automation.agent.lease_seconds

    @contextmanager
    def attempt(self, what: str) -> Iterator[None]:
        """Do one piece of work; a rasad error becomes a problem of the pass."""
        try:
            yield
        except RasadError as exc:
            log.warning("%s failed: %s", what, exc)
            self.report["problems"].append(f"{what}: {exc}")

    # 1. ingest
    def ingest(self) -> None:
        from rasad.automation import sources

        for name, source in self.automation.sources.items():
            if not isinstance(source, FileSourceConfig):
                continue
            arrived: list[Any] = []
            with self.attempt(f"list new files of source {name!r}"):
                arrived = sources.list_new(self.ctx, name)
            for file in arrived:
                with self.attempt(f"ingest {file.path}"):
                    outcome = sources.ingest(self.ctx, name, file, owner=self.owner)
                    if outcome is not None:
                        self.report["ingested"].append({
                            "source": name, "path": file.path, "file_id": outcome.file_id,
                            "status": outcome.status, "dataset": outcome.dataset,
                            "version": outcome.version, "problems": list(outcome.problems)})

    # 2. arrivals
    def arrivals(self) -> None:
        # (A prediction_log source has no arrivals: rasad.yaml refuses on_arrival there.)
        watched = {m.source for m in self.automation.monitors.values()
                   if m.schedule == "on_arrival"}
        validated = {m.source for m in self.automation.monitors.values()
                     if m.kind == "validation" and m.schedule == "on_arrival"}
        files = {name for name, s in self.automation.sources.items()
                 if isinstance(s, FileSourceConfig)}
        if not files:
            return
        # seen_at is stamped by the clock, not by the pass's `now` (which a simulation may
        # set to another time): the horizon counts back from the clock too.
        since = time_text(parse_time(self.ctx.clock()) - ARRIVAL_HORIZON)
        with self.ctx.read() as session:
            rows = session.execute(
                select(SourceFileRow).where(SourceFileRow.source.in_(sorted(files)),
                                            SourceFileRow.seen_at >= since)
                .order_by(SourceFileRow.id)).scalars().all()
        work: list[tuple[str, str | None, Arrival]] = []
        for row in rows:
            arrival = Arrival(file_id=row.id, source=row.source, path=row.path,
                              status=row.status, dataset_version_id=row.dataset_version_id,
                              detail=row.detail)
            if row.source in watched:
                work += [(f"monitor:{name}:file:{row.id}", name, arrival)
                         for name, m in self.automation.monitors.items()
                         if m.schedule == "on_arrival" and m.source == row.source
                         and (row.status == "ingested" or m.kind == "validation")]
            if row.status == "rejected" and row.source not in validated:
                work.append((f"source:{row.source}:file:{row.id}", None, arrival))
        done = _finished(self.ctx, [key for key, _, _ in work])
        for key, monitor, arrival in work:
            if key in done:
                continue
            if monitor is None:
                self._claimed(key, f"alert on rejected file {arrival.path}",
                              partial(self._rejected, arrival))
            else:
                self._claimed(key, f"monitor {monitor!r} on {arrival.path}",
                              partial(self._run, monitor, None, arrival))

    # 3. schedules
    def schedules(self) -> None:

        scheduled = {name: m for name, m in self.automation.monitors.items()
                     if m.schedule != "on_arrival"}
        if not scheduled:
            return
        with self.ctx.read() as session:
            states = {row.monitor: row.next_run_at for row in session.execute(
                select(MonitorStateRow).where(MonitorStateRow.monitor.in_(sorted(scheduled)))
            ).scalars()}
        moment = parse_time(self.now)
        for name, config in scheduled.items():
            due = states.get(name)
            if due is None:  # never run: its latest slot is due now
                due = time_text(latest_slot(config.schedule, moment))
            if due > self.now:
                continue
            slot = time_text(parse_time(due))
            self._claimed(f"monitor:{name}:at:{slot}", f"monitor {name!r} (slot {slot})",
                          partial(self._run, name, slot, None))

    def _run(self, name: str, slot: str | None, arrival: Arrival | None) -> str:
        config = self.automation.monitors[name]
        run = run_monitor(self.ctx, name, now=self.now, arrival=arrival)
        self.report["monitors"].append(run)
        next_run = None
        if slot is not None:
            from croniter import croniter

            next_run = time_text(croniter(config.schedule, parse_time(self.now))
                                 .get_next(type(parse_time(self.now))))
        key = (f"{name}:file:{arrival.file_id}" if arrival is not None else f"{name}:at:{slot}")
        trigger = self._record(name, config, run, key, next_run)
        if trigger is not None:
            self.report["triggers"].append(trigger)
        if run.status is MonitorStatus.FAILED:
            self.report["problems"].append(f"monitor {name!r}: {run.summary}")
        return run.status.value

    def _record(self, name: str, config: MonitorConfig, run: MonitorRun, key: str,
                next_run: str | None) -> TriggerInfo | None:
        """Keep the run in the monitor's state; open a trigger if it fired outside the
        cooldown. One transaction, so two agents cannot both open one in a cooldown."""
        with self.ctx.transaction(Permission.MONITOR_WRITE,
                                  f"record a run of monitor {name!r}") as tx:
            state = tx.session.get(MonitorStateRow, name)
            if state is None:
                state = MonitorStateRow(monitor=name)
                tx.session.add(state)
            state.last_run_at = self.now
            state.last_status = run.status.value
            state.detail = run.summary[:2000]
            if run.result is not None:
                state.last_result_id = run.result.id
            if next_run is not None:
                state.next_run_at = next_run
            if not run.fired:
                return None
            if state.last_fired_at is not None and parse_time(state.last_fired_at) + timedelta(
                    hours=config.cooldown_hours) > parse_time(self.now):
                self.report["cooled"].append(
                    f"{name}: fired within its cooldown of {config.cooldown_hours:g} h "
                    f"(last at {state.last_fired_at}); nothing set off")
                return None
            if tx.session.execute(select(TriggerRow.id).where(TriggerRow.key == key)
                                  ).first() is not None:
                return None  # the same finding was recorded by another agent
            state.last_fired_at = self.now
            row = TriggerRow(key=key, monitor=name, kind=config.kind,
                             monitor_result_id=run.result.id if run.result else None,
                             source_file_id=run.source_file_id,
                             actions=json.dumps(list(config.actions)),
                             summary=run.summary[:2000], status="open", fired_at=self.now)
            tx.session.add(row)
            tx.session.flush()
            tx.record("automation.trigger", f"monitor:{name}", {
                "trigger": row.id, "key": key, "kind": config.kind,
                "monitor_result": row.monitor_result_id, "source_file": row.source_file_id,
                "actions": list(config.actions), "summary": run.summary[:500]})
            return _info(row)

    def _rejected(self, arrival: Arrival) -> str:
        """A rejected file no validation monitor watches: a trigger whose action is one alert."""
        key = f"source:{arrival.source}:file:{arrival.file_id}"
        summary = f"{arrival.path} was rejected: {'; '.join(arrival.problems) or 'invalid'}"
        with self.ctx.transaction(Permission.MONITOR_WRITE,
                                  f"record the rejected file {arrival.path}") as tx:
            if tx.session.execute(select(TriggerRow.id).where(TriggerRow.key == key)
                                  ).first() is not None:
                return "recorded"
            row = TriggerRow(key=key, monitor=arrival.source, kind="rejected_file",
                             source_file_id=arrival.file_id, actions=json.dumps(["alert"]),
                             summary=summary[:2000], status="open", fired_at=self.now)
            tx.session.add(row)
            tx.session.flush()
            tx.record("automation.trigger", f"source:{arrival.source}", {
                "trigger": row.id, "key": key, "kind": "rejected_file",
                "source_file": arrival.file_id, "actions": ["alert"],
                "summary": summary[:500]})
            self.report["triggers"].append(_info(row))
        return "triggered"

    # 4. triggers
    def triggers(self) -> None:
        with self.ctx.read() as session:
            rows = session.execute(select(TriggerRow).where(TriggerRow.status == "open")
                                   .order_by(TriggerRow.id)).scalars().all()
        for row in rows:
            self._claimed(f"trigger:{row.id}", f"actions of trigger {row.id} ({row.key})",
                          partial(self._act, row))

    def _act(self, row: TriggerRow) -> str:
        """Run a trigger's actions, then close it (``failed`` when one did not succeed)."""
        actions = json.loads(row.actions)
        outcome: dict[str, Any] = {}
        config = self.automation.monitors.get(row.monitor)
        failed = False
        if "alert" in actions:
            failed |= self._alert(row, config, outcome)
        if "retrain" in actions and config is not None:
            failed |= self._retrain(row, config, outcome)
        status = "failed" if failed else "done"
        with self.ctx.transaction(Permission.MONITOR_WRITE,
                                  f"close trigger {row.id}") as tx:
            stored = tx.session.get(TriggerRow, row.id)
            if stored is None or stored.status != "open":
                return "closed before"
            stored.status = status
            stored.closed_at = self.ctx.clock()
            tx.record("automation.trigger_closed", f"monitor:{row.monitor}", {
                "trigger": row.id, "key": row.key, "status": status, "outcome": outcome})
            info = _info(stored).model_copy(update={"outcome": outcome})
        self.report["triggers"].append(info)
        return status

    def _alert(self, row: TriggerRow, config: MonitorConfig | None,
               outcome: dict[str, Any]) -> bool:
        """Raise the trigger's alert (once: its dedupe key is the trigger's); True if it
        failed."""
        from rasad.automation import alerts

        try:
            alert = alerts.raise_alert(
                self.ctx, monitor=row.monitor,
                severity=config.severity if config is not None else REJECTED_SEVERITY,
                title=f"{row.monitor}: {row.summary}"[:300], body=_alert_body(self.ctx, row),
                dedupe_key=f"trigger:{row.key}", trigger_id=row.id,
                channels=config.channels if config is not None else None)
        except RETRIED:
            raise
        except RasadError as exc:
            outcome["alert"] = {"error": str(exc)[:500]}
            self.report["problems"].append(f"alert of trigger {row.id}: {exc}")
            return True
        outcome["alert"] = alert.id if alert is not None else "raised before"
        return False

    def _retrain(self, row: TriggerRow, config: MonitorConfig,
                 outcome: dict[str, Any]) -> bool:
        """Retrain the monitor's model (resuming finished steps); a retraining that stopped
        (bad data, training failed, gates blocked) raises an alert saying why. True if it
        did not succeed."""
        from rasad.automation import alerts, pipeline

        model = monitor_model(row.monitor, config, self.automation)
        try:
            result = pipeline.retrain(self.ctx, model, trigger_id=row.id, owner=self.owner)
        except ConflictError as exc:  # a step is still claimed (a killed agent's lease)
            raise _Later(f"retrain {model!r} (trigger {row.id}) waits: {exc}") from exc
        except RETRIED:
            raise
        except RasadError as exc:
            outcome["retrain"] = {"error": str(exc)[:500]}
            self.report["problems"].append(f"retrain {model!r} (trigger {row.id}): {exc}")
            return True
        outcome["retrain"] = {"status": str(result.status), "version": result.version,
                              "request_id": result.request_id, "reason": result.reason}
        if str(result.status) != "stopped":
            return False
        alerts.raise_alert(
            self.ctx, monitor=row.monitor, severity=config.severity,
            title=f"{row.monitor}: the retraining of {model} stopped: {result.reason}"[:300],
            body={**_alert_body(self.ctx, row), "model": model, "retraining": "stopped",
                  "reason": result.reason, "version": result.version,
                  "request_id": result.request_id},
            dedupe_key=f"trigger:{row.key}:retrain-stopped", trigger_id=row.id,
            channels=config.channels)
        return True

    # 5. deliveries
    def deliver(self) -> None:
        from rasad.automation import alerts

        with self.attempt("deliver alerts"):
            for delivery in alerts.deliver_due(self.ctx, owner=self.owner):
                self.report["deliveries"].append(_plain(delivery))

    # 6. checkpoint
    def checkpoint(self) -> None:
        cron = self.automation.agent.checkpoints
        if cron is None:
            return
        slot = time_text(latest_slot(cron, parse_time(self.now)))

        def sign() -> str:
            from rasad import audit

            result = audit.checkpoint(self.ctx)
            self.report["checkpoint"] = {"slot": slot, "seq": result.checkpoint.seq,
                                         "created": result.created}
            return f"signed {result.checkpoint.seq}"

        self._claimed(f"checkpoint:{slot}", f"checkpoint (slot {slot})", sign)

    # claims
    def _claimed(self, key: str, what: str, work: Callable[[], str]) -> None:
        """Do ``work`` if this agent wins the claim on ``key``; finish the claim after.

        A rasad error finishes the claim as failed (it is not retried forever: the next
        file or slot is new work), except those of :data:`RETRIED`, which release it for a
        later pass; any other exception releases the claim too, and propagates.
        """
        with self.attempt(what):
            if not claims.claim(self.ctx, key, owner=self.owner, lease_seconds=self.lease):
                return
            try:
                with _heartbeat(self.ctx, key, self.owner, self.lease):
                    outcome = work()
            except _Later as later:  # left for a later pass, by whichever agent claims it
                claims.release(self.ctx, key, owner=self.owner)
                self.report["deferred"].append(str(later))
                return
            except RETRIED as exc:  # fixed outside the work (a role, the database): retried
                with suppress(RasadError):  # if this fails too, the lease runs out
                    claims.release(self.ctx, key, owner=self.owner)
                raise exc
            except RasadError as exc:
                claims.finish(self.ctx, key, owner=self.owner, outcome=f"failed: {exc}"[:500])
                raise
            except BaseException:
                claims.release(self.ctx, key, owner=self.owner)
                raise
            claims.finish(self.ctx, key, owner=self.owner, outcome=outcome)


@contextmanager
def _heartbeat(ctx: Context, key: str, owner: str, lease: float) -> Iterator[None]:
    """Renew the lease on ``key`` every third of it while the work runs (a retraining can
    outlast a lease); a killed agent stops renewing, and its lease runs out."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease / 3):
            try:
                if not claims.renew(ctx, key, owner=owner, lease_seconds=lease):
                    return
            except RasadError as exc:  # the next beat tries again
                log.warning("renewing the lease on %s failed: %s", key, exc)

    thread = threading.Thread(target=beat, name=f"lease {key}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def latest_slot(cron: str, moment: datetime) -> datetime:
    """The latest time ``cron`` names at or before ``moment`` (croniter's own
    ``get_prev`` leaves out a slot equal to its start).

    >>> from datetime import UTC
    >>> latest_slot("0 * * * *", datetime(2026, 5, 5, 11, 0, tzinfo=UTC)).isoformat()
    '2026-05-05T11:00:00+00:00'
    >>> latest_slot("0 * * * *", datetime(2026, 5, 5, 10, 59, 59, tzinfo=UTC)).isoformat()
    '2026-05-05T10:00:00+00:00'
    """
    from croniter import croniter

    slot: datetime = croniter(cron, moment + timedelta(microseconds=1)).get_prev(datetime)
    return slot


def _finished(ctx: Context, keys: list[str]) -> set[str]:
    """Which of ``keys`` are finished work, in a few queries whatever their number."""
    done: set[str] = set()
    with ctx.read() as session:
        for start in range(0, len(keys), 500):
            batch = keys[start:start + 500]
            done.update(session.execute(
                select(WorkClaimRow.key).where(WorkClaimRow.key.in_(batch),
                                               WorkClaimRow.finished_at.is_not(None))
            ).scalars())
    return done


def _info(row: TriggerRow) -> TriggerInfo:
    return TriggerInfo(id=row.id, key=row.key, monitor=row.monitor, summary=row.summary,
                       actions=json.loads(row.actions), status=row.status)


def _alert_body(ctx: Context, row: TriggerRow) -> dict[str, Any]:
    """What an alert says: the finding, and where to look (never the data itself)."""
    body: dict[str, Any] = {"project": ctx.config.name, "monitor": row.monitor,
                            "kind": row.kind, "summary": row.summary, "trigger": row.id,
                            "fired_at": row.fired_at}
    if row.monitor_result_id is not None:
        body["monitor_result"] = row.monitor_result_id
        body["see"] = f"rasad monitor show {row.monitor_result_id}"
    if row.source_file_id is not None:
        with ctx.read() as session:
            file = session.get(SourceFileRow, row.source_file_id)
        if file is not None:
            body["file"] = file.path
            body["file_status"] = file.status
            problems = problems_of(file.detail)
            if problems:
                body["problems"] = problems[:20]
    return body


def _plain(value: Any) -> dict[str, Any]:
    """A value of another module as JSON-ready data (a Result, a dataclass)."""
    if hasattr(value, "to_dict"):
        data: dict[str, Any] = value.to_dict()
        return data
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return {"value": str(value)}


# --- the long-running agent -----------------------------------------------------------


class Health:
    """What ``GET /healthz`` reports: ``starting`` before the first pass, ``ok`` after
    a pass that ran, ``failing`` (HTTP 503) when the last pass raised."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.status = "starting"
        self.last_pass_at: str | None = None
        self.passes = 0
        self.last_error: str | None = None

    def passed(self, at: str) -> None:
        with self._lock:
            self.status, self.last_pass_at, self.last_error = "ok", at, None
            self.passes += 1

    def failed(self, error: str) -> None:
        with self._lock:
            self.status, self.last_error = "failing", error

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"status": self.status, "last_pass_at": self.last_pass_at,
                    "passes": self.passes, "last_error": self.last_error}


def health_server(health: Health, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """A tiny HTTP server answering ``GET /healthz`` with :meth:`Health.snapshot` as JSON
    (started by the caller: ``serve_forever`` on a thread)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "rasad-agent"
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            if self.path.split("?", 1)[0] != "/healthz":
                self._send(404, {"error": "not found; GET /healthz"})
                return
            snapshot = health.snapshot()
            self._send(503 if snapshot["status"] == "failing" else 200, snapshot)

        def _send(self, code: int, data: dict[str, Any]) -> None:
            body = json.dumps(data).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return  # probes every few seconds would flood the log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_forever(ctx: Context, owner: str, interval: float, health_port: int | None, *,
                  health_host: str = "0.0.0.0", stop: threading.Event | None = None,
                  on_pass: Callable[[PassReport], None] | None = None) -> int:
    """Make a pass every ``interval`` seconds until SIGTERM, SIGINT or ``stop``.

    A stop request lets the current pass finish (its claims are finished, not left to
    expire), then returns. ``health_port`` serves ``GET /healthz`` (0: any free port,
    None: no endpoint). A pass that raises is logged and marks the health ``failing``;
    the next pass runs as usual. ``on_pass`` sees each report (the CLI prints it).

    Returns
    -------
    int
        The number of passes made.
    """
    stop = stop or threading.Event()
    health = Health()
    server = None
    if health_port is not None:
        server = health_server(health, health_port, health_host)
        threading.Thread(target=server.serve_forever, name="agent health", daemon=True).start()
        log.info("health endpoint at http://%s:%d/healthz", health_host,
                 server.server_address[1])
    restore = _on_signals(stop)
    passes = 0
    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                report = run_pass(ctx, owner=owner)
            except Exception as exc:  # noqa: BLE001 - a service keeps running; the probe sees it
                log.exception("agent pass failed")
                health.failed(f"{type(exc).__name__}: {exc}"[:500])
            else:
                health.passed(report.finished_at)
                if on_pass is not None:
                    on_pass(report)
            passes += 1
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
    finally:
        restore()
        if server is not None:
            server.shutdown()
            server.server_close()
    return passes


def _on_signals(stop: threading.Event) -> Callable[[], None]:
    """Let SIGTERM and SIGINT set ``stop``; the previous handlers come back on return.

    Only the main thread may install handlers; elsewhere (a test's thread) ``stop`` alone
    ends the loop.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping after the current pass", signum)
        stop.set()

    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


__all__ = ["ARRIVAL_HORIZON", "Health", "PassReport", "TriggerInfo", "health_server",
           "run_pass", "serve_forever"]
