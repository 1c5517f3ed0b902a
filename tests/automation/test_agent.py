"""The agent's pass end to end on real projects (SQLite and PostgreSQL): files land, are
ingested once, judged on arrival, alerted once per cooldown, whatever the number of
agents; schedules, retraining, signed checkpoints, the long-running loop and its health
endpoint."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rasad import Project
from rasad.automation import claims
from rasad.automation.agent import Health, PassReport, health_server, run_pass, serve_forever
from rasad.automation.monitors import MonitorStatus
from rasad.automation.status import status
from rasad.core import Context
from rasad.examples import generate_portfolio
from rasad.store._tables import (
    AlertRow,
    DatasetVersionRow,
    MonitorResultRow,
    MonitorStateRow,
    SourceFileRow,
    TriggerRow,
)
from rasad.validation import infer_schema
from rasad.validation.service import save_schema
from tests.automation.test_claims import Clock
from tests.automation.test_monitors import (
    as_agent,
    automation,
    loans_file,
    log_predictions,
    make_project,
)

T0 = "2026-05-05T00:00:00.000000Z"


def count(project: Project, table: Any, *where: Any) -> int:
    with project.read() as session:
        return int(session.execute(select(func.count()).select_from(table).where(*where))
                   .scalar_one())


def sent(project: Project) -> list[dict[str, Any]]:
    """The alerts the file channel received, in order."""
    path = project.root / "alerts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_file_landing_is_ingested_judged_and_alerted_once(loans: Project,
                                                             agent: Context) -> None:
    loans_file(loans.root, "2025-03.csv", seed=9, income=3.0)
    report = run_pass(agent, owner="agent-1", now=T0)

    assert report.ok, report.problems
    [ingested] = report.ingested
    assert (ingested["status"], ingested["dataset"], ingested["version"]) == \
        ("ingested", "loans", 2)
    [run] = report.monitors
    assert run.monitor == "income-drift" and run.status is MonitorStatus.FIRED
    assert run.source_file_id == ingested["file_id"]
    assert [t.status for t in report.triggers] == ["open", "done"]
    [alert] = sent(loans)
    assert alert["monitor"] == "income-drift" and alert["severity"] == "warning"
    assert alert["body"]["file"].endswith("2025-03.csv")
    assert alert["body"]["monitor_result"] == run.result.id  # type: ignore[union-attr]
    assert "income" in alert["title"]
    # Nothing is done twice: the next pass finds no work.
    again = run_pass(agent, owner="agent-1", now=T0)
    assert (again.ingested, again.monitors, again.triggers, again.deliveries) == ([], [], [], [])
    assert len(sent(loans)) == 1
    assert count(loans, MonitorResultRow) == 1 and count(loans, TriggerRow) == 1
    seen = status(agent)
    [monitor] = seen.monitors
    assert (monitor.last_status, monitor.last_fired_at, monitor.next_run_at) == ("fired", T0, None)
    assert seen.open_triggers == []
    [line] = seen.alerts
    assert line.deliveries == {"sink": "sent"}
    actions = [e.action for e in loans.audit_log(subject="monitor:income-drift")]
    for action in ("monitor.result", "automation.trigger", "alert.raise",
                   "automation.trigger_closed"):
        assert actions.count(action) == 1, actions
    assert actions.index("automation.trigger") < actions.index("alert.raise") < \
        actions.index("automation.trigger_closed")
    assert loans.verify_audit().ok


def test_two_agents_in_one_pass_never_fire_twice(loans: Project) -> None:
    for month in range(5):
        loans_file(loans.root, f"m{month}.csv", seed=20 + month, income=3.0)
    contexts = [as_agent(loans) for _ in range(2)]
    reports: list[PassReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(ctx: Context, owner: str) -> None:
        try:
            start.wait()
            reports.append(run_pass(ctx, owner=owner, now=T0))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(ctx, f"agent-{i}"))
               for i, ctx in enumerate(contexts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    for ctx in contexts:
        ctx.close()
    assert errors == [] and len(reports) == 2
    assert all(r.ok for r in reports), [r.problems for r in reports]
    # Each file ingested by one agent, judged once, and one trigger in the cooldown.
    assert count(loans, SourceFileRow) == 5
    assert count(loans, DatasetVersionRow) == 6
    files = sorted(item["file_id"] for r in reports for item in r.ingested)
    assert len(set(files)) == 5
    judged = [run.source_file_id for r in reports for run in r.monitors]
    assert sorted(judged) == sorted(set(judged)) and len(judged) == 5
    assert count(loans, MonitorResultRow) == 5
    assert count(loans, TriggerRow) == 1 and count(loans, AlertRow) == 1
    assert len(sent(loans)) == 1
    cooled = [line for r in reports for line in r.cooled]
    assert len(cooled) == 4
    assert loans.verify_audit().ok


def test_the_cooldown_holds_back_a_second_finding(loans: Project, agent: Context) -> None:
    loans_file(loans.root, "a.csv", seed=31, income=3.0)
    first = run_pass(agent, owner="agent-1", now=T0)
    assert len({t.id for t in first.triggers}) == 1
    loans_file(loans.root, "b.csv", seed=32, income=3.0)
    within = run_pass(agent, owner="agent-1", now="2026-05-05T23:59:00.000000Z")
    [run] = within.monitors
    assert run.fired and within.triggers == []
    assert "cooldown of 24 h" in within.cooled[0]
    loans_file(loans.root, "c.csv", seed=33, income=3.0)
    after = run_pass(agent, owner="agent-1", now="2026-05-06T00:00:00.000000Z")
    assert len({t.id for t in after.triggers}) == 1
    assert len(sent(loans)) == 2 and count(loans, TriggerRow) == 2
    with loans.read() as session:
        state = session.get(MonitorStateRow, "income-drift")
        assert state is not None and state.last_fired_at == "2026-05-06T00:00:00.000000Z"


def test_a_killed_agents_claim_is_taken_over_once_its_lease_runs_out(
        loans: Project, agent: Context) -> None:
    loans_file(loans.root, "a.csv", seed=31, income=3.0)
    loans_file(loans.root, "b.csv", seed=32, income=3.0)
    report = run_pass(agent, owner="agent-1", now=T0)
    # A fresh pass sees the work of both files done; set up a killed agent's claims
    # on the work of two new files by hand: one lease still runs, one ran out.
    loans_file(loans.root, "c.csv", seed=33)
    loans_file(loans.root, "d.csv", seed=34)
    from rasad.automation import sources

    new = sources.list_new(agent, "incoming")
    outcomes = [sources.ingest(agent, "incoming", f, owner="dead") for f in new]
    ids = sorted(o.file_id for o in outcomes if o is not None)
    assert len(ids) == 2
    assert claims.claim(agent, f"monitor:income-drift:file:{ids[0]}", owner="dead",
                        lease_seconds=3600)
    assert claims.claim(agent, f"monitor:income-drift:file:{ids[1]}", owner="dead",
                        lease_seconds=0.05)
    time.sleep(0.2)
    later = run_pass(agent, owner="agent-2", now=T0)
    assert [run.source_file_id for run in later.monitors] == [ids[1]]
    assert report.ok and later.ok


def test_a_scheduled_monitor_runs_once_per_slot(backend: str, tmp_path: Path) -> None:
    section = automation(monitors={"live-accuracy": {
        "kind": "performance", "source": "live", "schedule": "0 6 * * *",
        "metrics": {"accuracy": {"min": 0.99}}, "cooldown_hours": 0}})
    with make_project(tmp_path / "p", section) as project:
        ctx = as_agent(project)
        log_predictions(ctx, 200, accuracy=0.8)
        first = run_pass(ctx, owner="a", now="2026-05-05T07:00:00.000000Z")
        assert [r.status for r in first.monitors] == [MonitorStatus.FIRED]
        assert run_pass(ctx, owner="a", now="2026-05-05T12:00:00.000000Z").monitors == []
        [monitor] = status(ctx).monitors
        assert monitor.next_run_at == "2026-05-06T06:00:00.000000Z"
        second = run_pass(ctx, owner="b", now="2026-05-06T06:30:00.000000Z")
        assert len(second.monitors) == 1
        # Missed slots are not caught up one by one: one run, then the next slot.
        third = run_pass(ctx, owner="b", now="2026-05-09T06:30:00.000000Z")
        assert len(third.monitors) == 1
        assert status(ctx).monitors[0].next_run_at == "2026-05-10T06:00:00.000000Z"
        assert count(project, TriggerRow) == 3 and len(sent(project)) == 3
        ctx.close()


def test_a_malformed_file_raises_one_alert_and_ingests_nothing(loans: Project,
                                                               agent: Context) -> None:
    everything = generate_portfolio(months=3, rows_per_month=300, seed=7)
    save_schema(loans.context, "loans", infer_schema(everything), source="inferred")
    broken = generate_portfolio(months=1, rows_per_month=50, seed=9).drop(columns=["income"])
    broken.to_csv(loans.root / "incoming" / "broken.csv", index=False)
    (loans.root / "incoming" / "garbage.csv").write_bytes(b"\x00\xff\x00 not,a\ncsv\x00")
    report = run_pass(agent, owner="agent-1", now=T0)

    assert sorted(i["status"] for i in report.ingested) == ["rejected", "rejected"]
    assert report.monitors == []  # nothing was ingested: nothing to judge for drift
    assert count(loans, DatasetVersionRow) == 1
    alerts = sent(loans)
    assert len(alerts) == 2
    broken_alert = next(a for a in alerts if a["body"]["file"].endswith("broken.csv"))
    assert broken_alert["monitor"] == "incoming" and broken_alert["body"]["problems"]
    assert "income" in json.dumps(broken_alert["body"]["problems"])
    again = run_pass(agent, owner="agent-2", now=T0)
    assert again.triggers == [] and len(sent(loans)) == 2


def test_a_firing_monitor_retrains_through_the_pipeline(backend: str, tmp_path: Path) -> None:
    section = automation(retraining={"credit": {}})
    section["monitors"]["income-drift"]["actions"] = ["alert", "retrain"]
    with make_project(tmp_path / "p", section) as project:
        ctx = as_agent(project)
        loans_file(project.root, "a.csv", seed=9, income=3.0)
        report = run_pass(ctx, owner="agent-1", now=T0)
        assert report.ok, report.problems
        done = report.triggers[-1]
        assert done.status == "done"
        assert done.outcome["retrain"]["version"] == 2
        assert done.outcome["retrain"]["status"] in ("deployed", "requested")
        assert project.model_version("credit").version == 2
        [event] = project.audit_log(action="automation.retrain")
        assert event.details["trigger_id"] == done.id
        assert event.details["monitor"] == "income-drift"
        ctx.close()


def test_the_agent_signs_a_checkpoint_once_per_slot(backend: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from rasad.ledger.keys import KEY_FILE_ENV, generate_key

    generate_key(tmp_path / "signing.pem")
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "signing.pem"))
    section = automation(agent={"checkpoints": "0 * * * *"})
    store = tmp_path / "checkpoints"
    with make_project(tmp_path / "p", section, audit={"checkpoints": str(store)},
                      roles=("data_scientist", "deployer", "auditor")) as project:
        ctx = as_agent(project)
        first = run_pass(ctx, owner="a", now="2026-05-05T10:30:00.000000Z")
        assert first.checkpoint is not None and first.checkpoint["created"]
        assert first.checkpoint["slot"] == "2026-05-05T10:00:00.000000Z"
        assert len(list(store.glob("*.json"))) == 1
        assert run_pass(ctx, owner="b", now="2026-05-05T10:59:00.000000Z").checkpoint is None
        loans_file(project.root, "a.csv", seed=9)  # the ledger moves on
        later = run_pass(ctx, owner="b", now="2026-05-05T11:00:00.000000Z")
        assert later.checkpoint is not None and later.checkpoint["created"]
        assert len(list(store.glob("*.json"))) == 2
        assert project.verify_audit().ok
        ctx.close()


def test_a_checkpoint_the_agent_may_not_sign_waits_for_the_role(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rasad.identity import Role
    from rasad.ledger.keys import KEY_FILE_ENV, generate_key

    generate_key(tmp_path / "signing.pem")
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "signing.pem"))
    section = automation(agent={"checkpoints": "0 * * * *"})
    with make_project(tmp_path / "p", section, audit={"checkpoints": str(tmp_path / "c")}
                      ) as project:
        ctx = as_agent(project)
        report = run_pass(ctx, owner="a", now=T0)
        assert not report.ok and report.checkpoint is None
        assert any("checkpoint" in p and "audit.checkpoint" in p for p in report.problems)
        # Refused, not done: the same slot is signed once the role is granted.
        project.grant("agent", Role.AUDITOR)
        later = run_pass(ctx, owner="a", now=T0)
        assert later.ok, later.problems
        assert later.checkpoint is not None and later.checkpoint["created"]
        assert later.checkpoint["slot"] == T0
        ctx.close()


def test_one_failing_monitor_does_not_stop_the_others(backend: str, tmp_path: Path) -> None:
    section = automation()
    section["monitors"]["broken"] = {"kind": "performance", "source": "live",
                                     "schedule": "* * * * *",
                                     "metrics": {"rmse": {"max": 1.0}}}
    with make_project(tmp_path / "p", section) as project:
        ctx = as_agent(project)
        log_predictions(ctx, 60)
        loans_file(project.root, "a.csv", seed=9, income=3.0)
        report = run_pass(ctx, owner="a", now=T0)
        statuses = {run.monitor: run.status for run in report.monitors}
        assert statuses == {"income-drift": MonitorStatus.FIRED,
                            "broken": MonitorStatus.FAILED}
        assert len(report.problems) == 1 and "broken" in report.problems[0]
        assert len(sent(project)) == 1
        ctx.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_serve_forever_passes_until_stopped_with_a_health_endpoint(
        loans: Project, agent: Context) -> None:
    port = free_port()
    stop = threading.Event()
    reports: list[PassReport] = []
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(serve_forever(
        agent, "agent-1", 0.05, port, health_host="127.0.0.1", stop=stop,
        on_pass=reports.append)))
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(reports) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        code, health = get(f"http://127.0.0.1:{port}/healthz")
        assert code == 200 and health["status"] == "ok"
        assert health["last_pass_at"] is not None and health["passes"] >= 2
        assert get(f"http://127.0.0.1:{port}/other")[0] == 404
        loans_file(loans.root, "a.csv", seed=9, income=3.0)
        while not sent(loans) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(sent(loans)) == 1
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive() and result and result[0] >= 2
    with pytest.raises(OSError):  # the endpoint is closed with the loop
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_health_reports_starting_then_failing_with_503() -> None:
    health = Health()
    server = health_server(health, 0, "127.0.0.1")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
    try:
        assert get(url) == (200, {"status": "starting", "last_pass_at": None, "passes": 0,
                                  "last_error": None})
        health.failed("DatabaseUnavailable: no database")
        code, body = get(url)
        assert code == 503 and body["status"] == "failing"
        health.passed("2026-05-05T00:00:00.000000Z")
        assert get(url)[1]["status"] == "ok"
    finally:
        server.shutdown()
        server.server_close()


def test_work_longer_than_its_lease_keeps_its_claim(loans: Project, agent: Context) -> None:
    from rasad.automation.agent import _heartbeat

    # The lease is read on a clock the test moves, so a slow machine cannot let it lapse
    # between two beats: only the heartbeat's own renewals move lease_until.
    clock = Clock()
    ctx = dataclasses.replace(agent, clock=clock)

    def lease_until() -> str | None:
        claim = claims.get_claim(ctx, "trigger:99")
        return None if claim is None else claim.lease_until

    assert claims.claim(ctx, "trigger:99", owner="agent-1", lease_seconds=0.3)
    with _heartbeat(ctx, "trigger:99", "agent-1", 0.3):
        clock.advance(60)  # two hundred leases long: only a renewal keeps the claim
        renewed = claims.lease_end(clock.now, 0.3)
        deadline = time.monotonic() + 60
        while lease_until() != renewed and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lease_until() == renewed
        assert not claims.claim(ctx, "trigger:99", owner="agent-2", lease_seconds=0.3)
    clock.advance(1)  # no heartbeat any more: the lease runs out, as a killed agent's does
    assert claims.claim(ctx, "trigger:99", owner="agent-2", lease_seconds=0.3)


def test_a_retraining_that_stops_closes_its_trigger_as_failed_and_alerts(
        backend: str, tmp_path: Path) -> None:
    # The retraining reads a dataset without the target: training stops.
    section = automation(retraining={"credit": {"dataset": "odd"}})
    section["monitors"]["income-drift"]["actions"] = ["retrain"]
    with make_project(tmp_path / "p", section) as project:
        odd = generate_portfolio(months=1, rows_per_month=200, seed=5).drop(columns=["default"])
        project.add_dataset(odd, "odd")
        ctx = as_agent(project)
        loans_file(project.root, "a.csv", seed=9, income=3.0)
        report = run_pass(ctx, owner="agent-1", now=T0)
        closed = report.triggers[-1]
        assert closed.status == "failed"
        assert closed.outcome["retrain"]["status"] == "stopped"
        [alert] = sent(project)
        assert "the retraining of credit stopped" in alert["title"]
        assert alert["body"]["retraining"] == "stopped" and alert["body"]["reason"]
        assert run_pass(ctx, owner="agent-2", now=T0).triggers == []
        assert len(sent(project)) == 1
        ctx.close()
