"""`rasad demo --loop`: the story told by the database it leaves, on SQLite and PostgreSQL.

The loop runs once per backend (module-scoped, through the real console script with
``--json``: about a minute each here); every test reads what that run left behind:
the triggers, alerts, runs, requests, approvals and deployments in the database, the
prediction log, the alert file and the timeline page.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from rasad import Project
from rasad.automation import alerts as alert_service
from rasad.automation.agent import run_pass
from rasad.demo import APPROVER
from rasad.demo_loop import AGENT, AUC_FLOOR, MODEL, DemoLoopSummary, run_loop_demo
from rasad.errors import ConflictError
from rasad.examples.portfolio import CONCEPT_CHANGE_MONTH, INCOME_DRIFT_MONTH
from rasad.serving.predlog import read_log
from rasad.store._tables import SourceFileRow, TriggerRow
from tests.conftest import PG_BASE, pg_schema_url

RASAD = Path(sys.executable).parent / "rasad"
PASS_MONTH = {f"{2025 + (m == 12)}-{m % 12 + 1:02d}-01": m for m in range(6, 13)}
"""The date of each month's pass (06:00 UTC on the first of the next month) -> month."""


@dataclass(frozen=True)
class Loop:
    backend: str
    folder: Path
    summary: DemoLoopSummary
    database_url: str | None
    stderr: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Loop]:
    folder = tmp_path_factory.mktemp(f"loop-{request.param}") / "demo"
    env = {k: v for k, v in os.environ.items()
           if k not in ("RASAD_DATABASE_URL", "RASAD_ARTIFACTS_URL")}
    env["RASAD_USER"] = "trainer"
    url = engine = schema = None
    if request.param == "postgresql":
        engine = sa.create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = env["RASAD_DATABASE_URL"] = pg_schema_url(schema)
    try:
        done = subprocess.run([str(RASAD), "demo", "--loop", "--dir", str(folder), "--json"],
                              capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        summary = DemoLoopSummary.model_validate_json(done.stdout)
        yield Loop(request.param, folder, summary, url, done.stderr)
    finally:
        if engine is not None:
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


@pytest.fixture
def project(loop: Loop, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """The loop's project, opened as its creator."""
    if loop.database_url is not None:
        monkeypatch.setenv("RASAD_DATABASE_URL", loop.database_url)
    monkeypatch.setenv("RASAD_USER", "trainer")
    with Project.open(loop.folder) as opened:
        yield opened


def _month(fired_at: str) -> int:
    return PASS_MONTH[fired_at[:10]]


def test_drift_is_alerted_from_month_7_and_realized_performance_falls_after_month_10(
        project: Project) -> None:
    ctx = project.context
    with ctx.read() as session:
        triggers = {row.id: row for row in session.execute(select(TriggerRow)).scalars()}
    alerts = alert_service.alerts(ctx, limit=1000)
    drift = sorted(_month(triggers[a.trigger_id].fired_at) for a in alerts
                   if a.monitor == "applicant-drift" and a.trigger_id is not None)
    # one alert per drifting month, each file judged once; income is the column that drifted
    assert drift == list(range(INCOME_DRIFT_MONTH, 13))
    assert all("drift in income" in a.title for a in alerts if a.monitor == "applicant-drift")
    # every alert reached the file channel, once
    assert all([d.channel for d in a.deliveries] == ["file"] and
               all(str(d.status) == "sent" and d.attempts == 1 for d in a.deliveries)
               for a in alerts)
    lines = [json.loads(line) for line in
             (project.root / ".rasad" / "alerts.jsonl").read_text().splitlines()]
    assert sorted(line["alert_id"] for line in lines) == sorted(a.id for a in alerts)

    results = sorted(project.monitor_results(monitor="realized-auc"), key=lambda r: r.id)
    values = [r.summary["values"]["roc_auc"] for r in results]
    # judged at the passes of months 8-12, on the outcomes of months 7-11
    assert len(values) == 5
    before, after = values[:CONCEPT_CHANGE_MONTH - 7], values[CONCEPT_CHANGE_MONTH - 7:]
    assert min(before) >= AUC_FLOOR > max(after)
    assert [r.alert for r in results] == [False] * 3 + [True] * 2
    performance = sorted(_month(t.fired_at) for t in triggers.values()
                         if t.monitor == "realized-auc")
    assert performance == [CONCEPT_CHANGE_MONTH + 1]  # month 12 fired within the cooldown
    assert all(t.status == "done" for t in triggers.values())


def test_one_retraining_passes_its_gates_waits_and_is_approved_then_serves(
        project: Project) -> None:
    retrains = project.audit_log(action="automation.retrain")
    assert len(retrains) == 1
    (event,) = retrains
    assert event.actor == AGENT and event.details["status"] == "requested"
    assert [s["step"] for s in event.details["steps"]] == [
        "dataset", "validate", "train", "register", "promote"]
    runs = [run for run in project.runs() if run.name and run.name.startswith("retrain-")]
    assert len(runs) == 1 and runs[0].created_by == AGENT

    request = project.request(event.details["request_id"])
    assert (request.model, request.version, request.environment) == (MODEL, 2, "production")
    assert request.opened_by == AGENT
    gates = {g.gate: str(g.status) for g in request.gates.gates}
    assert gates["champion"] == "passed" and gates["metrics"] == "passed"
    assert gates["validation"] == "passed"  # the appended outcomes pass the loans schema
    assert "failed" not in gates.values()
    assert [(a.principal, str(a.decision)) for a in request.approvals] == [(APPROVER, "approve")]
    assert str(request.status) == "promoted" and request.deployment_id is not None

    from rasad.registry import models

    history = [(d.version, d.deployed_by) for d in models.history(project.context, MODEL)
               if d.environment == "production"]
    assert history == [(1, APPROVER), (2, APPROVER)]
    assert project.model_version(MODEL, env="production").version == 2


def test_the_log_holds_every_month_scored_by_the_version_serving_then(
        project: Project, loop: Loop) -> None:
    logged = read_log(project.context, MODEL, environment="production")
    month = logged["time"].dt.strftime("%Y-%m")
    versions = logged.groupby(month)["version"].unique().map(lambda v: sorted(v))
    assert versions.to_dict() == {**{f"2025-{m:02d}": [1] for m in range(7, 12)},
                                  "2025-12": [2]}
    assert logged["request_id"].is_unique and len(logged) == 6 * loop.summary.rows_per_month
    # the outcomes of months 7-11 came back as feedback, joined by request id
    labelled = logged[logged["label"].notna()]
    assert set(month[labelled.index]) == {f"2025-{m:02d}" for m in range(7, 12)}
    assert labelled.groupby(month[labelled.index]).size().eq(
        loop.summary.rows_per_month).all()


def test_every_file_is_ingested_once_and_nothing_half_written_is_left(
        project: Project, loop: Loop) -> None:
    with project.context.read() as session:
        rows = session.execute(select(SourceFileRow)).scalars().all()
    assert all(row.status == "ingested" for row in rows)
    by_source = pd.Series([row.source for row in rows]).value_counts().to_dict()
    assert by_source == {"applications": 6, "outcomes": 5, "holdout": 5}
    written = [p for p in (loop.folder / "incoming").rglob("*") if p.is_file()]
    assert len(written) == 16 and not [p for p in written if p.name.startswith(".")]
    # loans grew by four fifths of each month's outcomes; the gates read the newest fifth
    loans = sorted(project.datasets("loans"), key=lambda v: v.version)
    assert [v.version for v in loans] == [1, 2, 3, 4, 5, 6]
    outcomes = sorted((loop.folder / "incoming" / "outcomes").glob("*.csv"))
    assert [v.rows - loans[0].rows for v in loans[1:]] == list(pd.Series(
        [len(pd.read_csv(f)) for f in outcomes]).cumsum())
    holdout = sorted(project.datasets("loans_holdout"), key=lambda v: v.version)
    assert holdout[-1].rows == len(pd.read_csv(loop.folder / "incoming" / "holdout" /
                                               "2025-11.csv"))
    assert project.verify_audit().ok


def test_a_pass_run_again_at_the_last_month_does_nothing_twice(project: Project) -> None:
    agent = Project(project.root, project.config, actor=AGENT)
    before = len(project.audit_log())
    report = run_pass(agent.context, owner="another-agent", now="2026-01-01T06:00:00Z")
    assert report.ok and not report.ingested and not report.triggers
    assert not report.monitors  # the files were judged, the slot was run
    assert len(alert_service.alerts(project.context, limit=1000)) == len(
        [line for line in (project.root / ".rasad" / "alerts.jsonl").read_text().splitlines()])
    assert len(project.audit_log()) == before


def test_the_timeline_shows_each_event_and_reaches_for_nothing_outside(
        project: Project, loop: Loop) -> None:
    page = Path(loop.summary.timeline).read_text(encoding="utf-8")
    assert Path(loop.summary.timeline) == loop.folder / "timeline.html"
    assert not re.search(r"https?://", page, flags=re.I)
    assert "<script src" not in page and "<link" not in page
    assert page.count('<section class="month"') == 7  # months 6 (set-up) to 12
    for alert in alert_service.alerts(project.context, limit=1000):
        assert escape(alert.title) in page
    for text in ("credit-risk v1 serves production", "credit-risk v2 serves production",
                 f"{APPROVER} approved request #2", "Retraining of credit-risk for trigger",
                 "credit-risk v2 requested for production", "fired within its cooldown",
                 "incoming/outcomes/2025-10.csv -&gt; loans@5"):
        assert escape(text) in page or text in page, text
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                         page, flags=re.S)
    assert embedded is not None
    events = json.loads(embedded.group(1))["events"]
    kinds = {(e["month"], e["kind"]) for e in events}
    assert {(11, "retrain"), (11, "request"), (11, "approval"), (11, "deployment"),
            (7, "alert"), (6, "deployment")} <= kinds
    assert not any(e["kind"] == "retrain" and e["month"] != 11 for e in events)


def test_the_json_summary_tells_the_same_story(loop: Loop) -> None:
    summary = loop.summary
    assert summary.first_version == 1 and summary.serving_version == 2
    assert summary.drift_alert_months == list(range(INCOME_DRIFT_MONTH, 13))
    assert summary.performance_alert_months == [CONCEPT_CHANGE_MONTH + 1]
    assert [(r["month"], r["status"], r["version"]) for r in summary.retrainings] == [
        (11, "requested", 2)]
    assert [(a["month"], a["version"], a["approver"]) for a in summary.approvals] == [
        (6, 1, APPROVER), (11, 2, APPROVER)]
    assert [(m.month, m.scored_by, m.serving_after) for m in summary.months] == [
        (7, 1, 1), (8, 1, 1), (9, 1, 1), (10, 1, 1), (11, 1, 2), (12, 2, 2)]
    assert all(not m.problems for m in summary.months)
    # Month 7 has no outcomes yet: the performance monitor cannot judge, and says so.
    assert summary.months[0].monitors["realized-auc"] == "skipped"
    # on stderr, the story for people; stdout was the JSON alone
    assert "approves request #2" in loop.stderr


def test_the_loop_refuses_a_folder_it_did_not_create(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(ConflictError, match="not empty"):
        run_loop_demo(folder)
    with pytest.raises(ConflictError, match="holds no rasad.yaml"):
        run_loop_demo(folder, force=True)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
