"""State replay: editing a state table behind rasad's back is caught and the row named."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.ledger import ProblemKind, Verification
from rasad.ledger.replay import step_metrics_digest
from rasad.training.run import metrics_digest
from tests.registry._helpers import registered

from . import _attacks as attack


@dataclass(frozen=True)
class State:
    project: Project
    run_id: str


@pytest.fixture
def state(project: Project) -> State:
    """loans@1, credit@1 and @2, deployments dev 1 -> 2 and staging 1, a run with metrics."""
    registered(project, versions=2)
    project.promote("credit", 1, "dev")
    project.promote("credit", 1, "staging")
    project.promote("credit", 2, "dev")
    with project.start_run("curves") as run:
        for step in range(5):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
            run.log_metric("auc", 0.5 + step / 10, step=step)
    return State(project, run.id)


def _state_problems(result: Verification) -> list[tuple[str | None, int | None]]:
    assert all(p.kind is ProblemKind.STATE for p in result.problems), result.problems
    return [(p.row, p.seq) for p in result.problems]


def _seq(project: Project, action: str, index: int = -1) -> int:
    return project.audit_log(action=action)[index].seq


def test_untouched_state_matches(state: State) -> None:
    result = state.project.verify_audit()
    assert result.ok, result.problems
    assert result.state is not None
    assert {k: result.state[k] for k in ("model_versions", "current_deployments",
                                         "deployments", "step_metrics")} == {
        "model_versions": 2, "current_deployments": 2, "deployments": 3, "step_metrics": 10}
    assert state.project.verify_audit(replay=False).state is None


def test_current_deployment_pointer_edit_is_named(state: State) -> None:
    attack.execute(state.project, """
        UPDATE current_deployments SET deployment_id = (
            SELECT min(id) FROM deployments WHERE environment = 'dev')
        WHERE model_name = 'credit' AND environment = 'dev'""")
    result = state.project.verify_audit()
    assert _state_problems(result) == [
        ("current_deployments (credit, dev)", _seq(state.project, "model.promotion"))]
    assert "serves credit@1" in (result.reason or "") and "serves credit@2" in (result.reason
                                                                                or "")


def test_deployment_row_pointing_at_another_version_is_named(state: State) -> None:
    attack.execute(state.project, """
        UPDATE deployments SET model_version_id = (
            SELECT id FROM model_versions WHERE version = 2)
        WHERE environment = 'staging'""")
    rows = [row for row, _ in _state_problems(state.project.verify_audit())]
    assert rows[0] == "current_deployments (credit, staging)"
    assert rows[1].startswith("deployments (id ")


def test_model_version_blob_edit_is_named(state: State) -> None:
    attack.execute(state.project, """
        UPDATE model_versions SET blob = (SELECT blob FROM model_versions WHERE version = 1)
        WHERE version = 2""")
    result = state.project.verify_audit()
    assert _state_problems(result) == [("model_versions (credit@2)",
                                        _seq(state.project, "model.register"))]
    assert "blob is" in (result.reason or "")


def test_dataset_version_blob_edit_is_named(state: State) -> None:
    attack.execute(state.project, "UPDATE dataset_versions SET blob = :b", b="ab" * 32)
    result = state.project.verify_audit()
    assert _state_problems(result) == [("dataset_versions (loans@1)",
                                        _seq(state.project, "dataset.add"))]
    assert "blob is abababababab" in (result.reason or "")


def test_step_metric_value_edit_is_named(state: State) -> None:
    attack.execute(state.project, "UPDATE step_metrics SET value = 0.99 WHERE key = 'auc' "
                   "AND step = 4")
    result = state.project.verify_audit()
    assert _state_problems(result) == [(f"step_metrics (run {state.run_id})",
                                        _seq(state.project, "run.finish"))]
    assert "10 rows" in (result.reason or "")


def test_deleted_step_metric_row_is_named(state: State) -> None:
    attack.execute(state.project, "DELETE FROM step_metrics WHERE key = 'loss' AND step = 0")
    result = state.project.verify_audit()
    assert _state_problems(result) == [(f"step_metrics (run {state.run_id})",
                                        _seq(state.project, "run.finish"))]
    assert "9 rows" in (result.reason or "") and "sealed 10 rows" in (result.reason or "")


def test_run_status_and_model_edit_is_named(state: State) -> None:
    attack.execute(state.project, "UPDATE runs SET status = 'failed', model_blob = :b "
                   "WHERE id = :r", b="cd" * 32, r=state.run_id)
    problems = _state_problems(state.project.verify_audit())
    assert [row for row, _ in problems] == [f"runs ({state.run_id})"] * 2


def test_forged_promotion_event_is_caught_by_replay(state: State) -> None:
    """An appended forgery with a fresh time passes every checkpoint; the state does not."""
    project = state.project
    seq = attack.append(project, "model.promotion", "model:credit", {
        "environment": "production", "version": 2, "previous_version": None,
        "artifact_sha256": project.model_version("credit", 2).blob, "reason": None},
        "2099-01-01T00:00:00.000000Z")
    assert project.verify_audit(replay=False).ok
    result = project.verify_audit()
    assert _state_problems(result) == [("current_deployments (credit, production)", seq),
                                       ("deployments (credit, production)", seq)]


def test_state_rows_without_events_are_named(state: State) -> None:
    attack.forge_deployment(state.project, "production", 1, current=True)
    rows = [row for row, _ in _state_problems(state.project.verify_audit())]
    assert rows[0] == "current_deployments (credit, production)"
    assert rows[1].startswith("deployments (id ")


def test_events_from_before_a_hash_was_recorded_still_verify(state: State) -> None:
    """An old ledger whose dataset.add lacks content_hash: that check is skipped, not failed."""
    project = state.project
    with project.db.write_engine.begin() as conn:
        attack.drop_detail(conn, "dataset.add", "content_hash")
        conn.execute(sa.text("UPDATE dataset_versions SET blob = :b"), {"b": "ab" * 32})
    assert project.verify_audit().ok


def test_digest_is_the_one_runs_seal(state: State) -> None:
    with state.project.db.read_engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT key, step, value FROM step_metrics WHERE run_id = :r "
            "ORDER BY key, step, id"), {"r": state.run_id}).all()
    assert step_metrics_digest(rows) == metrics_digest(state.project, state.run_id)
    sealed = state.project.audit_log(action="run.finish")[-1].details
    assert step_metrics_digest(rows) == (sealed["step_metrics_sha256"], sealed["step_metrics"])
