"""One run of an automation monitor on real projects (SQLite and PostgreSQL): drift of an
arriving file against the serving version's training data, realized and estimated
performance from the prediction log, validation of arriving files.

The builders here are shared by the agent's tests (tests/automation/test_agent.py and
tests/cli/test_agent_cmd.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn import metrics as skm

from rasad import Project
from rasad.automation.monitors import (
    Arrival,
    MonitorStatus,
    parse_time,
    problems_of,
    run_monitor,
    time_text,
)
from rasad.config import PredictionLogConfig
from rasad.core import Context
from rasad.errors import NotFoundError, PermissionDenied
from rasad.examples import generate_portfolio
from rasad.monitoring.results import list_results, load_payload
from rasad.serving.predlog import PredictionLog
from rasad.serving.records import Feedback, Scored
from rasad.store._tables import ReferenceProfileRow

FEATURES = ["income", "age", "employment_type", "debt_to_income"]
START = datetime(2026, 5, 4, tzinfo=UTC).timestamp()
NOW = "2026-05-05T00:00:00.000000Z"


def automation(**overrides: Any) -> dict[str, Any]:
    """The automation section the tests start from: a folder of loan files, the
    prediction log of ``credit`` in dev, an income drift monitor, a file alert sink."""
    section: dict[str, Any] = {
        "sources": {"incoming": {"kind": "files", "dataset": "loans",
                                 "path": "incoming/*.csv"},
                    "live": {"kind": "prediction_log", "model": "credit",
                             "environment": "dev"}},
        "monitors": {"income-drift": {"kind": "drift", "source": "incoming", "model": "credit",
                                      "environment": "dev", "cooldown_hours": 24}},
        "alerts": {"channels": {"sink": {"kind": "file", "path": "alerts.jsonl"}}},
    }
    section.update(overrides)
    return section


def config_text(section: dict[str, Any], **extra: Any) -> str:
    return yaml.safe_dump({
        "name": "auto",
        "training": {"dataset": "loans", "target": "default", "features": FEATURES,
                     "estimator": {"class": "sklearn.linear_model.LogisticRegression",
                                   "params": {"max_iter": 200}}},
        "automation": section, **extra})


def make_project(root: Path, section: dict[str, Any], *, serve: bool = True,
                 roles: tuple[str, ...] = ("data_scientist", "deployer"), **extra: Any
                 ) -> Project:
    """A project with ``loans@1`` (600 rows), ``credit@1`` trained on it and serving in
    dev (unless ``serve`` is false), and the agent's service account."""
    project = Project.init(root, config_text=config_text(section, **extra))
    project.add_dataset(generate_portfolio(months=2, rows_per_month=300, seed=7), "loans")
    project.add_principal("agent", kind="service", roles=list(roles))
    run = project.train().run
    project.register(run.id, "credit")
    if serve:
        project.promote("credit", 1, to="dev")
    (root / "incoming").mkdir()
    return project


def as_agent(project: Project) -> Context:
    return Context.build(project.root, project.config, actor="agent")


def loans_file(root: Path, name: str, *, seed: int, income: float = 1.0) -> Path:
    """A month of 300 applications in ``incoming/``; ``income`` scales the income column."""
    frame = generate_portfolio(months=1, rows_per_month=300, seed=seed)
    frame["income"] = frame["income"] * income
    path = root / "incoming" / name
    frame.to_csv(path, index=False)
    return path


def ingested(project: Project, path: Path) -> Arrival:
    """``path`` added as the next version of loans, as the agent's ingest records it."""
    version = project.add_dataset(path, "loans").version
    return Arrival(file_id=version.version, source="incoming", path=str(path),
                   status="ingested", dataset_version_id=version.id)


def log_predictions(ctx: Context, rows: int, *, seed: int = 3, labelled: float = 1.0,
                    accuracy: float = 0.9, start: float = START, env: str = "dev",
                    version: int = 1) -> pd.DataFrame:
    """``rows`` predictions of credit, a second apart, each right with probability
    ``accuracy``; feedback for a ``labelled`` share. Returns what was logged."""
    rng = np.random.default_rng(seed)
    inputs = generate_portfolio(months=1, rows_per_month=rows, seed=seed)[FEATURES]
    truth = rng.integers(0, 2, rows)
    right = rng.random(rows) < accuracy
    decision = np.where(right, truth, 1 - truth)
    score = np.clip(np.where(decision == 1, 0.75, 0.25) + rng.normal(0, 0.1, rows), 0, 1)
    known = rng.random(rows) < labelled
    log = PredictionLog.open(ctx, env, PredictionLogConfig(flush_seconds=300.0))
    for i in range(rows):
        log.submit(Scored(f"r{seed}-{i}", start + i, "credit", version, "primary",
                          inputs.iloc[[i]].reset_index(drop=True), np.array([decision[i]]),
                          np.array([score[i]]), 0.2))
        if known[i]:
            log.submit_feedback(Feedback(f"r{seed}-{i}", start + i + 60, "credit", (0,),
                                         (int(truth[i]),)))
    log.close()
    return pd.DataFrame({"label": np.where(known, truth, np.nan), "prediction": decision,
                         "score": score})


# --- drift ----------------------------------------------------------------------------


def test_drift_of_an_arriving_file_against_the_serving_versions_training_data(
        loans: Project, agent: Context) -> None:
    shifted = ingested(loans, loans_file(loans.root, "m2.csv", seed=9, income=3.0))
    run = run_monitor(agent, "income-drift", now=NOW, arrival=shifted)

    assert run.status is MonitorStatus.FIRED and run.fired
    assert run.details["drifted_columns"] == ["income"]
    assert run.source_file_id == shifted.file_id
    assert run.result is not None and run.result.alert
    assert (run.result.monitor, run.result.reference, run.result.current) == \
        ("income-drift", "loans@1", "loans@2")
    assert run.result.created_by == "agent"
    assert "income" in run.summary and "credit@1" in run.summary
    # The reference is credit@1's stored profile, built once and reused.
    with loans.read() as session:
        assert session.query(ReferenceProfileRow).count() == 1
    calm = ingested(loans, loans_file(loans.root, "m3.csv", seed=10))
    again = run_monitor(agent, "income-drift", now=NOW, arrival=calm)
    assert again.status is MonitorStatus.OK and not again.fired
    assert again.result is not None and not again.result.alert
    with loans.read() as session:
        assert session.query(ReferenceProfileRow).count() == 1
    assert [r.current for r in list_results(loans.context, monitor="income-drift")] == \
        ["loans@2", "loans@3"]


def test_a_scheduled_drift_run_judges_the_latest_version_or_its_last_rows(
        backend: str, tmp_path: Path) -> None:
    section = automation()
    section["monitors"]["income-drift"].update(schedule="0 6 * * *", window_rows=100)
    with make_project(tmp_path / "rows", section) as project:
        ingested(project, loans_file(project.root, "m2.csv", seed=9, income=3.0))
        ctx = as_agent(project)
        run = run_monitor(ctx, "income-drift", now=NOW)
        ctx.close()
        assert run.fired and run.result is not None
        assert run.result.current == "loans@2[-100:]"
        payload = load_payload(project.context, run.result)
    assert (payload["drift"]["reference_rows"], payload["drift"]["current_rows"]) == (600, 100)


def test_nothing_serving_skips_the_run_and_stores_nothing(backend: str, tmp_path: Path) -> None:
    with make_project(tmp_path / "p", automation(), serve=False) as project:
        ctx = as_agent(project)
        run = run_monitor(ctx, "income-drift", now=NOW,
                          arrival=ingested(project, loans_file(project.root, "a.csv", seed=9)))
        ctx.close()
        assert run.status is MonitorStatus.SKIPPED and run.result is None
        assert "nothing serves model 'credit' in 'dev'" in run.summary
        assert list_results(project.context) == []


def test_a_rejected_file_is_not_judged_for_drift(loans: Project, agent: Context) -> None:
    rejected = Arrival(file_id=7, source="incoming", path="incoming/bad.csv", status="rejected",
                       dataset_version_id=None, detail='["column income is missing"]')
    run = run_monitor(agent, "income-drift", now=NOW, arrival=rejected)
    assert run.status is MonitorStatus.SKIPPED
    assert list_results(loans.context) == []


def test_unknown_monitor_and_missing_permission(loans: Project) -> None:
    with pytest.raises(NotFoundError, match=r"No monitor 'incme-drift'.*income-drift"):
        run_monitor(loans.context, "incme-drift")
    loans.add_principal("viewer-bot", kind="service", roles=["viewer"])
    viewer = Context.build(loans.root, loans.config, actor="viewer-bot")
    with pytest.raises(PermissionDenied):
        run_monitor(viewer, "income-drift", now=NOW)
    viewer.close()
    assert list_results(loans.context) == []


HOURLY = "0 * * * *"

# --- realized performance ----------------------------------------------------------------


def performance_section(bound: dict[str, float], metric: str = "accuracy",
                        **monitor: Any) -> dict[str, Any]:
    return automation(monitors={"live-accuracy": {
        "kind": "performance", "source": "live", "schedule": HOURLY, "metrics": {metric: bound},
        **monitor}})


def test_realized_performance_from_feedback_against_a_fixed_bound(
        backend: str, tmp_path: Path) -> None:
    with make_project(tmp_path / "p", performance_section({"min": 0.95})) as project:
        ctx = as_agent(project)
        logged = log_predictions(ctx, 400, accuracy=0.8, labelled=0.75)
        run = run_monitor(ctx, "live-accuracy", now=NOW)
        known = logged[logged["label"].notna()]
        expected = skm.accuracy_score(known["label"].astype(int), known["prediction"])
        assert run.status is MonitorStatus.FIRED
        assert run.details["alerting_metrics"] == ["accuracy"]
        assert run.details["values"]["accuracy"] == pytest.approx(expected, abs=1e-12)
        assert run.result is not None and run.result.kind == "performance"
        assert run.result.current == "log:credit@dev[..]"
        payload = load_payload(project.context, run.result)
        assert payload["thresholds"]["accuracy"]["lower"] == 0.95
        assert payload["current"][0]["labelled_rows"] == len(known)
        ctx.close()


def test_realized_performance_within_bounds_and_a_window_of_rows(
        backend: str, tmp_path: Path) -> None:
    section = performance_section({"min": 0.5}, window_rows=100)
    with make_project(tmp_path / "p", section) as project:
        ctx = as_agent(project)
        logged = log_predictions(ctx, 300, accuracy=0.9)
        run = run_monitor(ctx, "live-accuracy", now=NOW)
        tail = logged.tail(100)
        assert run.status is MonitorStatus.OK
        assert run.details["values"]["accuracy"] == pytest.approx(
            skm.accuracy_score(tail["label"].astype(int), tail["prediction"]))
        assert run.result is not None and run.result.current.endswith("[-100:]")
        ctx.close()


def test_too_few_labels_skip_and_an_empty_log_skips(backend: str, tmp_path: Path) -> None:
    with make_project(tmp_path / "p", performance_section({"min": 0.5})) as project:
        ctx = as_agent(project)
        empty = run_monitor(ctx, "live-accuracy", now=NOW)
        assert empty.status is MonitorStatus.SKIPPED and "no predictions" in empty.summary
        log_predictions(ctx, 20, labelled=0.0)  # scored, no outcome yet: skipped, not failed
        unlabelled = run_monitor(ctx, "live-accuracy", now=NOW)
        assert unlabelled.status is MonitorStatus.SKIPPED, unlabelled.summary
        assert "has feedback yet" in unlabelled.summary
        log_predictions(ctx, 40, labelled=0.25, seed=4, start=START + 100)
        few = run_monitor(ctx, "live-accuracy", now=NOW)
        assert few.status is MonitorStatus.SKIPPED and "too few" in few.summary
        assert list_results(project.context) == []
        ctx.close()


def test_a_metric_the_check_cannot_compute_fails_the_run_with_its_name(
        backend: str, tmp_path: Path) -> None:
    with make_project(tmp_path / "p", performance_section({"max": 0.5}, "rmse")) as project:
        ctx = as_agent(project)
        log_predictions(ctx, 100)
        run = run_monitor(ctx, "live-accuracy", now=NOW)
        assert run.status is MonitorStatus.FAILED and "rmse" in run.summary
        assert list_results(project.context) == []
        ctx.close()


# --- estimated performance ------------------------------------------------------------


def test_estimated_performance_learns_from_the_labelled_log_before_the_window(
        backend: str, tmp_path: Path) -> None:
    section = automation(monitors={"live-estimate": {
        "kind": "estimated_performance", "source": "live", "window_rows": 300,
        "schedule": HOURLY, "metrics": {"accuracy": {"min": 0.97, "basis": "bound"}}}})
    with make_project(tmp_path / "p", section) as project:
        ctx = as_agent(project)
        log_predictions(ctx, 600, seed=3, accuracy=0.9)
        log_predictions(ctx, 300, seed=4, labelled=0.0, start=START + 10_000)
        run = run_monitor(ctx, "live-estimate", now=NOW)
        assert run.status is MonitorStatus.FIRED, run.summary
        assert run.result is not None and run.result.kind == "estimation"
        payload = load_payload(project.context, run.result)
        [chunk] = payload["current"]
        assert chunk["rows"] == 300 and chunk["labelled_rows"] == 0
        accuracy = chunk["metrics"]["accuracy"]
        # The band's lower end is what basis: bound compares with the minimum.
        assert accuracy["band_lower"] < 0.97 and accuracy["alert"] is True
        ctx.close()


def test_estimation_without_labelled_history_skips(backend: str, tmp_path: Path) -> None:
    # (An estimation without a window is refused when rasad.yaml loads: test_config.py.)
    section = automation(monitors={
        "recent": {"kind": "estimated_performance", "source": "live", "window_rows": 50,
                   "schedule": HOURLY, "metrics": {"accuracy": {"min": 0.5}}}})
    with make_project(tmp_path / "p", section) as project:
        ctx = as_agent(project)
        log_predictions(ctx, 100, labelled=0.0)
        recent = run_monitor(ctx, "recent", now=NOW)
        assert recent.status is MonitorStatus.SKIPPED and "no labelled" in recent.summary
        ctx.close()


# --- validation -----------------------------------------------------------------------


def test_a_validation_monitor_fires_on_a_rejected_file_only(backend: str,
                                                            tmp_path: Path) -> None:
    section = automation(monitors={"files-valid": {"kind": "validation",
                                                   "source": "incoming"}})
    with make_project(tmp_path / "p", section) as project:
        ctx = as_agent(project)
        bad = Arrival(file_id=1, source="incoming", path="incoming/bad.csv",
                      status="rejected", dataset_version_id=None,
                      detail='["column income is missing", "2 rows have no id"]')
        good = Arrival(file_id=2, source="incoming", path="incoming/good.csv",
                       status="ingested", dataset_version_id=1)
        fired = run_monitor(ctx, "files-valid", now=NOW, arrival=bad)
        assert fired.fired and fired.details["problems"] == [
            "column income is missing", "2 rows have no id"]
        assert "column income is missing; 2 rows have no id" in fired.summary
        passed = run_monitor(ctx, "files-valid", now=NOW, arrival=good)
        assert passed.status is MonitorStatus.OK
        assert run_monitor(ctx, "files-valid", now=NOW).status is MonitorStatus.SKIPPED
        # Both judged files are stored results; only the rejected one alerts.
        assert fired.result is not None and passed.result is not None
        stored = {r.current: r for r in list_results(project.context, "files-valid")}
        assert {k: (r.kind.value, r.alert) for k, r in stored.items()} == {
            "incoming/bad.csv": ("validation", True), "incoming/good.csv": ("validation", False)}
        assert load_payload(project.context, stored["incoming/bad.csv"])["problems"] == [
            "column income is missing", "2 rows have no id"]
        ctx.close()


def test_times_and_problems_read_back() -> None:
    moment = parse_time("2026-05-05T01:02:03+02:00")
    assert time_text(moment) == "2026-05-04T23:02:03.000000Z"
    assert parse_time(time_text(moment)) == moment
    assert problems_of("not json") == ["not json"]
    assert problems_of('"one"') == ["one"]
