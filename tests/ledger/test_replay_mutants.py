"""State replay's findings, word for word: which row, which event, what each says.

Written against the mutants mutation testing left alive (docs/testing.md).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import pandas as pd
import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.ledger import ProblemKind
from rasad.ledger.problems import Problem
from rasad.ledger.replay import StateReplay, _RunFacts, _short, _versioned
from rasad.store._tables import DatasetVersionRow, ModelVersionRow
from tests.registry._helpers import registered

from . import _attacks as attack


@dataclass(frozen=True)
class Deployed:
    project: Project
    ids: dict[str, list[int]]  # deployment ids per environment, oldest first
    seqs: dict[str, list[int]]  # their events' sequence numbers


@pytest.fixture
def deployed(project: Project) -> Deployed:
    """credit@1 and @2; dev: 1 then 2; staging: 1."""
    registered(project, versions=2)
    ids: dict[str, list[int]] = {}
    for version, env in ((1, "dev"), (2, "dev"), (1, "staging")):
        ids.setdefault(env, []).append(project.promote("credit", version, env).id)
    seqs: dict[str, list[int]] = {}
    for event in project.audit_log(action="model.promotion"):
        seqs.setdefault(event.details["environment"], []).append(event.seq)
    return Deployed(project, ids, seqs)


def _problems(project: Project, prefix: str) -> list[Problem]:
    result = project.verify_audit()
    assert result.ok is False
    return [p for p in result.problems if (p.row or "").startswith(prefix)]


def test_a_later_deployment_pointing_at_another_version_is_named(deployed: Deployed) -> None:
    second = deployed.ids["dev"][1]
    attack.execute(deployed.project, "UPDATE deployments SET model_version_id = (SELECT id "
                   "FROM model_versions WHERE version = 1) WHERE id = :d", d=second)
    assert _problems(deployed.project, "deployments (") == [Problem(
        ProblemKind.STATE, f"deployments (id {second}): credit@1 to dev by promotion; the "
        f"ledger's deployment #2 there (event {deployed.seqs['dev'][1]}) is credit@2 by "
        "promotion.", seq=deployed.seqs["dev"][1], row=f"deployments (id {second})")]


def test_a_deployment_row_without_an_event_is_named(deployed: Deployed) -> None:
    attack.forge_deployment(deployed.project, "staging", 2, "rollback")
    [problem] = _problems(deployed.project, "deployments (")
    new_id = int(problem.row.removeprefix("deployments (id ").rstrip(")"))  # type: ignore[union-attr]
    assert new_id > max(deployed.ids["dev"] + deployed.ids["staging"])
    assert problem == Problem(
        ProblemKind.STATE, f"deployments (id {new_id}): credit@2 to staging by rollback has no "
        "event in the ledger.", seq=None, row=f"deployments (id {new_id})")


def test_a_deployment_event_without_a_row_is_named(deployed: Deployed) -> None:
    project = deployed.project
    seq = attack.append(project, "model.promotion", "model:credit", {
        "environment": "production", "version": 2, "previous_version": None,
        "artifact_sha256": project.model_version("credit", 2).blob, "reason": None},
        "2099-01-01T00:00:00.000000Z")
    assert _problems(project, "deployments (") == [Problem(
        ProblemKind.STATE, f"deployments (credit, production): the ledger's deployment of "
        f"credit@2 (event {seq}) has no deployments row.", seq=seq,
        row="deployments (credit, production)")]
    assert [p.message for p in _problems(project, "current_deployments (")] == [
        f"current_deployments (credit, production) is missing: the ledger's last deployment "
        f"there (event {seq}) serves credit@2."]


def test_a_run_row_without_its_model_blob_is_named(deployed: Deployed) -> None:
    project = deployed.project
    run_id = project.model_version("credit", 1).run_id
    blob = project.run(run_id).model_blob
    assert blob is not None
    attack.execute(project, "UPDATE runs SET model_blob = NULL WHERE id = :r", r=run_id)
    [problem] = _problems(project, "runs (")
    assert problem.message.startswith(
        f"runs ({run_id}) points at model blob none; the run's closing event (event ")
    assert problem.message.endswith(f") recorded {blob[:12]}\u2026.")


def test_a_model_version_whose_blob_changed_is_named(deployed: Deployed) -> None:
    project = deployed.project
    first, second = project.model_version("credit", 1), project.model_version("credit", 2)
    attack.execute(project, "UPDATE model_versions SET blob = :b WHERE version = 2",
                   b=first.blob)
    [problem] = _problems(project, "model_versions (")
    register = [e for e in project.audit_log(action="model.register")
                if e.subject == "model:credit@2"][0]
    assert problem == Problem(
        ProblemKind.STATE, f"model_versions (credit@2): blob is {first.blob[:12]}\u2026, but the "
        f"ledger (model.register, event {register.seq}) recorded {second.blob[:12]}\u2026.",
        seq=register.seq, row="model_versions (credit@2)")


# -- reading the events (no database) ----------------------------------------------------------


def test_each_relevant_event_is_read_into_the_replayed_state() -> None:
    replay = StateReplay()
    replay.feed(1, "project.init", "project:demo", "{}")  # not state: ignored
    replay.feed(2, "dataset.add", "dataset:a:b@3", '{"content_hash":"c1"}')
    replay.feed(3, "model.register", "model:credit@2", '{"artifact_sha256":"m2"}')
    replay.feed(4, "model.register", "model:old@1", "{}")  # before hashes were recorded
    replay.feed(5, "model.promotion", "model:credit", '{"environment":"dev","version":2}')
    replay.feed(6, "model.rollback", "model:credit", '{"environment":"dev","version":1}')
    replay.feed(7, "model.promotion", "model:credit", '{"environment":"qa"}')
    replay.feed(8, "model.retire", "model:old", '{"environment":"qa"}')  # no version: 0
    assert replay.retired == {("old", "qa"): (8, 0)}
    assert replay.datasets == {("a:b", 3): (2, "c1")}
    assert replay.models == {("credit", 2): (3, "m2"), ("old", 1): (4, None)}
    assert replay.deployments == {("credit", "dev"): [(5, 2, "promotion"), (6, 1, "rollback")],
                                  ("credit", "qa"): [(7, 0, "promotion")]}


def test_runs_are_followed_from_start_to_their_closing_event() -> None:
    replay = StateReplay()
    replay.feed(1, "run.start", "run:r1", "{}")
    assert replay.runs == {"r1": _RunFacts(1, 1)}
    assert replay.runs["r1"].status == "running"
    replay.feed(2, "run.start", "run:r2", "{}")
    replay.feed(3, "run.finish", "run:r1", json.dumps({
        "model_blob": "b1", "step_metrics": 2, "step_metrics_sha256": "d1"}))
    replay.feed(4, "run.fail", "run:r2", json.dumps({"model_blob": None}))
    replay.feed(5, "run.fail", "run:r3", "{}")  # closed, but its start is missing
    assert replay.runs == {
        "r1": _RunFacts(1, 3, "finished", "b1", True, (2, "d1")),
        "r2": _RunFacts(2, 4, "failed", None, True, None),
        "r3": _RunFacts(0, 5, "failed", None, False, None),
    }


@pytest.mark.parametrize(("ref", "key"), [
    ("loans@2", ("loans", 2)), ("a@b@3", ("a@b", 3)), ("loans", ("", 0)),
    ("loans@x", ("loans", 0)), ("loans@", ("loans", 0)),
])
def test_versioned_references_split_at_the_last_at_sign(ref: str,
                                                        key: tuple[str, int]) -> None:
    assert _versioned(ref) == key


def test_short_digests_in_messages() -> None:
    assert _short(None) == "none"
    assert _short("0123456789abcdef") == "0123456789ab\u2026"


def test_a_dataset_version_whose_content_hash_changed_is_named(deployed: Deployed) -> None:
    project = deployed.project
    add = project.audit_log(action="dataset.add")[0]
    recorded = add.details["content_hash"]
    attack.execute(project, "UPDATE dataset_versions SET content_hash = :h", h="ab" * 32)
    [problem] = _problems(project, "dataset_versions (")
    assert problem == Problem(
        ProblemKind.STATE, f"dataset_versions (loans@1): content_hash is abababababab\u2026, but "
        f"the ledger (dataset.add, event {add.seq}) recorded {recorded[:12]}\u2026.",
        seq=add.seq, row="dataset_versions (loans@1)")


def test_a_current_pointer_moved_to_another_deployment_names_both(deployed: Deployed) -> None:
    first, last_seq = deployed.ids["dev"][0], deployed.seqs["dev"][-1]
    attack.execute(deployed.project, "UPDATE current_deployments SET deployment_id = :d "
                   "WHERE environment = 'dev'", d=first)
    assert _problems(deployed.project, "current_deployments (") == [Problem(
        ProblemKind.STATE, f"current_deployments (credit, dev) points at deployment {first} "
        f"(credit, dev), which serves credit@1; the ledger's last promotion or rollback there "
        f"(event {last_seq}) serves credit@2.", seq=last_seq,
        row="current_deployments (credit, dev)")]


def test_a_current_pointer_without_any_event_is_named(deployed: Deployed) -> None:
    attack.forge_deployment(deployed.project, "production", 1, current=True)
    assert _problems(deployed.project, "current_deployments (") == [Problem(
        ProblemKind.STATE, "current_deployments (credit, production) exists, but the ledger "
        "records no deployment of credit to production.",
        row="current_deployments (credit, production)")]


def test_a_deleted_run_row_is_named(project: Project) -> None:
    with project.start_run("empty") as run:
        pass
    start = project.audit_log(action="run.start")[-1].seq
    finish = project.audit_log(action="run.finish")[-1].seq
    attack.execute(project, "DELETE FROM runs WHERE id = :r", r=run.id)
    assert _problems(project, "runs (") == [Problem(
        ProblemKind.STATE, f"runs ({run.id}) is missing: the ledger records run {run.id} "
        f"(event {start}).", seq=finish, row=f"runs ({run.id})")]


def _point_current_at_a_missing_deployment(project: Project) -> None:
    """What an insider can do with the foreign keys off: SQLite's own shell leaves them off,
    and a PostgreSQL superuser can switch their triggers off for a session."""
    sql = "UPDATE current_deployments SET deployment_id = 999999 WHERE environment = 'staging'"
    if project.db.backend == "sqlite":
        database = project.db.write_engine.url.database
        assert database is not None
        with sqlite3.connect(database) as conn:
            conn.execute(sql)
        return
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(sql))


def test_a_current_pointer_to_a_missing_deployment_serves_nothing(deployed: Deployed) -> None:
    last_seq = deployed.seqs["staging"][-1]
    _point_current_at_a_missing_deployment(deployed.project)
    [problem] = _problems(deployed.project, "current_deployments (")
    assert problem.message == (
        "current_deployments (credit, staging) points at deployment None (None, None), which "
        f"serves nothing; the ledger's last promotion or rollback there (event {last_seq}) "
        "serves credit@1.")


def _two_loans(project: Project) -> None:
    frame = pd.DataFrame({"income": [1.0, 2.0, 3.0]})
    project.add_dataset(frame, "loans")
    project.add_dataset(frame + 1.0, "loans")


def test_a_missing_dataset_version_does_not_stop_the_comparison_of_later_ones(
        project: Project) -> None:
    _two_loans(project)
    attack.execute(project, "DELETE FROM dataset_versions WHERE version = 1")
    attack.execute(project, "UPDATE dataset_versions SET content_hash = :h WHERE version = 2",
                   h="ab" * 32)
    missing, edited = _problems(project, "dataset_versions (")
    assert (missing.row, edited.row) == ("dataset_versions (loans@1)", "dataset_versions (loans@2)")
    assert missing.message.startswith("dataset_versions (loans@1) is missing")
    # loans@2 is compared with its event, not reported as a row the ledger never recorded.
    assert edited.message.startswith("dataset_versions (loans@2): content_hash is abababababab")


def test_an_old_event_without_a_hash_does_not_stop_the_comparison_of_later_versions(
        project: Project) -> None:
    _two_loans(project)
    with project.db.write_engine.begin() as conn:
        attack.drop_detail(conn, "dataset.add", "content_hash")
    # loans@1's check is skipped (its event predates the hash); loans@2's still runs.
    assert project.verify_audit().ok
    attack.execute(project, "UPDATE dataset_versions SET content_hash = :h WHERE version = 2",
                   h="ab" * 32)
    assert [p.row for p in _problems(project, "dataset_versions (")] == [
        "dataset_versions (loans@2)"]


def test_step_metrics_logged_out_of_step_order_verify_clean(project: Project) -> None:
    """The seal and the replay both read a run's metrics in (key, step, id) order: steps
    logged backwards, and a step logged twice, still match."""
    with project.start_run("backwards") as run:
        for step, value in ((3, 0.3), (1, 0.1), (2, 0.2), (1, 0.15)):
            run.log_metric("loss", value, step=step)
    assert project.verify_audit().ok


def _forge_version(project: Project, table: sa.Table, name: str, version: int) -> None:
    """A copy of ``name``@1 inserted by SQL as ``version``: a row no event recorded."""
    with project.db.write_engine.begin() as conn:
        row = dict(conn.execute(sa.select(table).where(
            table.c.name == name, table.c.version == 1)).mappings().one())
        del row["id"]
        conn.execute(table.insert().values({**row, "version": version}))


def test_version_rows_no_event_recorded_are_named_word_for_word(project: Project) -> None:
    registered(project)
    _two_loans(project)
    _forge_version(project, DatasetVersionRow.__table__, "loans", 9)
    _forge_version(project, DatasetVersionRow.__table__, "loans", 7)
    _forge_version(project, ModelVersionRow.__table__, "credit", 5)
    assert _problems(project, "dataset_versions (") + _problems(project, "model_versions (") == [
        Problem(ProblemKind.STATE, f"{table} ({ref}) exists, but the ledger has no {action} "
                "event for it.", row=f"{table} ({ref})")
        for table, ref, action in (("dataset_versions", "loans@7", "dataset.add"),
                                   ("dataset_versions", "loans@9", "dataset.add"),
                                   ("model_versions", "credit@5", "model.register"))]
