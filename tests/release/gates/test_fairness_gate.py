"""The fairness gate on real projects: a model that discriminates fails, a fair one passes."""

from __future__ import annotations

import pandas as pd
import pytest

from rasad import Project
from rasad.errors import InputError
from rasad.governance.fairness import FairnessReport, Verdict, assess
from rasad.release.gates import evaluate, fairness
from rasad.release.report import GateStatus
from tests.release._data_gates_seed import (
    BIASED,
    EVAL,
    FAIR_FEATURES,
    SEXIST_FEATURES,
    TARGET,
    add_data,
    configured,
    gate_inputs,
    train,
)


def test_a_model_that_discriminates_fails_with_figures_that_recheck(project: Project) -> None:
    add_data(project)
    sexist = train(project, SEXIST_FEATURES, dataset=BIASED)
    result = fairness.run(gate_inputs(configured(project, bootstrap=300, seed=5), sexist))
    assert result.status is GateStatus.FAILED
    assert "disparate_impact_ratio of 'sex' (fail)" in result.evidence["blocking"]
    assert "disparate_impact_ratio of 'sex'" in result.summary
    evidence = result.evidence
    assert (evidence["model"], evidence["artifact_sha256"]) == (sexist.ref, sexist.blob)
    assert evidence["evaluation_data"] == f"{EVAL}@1"
    assert evidence["evaluation_sha256"] == project.dataset(EVAL).content_hash
    assert (evidence["favorable"], evidence["target"], evidence["rows"]) == (0, TARGET, 2000)
    assert "governance.fairness.favorable_outcomes" in evidence["favorable_declared_in"]
    report = FairnessReport.from_dict(evidence["report"])
    impact = report.attribute("sex").disparity("disparate_impact_ratio")
    assert impact.upper is not None and impact.upper < 0.8  # women approved far less often
    assert (report.n_boot, report.seed, report.confidence) == (300, 5, 0.95)
    # the stored report is exactly the engine's on the stored model and data
    frame = project.load_dataset(EVAL)
    model = project.load_model(sexist.name, sexist.version)
    inputs = frame[list(sexist.signature.names)]
    again = assess(frame[TARGET], pd.Series(model.predict(inputs), name=f"{sexist.ref} "
                                            "prediction"),
                   frame[["sex", "age"]],
                   pd.Series(model.predict_proba(inputs)[:, 0],
                             name=f"{sexist.ref} probability of 0"),
                   favorable=0, n_boot=300, seed=5)
    assert again.to_dict() == evidence["report"]


def test_a_fair_model_passes_and_require_pass_blocks_what_is_inconclusive(
        project: Project) -> None:
    add_data(project)
    fair = train(project, FAIR_FEATURES)
    passed = fairness.run(gate_inputs(configured(project, bootstrap=300), fair))
    assert passed.status is GateStatus.PASSED, passed.summary
    report = FairnessReport.from_dict(passed.evidence["report"])
    assert report.verdict is not Verdict.FAIL and passed.evidence["blocking"] == []
    undecided = [f"{d.measure} of {a.name!r} ({d.verdict})" for a in report.attributes
                 for d in a.disparities if d.verdict is Verdict.INCONCLUSIVE]
    assert undecided  # base rates differ by age: predictive parity cannot be settled
    strict = fairness.run(gate_inputs(configured(project, bootstrap=300,
                                                 fairness={"require_pass": True}), fair))
    assert strict.status is GateStatus.FAILED
    assert strict.evidence["blocking"] == undecided
    assert "promotion.fairness.require_pass" in strict.summary
    # on sex alone every verdict passes, so require_pass lets it through
    on_sex = fairness.run(gate_inputs(configured(project, protected=["sex"], bootstrap=300,
                                                 fairness={"require_pass": True}), fair))
    assert on_sex.status is GateStatus.PASSED
    assert on_sex.evidence["verdict"] == "pass"


def test_skipped_when_nothing_to_assess(project: Project) -> None:
    add_data(project)
    fair = train(project, FAIR_FEATURES)
    unprotected = fairness.run(gate_inputs(configured(project, protected=[]), fair))
    assert unprotected.status is GateStatus.SKIPPED
    assert "data.protected_attributes" in unprotected.summary
    no_data = fairness.run(gate_inputs(configured(project, evaluation_data=None), fair))
    assert no_data.status is GateStatus.SKIPPED
    assert "promotion.evaluation_data" in no_data.summary
    result = project.train(dataset="applications", target="income",
                           features=["debt_to_income", "age"],
                           estimator="sklearn.linear_model.LinearRegression")
    regressor = project.register(result.run.id, "income")
    not_binary = fairness.run(gate_inputs(configured(project), regressor))
    assert not_binary.status is GateStatus.SKIPPED
    assert "income@1 is not a binary classifier" in not_binary.summary


def test_favourable_outcome_assumed_or_refused(project: Project) -> None:
    add_data(project)
    fair = train(project, FAIR_FEATURES)
    assumed = fairness.run(gate_inputs(configured(project, favorable={}, bootstrap=200), fair))
    assert assumed.evidence["favorable"] == 1
    assert assumed.evidence["favorable_declared_in"] is None
    assert "assumed" in assumed.summary
    with pytest.raises(InputError, match="favorable_outcomes"):
        fairness.run(gate_inputs(configured(project, favorable={TARGET: "approved"}), fair))
    with pytest.raises(InputError, match=r"data.protected_attributes .* 'religion'"):
        fairness.run(gate_inputs(configured(project, protected=["sex", "religion"]), fair))


def test_through_evaluate(project: Project) -> None:
    add_data(project)
    fair = train(project, FAIR_FEATURES)
    sexist = train(project, SEXIST_FEATURES, dataset=BIASED)
    ctx = configured(project, bootstrap=200,
                     environments={"staging": {"gates": ["fairness"]}})
    assert evaluate(ctx, fair, "staging").passed
    blocked = evaluate(ctx, sexist, "staging")
    assert blocked.blocking == ["fairness"]
    gate = blocked.gate("fairness")
    assert gate is not None and gate.evidence["model"] == sexist.ref
