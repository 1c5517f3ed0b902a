"""The validation gate before training: a dataset with schema errors never starts a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rasad import Project
from rasad.errors import CheckFailed
from rasad.examples import generate_portfolio
from rasad.training import RunStatus
from rasad.validation import infer_schema
from rasad.validation.service import save_schema, validations
from tests.cli._helpers import Cli, assert_user_error, train_args

TRAIN: dict[str, Any] = {
    "dataset": "loans", "target": "default",
    "features": ["income", "employment_type", "debt_to_income", "age", "loan_term_months"],
    "estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 300},
}


def _frame(out_of_range: bool = False) -> Any:
    frame = generate_portfolio(months=2, rows_per_month=300, seed=3)
    if out_of_range:
        frame.loc[10, "age"] = 500
    return frame


def _with_schema(project: Project) -> Project:
    project.add_dataset(_frame(), "loans")
    save_schema(project, "loans", infer_schema(project.load_dataset("loans")), "inferred")
    return project


@pytest.fixture
def loans(project: Project) -> Project:
    return _with_schema(project)


def test_a_clean_version_trains_and_records_its_validation(loans: Project) -> None:
    run = loans.train(**TRAIN).run
    assert run.status is RunStatus.FINISHED
    recorded = run.params["validation"]
    assert recorded["ok"] is True and recorded["errors"] == 0
    assert recorded["schema"] == "loans schema v1"
    (stored,) = validations(loans)
    assert (stored.id, stored.dataset, stored.ok) == (recorded["validation_id"], "loans@1", True)


def test_a_version_with_errors_does_not_start_a_run(loans: Project) -> None:
    loans.add_dataset(_frame(out_of_range=True), "loans")
    before = loans.runs()
    with pytest.raises(CheckFailed, match=r"loans@2 fails validation against loans schema v1"
                                          r".*out_of_range on age.*Training did not start"):
        loans.train(**TRAIN)
    assert loans.runs() == before
    assert [(v.dataset, v.ok, v.errors) for v in validations(loans)] == [("loans@2", False, 1)]
    (event,) = loans.audit_log(action="dataset.validate")
    assert event.subject == "dataset:loans@2" and event.details["ok"] is False
    assert not loans.audit_log(action="run.start")


def test_rasad_train_exits_1_on_schema_errors(loans: Project,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    loans.add_dataset(_frame(out_of_range=True), "loans")
    rasad = Cli(capsys, loans.root)
    assert_user_error(rasad(*train_args()), "loans@2 fails validation", "Training did not start",
                      code=1)
    assert loans.runs() == []
    assert loans.models() == []
    assert len(validations(loans)) == 1
    rasad.ok(*train_args("--dataset", "loans@1"))  # the clean version still trains
    assert len(loans.runs()) == 1


def test_on_error_warn_trains_and_records_the_failure(backend: str, tmp_path: Path) -> None:
    config = "name: warn\nvalidation:\n  on_error: warn\n"
    with Project.init(tmp_path / "warn", config_text=config) as project:
        _with_schema(project)
        project.add_dataset(_frame(out_of_range=True), "loans")
        run = project.train(**TRAIN).run
        assert run.status is RunStatus.FINISHED
        recorded = run.params["validation"]
        assert recorded["ok"] is False and recorded["errors"] == 1
        assert run.datasets[0]["dataset"] == "loans@2"
        assert [v.ok for v in validations(project)] == [False]


def test_without_a_schema_training_proceeds_with_a_note(project: Project) -> None:
    project.add_dataset(_frame(out_of_range=True), "loans")
    run = project.train(**TRAIN).run
    assert run.status is RunStatus.FINISHED
    assert run.params["validation"] == {"schema": None, "ok": None,
                                        "note": "no schema for this dataset"}
    assert validations(project) == []
