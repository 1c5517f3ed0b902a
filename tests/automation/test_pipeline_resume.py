"""kill -9 in the middle of a retraining: the next run resumes after the last finished step.

The retraining runs in a child process that kills itself with SIGKILL right after a step's
output is stored (the hook is patched in by the child's own script, only when the test
sets ``PIPELINE_TEST_KILL_AFTER``; rasad has no such knob). Nothing in the child gets to
clean up: no claim is finished or released, no transaction after the kill happens.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from rasad import Project
from rasad.automation import claims
from rasad.automation.pipeline import PipelineStatus, PipelineStep, retrain
from rasad.errors import ConflictError
from rasad.store._tables import PipelineStepRow, RunRow
from tests.automation.test_pipeline import (
    MODEL,
    as_,
    config_text,
    count,
    fire,
    make_project,
    retrain_events,
)

CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path

    from rasad.automation import pipeline
    from rasad.config import ProjectConfig
    from rasad.core import Context

    root, trigger, owner = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    after = os.environ["PIPELINE_TEST_KILL_AFTER"]
    if after.startswith("fit"):  # in the middle of the train step, while fitting
        step = pipeline._Renewing.step

        def dying_step(self, description):
            if description.startswith("Fitting"):
                os.kill(os.getpid(), signal.SIGKILL)
            return step(self, description)

        pipeline._Renewing.step = dying_step
    else:  # right after the step's output is stored
        store = pipeline._Run._store

        def dying_store(self, step, key_hash, output):
            outcome = store(self, step, key_hash, output)
            if str(step) == after:
                os.kill(os.getpid(), signal.SIGKILL)
            return outcome

        pipeline._Run._store = dying_store
    ctx = Context.build(root, ProjectConfig.load(root / "rasad.yaml"), actor="agent")
    pipeline.retrain(ctx, "credit", trigger_id=trigger, owner=owner)
    print("the child was not killed")
""")


@pytest.fixture
def loans(backend: str, tmp_path: Path) -> Iterator[Project]:
    with make_project(tmp_path / "proj", config_text()) as project:
        yield project


def killed_after(project: Project, step: str, trigger: int, owner: str = "agent-1") -> None:
    """Run the retraining in a child that SIGKILLs itself after ``step``."""
    env = {**os.environ, "PIPELINE_TEST_KILL_AFTER": step}
    done = subprocess.run([sys.executable, "-c", CHILD, str(project.root), str(trigger), owner],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr


def stored_steps(project: Project) -> dict[str, str]:
    with project.read() as session:
        return {r.step: r.output for r in session.execute(select(PipelineStepRow)).scalars()}


def test_a_retraining_killed_after_training_resumes_without_training_again(
        loans: Project) -> None:
    trigger = fire(loans)
    killed_after(loans, "train", trigger)
    assert set(stored_steps(loans)) == {"dataset", "validate", "train"}
    with loans.read() as session:
        [run] = session.execute(select(RunRow)).scalars().all()
    assert run.status == "finished"
    assert loans.models() == []  # killed before registering

    result = retrain(as_(loans, "agent"), MODEL, trigger_id=trigger, owner="agent-1")
    reused = {s.step: s.reused for s in result.steps}
    assert reused == {PipelineStep.DATASET: True, PipelineStep.VALIDATE: True,
                      PipelineStep.TRAIN: True, PipelineStep.REGISTER: False,
                      PipelineStep.PROMOTE: False}
    assert result.steps[2].output["run_id"] == run.id
    assert count(loans, RunRow) == 1
    assert result.status is PipelineStatus.DEPLOYED and result.version == 1
    assert len(loans.audit_log(action="model.register")) == 1
    assert len(retrain_events(loans)) == 1
    assert loans.verify_audit().ok


def test_a_retraining_killed_after_registering_registers_once(loans: Project) -> None:
    trigger = fire(loans)
    killed_after(loans, "register", trigger)
    assert [v.version for v in loans.model(MODEL).versions] == [1]

    # Another agent resumes it: the steps are stored, so no claim stands in its way.
    result = retrain(as_(loans, "agent"), MODEL, trigger_id=trigger, owner="agent-2")
    assert [s.reused for s in result.steps] == [True, True, True, True, False]
    assert [v.version for v in loans.model(MODEL).versions] == [1]
    assert len(loans.audit_log(action="model.register")) == 1
    assert len(loans.audit_log(action="model.promotion")) == 1
    assert result.status is PipelineStatus.DEPLOYED


def test_a_retraining_killed_while_fitting_is_redone_once_its_claim_is_free(
        loans: Project) -> None:
    trigger = fire(loans)
    killed_after(loans, "fit", trigger)
    assert set(stored_steps(loans)) == {"dataset", "validate"}
    agent = as_(loans, "agent")
    # The dead agent's lease still runs: another agent waits instead of training twice.
    with pytest.raises(ConflictError, match="step:train:"):
        retrain(agent, MODEL, trigger_id=trigger, owner="agent-2")
    with loans.read() as session:
        dead = session.execute(select(RunRow)).scalars().all()
    assert [r.status for r in dead] == ["running"]

    # The same agent, restarted, takes its own claim back and trains.
    result = retrain(agent, MODEL, trigger_id=trigger, owner="agent-1")
    assert result.status is PipelineStatus.DEPLOYED
    assert [s.reused for s in result.steps] == [True, True, False, False, False]
    assert result.steps[2].output["run_id"] != dead[0].id
    key = f"step:train:{result.steps[2].input_hash}"
    held = claims.get_claim(agent, key)
    assert held is not None and held.finished and held.owner == "agent-1"
    assert len(loans.model(MODEL).versions) == 1
