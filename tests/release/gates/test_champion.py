"""The champion gate on real projects: the candidate against the version serving there."""

from __future__ import annotations

import pytest

from rasad import Project
from rasad.errors import InputError
from rasad.evaluation.uncertainty import delong
from rasad.release.gates import champion
from rasad.release.report import GateStatus
from tests.release._seed import EVAL, TARGET, deploy, gate_inputs, seed_models, train


def test_the_first_version_in_an_environment_has_no_champion(project: Project) -> None:
    seeded = seed_models(project, champion_env="staging", candidates=("strong",))
    result = champion.run(gate_inputs(project, seeded.candidates["strong"], "production"))
    assert result.status is GateStatus.SKIPPED
    assert "no champion" in result.summary and "production" in result.summary
    assert result.evidence == {"model": seeded.candidates["strong"].ref,
                               "environment": "production"}
    in_staging = champion.run(gate_inputs(project, seeded.candidates["strong"], "staging"))
    assert in_staging.status is GateStatus.PASSED


def test_skipped_without_evaluation_data(project: Project) -> None:
    seeded = seed_models(project, candidates=("strong",))
    result = champion.run(gate_inputs(project, seeded.candidates["strong"],
                                      evaluation_data=None))
    assert result.status is GateStatus.SKIPPED
    assert "promotion.evaluation_data" in result.summary
    assert result.evidence["champion"] == seeded.champion.ref


def test_a_significantly_better_candidate_passes_with_evidence_that_rechecks(
        project: Project) -> None:
    seeded = seed_models(project, candidates=("strong",))
    candidate, serving = seeded.candidates["strong"], seeded.champion
    result = champion.run(gate_inputs(project, candidate))
    assert result.status is GateStatus.PASSED
    evidence = result.evidence
    assert (evidence["model"], evidence["artifact_sha256"]) == (candidate.ref, candidate.blob)
    assert (evidence["champion"], evidence["champion_artifact_sha256"]) == (
        serving.ref, serving.blob)
    assert evidence["evaluation_data"] == f"{EVAL}@1"
    assert evidence["evaluation_sha256"] == seeded.evaluation.content_hash
    assert (evidence["metric"], evidence["margin"], evidence["rows"]) == ("roc_auc", 0.0, 1500)
    comparison = evidence["comparison"]
    assert comparison["method"] == "delong"
    assert comparison["better"] is True and comparison["not_worse"] is True
    assert "significantly better" in result.summary and "not significantly" not in result.summary
    # re-check from the stored models and data alone
    frame = project.load_dataset(EVAL)
    scores = [project.load_model(v.name, v.version).predict_proba(
        frame[[c.name for c in v.signature.columns]])[:, 1] for v in (candidate, serving)]
    test = delong(frame[TARGET].to_numpy(), *scores)
    assert comparison["difference"] == pytest.approx(test.difference, abs=1e-12)
    assert comparison["standard_error"] == pytest.approx(test.standard_error, abs=1e-12)
    assert comparison["challenger"] == pytest.approx(test.auc_a, abs=1e-12)
    assert comparison["champion"] == pytest.approx(test.auc_b, abs=1e-12)


def test_better_on_average_but_not_significantly_fails_under_a_zero_margin(
        project: Project) -> None:
    """The issue's check: such a candidate does not beat the champion."""
    seeded = seed_models(project, candidates=("marginal",))
    candidate = seeded.candidates["marginal"]
    result = champion.run(gate_inputs(project, candidate))
    comparison = result.evidence["comparison"]
    assert comparison["difference"] > 0  # better on average
    assert comparison["lower_bound"] < 0 and comparison["p_value"] > 0.05
    assert result.status is GateStatus.FAILED
    assert comparison["not_worse"] is False and comparison["better"] is False
    assert "not significantly better" in result.summary
    margin = round(-comparison["lower_bound"] + 0.001, 3)
    within = champion.run(gate_inputs(project, candidate, champion={"margin": margin}))
    assert within.status is GateStatus.PASSED
    assert within.evidence["comparison"]["better"] is False
    assert within.evidence["margin"] == margin


def test_a_worse_candidate_fails(project: Project) -> None:
    seeded = seed_models(project, candidates=("weak",))
    result = champion.run(gate_inputs(project, seeded.candidates["weak"]))
    assert result.status is GateStatus.FAILED
    assert result.evidence["comparison"]["difference"] < -0.05


def test_another_metric_uses_a_seeded_paired_bootstrap(project: Project) -> None:
    seeded = seed_models(project, candidates=("strong",))
    inputs = dict(champion={"metric": "brier"}, bootstrap=300, seed=4)
    first = champion.run(gate_inputs(project, seeded.candidates["strong"], **inputs))
    comparison = first.evidence["comparison"]
    assert comparison["method"] == "paired bootstrap" and comparison["higher_is_better"] is False
    assert (comparison["n_boot"], comparison["seed"], comparison["n_valid"]) == (300, 4, 300)
    assert comparison["difference"] == pytest.approx(
        comparison["champion"] - comparison["challenger"])
    assert first.status is GateStatus.PASSED
    again = champion.run(gate_inputs(project, seeded.candidates["strong"], **inputs))
    assert again == first


def test_the_candidate_serving_already_is_not_worse_than_itself(project: Project) -> None:
    seeded = seed_models(project, candidates=())
    result = champion.run(gate_inputs(project, seeded.champion))
    assert result.status is GateStatus.PASSED
    assert result.evidence["comparison"]["difference"] == 0.0


def test_a_candidate_without_probabilities_fails_on_roc_auc_and_names_the_key(
        project: Project) -> None:
    seeded = seed_models(project, candidates=())
    version = train(project, ["income", "age", "debt_to_income"],
                    estimator="sklearn.svm.LinearSVC", params={})
    assert version.name == seeded.champion.name
    result = champion.run(gate_inputs(project, version))
    assert result.status is GateStatus.FAILED
    assert "promotion.champion.metric" in result.summary and version.ref in result.summary
    assert result.evidence["comparison"] is None
    on_f1 = champion.run(gate_inputs(project, version, champion={"metric": "f1"}))
    assert on_f1.evidence["comparison"]["method"] == "paired bootstrap"


def test_a_regressor_is_compared_on_rmse_by_default(project: Project) -> None:
    from tests.release._seed import add_data

    add_data(project)

    def regressor(features: list[str]):  # type: ignore[no-untyped-def]
        run = project.train(dataset="loans", target="loan_amount", features=features,
                            estimator="sklearn.linear_model.LinearRegression", params={}).run
        return project.register(run.id, "amount")

    old = regressor(["loan_term_months"])
    deploy(project, old, "production")
    new = regressor(["income", "loan_term_months"])
    result = champion.run(gate_inputs(project, new, target="loan_amount", bootstrap=200))
    comparison = result.evidence["comparison"]
    assert result.evidence["metric"] == "rmse" and comparison["method"] == "paired bootstrap"
    assert comparison["champion"] > comparison["challenger"] and comparison["better"] is True


def test_a_metric_of_the_wrong_task_names_the_key(project: Project) -> None:
    seeded = seed_models(project, candidates=("strong",))
    with pytest.raises(InputError, match="promotion.champion.metric in rasad.yaml: Metric "
                                         "'rmse' is not available for classification"):
        champion.run(gate_inputs(project, seeded.candidates["strong"],
                                 champion={"metric": "rmse"}))
