"""Runs in state replay, and the checkpoint key event, word for word.

Written against mutants that survived mutation testing (docs/testing.md): a missing run
that stopped the comparison of the runs after it, status and model-blob findings without
their message or event, and the key event's detail names.
"""

from __future__ import annotations

from pathlib import Path

from rasad import Project
from rasad.ledger import ProblemKind
from rasad.ledger.checkpoint import KEY_ACTION
from rasad.ledger.keys import fingerprint, public_key_text, signing_key
from rasad.ledger.problems import Problem
from tests.registry._helpers import registered

from . import _attacks as attack


def _run_problems(project: Project) -> list[Problem]:
    result = project.verify_audit()
    assert result.ok is False
    return [p for p in result.problems if (p.row or "").startswith("runs (")]


def _closing_seq(project: Project, run_id: str) -> int:
    return next(e.seq for e in project.audit_log(action="run.finish")
                if e.subject == f"run:{run_id}")


def test_a_missing_run_does_not_stop_the_comparison_of_later_runs(project: Project) -> None:
    with project.start_run("first") as first:
        pass
    with project.start_run("second") as second:
        pass
    start = next(e.seq for e in project.audit_log(action="run.start")
                 if e.subject == f"run:{first.id}")
    attack.execute(project, "DELETE FROM runs WHERE id = :r", r=first.id)
    # Only the deleted run is named: the second run's row still matches its events.
    assert _run_problems(project) == [Problem(
        ProblemKind.STATE, f"runs ({first.id}) is missing: the ledger records run {first.id} "
        f"(event {start}).", seq=_closing_seq(project, first.id), row=f"runs ({first.id})")]
    assert second.id != first.id


def test_run_rows_the_ledger_never_started_are_named_in_order(project: Project) -> None:
    with project.start_run("genuine") as run:
        pass
    columns = ("name, status, params, metrics, environment, code_version, seed, model_blob, "
               "model_info, error, host, pid, created_by, started_at, ended_at, duration_s")
    for forged in ("zz-forged", "aa-forged"):
        attack.execute(project, f"INSERT INTO runs (id, {columns}) SELECT :f, {columns} "
                       "FROM runs WHERE id = :r", f=forged, r=run.id)
    # The genuine run still matches its events; each forged row is named, sorted by id.
    assert _run_problems(project) == [
        Problem(ProblemKind.STATE, f"runs ({forged}) exists, but the ledger never recorded "
                "its start.", row=f"runs ({forged})") for forged in ("aa-forged", "zz-forged")]


def test_an_edited_run_status_names_the_row_the_value_and_the_event(project: Project) -> None:
    with project.start_run("edited") as run:
        pass
    finish = _closing_seq(project, run.id)
    attack.execute(project, "UPDATE runs SET status = 'failed' WHERE id = :r", r=run.id)
    assert _run_problems(project) == [Problem(
        ProblemKind.STATE, f"runs ({run.id}) has status 'failed'; the ledger (event {finish}) "
        "says 'finished'.", seq=finish, row=f"runs ({run.id})")]


def test_a_swapped_model_blob_names_the_closing_event(project: Project) -> None:
    first, second = registered(project, versions=2)
    run_id = first.run_id
    finish = _closing_seq(project, run_id)
    blob = project.run(run_id).model_blob
    other = "f" * 64
    attack.execute(project, "UPDATE runs SET model_blob = :b WHERE id = :r", b=other, r=run_id)
    assert blob is not None and second.run_id != run_id
    assert _run_problems(project) == [Problem(
        ProblemKind.STATE, f"runs ({run_id}) points at model blob {other[:12]}\u2026; the run's "
        f"closing event (event {finish}) recorded {blob[:12]}\u2026.", seq=finish,
        row=f"runs ({run_id})")]


def test_the_key_event_names_the_fingerprint_and_the_public_key(project: Project,
                                                                tmp_path: Path) -> None:
    key_file = attack.new_key(tmp_path)
    project.checkpoint(to=str(tmp_path / "checkpoints"), key=key_file)
    [event] = project.audit_log(action=KEY_ACTION)
    public = signing_key(key_file, {}).public_key()
    assert event.details == {"fingerprint": fingerprint(public),
                             "public_key": public_key_text(public), "auth": "os-user"}


def test_an_edited_step_metric_names_both_digests_and_the_closing_event(
        project: Project) -> None:
    from rasad.ledger.replay import step_metrics_digest

    with project.start_run("steps") as run:
        run.log_metric("loss", 0.5, step=0)
        run.log_metric("loss", 0.25, step=1)
    finish = _closing_seq(project, run.id)
    sealed, _ = step_metrics_digest([("loss", 0, 0.5), ("loss", 1, 0.25)])
    edited, _ = step_metrics_digest([("loss", 0, 0.5), ("loss", 1, 0.125)])
    attack.execute(project, "UPDATE step_metrics SET value = 0.125 WHERE run_id = :r AND "
                   "step = 1", r=run.id)
    result = project.verify_audit()
    row = f"step_metrics (run {run.id})"
    assert [p for p in result.problems if p.row == row] == [Problem(
        ProblemKind.STATE, f"{row}: 2 rows with digest {edited[:12]}\u2026; the run's closing "
        f"event (event {finish}) sealed 2 rows with digest {sealed[:12]}\u2026 (a value was "
        "edited, or rows deleted or added).", seq=finish, row=row)]


def test_a_deleted_dataset_version_is_named_with_its_event(project: Project) -> None:
    import pandas as pd

    added = project.add_dataset(pd.DataFrame({"x": [1, 2, 3]}), "lonely")
    [event] = [e for e in project.audit_log(action="dataset.add")
               if e.subject == "dataset:lonely@1"]
    attack.execute(project, "DELETE FROM dataset_versions WHERE id = :i", i=added.version.id)
    row = "dataset_versions (lonely@1)"
    assert [p for p in project.verify_audit().problems if p.row == row] == [Problem(
        ProblemKind.STATE, f"{row} is missing: the ledger recorded it (dataset.add, event "
        f"{event.seq}).", seq=event.seq, row=row)]
