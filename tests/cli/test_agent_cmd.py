"""``rasad agent`` and ``rasad agent status`` on real projects: one pass with ``--once``
(exit 0, or 1 when a piece of work failed), the long-running agent stopped by SIGTERM
after its pass, and the status as a table or JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rasad import Project
from rasad.cli.agent_cmd import default_owner
from tests.automation.test_monitors import automation, loans_file, make_project
from tests.cli._helpers import Cli


@pytest.fixture
def loans(backend: str, tmp_path: Path) -> Iterator[Project]:
    with make_project(tmp_path / "proj", automation()) as project:
        yield project


@pytest.fixture
def rasad(loans: Project, capsys: pytest.CaptureFixture[str],
          monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("RASAD_USER", "agent")
    return Cli(capsys, loans.root)


def test_once_makes_one_pass_and_exits_0(rasad: Cli, loans: Project) -> None:
    loans_file(loans.root, "m1.csv", seed=9, income=3.0)
    done = rasad.ok("agent", "--once", "--owner", "cron-1")
    assert "Pass by cron-1" in done.out and "1 file ingested, 1 monitor run (1 fired)" in done.out
    assert "monitor income-drift: fired, drift in income" in done.out
    assert len((loans.root / "alerts.jsonl").read_text().splitlines()) == 1
    again = rasad.ok("agent", "--once", "--json")
    report = json.loads(again.out)
    assert report["owner"] == default_owner() and report["monitors"] == []
    assert report["problems"] == []
    assert len((loans.root / "alerts.jsonl").read_text().splitlines()) == 1


def test_status_shows_monitors_triggers_requests_and_alerts(rasad: Cli,
                                                             loans: Project) -> None:
    before = rasad.ok("agent", "status")
    assert "income-drift" in before.out and "never" in before.out
    assert "No open triggers." in before.out and "No alerts." in before.out
    loans_file(loans.root, "m1.csv", seed=9, income=3.0)
    rasad.ok("agent", "--once")
    found = rasad.ok("agent", "status", "--json").json()
    [monitor] = found["monitors"]
    assert (monitor["name"], monitor["last_status"], monitor["schedule"]) == \
        ("income-drift", "fired", "on_arrival")
    assert found["open_triggers"] == [] and found["pending_requests"] == []
    [alert] = found["alerts"]
    assert alert["deliveries"] == {"sink": "sent"} and alert["monitor"] == "income-drift"
    table = rasad.ok("agent", "status")
    assert "sink: sent" in table.out and "fired" in table.out


def test_a_failed_piece_of_work_exits_1_and_says_which(rasad: Cli, loans: Project) -> None:
    # The agent account may not sign checkpoints (no auditor role): that piece fails.
    config = loans.root / "rasad.yaml"
    text = config.read_text().replace("automation:\n", "automation:\n  agent: {checkpoints: "
                                      "'0 * * * *'}\n", 1)
    config.write_text(text + f"audit: {{checkpoints: {loans.root / 'cp'}}}\n")
    done = rasad("agent", "--once")
    assert done.code == 1, str(done)
    assert "problem:" in done.err and "checkpoint" in done.err


def test_the_agent_runs_where_the_project_is(rasad: Cli,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASAD_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RASAD_TOKEN", "t")
    done = rasad("agent", "--once", "--json")
    assert done.code == 2 and "unset RASAD_URL" in done.err
    assert json.loads(done.out)["error"]["type"] == "InputError"


def test_sigterm_stops_the_service_after_its_pass(loans: Project) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    loans_file(loans.root, "m1.csv", seed=9, income=3.0)
    env = {**os.environ, "RASAD_USER": "agent"}
    agent = subprocess.Popen(
        [str(Path(sys.executable).parent / "rasad"), "--project", str(loans.root), "agent",
         "--health-port", str(port), "--health-host", "127.0.0.1", "--interval", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        health: dict[str, object] = {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz",
                                            timeout=2) as response:
                    health = json.loads(response.read())
                if health.get("passes", 0) >= 1:  # type: ignore[operator]
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert health.get("status") == "ok", health
        agent.send_signal(signal.SIGTERM)
        out, err = agent.communicate(timeout=60)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.communicate()
    assert agent.returncode == 0, err
    assert "Stop with Ctrl-C or SIGTERM" in err
    assert "monitor income-drift: fired" in out
    assert len((loans.root / "alerts.jsonl").read_text().splitlines()) == 1


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_agent_processes_started_together_ingest_and_retrain_once(
        backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import func, select

    from rasad.store._tables import AlertRow, ModelVersionRow, RunRow, SourceFileRow

    section = automation(retraining={"credit": {"request_to": "production"}})
    section["monitors"]["income-drift"]["actions"] = ["alert", "retrain"]
    with make_project(tmp_path / "p", section) as project:
        for month in range(3):
            loans_file(project.root, f"m{month}.csv", seed=50 + month, income=3.0)
        env = {**os.environ, "RASAD_USER": "agent"}
        command = [str(Path(sys.executable).parent / "rasad"), "--project", str(project.root),
                   "agent", "--once", "--json"]
        agents = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [agent.communicate(timeout=600) for agent in agents]
        assert [agent.returncode for agent in agents] == [0, 0], outputs
        reports = [json.loads(out) for out, _ in outputs]
        assert reports[0]["owner"] != reports[1]["owner"]

        def count(table: object) -> int:
            with project.read() as session:
                return int(session.execute(select(func.count()).select_from(table))
                           .scalar_one())

        assert count(SourceFileRow) == 3
        assert sorted(i["file_id"] for r in reports for i in r["ingested"]) == [1, 2, 3]
        assert count(AlertRow) == 1 and count(RunRow) == 2 and count(ModelVersionRow) == 2
        # The candidate waits for approvers in production; the status shows it.
        monkeypatch.setenv("RASAD_USER", "agent")
        found = Cli(capsys, project.root).ok("agent", "status", "--json").json()
        [pending] = found["pending_requests"]
        assert (pending["model"], pending["version"], pending["environment"]) == \
            ("credit", 2, "production")
        assert pending["approvals"] == 0 and pending["approvals_required"] == 1
        assert found["open_triggers"] == []


def test_an_agent_killed_mid_retraining_is_resumed_by_another(
        backend: str, tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from rasad.automation.agent import run_pass
    from rasad.store._tables import ModelVersionRow, PipelineStepRow, TriggerRow
    from tests.automation.test_monitors import as_agent

    section = automation(retraining={"credit": {}}, agent={"lease_seconds": 5})
    section["monitors"]["income-drift"]["actions"] = ["retrain"]
    with make_project(tmp_path / "p", section) as project:
        loans_file(project.root, "m1.csv", seed=9, income=3.0)
        env = {**os.environ, "RASAD_USER": "agent"}
        agent = subprocess.Popen(
            [str(Path(sys.executable).parent / "rasad"), "--project", str(project.root),
             "agent", "--once", "--owner", "doomed"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        steps = 0
        while agent.poll() is None and time.monotonic() < deadline:
            with project.read() as session:
                steps = session.execute(select(func.count()).select_from(PipelineStepRow)
                                        ).scalar_one()
            if steps >= 1:
                agent.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        agent.wait(timeout=60)
        if agent.returncode == 0:
            pytest.skip("the retraining finished before the agent could be killed")
        time.sleep(5.5)  # the killed agent's leases run out
        ctx = as_agent(project)
        report = run_pass(ctx, owner="rescuer")
        ctx.close()
        assert report.ok, report.problems
        closed = report.triggers[-1]
        assert closed.status == "done" and closed.outcome["retrain"]["version"] == 2
        with project.read() as session:
            assert session.execute(select(TriggerRow.status)).scalars().all() == ["done"]
            assert session.execute(select(func.count()).select_from(ModelVersionRow)
                                   ).scalar_one() == 2
        [event] = project.audit_log(action="automation.retrain")
        assert any(step["reused"] for step in event.details["steps"])
