"""The fairness service: a registered model assessed on a dataset version, stored, listed.

Every test runs on SQLite and PostgreSQL (the ``project`` fixture).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from fairlearn.metrics import demographic_parity_difference

from rasad import Project
from rasad.errors import InputError, IntegrityError, NotFoundError
from rasad.examples import generate_portfolio
from rasad.governance.fairness import FairnessReport, Verdict
from rasad.governance.fairness.service import (
    FAVORABLE_FROM_CONFIG,
    assess_model,
    list_assessments,
    load_report,
)
from rasad.monitoring.results import list_results

FEATURES = ["income", "debt_to_income", "age", "employment_type"]


def _trained(project: Project) -> Project:
    """loans@1 and credit@1, a logistic regression trained to predict ``default``."""
    project.add_dataset(generate_portfolio(months=2, rows_per_month=400, seed=2), "loans")
    project.train(dataset="loans", target="default", features=FEATURES,
                  estimator="sklearn.linear_model.LogisticRegression",
                  params={"max_iter": 300}, register_as="credit")
    return project


def _audit_events(project: Project) -> int:
    with project.db.read_engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one())


def _reopened(project: Project, old: str, new: str) -> Project:
    """The project with one rasad.yaml line changed (the configuration is read on open)."""
    config = project.root / "rasad.yaml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new))
    return Project.open(project.root)


def test_assessment_is_stored_with_its_audit_event_and_listed(project: Project) -> None:
    _trained(project)
    ctx = project.context
    assessment = assess_model(ctx, "credit@1", "loans@1", protected=["gender", "nationality"],
                              favorable=0, n_boot=100, seed=3)
    report = assessment.report
    assert (assessment.model, assessment.dataset) == ("credit@1", "loans@1")
    assert assessment.declared_in == "the favorable argument"
    assert report.outcome.target == "default" and report.outcome.favorable == 0
    assert [a.name for a in report.attributes] == ["gender", "nationality"]
    assert report.has_scores

    # The numbers are the model's predictions on the dataset, as Fairlearn counts them.
    frame = project.load_dataset("loans", 1)
    scored = project.predict("credit", frame).frame
    assert scored is not None
    dpd = report.attribute("gender").disparity("demographic_parity_difference")
    assert dpd.value_all_groups == pytest.approx(demographic_parity_difference(
        frame["default"] == 0, scored["prediction"] == 0, sensitive_features=frame["gender"]))

    (stored,) = list_results(ctx, kind="fairness")
    assert stored.id == assessment.result_id
    assert (stored.monitor, stored.reference, stored.current) == ("fairness", "credit@1",
                                                                  "loans@1")
    assert stored.alert is (report.verdict is Verdict.FAIL)
    assert stored.summary["verdict"] == str(report.verdict)
    assert stored.summary["favorable"] == 0
    assert stored.summary["model_sha256"] == project.model_version("credit", 1).blob
    assert list_assessments(ctx) == [stored]

    loaded = load_report(ctx, stored)
    assert isinstance(loaded, FairnessReport)
    assert loaded.to_dict() == report.to_dict()
    assert FairnessReport.from_json(report.to_json()).to_dict() == report.to_dict()

    events = project.audit_log(subject="monitor:fairness", action="monitor.result")
    assert len(events) == 1
    assert events[0].details["result_sha256"] == stored.blob
    assert events[0].details["reference"] == "credit@1"
    assert events[0].actor == "tester"


def test_defaults_come_from_rasad_yaml(project: Project) -> None:
    _trained(project)
    configured = _reopened(project, "protected_attributes: []",
                           "protected_attributes: [nationality]")
    configured.close()
    configured = _reopened(configured, "favorable_outcomes: {}",
                           "favorable_outcomes: {default: 0}")
    with configured:
        assessment = assess_model(configured.context, "credit", "loans", n_boot=100,
                                  monitor="credit-fairness")
        assert [a.name for a in assessment.report.attributes] == ["nationality"]
        assert assessment.model == "credit@1" and assessment.dataset == "loans@1"
        assert assessment.declared_in == FAVORABLE_FROM_CONFIG
        assert assessment.report.outcome.favorable == 0
        assert assessment.report.outcome.declared
        assert [r.monitor for r in list_assessments(configured.context)] == ["credit-fairness"]
        assert list_assessments(configured.context, "fairness") == []


def test_a_model_that_fails_its_hash_check_is_refused_and_nothing_is_stored(
        project: Project) -> None:
    _trained(project)
    digest = project.model_version("credit", 1).blob
    blob = Path(project.artifacts.root) / "blobs" / digest[:2] / digest
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))
    before = _audit_events(project)
    with pytest.raises(IntegrityError):
        assess_model(project.context, "credit", "loans@1", protected=["gender"], n_boot=100)
    assert list_results(project.context) == []
    assert _audit_events(project) == before


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"protected": ["religion"]}, InputError,
     "protected attribute 'religion': no such column in loans@1"),
    ({"protected": []}, InputError, "No protected attributes to assess"),
    ({"protected": ["gender"], "favorable": "approved"}, InputError,
     "The favourable outcome 'approved' is not a class of model credit@1"),
    ({"protected": ["gender"], "target": "nope"}, InputError, "target 'nope': no such column"),
    ({"protected": ["gender"], "monitor": "../x"}, InputError, "Monitor name '../x'"),
    ({"protected": ["gender"], "version": 2}, InputError, "already names a version"),
])
def test_bad_requests_store_nothing(project: Project, kwargs: dict[str, object],
                                    error: type[Exception], message: str) -> None:
    _trained(project)
    before = _audit_events(project)
    with pytest.raises(error, match=message):
        assess_model(project.context, "credit@1", "loans@1", n_boot=100,
                     **kwargs)  # type: ignore[arg-type]
    assert list_results(project.context) == []
    assert _audit_events(project) == before


def test_unknown_model_or_dataset_and_save_false(project: Project) -> None:
    _trained(project)
    with pytest.raises(NotFoundError, match="No model named 'nope'"):
        assess_model(project.context, "nope", "loans@1", protected=["gender"])
    with pytest.raises(NotFoundError, match="Dataset 'loans' has no version 9"):
        assess_model(project.context, "credit", "loans@9", protected=["gender"])
    unsaved = assess_model(project.context, "credit", "loans@1", protected=["gender"],
                           n_boot=100, save=False)
    assert unsaved.result_id is None
    assert list_results(project.context) == []
