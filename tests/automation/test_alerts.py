"""Alerts on SQLite and PostgreSQL: raised once per dedupe key with their audit event,
delivered by exactly one agent, retried with exponential back-off on a clock the test
moves, given up after ``retries``, taken over when an agent dies mid-send (kill -9 of a
real process). Receivers are real: an HTTP server in a thread and the file sink.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rasad import Project
from rasad.automation.alerts import (
    Alert,
    Delivery,
    DeliveryStatus,
    Severity,
    alerts,
    deliver_due,
    raise_alert,
)
from rasad.config import AutomationConfig
from rasad.core import Context
from rasad.errors import InputError, PermissionDenied
from rasad.identity import PrincipalKind, Role
from rasad.identity.service import add_principal
from rasad.ledger import AuditEvent, events
from tests.automation.test_channels import Receiver, verify

T0 = "2026-12-06T10:00:00.000000Z"
FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
SECRET = "whsec-alerts-test-do-not-leak"


class Clock:
    """A clock the test moves (``ctx.clock``)."""

    def __init__(self, start: str = T0) -> None:
        self.now = datetime.strptime(start, FORMAT).replace(tzinfo=UTC)

    def __call__(self) -> str:
        return self.now.strftime(FORMAT)

    def at(self, seconds: float) -> Clock:
        """Set to ``seconds`` after T0."""
        self.now = datetime.strptime(T0, FORMAT).replace(tzinfo=UTC) + timedelta(
            seconds=seconds)
        return self


def after(seconds: float) -> str:
    return (datetime.strptime(T0, FORMAT).replace(tzinfo=UTC)
            + timedelta(seconds=seconds)).strftime(FORMAT)


def automation(channels: dict[str, Any], *, retries: int = 2, backoff: float = 10.0,
               lease: float = 60.0) -> AutomationConfig:
    return AutomationConfig.model_validate({
        "alerts": {"channels": channels, "retries": retries, "backoff_seconds": backoff},
        "agent": {"lease_seconds": lease}})


def context(project: Project, channels: dict[str, Any], clock: Clock | None = None,
            **options: Any) -> Context:
    config = project.config.model_copy(update={"automation": automation(channels, **options)})
    return dataclasses.replace(project.context, config=config, clock=clock or Clock())


def second_agent(ctx: Context) -> Context:
    """Another agent on the same project: its own database connections."""
    other = Context.build(ctx.root, ctx.config, actor=ctx.actor)
    return dataclasses.replace(other, clock=ctx.clock)


def audit(ctx: Context, action: str) -> list[AuditEvent]:
    with ctx.read() as session:
        return events(session, action=action)


def table_counts(ctx: Context) -> tuple[int, int, int]:
    import sqlalchemy as sa

    with ctx.read() as session:
        return tuple(session.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                     for table in ("alerts", "alert_deliveries", "audit_events"))  # type: ignore[return-value]


def raise_one(ctx: Context, key: str = "income-drift:2026-12-06", **changes: Any) -> Alert:
    values: dict[str, Any] = {"monitor": "income-drift", "severity": "warning",
                              "title": "Income drifted", "body": {"psi": 0.31},
                              "dedupe_key": key}
    values.update(changes)
    alert = raise_alert(ctx, **values)
    assert alert is not None
    return alert


@pytest.fixture
def hook(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    return {"kind": "webhook", "url": receiver.url, "secret_env": "HOOK_SECRET",
            "timeout_seconds": 5.0}


@pytest.fixture
def receiver() -> Any:
    server = Receiver()
    yield server
    server.close()


# --- raising -------------------------------------------------------------------------------


def test_raise_records_the_alert_its_deliveries_and_one_audit_event(
        project: Project, hook: dict[str, Any]) -> None:
    ctx = context(project, {"ops": hook, "sink": {"kind": "file"}})
    alert = raise_one(ctx, trigger_id=None)

    assert alert.monitor == "income-drift" and alert.severity is Severity.WARNING
    assert alert.body == {"psi": 0.31} and alert.created_at == T0
    assert [(d.channel, d.status, d.attempts, d.next_attempt_at) for d in alert.deliveries] \
        == [("ops", DeliveryStatus.PENDING, 0, T0), ("sink", DeliveryStatus.PENDING, 0, T0)]
    assert alerts(ctx) == [alert]
    [event] = audit(ctx, "alert.raise")
    assert event.subject == "monitor:income-drift" and event.actor == "tester"
    assert event.details["alert_id"] == alert.id
    assert event.details["channels"] == ["ops", "sink"]
    assert event.details["dedupe_key"] == "income-drift:2026-12-06"
    assert len(event.details["body_sha256"]) == 64


def test_a_second_raise_with_the_same_dedupe_key_writes_nothing(
        project: Project, hook: dict[str, Any]) -> None:
    ctx = context(project, {"ops": hook})
    first = raise_one(ctx)
    before = table_counts(ctx)
    again = raise_alert(ctx, monitor="other", severity="critical", title="Another",
                        body={}, dedupe_key="income-drift:2026-12-06")
    assert again is None
    assert table_counts(ctx) == before
    assert alerts(ctx) == [first]


def test_two_agents_raising_the_same_finding_at_once_make_one_alert(
        project: Project, hook: dict[str, Any]) -> None:
    ctx = context(project, {"ops": hook})
    agents = [ctx, second_agent(ctx), second_agent(ctx)]
    start = threading.Barrier(len(agents))
    results: list[Alert | None] = []

    def run(agent: Context) -> None:
        start.wait()
        results.append(raise_alert(agent, monitor="income-drift", severity="warning",
                                   title="Income drifted", body={}, dedupe_key="same"))

    threads = [threading.Thread(target=run, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for agent in agents[1:]:
        agent.close()
    assert sorted(r is None for r in results) == [False, True, True]
    assert len(alerts(ctx)) == 1 and len(audit(ctx, "alert.raise")) == 1


def test_channels_default_to_every_channel_or_name_some(project: Project,
                                                       hook: dict[str, Any]) -> None:
    ctx = context(project, {"ops": hook, "sink": {"kind": "file"}})
    alert = raise_one(ctx, channels=["sink", "sink"])
    assert [d.channel for d in alert.deliveries] == ["sink"]


BAD_INPUT = [
    ({"channels": ["ops", "pager"]}, r"'pager' not in automation.alerts.channels.*\(ops\)"),
    ({"severity": "urgent"}, "severity 'urgent' is not one of info, warning, critical"),
    ({"title": "  "}, "empty title"),
    ({"dedupe_key": ""}, "empty dedupe_key"),
    ({"dedupe_key": "k" * 401}, "at most 400"),
    ({"monitor": "../etc"}, "Monitor name '../etc' is not allowed"),
    ({"body": {"when": datetime(2026, 1, 1)}}, "Alert body .* is not JSON"),
]


def test_bad_input_is_refused_and_writes_nothing(project: Project,
                                                 hook: dict[str, Any]) -> None:
    ctx = context(project, {"ops": hook})
    before = table_counts(ctx)
    for change, message in BAD_INPUT:
        values: dict[str, Any] = {"monitor": "m", "severity": "info", "title": "t",
                                  "body": {}, "dedupe_key": "k", **change}
        with pytest.raises(InputError, match=message):
            raise_alert(ctx, **values)
    assert table_counts(ctx) == before


def test_a_viewer_can_neither_raise_nor_deliver(project: Project, hook: dict[str, Any]) -> None:
    ctx = context(project, {"ops": hook})
    raise_one(ctx)
    visitor = dataclasses.replace(ctx, actor="visitor")  # not a principal: a viewer
    with pytest.raises(PermissionDenied):
        raise_one(visitor, key="other")
    with pytest.raises(PermissionDenied):
        deliver_due(visitor, owner="agent-1")
    assert [d.status for d in alerts(ctx)[0].deliveries] == [DeliveryStatus.PENDING]


# --- delivering ----------------------------------------------------------------------------


def test_the_agent_service_account_delivers_and_the_outcome_is_audited(
        project: Project, hook: dict[str, Any], receiver: Receiver) -> None:
    add_principal(project.context, "agent", kind=PrincipalKind.SERVICE,
                  roles=[Role.DATA_SCIENTIST, Role.DEPLOYER])
    ctx = dataclasses.replace(context(project, {"ops": hook, "sink": {"kind": "file"}}),
                              actor="agent")
    alert = raise_one(ctx)
    ctx.clock.at(2)  # type: ignore[attr-defined]
    delivered = deliver_due(ctx, owner="agent-1")

    assert sorted((d.channel, d.status, d.attempts, d.delivered_at) for d in delivered) == [
        ("ops", DeliveryStatus.SENT, 1, after(2)), ("sink", DeliveryStatus.SENT, 1, after(2))]
    [got] = receiver.received
    sent = verify(got, SECRET)
    assert sent == {"project": "test", "alert_id": alert.id, "monitor": "income-drift",
                    "severity": "warning", "title": "Income drifted", "body": {"psi": 0.31},
                    "created_at": T0}
    [line] = (project.root / ".rasad" / "alerts.jsonl").read_text().splitlines()
    assert json.loads(line) == {**sent, "sent_at": after(2)}
    outcomes = audit(ctx, "alert.deliver")
    assert sorted((e.subject, e.actor, e.details["channel"], e.details["status"],
                   e.details["agent"]) for e in outcomes) == [
        ("monitor:income-drift", "agent", "ops", "sent", "agent-1"),
        ("monitor:income-drift", "agent", "sink", "sent", "agent-1")]
    assert deliver_due(ctx, owner="agent-1") == []  # nothing is sent twice
    assert len(receiver.received) == 1
    assert SECRET not in json.dumps([e.details for e in audit(ctx, "alert.deliver")])


def test_a_receiver_failing_twice_gets_it_on_the_third_attempt_after_back_off(
        project: Project, hook: dict[str, Any], receiver: Receiver) -> None:
    receiver.statuses = [500, 502]
    clock = Clock()
    ctx = context(project, {"ops": hook}, clock, retries=2, backoff=10.0)
    raise_one(ctx)

    [first] = deliver_due(ctx, owner="a")
    assert (first.status, first.attempts, first.next_attempt_at) == (
        DeliveryStatus.PENDING, 1, after(10))  # backoff * 2**0
    assert "HTTP 500" in (first.last_error or "")

    clock.at(9.999999)
    assert deliver_due(ctx, owner="a") == [] and len(receiver.received) == 1
    clock.at(10)
    [second] = deliver_due(ctx, owner="a")
    assert (second.status, second.attempts, second.next_attempt_at) == (
        DeliveryStatus.PENDING, 2, after(30))  # 10 s later, then backoff * 2**1
    assert "HTTP 502" in (second.last_error or "")

    clock.at(29.9)
    assert deliver_due(ctx, owner="a") == [] and len(receiver.received) == 2
    clock.at(31)
    [third] = deliver_due(ctx, owner="a")
    assert (third.status, third.attempts, third.delivered_at, third.next_attempt_at) == (
        DeliveryStatus.SENT, 3, after(31), None)
    assert len(receiver.received) == 3
    assert len({r.body for r in receiver.received}) == 1  # the same message each time
    for got in receiver.received:
        verify(got, SECRET)
    assert [e.details["status"] for e in audit(ctx, "alert.deliver")] == ["sent"]
    [alert] = alerts(ctx)
    assert alert.deliveries == [third]


def test_a_receiver_always_failing_fails_after_the_retries(
        project: Project, hook: dict[str, Any], receiver: Receiver) -> None:
    receiver.default = 500
    clock = Clock()
    ctx = context(project, {"ops": hook}, clock, retries=2, backoff=10.0)
    raise_one(ctx)
    seen: list[Delivery] = []
    for moment in (0, 10, 30, 70, 10_000):
        clock.at(moment)
        seen += deliver_due(ctx, owner="a")
    assert [(d.status, d.attempts) for d in seen] == [
        (DeliveryStatus.PENDING, 1), (DeliveryStatus.PENDING, 2), (DeliveryStatus.FAILED, 3)]
    assert len(receiver.received) == 3  # 1 + retries attempts, then no more
    failed = seen[-1]
    assert failed.next_attempt_at is None and failed.delivered_at is None
    assert failed.last_error is not None and "HTTP 500" in failed.last_error
    assert "path-secret" not in failed.last_error and SECRET not in failed.last_error
    [event] = audit(ctx, "alert.deliver")
    assert (event.details["status"], event.details["channel"], event.details["attempts"]) \
        == ("failed", "ops", 3)
    assert event.details["error"] == failed.last_error


def test_no_retries_means_the_first_failure_is_final(
        project: Project, hook: dict[str, Any], receiver: Receiver) -> None:
    receiver.default = 500
    ctx = context(project, {"ops": hook}, retries=0)
    raise_one(ctx)
    [only] = deliver_due(ctx, owner="a")
    assert (only.status, only.attempts) == (DeliveryStatus.FAILED, 1)


def test_one_channel_failing_does_not_hold_back_another(
        project: Project, hook: dict[str, Any], receiver: Receiver) -> None:
    receiver.default = 500
    ctx = context(project, {"ops": hook, "sink": {"kind": "file"}})
    raise_one(ctx)
    by_channel = {d.channel: d.status for d in deliver_due(ctx, owner="a")}
    assert by_channel == {"ops": DeliveryStatus.PENDING, "sink": DeliveryStatus.SENT}


def test_a_dead_url_times_out_fast_and_is_retried(project: Project) -> None:
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        dead.listen(8)
        url = f"http://127.0.0.1:{dead.getsockname()[1]}/hook"
        ctx = context(project, {"ops": {"kind": "webhook", "url": url,
                                        "timeout_seconds": 0.3}})
        raise_one(ctx)
        started = time.monotonic()
        [attempt] = deliver_due(ctx, owner="a")
        assert time.monotonic() - started < 3.0
    assert attempt.status is DeliveryStatus.PENDING
    assert "timed out" in (attempt.last_error or "").lower() \
        or "timeout" in (attempt.last_error or "").lower()


def test_a_channel_removed_from_the_config_fails_for_good(
        project: Project, hook: dict[str, Any], receiver: Receiver) -> None:
    ctx = context(project, {"ops": hook, "sink": {"kind": "file"}})
    raise_one(ctx)
    fewer = context(project, {"sink": {"kind": "file"}})
    by_channel = {d.channel: d for d in deliver_due(fewer, owner="a")}
    assert by_channel["ops"].status is DeliveryStatus.FAILED
    assert "'ops' is no longer in automation.alerts.channels (sink)" in (
        by_channel["ops"].last_error or "")
    assert by_channel["sink"].status is DeliveryStatus.SENT
    assert receiver.received == []


def test_two_agents_delivering_at_once_send_each_alert_once(
        project: Project, hook: dict[str, Any], receiver: Receiver) -> None:
    ctx = context(project, {"ops": hook, "sink": {"kind": "file"}})
    for n in range(12):
        raise_one(ctx, key=f"k{n}")
    other = second_agent(ctx)
    start = threading.Barrier(2)
    results: dict[str, list[Delivery]] = {}

    def run(agent: Context, owner: str) -> None:
        start.wait()
        results[owner] = deliver_due(agent, owner=owner)

    threads = [threading.Thread(target=run, args=(agent, owner))
               for agent, owner in ((ctx, "agent-1"), (other, "agent-2"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.close()

    posted = Counter(json.loads(r.body)["alert_id"] for r in receiver.received)
    ids = {a.id for a in alerts(ctx)}
    assert posted == Counter({i: 1 for i in ids})
    lines = (project.root / ".rasad" / "alerts.jsonl").read_text().splitlines()
    assert Counter(json.loads(line)["alert_id"] for line in lines) == Counter(
        {i: 1 for i in ids})
    done = results["agent-1"] + results["agent-2"]
    assert len(done) == 24 and {d.status for d in done} == {DeliveryStatus.SENT}
    assert len({(d.alert_id, d.channel) for d in done}) == 24
    assert len(audit(ctx, "alert.deliver")) == 24


def test_an_attempt_that_outlives_its_lease_is_taken_over_and_its_outcome_dropped(
        project: Project, hook: dict[str, Any], receiver: Receiver) -> None:
    hook["timeout_seconds"] = 20.0  # the lease: 60 s + 4 x 20 s of timeouts
    slow_clock = Clock()
    slow = context(project, {"ops": hook}, slow_clock, lease=60.0)
    raise_one(slow)
    receiver.hang = True
    outcome: list[list[Delivery]] = []
    stuck = threading.Thread(target=lambda: outcome.append(deliver_due(slow, owner="slow")))
    stuck.start()
    assert receiver.got_one.wait(10)

    fast = context(project, {"ops": hook}, Clock().at(139.9), lease=60.0)
    assert deliver_due(fast, owner="fast") == []  # the lease holds
    fast.clock.at(140)  # type: ignore[attr-defined]
    receiver.hang = False
    [taken] = deliver_due(fast, owner="fast")
    assert (taken.status, taken.attempts) == (DeliveryStatus.SENT, 2)

    receiver.release.set()  # the stuck attempt ends (the server hangs up: a failure)
    stuck.join(30)
    assert outcome == [[]]  # its failure is not recorded over the takeover's success
    [alert] = alerts(slow)
    assert (alert.deliveries[0].status, alert.deliveries[0].attempts) == (
        DeliveryStatus.SENT, 2)
    assert [e.details["agent"] for e in audit(slow, "alert.deliver")] == ["fast"]


AGENT_SCRIPT = textwrap.dedent("""
    import sys
    from rasad import Project
    from rasad.automation.alerts import deliver_due

    project = Project.open(sys.argv[1])
    deliver_due(project.context, owner="doomed")
""")


@pytest.mark.parametrize("retries", [2, 0])
def test_a_killed_agents_delivery_is_taken_over_after_its_lease(
        project: Project, hook: dict[str, Any], receiver: Receiver, retries: int) -> None:
    config = (project.root / "rasad.yaml")
    config.write_text(config.read_text() + textwrap.dedent(f"""
        automation:
          alerts:
            retries: {retries}
            channels:
              ops: {{kind: webhook, url: "{hook['url']}", secret_env: HOOK_SECRET}}
          agent:
            lease_seconds: 60
        """))
    reopened = Project.open(project.root)
    start = datetime.now(UTC)
    clock = Clock(start.strftime(FORMAT))
    ctx = dataclasses.replace(reopened.context, clock=clock)
    try:
        alert = raise_one(ctx)
        receiver.hang = True
        agent = subprocess.Popen([sys.executable, "-c", AGENT_SCRIPT, str(project.root)],
                                 env=os.environ.copy())
        try:
            assert receiver.got_one.wait(60), "the doomed agent never sent"
        finally:
            agent.send_signal(signal.SIGKILL)
            agent.wait(10)
        receiver.hang = False
        [held] = alerts(ctx)[0].deliveries
        assert (held.status, held.attempts) == (DeliveryStatus.SENDING, 1)

        assert deliver_due(ctx, owner="survivor") == []  # its lease has not run out
        clock.now = start + timedelta(minutes=10)
        [after_crash] = deliver_due(ctx, owner="survivor")
        if retries:
            assert (after_crash.status, after_crash.attempts) == (DeliveryStatus.SENT, 2)
            assert len(receiver.received) == 2  # at least once: the receiver drops repeats
            assert {json.loads(r.body)["alert_id"] for r in receiver.received} == {alert.id}
            assert "stopped before recording" in (after_crash.last_error or "")
        else:  # no retries left: the lost attempt was the only one
            assert (after_crash.status, after_crash.attempts) == (DeliveryStatus.FAILED, 1)
            assert "stopped before recording" in (after_crash.last_error or "")
            assert len(receiver.received) == 1
        [event] = audit(ctx, "alert.deliver")
        assert event.details["agent"] == "survivor"
    finally:
        reopened.close()


# --- listing -------------------------------------------------------------------------------


def test_alerts_lists_newest_first_by_monitor_with_a_limit(project: Project) -> None:
    ctx = context(project, {"sink": {"kind": "file"}})
    made = [raise_one(ctx, key=f"k{n}", monitor=m)
            for n, m in enumerate(["a", "b", "a", "a"])]
    assert [a.id for a in alerts(ctx)] == [m.id for m in reversed(made)]
    assert [a.id for a in alerts(ctx, monitor="a", limit=2)] == [made[3].id, made[2].id]
    assert alerts(ctx, monitor="nobody") == []
    with pytest.raises(InputError, match="limit=0"):
        alerts(ctx, limit=0)
    assert Alert.from_json(made[0].to_json()) == made[0]
