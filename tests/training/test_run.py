"""Run tracking: records, step metrics, failures, reconciliation, comparison."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.errors import ConflictError, InputError, NotFoundError
from rasad.training import RunStatus
from rasad.training.run import FLUSH_EVERY, metrics_digest

pytestmark = pytest.mark.over_http  # the project-level tests run through the API too


@pytest.mark.local_only(reason="reads the step metrics in the database")
def test_run_records_params_metrics_environment(project: Project) -> None:
    with project.start_run("sweep", params={"lr": 0.1, "layers": [2, 3]}, seed=5) as run:
        for step in range(2500):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.log_metric("acc", 0.5)
        run.log_metric("acc", 0.6)
    stored = project.run(run.id)
    assert stored.status is RunStatus.FINISHED
    assert stored.params == {"lr": 0.1, "layers": [2, 3]}
    assert stored.seed == 5 and stored.duration_s is not None and stored.ended_at
    assert stored.metrics["loss"] == pytest.approx(1 / 2500)
    assert stored.environment["python"].count(".") == 2
    assert "scikit-learn" in stored.environment["packages"]
    assert stored.created_by == "tester"
    history = run.history("loss")
    assert len(history) == 2500 and history[0][:2] == (0, 1.0)
    assert [s for s, _, _ in run.history("acc")] == [0, 1]  # default steps count up per key
    finish = project.audit_log(action="run.finish")[-1]
    digest, count = metrics_digest(project, run.id)
    assert finish.details["step_metrics"] == count == 2502
    assert finish.details["step_metrics_sha256"] == digest


@pytest.mark.local_only(reason="counts the statements sent to the database")
def test_metrics_are_written_in_batches(project: Project) -> None:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO STEP_METRICS"):
            statements.append(statement)

    sa.event.listen(project.db.write_engine, "before_cursor_execute", count)
    with project.start_run() as run:
        for step in range(FLUSH_EVERY * 3):
            run.log_metric("loss", float(step), step=step)
    sa.event.remove(project.db.write_engine, "before_cursor_execute", count)
    assert 3 <= len(statements) <= 4  # one executemany per batch, not one per value


def test_exception_marks_run_failed(project: Project) -> None:
    with pytest.raises(ZeroDivisionError), project.start_run("boom") as run:
        run.log_metric("loss", 1.0)
        _ = 1 / 0
    stored = project.run(run.id)
    assert stored.status is RunStatus.FAILED
    assert stored.error == "ZeroDivisionError: division by zero"
    assert stored.metrics["loss"] == 1.0  # what was logged before the crash is kept
    assert project.audit_log(action="run.fail")[-1].subject == f"run:{run.id}"
    with pytest.raises(ConflictError, match="closed"):
        run.log_metric("loss", 2.0)


@pytest.mark.local_only(reason="opens the project folder in another process")
def test_killed_process_leaves_no_running_run(project: Project, tmp_path: Path) -> None:
    import os

    script = textwrap.dedent(f"""
        import os
        from rasad import Project
        project = Project.open({str(project.root)!r})
        run = project.start_run("doomed")
        run.log_metric("loss", 1.0)
        run.flush()
        print(run.id, flush=True)
        os._exit(9)  # no cleanup at all, as with SIGKILL
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=os.environ.copy(), check=False)
    run_id = done.stdout.strip()
    assert done.returncode == 9 and run_id
    runs = project.runs()
    assert [r.status for r in runs if r.id == run_id] == [RunStatus.FAILED]
    assert "ended without finishing" in (project.run(run_id).error or "")
    assert project.runs(status="running") == []


def test_rejects_bad_values_and_ids(project: Project) -> None:
    with project.start_run() as run:
        with pytest.raises(InputError, match="finite"):
            run.log_metric("loss", float("nan"))
        with pytest.raises(InputError, match="1 to 250"):
            run.log_metric("", 1.0)
    with pytest.raises(NotFoundError, match="rasad runs list"):
        project.run("doesnotexist")
    with pytest.raises(InputError, match="not one of"):
        project.runs(status="sleeping")


def test_compare_marks_differing_params(project: Project) -> None:
    ids = []
    for lr in (0.1, 0.2):
        with project.start_run(params={"lr": lr, "depth": 3}) as run:
            run.set_summary_metrics({"test": {"auc": lr * 5}})
        ids.append(run.id)
    comparison = project.compare_runs(*ids)
    assert comparison.differing_params == ["lr"]
    assert comparison.params["depth"] == [3, 3]
    assert comparison.metrics["test.auc"] == [pytest.approx(0.5), pytest.approx(1.0)]
    with pytest.raises(InputError, match="at least two"):
        project.compare_runs(ids[0])


def test_git_state_is_recorded(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git = ["git", "-C", str(root), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (root / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    with Project.init(root / "proj") as project:
        with project.start_run() as run:
            pass
        assert project.run(run.id).code_version["git_commit"] == commit
        assert project.run(run.id).code_version["git_dirty"] is False
        (root / "train.py").write_text("print(2)\n")
        with project.start_run() as run:
            pass
        assert project.run(run.id).code_version["git_dirty"] is True
