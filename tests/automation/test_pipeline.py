"""The retraining pipeline on real projects (SQLite and PostgreSQL): every step through
rasad's own services, reused when run again, claimed while it runs, stopped on bad data."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from sqlalchemy import func, select

from rasad import Project
from rasad.automation import claims
from rasad.automation.pipeline import (
    COMBINED_SUFFIX,
    PipelineResult,
    PipelineStatus,
    PipelineStep,
    StepOutcome,
    input_hash,
    retrain,
    run_name,
)
from rasad.core import Context
from rasad.errors import ConfigError, ConflictError, NotFoundError, PermissionDenied
from rasad.examples import generate_portfolio
from rasad.release import service as release
from rasad.store._tables import (
    ModelVersionRow,
    PipelineStepRow,
    RunRow,
    TriggerRow,
    WorkClaimRow,
)
from rasad.validation import infer_schema
from rasad.validation.service import save_schema

MODEL = "credit"
OWNER = "agent-1"
FEATURES = ["income", "age", "employment_type", "debt_to_income"]
STEPS = [str(s) for s in PipelineStep]


def config_text(retraining: dict[str, Any] | None = None, **sections: Any) -> str:
    """rasad.yaml of a small loans project that retrains ``credit``."""
    config: dict[str, Any] = {
        "name": "retrain",
        "training": {"dataset": "loans", "target": "default", "features": FEATURES,
                     "estimator": {"class": "sklearn.linear_model.LogisticRegression",
                                   "params": {"max_iter": 200}}},
        "automation": {"retraining": {MODEL: retraining or {}}},
        **sections,
    }
    return yaml.safe_dump(config)


def portfolio(seed: int = 7, rows: int = 300) -> pd.DataFrame:
    return generate_portfolio(months=2, rows_per_month=rows, seed=seed)


def more_loans() -> pd.DataFrame:
    """200 applications that arrived after the first 600 (new ids, the same population)."""
    return portfolio(rows=400).iloc[600:].reset_index(drop=True)


def make_project(root: Path, text: str) -> Project:
    """The project, its data (with an inferred schema) and the agent's service account."""
    project = Project.init(root, config_text=text)
    everything = portfolio(rows=400)
    project.add_dataset(everything.iloc[:600], "loans")
    # The schema knows the whole population, so the later applications are valid too.
    save_schema(project.context, "loans", infer_schema(everything), source="inferred")
    project.add_principal("agent", kind="service", roles=["data_scientist", "deployer"])
    project.add_principal("risk", roles=["approver"])
    return project


def as_(project: Project, actor: str) -> Context:
    return Context.build(project.root, project.config, actor=actor)


def fire(project: Project, key: str = "drift:income:1") -> int:
    """A trigger row as the agent's monitors write it (set-up only)."""
    with project.db.write() as session:
        row = TriggerRow(key=key, monitor="income-drift", kind="drift", monitor_result_id=None,
                         source_file_id=None, actions='["retrain"]', summary="income drifted",
                         status="open", fired_at=project.clock())
        session.add(row)
        session.flush()
        return row.id


def count(project: Project, table: Any, *where: Any) -> int:
    with project.read() as session:
        return int(session.execute(select(func.count()).select_from(table).where(*where))
                   .scalar_one())


def retrain_events(project: Project) -> list[dict[str, Any]]:
    return [dict(e.details) for e in project.audit_log(action="automation.retrain")]


@pytest.fixture
def loans(backend: str, tmp_path: Path) -> Iterator[Project]:
    with make_project(tmp_path / "proj", config_text()) as project:
        yield project


@pytest.fixture
def agent(loans: Project) -> Iterator[Context]:
    ctx = as_(loans, "agent")
    yield ctx
    ctx.close()


def test_retrain_deploys_to_the_first_gated_environment_with_lineage(
        loans: Project, agent: Context) -> None:
    trigger = fire(loans)
    result = retrain(agent, MODEL, trigger_id=trigger, owner=OWNER)

    assert result.status is PipelineStatus.DEPLOYED  # staging: gates, no approval
    assert [s.step for s in result.steps] == list(PipelineStep)
    assert not any(s.reused for s in result.steps)
    assert result.version == 1 and result.request_id is not None
    version = loans.model_version(MODEL, env="staging")
    assert version.version == 1
    run = loans.run(version.run_id)
    assert run.name == run_name(MODEL, trigger) == f"retrain-credit-trigger-{trigger}"
    assert run.created_by == "agent" and str(run.status) == "finished"
    assert [d["dataset"] for d in run.datasets] == ["loans@1"]
    request = loans.request(result.request_id)
    assert str(request.status) == "promoted" and request.opened_by == "agent"
    assert request.reason == f"retraining of credit for trigger #{trigger}"
    validate = result.steps[1].output
    assert validate["ok"] is True and validate["schema"] is not None
    [event] = retrain_events(loans)
    assert event["trigger_id"] == trigger and event["monitor"] == "income-drift"
    assert event["version"] == 1 and event["request_id"] == result.request_id
    assert event["status"] == "deployed"
    assert [s["step"] for s in event["steps"]] == STEPS
    assert loans.verify_audit().ok


def test_running_the_same_trigger_again_reuses_every_step(loans: Project,
                                                          agent: Context) -> None:
    trigger = fire(loans)
    first = retrain(agent, MODEL, trigger_id=trigger, owner=OWNER)
    runs, events = count(loans, RunRow), len(loans.audit_log())
    again = retrain(agent, MODEL, trigger_id=trigger, owner="agent-2")

    assert all(s.reused for s in again.steps) and len(again.steps) == 5
    assert [s.output for s in again.steps] == [s.output for s in first.steps]
    assert (again.version, again.request_id, again.status) == (
        first.version, first.request_id, first.status)
    assert count(loans, RunRow) == runs == 1
    assert count(loans, ModelVersionRow) == 1
    assert len(loans.audit_log()) == events  # nothing new: no event, no validation
    assert len(retrain_events(loans)) == 1

    # Another trigger on the same data reuses the work, but its own retraining is recorded.
    other = fire(loans, "drift:income:2")
    third = retrain(agent, MODEL, trigger_id=other, owner=OWNER)
    assert all(s.reused for s in third.steps) and count(loans, RunRow) == 1
    assert [e["trigger_id"] for e in retrain_events(loans)] == [trigger, other]


def test_new_data_is_a_new_input_and_retrains(loans: Project, agent: Context) -> None:
    first = retrain(agent, MODEL, trigger_id=fire(loans), owner=OWNER)
    loans.add_dataset(more_loans(), "loans")
    second = retrain(agent, MODEL, trigger_id=fire(loans, "k2"), owner=OWNER)

    assert not any(s.reused for s in second.steps)
    assert second.steps[0].output["dataset"] == "loans" and second.steps[0].output["version"] == 2
    assert second.version == 2 and first.version == 1
    assert loans.model_version(MODEL, env="staging").version == 2
    assert second.steps[2].output["run_id"] != first.steps[2].output["run_id"]


def test_invalid_data_stops_and_registers_nothing(loans: Project, agent: Context) -> None:
    bad = portfolio(seed=9)
    bad["income"] = -bad["income"].abs() - 1.0  # below every income the schema knows
    bad.loc[:20, "age"] = None
    loans.add_dataset(bad, "loans")
    trigger = fire(loans)
    result = retrain(agent, MODEL, trigger_id=trigger, owner=OWNER)

    assert result.status is PipelineStatus.STOPPED
    assert result.version is None and result.request_id is None
    assert "loans@2 fails validation" in (result.reason or "")
    assert "income" in (result.reason or "")
    assert [s.step for s in result.steps] == [PipelineStep.DATASET, PipelineStep.VALIDATE]
    assert result.steps[1].output["ok"] is False and result.steps[1].output["errors"] > 0
    assert count(loans, RunRow) == 0 and count(loans, ModelVersionRow) == 0
    assert loans.requests() == []
    [event] = retrain_events(loans)
    assert event["status"] == "stopped" and "fails validation" in event["reason"]

    again = retrain(agent, MODEL, trigger_id=trigger, owner=OWNER)
    assert again.status is PipelineStatus.STOPPED and all(s.reused for s in again.steps)
    assert len(retrain_events(loans)) == 1 and count(loans, RunRow) == 0


def test_production_waits_for_its_approver(backend: str, tmp_path: Path) -> None:
    with make_project(tmp_path / "p", config_text({"request_to": "production"})) as project:
        agent = as_(project, "agent")
        result = retrain(agent, MODEL, trigger_id=fire(project), owner=OWNER)
        assert result.status is PipelineStatus.REQUESTED
        request = project.request(result.request_id or 0)
        assert str(request.status) == "open" and request.environment == "production"
        assert request.approvals_required == 1
        with pytest.raises(NotFoundError):  # nothing serves until a person approves
            project.model_version(MODEL, env="production")

        approved = release.approve(as_(project, "risk"), request.id)
        assert str(approved.status) == "promoted"
        assert project.model_version(MODEL, env="production").version == result.version
        # Re-running after the approval reuses the request step: nothing reopens.
        again = retrain(agent, MODEL, trigger_id=result.trigger_id, owner=OWNER)
        assert all(s.reused for s in again.steps) and len(project.requests()) == 1


def test_blocking_gates_stop_with_the_failed_request(backend: str, tmp_path: Path) -> None:
    text = config_text(promotion={"evaluation_data": "loans-eval",
                                  "metrics": {"roc_auc": {"min": 0.999}}})
    with make_project(tmp_path / "p", text) as project:
        project.add_dataset(portfolio(seed=21), "loans-eval")
        result = retrain(as_(project, "agent"), MODEL, trigger_id=fire(project), owner=OWNER)
        assert result.status is PipelineStatus.STOPPED and result.version == 1
        assert "roc_auc" in (result.reason or "") and result.request_id is not None
        assert str(project.request(result.request_id).status) == "failed"
        with pytest.raises(NotFoundError):
            project.model_version(MODEL, env="staging")


def test_combine_all_trains_on_every_version_as_a_derived_dataset(
        backend: str, tmp_path: Path) -> None:
    with make_project(tmp_path / "p", config_text({"combine": "all"})) as project:
        project.add_dataset(more_loans(), "loans")
        agent = as_(project, "agent")
        result = retrain(agent, MODEL, trigger_id=fire(project), owner=OWNER)

        made = result.steps[0].output
        assert made["dataset"] == "loans" + COMBINED_SUFFIX and made["version"] == 1
        assert made["combined_from"] == ["loans@1", "loans@2"]
        assert made["rows"] == 600 + 200
        combined = project.dataset("loans" + COMBINED_SUFFIX)
        assert combined.rows == 800
        assert result.status is PipelineStatus.DEPLOYED
        run = project.run(project.model_version(MODEL, 1).run_id)
        assert [d["dataset"] for d in run.datasets] == ["loans-combined@1"]
        # Validated against the schema of `loans` (the derived name has none of its own).
        assert result.steps[1].output["ok"] is True

        again = retrain(agent, MODEL, trigger_id=result.trigger_id, owner=OWNER)
        assert all(s.reused for s in again.steps)
        assert len(project.datasets("loans" + COMBINED_SUFFIX)) == 1


def test_a_step_claimed_by_another_agent_is_not_run_twice(loans: Project,
                                                          agent: Context) -> None:
    newest = loans.dataset("loans")
    key = "step:dataset:" + input_hash({
        "model": MODEL, "dataset": "loans", "combine": "latest",
        "versions": [[newest.version, newest.content_hash]]})
    assert claims.claim(agent, key, owner="agent-2", lease_seconds=300)
    trigger = fire(loans)
    with pytest.raises(ConflictError, match="another agent"):
        retrain(agent, MODEL, trigger_id=trigger, owner=OWNER)
    assert count(loans, PipelineStepRow) == 0 and count(loans, RunRow) == 0

    # Its lease runs out: the work is taken over and done once.
    assert claims.claim(agent, key, owner="agent-2", lease_seconds=0.01)
    time.sleep(0.05)
    result = retrain(agent, MODEL, trigger_id=trigger, owner=OWNER)
    assert result.status is PipelineStatus.DEPLOYED
    taken = claims.get_claim(agent, key)
    assert taken is not None and taken.owner == OWNER and taken.finished
    assert taken.attempts == 2


def test_a_failed_step_releases_its_claim_and_stores_nothing(backend: str,
                                                             tmp_path: Path) -> None:
    text = config_text()
    text = text.replace("target: default", "target: no_such_column")
    with make_project(tmp_path / "p", text) as project:
        agent = as_(project, "agent")
        result = retrain(agent, MODEL, trigger_id=fire(project), owner=OWNER)
        assert result.status is PipelineStatus.STOPPED
        assert "training failed" in (result.reason or "")
        assert "no_such_column" in (result.reason or "")
        assert count(project, PipelineStepRow, PipelineStepRow.step == "train") == 0
        # Nobody holds the train step now: another agent may try at once.
        train_keys = [c for c in _claim_rows(project) if c[0].startswith("step:train:")]
        assert train_keys and all(c[1] == claims.RELEASED for c in train_keys)


def _claim_rows(project: Project) -> list[tuple[str, str]]:
    with project.read() as session:
        return [(r.key, r.lease_until) for r in session.execute(select(WorkClaimRow)).scalars()]


def test_bad_requests_are_refused_before_anything_is_written(loans: Project,
                                                             agent: Context) -> None:
    trigger = fire(loans)
    with pytest.raises(ConfigError, match=r"automation\.retraining\.fraud"):
        retrain(agent, "fraud", trigger_id=trigger, owner=OWNER)
    with pytest.raises(NotFoundError, match="No trigger #999"):
        retrain(agent, MODEL, trigger_id=999, owner=OWNER)
    viewer = as_(loans, "nobody")  # not a principal: reads only
    with pytest.raises(PermissionDenied):
        retrain(viewer, MODEL, trigger_id=trigger, owner=OWNER)
    assert count(loans, PipelineStepRow) == 0 and retrain_events(loans) == []


def test_request_to_must_name_an_environment(backend: str, tmp_path: Path) -> None:
    with make_project(tmp_path / "p", config_text({"request_to": "prod"})) as project:
        with pytest.raises(ConfigError, match=r"request_to.*No environment 'prod'"):
            retrain(as_(project, "agent"), MODEL, trigger_id=fire(project), owner=OWNER)


def test_results_render_to_json_and_back() -> None:
    outcome = StepOutcome(step="train", reused=True, input_hash="ab" * 32,
                          output={"run_id": "r1"})
    result = PipelineResult(trigger_id=1, model=MODEL, steps=[outcome], version=2,
                            request_id=5, status="requested")
    assert PipelineResult.from_json(result.to_json()) == result
    assert json.loads(result.to_json())["steps"][0]["step"] == "train"
    assert result.message == "Retraining credit (trigger #1) put credit@2 up for approval " \
                             "(request #5)."


def test_two_agents_at_once_train_and_register_once(loans: Project) -> None:
    trigger = fire(loans)
    contexts = [as_(loans, "agent"), as_(loans, "agent")]
    start = threading.Barrier(2)
    outcomes: list[PipelineResult | Exception] = []

    def agent(ctx: Context, owner: str) -> None:
        start.wait()
        try:
            outcomes.append(retrain(ctx, MODEL, trigger_id=trigger, owner=owner))
        except ConflictError as exc:  # a step the other agent holds: it tries later
            outcomes.append(exc)

    threads = [threading.Thread(target=agent, args=(ctx, f"agent-{i}"))
               for i, ctx in enumerate(contexts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    finished = [o for o in outcomes if isinstance(o, PipelineResult)]
    assert len(outcomes) == 2 and finished
    assert count(loans, RunRow) == 1 and count(loans, ModelVersionRow) == 1
    assert len(loans.audit_log(action="model.promotion")) == 1
    # The one that had to wait now finds every step done.
    late = retrain(contexts[0], MODEL, trigger_id=trigger, owner="agent-0")
    assert all(s.reused for s in late.steps) and late.version == 1
    assert len(retrain_events(loans)) == 1
    for ctx in contexts:
        ctx.close()
