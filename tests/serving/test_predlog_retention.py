"""Retention: segments older than the cutoff go, with one audit event; the ledger still
verifies; a dry run and a principal without ``project.maintain`` change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rasad import Project
from rasad.errors import InputError, PermissionDenied
from rasad.serving.predlog import PredictionLog, purge, read_log

from .test_predlog import config, feedback, scored

NOW = datetime(2026, 8, 1, 6, 0, tzinfo=UTC)


def _at(days_ago: float) -> float:
    return (NOW - timedelta(days=days_ago)).timestamp()


def _fill(project: Project) -> None:
    """Segments 100, 91, 90.5 (before the cutoff, on its day), 89.9 (after it, same day)
    and 10 days old, each written alone; feedback 95 and 5 days old."""
    log = PredictionLog.open(project.context, "production", config())
    for i, days in enumerate((100, 91, 90.5, 89.9, 10)):
        log.submit(scored(i, at=_at(days)))
        log.flush(10)
    log.submit_feedback(feedback(0, (1,), at=_at(95)))
    log.flush(10)
    log.submit_feedback(feedback(4, (0,), at=_at(5)))
    log.close()


def _files(project: Project) -> list[str]:
    root = Path(project.artifacts.root)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet")
                  if not p.relative_to(root).as_posix().startswith("tmp/"))


def test_purge_deletes_by_day_and_by_recorded_time(project: Project) -> None:
    _fill(project)
    assert len(_files(project)) == 7
    events_before = len(project.audit_log())
    # The cutoff (90 days before NOW) falls on 2026-05-03 at 06:00: r2 (90.5 days) lies
    # before it on that day, r3 (89.9 days) after it.
    report = purge(project.context, older_than_days=90, now=NOW)
    assert report.removed and report.cutoff == NOW - timedelta(days=90)
    assert sorted(s.kind.value for s in report.segments) == \
        ["feedback", "predictions", "predictions", "predictions"]
    left = read_log(project.context, "credit")
    assert left["request_id"].tolist() == ["r3", "r4"]
    assert left["label"].iloc[1] == 0
    assert len(_files(project)) == 3
    events = project.audit_log(action="prediction_log.purge")
    assert len(events) == 1 and len(project.audit_log()) == events_before + 1
    details = events[0].details
    assert details["segments"] == 4 and details["cutoff"] == "2026-05-03T06:00:00Z"
    assert details["by_model"] == {"feedback/production/credit": 1,
                                   "predictions/production/credit": 3}
    assert details["bytes"] == report.bytes > 0 and details["failed"] == []
    assert project.verify_audit().ok
    # Emptied day folders go too; a second purge finds nothing and records nothing.
    days = sorted(p.name for p in (Path(project.artifacts.root) /
                                   "predictions/production/credit").iterdir())
    assert days == ["date=2026-05-03", "date=2026-07-22"]
    again = purge(project.context, older_than_days=90, now=NOW)
    assert again.segments == [] and not again.removed
    assert len(project.audit_log(action="prediction_log.purge")) == 1


def test_the_default_is_the_configured_retention(tmp_path: Path) -> None:
    with Project.init(tmp_path / "proj", name="test") as project:
        _fill(project)
        config_file = project.root / "rasad.yaml"
        config_file.write_text(config_file.read_text() +
                               "\nserving:\n  log:\n    retention_days: 9\n")
    with Project.open(tmp_path / "proj") as project:
        report = purge(project.context, now=NOW)
        assert report.older_than_days == 9.0 and len(report.segments) == 6
        assert [Path(f).parts[0] for f in _files(project)] == ["feedback"]  # 5 days old
        with pytest.raises(InputError, match="no predictions of model 'credit'"):
            read_log(project.context, "credit")
        assert not (Path(project.artifacts.root) / "predictions" / "production").exists()


def test_a_dry_run_lists_and_keeps(project: Project) -> None:
    _fill(project)
    report = purge(project.context, older_than_days=90, now=NOW, dry_run=True)
    assert len(report.segments) == 4 and not report.removed
    assert len(_files(project)) == 7
    assert project.audit_log(action="prediction_log.purge") == []


def test_purging_needs_project_maintain(project: Project) -> None:
    _fill(project)
    viewer = Project(project.root, project.config, actor="vera")
    try:
        with pytest.raises(PermissionDenied, match="project.maintain"):
            purge(viewer.context, older_than_days=0, now=NOW)
    finally:
        viewer.close()
    assert len(_files(project)) == 7


def test_bad_ages_are_refused(project: Project) -> None:
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(InputError, match="older_than_days must be 0 or more days"):
            purge(project.context, older_than_days=bad)
