"""The metrics gate on real projects: thresholds, intervals, and evidence that re-checks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from rasad import Project
from rasad.config import PromotionConfig
from rasad.errors import InputError
from rasad.evaluation.uncertainty import metric_intervals
from rasad.release.gates import evaluate, metrics
from rasad.release.report import GateStatus
from tests.release._seed import EVAL, TARGET, gate_inputs, seed_models, train


def test_skipped_without_thresholds_or_without_evaluation_data(project: Project) -> None:
    seeded = seed_models(project, champion_env=None, candidates=())
    none_declared = metrics.run(gate_inputs(project, seeded.champion))
    assert none_declared.status is GateStatus.SKIPPED
    assert "promotion.metrics" in none_declared.summary
    no_data = metrics.run(gate_inputs(project, seeded.champion, evaluation_data=None,
                                      metrics={"roc_auc": {"min": 0.6}}))
    assert no_data.status is GateStatus.SKIPPED
    assert "promotion.evaluation_data" in no_data.summary


def test_thresholds_pass_and_fail_with_figures_that_recheck(project: Project) -> None:
    seeded = seed_models(project, champion_env=None, candidates=("strong",))
    candidate = seeded.candidates["strong"]
    result = metrics.run(gate_inputs(project, candidate, seed=3, bootstrap=400, metrics={
        "roc_auc": {"min": 0.7}, "brier": {"max": 0.2, "basis": "bound"},
        "accuracy": {"min": 0.99}}))
    assert result.status is GateStatus.FAILED
    assert "accuracy" in result.summary and "roc_auc" not in result.summary
    evidence = result.evidence
    assert evidence["model"] == candidate.ref and evidence["artifact_sha256"] == candidate.blob
    assert evidence["evaluation_data"] == seeded.evaluation.ref == f"{EVAL}@1"
    assert evidence["evaluation_sha256"] == seeded.evaluation.content_hash
    assert (evidence["rows"], evidence["n_boot"], evidence["seed"], evidence["confidence"]) == (
        1500, 400, 3, 0.95)
    checks = {check["metric"]: check for check in evidence["thresholds"]}
    assert [checks[m]["passed"] for m in ("roc_auc", "brier", "accuracy")] == [True, True, False]
    # the figures re-check from the stored model and data alone
    frame = project.load_dataset(EVAL)
    model = project.load_model(candidate.name, candidate.version)
    inputs = frame[[c.name for c in candidate.signature.columns]]
    proba = model.predict_proba(inputs)[:, 1]
    y = frame[TARGET].to_numpy()
    assert checks["roc_auc"]["interval"]["estimate"] == pytest.approx(roc_auc_score(y, proba))
    assert checks["brier"]["interval"]["estimate"] == pytest.approx(brier_score_loss(y, proba))
    again = metric_intervals(["roc_auc", "brier", "accuracy"], y, predictions=model.predict(inputs),
                             proba=model.predict_proba(inputs), classes=candidate.classes,
                             n_boot=400, seed=3)
    for interval in again:
        stored = checks[interval.metric.value]["interval"]
        assert (stored["lower"], stored["upper"]) == pytest.approx(
            (interval.lower, interval.upper), rel=1e-12)
    brier = checks["brier"]
    assert brier["basis"] == "bound" and brier["compared"] == brier["interval"]["upper"]


def test_basis_bound_is_stricter_than_the_estimate(project: Project) -> None:
    seeded = seed_models(project, champion_env=None, candidates=())
    estimate = metrics.run(gate_inputs(project, seeded.champion, metrics={"roc_auc": {
        "min": 0.5}})).evidence["thresholds"][0]["interval"]["estimate"]
    between = estimate - 0.01  # inside the interval, which is wider than that
    on_estimate = metrics.run(gate_inputs(project, seeded.champion, metrics={
        "roc_auc": {"min": between}}))
    on_bound = metrics.run(gate_inputs(project, seeded.champion, metrics={
        "roc_auc": {"min": between, "basis": "bound"}}))
    lower = on_bound.evidence["thresholds"][0]["interval"]["lower"]
    assert lower < between < estimate
    assert on_estimate.status is GateStatus.PASSED
    assert on_bound.status is GateStatus.FAILED
    assert "roc_auc lower bound" in on_bound.summary and f"min {between:g}" in on_bound.summary


def test_a_regressor_is_checked_on_rmse(project: Project) -> None:
    from tests.release._seed import add_data

    add_data(project)
    version = project.register(project.train(
        dataset="loans", target="loan_amount", features=["income", "loan_term_months"],
        estimator="sklearn.linear_model.LinearRegression", params={}).run.id, "amount")
    high = metrics.run(gate_inputs(project, version, target="loan_amount",
                                   metrics={"rmse": {"max": 1e9}, "r2": {"min": 0.0}}))
    assert high.status is GateStatus.PASSED, high.summary
    rmse = high.evidence["thresholds"][0]["interval"]
    assert rmse["metric"] == "rmse" and rmse["higher_is_better"] is False
    with pytest.raises(InputError, match="promotion.metrics.*roc_auc.*not available for "
                                         "regression"):
        metrics.run(gate_inputs(project, version, target="loan_amount",
                                metrics={"roc_auc": {"min": 0.7}}))


def test_a_model_without_probabilities_fails_probability_thresholds(project: Project) -> None:
    seed_models(project, champion_env=None, candidates=())
    version = train(project, ["income", "age"], model="margin",
                    estimator="sklearn.svm.LinearSVC", params={})
    result = metrics.run(gate_inputs(project, version, metrics={
        "roc_auc": {"min": 0.5}, "accuracy": {"min": 0.5}}))
    assert result.status is GateStatus.FAILED
    checks = {check["metric"]: check for check in result.evidence["thresholds"]}
    assert checks["roc_auc"]["passed"] is False and checks["roc_auc"]["interval"] is None
    assert "predict_proba" in result.summary
    assert checks["accuracy"]["passed"] is True


def test_an_unknown_metric_names_the_key(project: Project) -> None:
    seeded = seed_models(project, champion_env=None, candidates=())
    with pytest.raises(InputError, match=r"promotion.metrics in rasad.yaml: Metric 'auc'"):
        metrics.run(gate_inputs(project, seeded.champion, metrics={"auc": {"min": 0.7}}))


def test_evaluate_runs_metrics_and_champion_into_one_report(project: Project) -> None:
    seeded = seed_models(project, candidates=("strong",))
    promotion = PromotionConfig.model_validate({
        "evaluation_data": EVAL, "bootstrap": 200,
        "metrics": {"roc_auc": {"min": 0.99}},
        "environments": {"production": {"gates": ["metrics", "champion"]}}})
    ctx = dataclasses.replace(project.context,
                              config=project.config.model_copy(update={"promotion": promotion}))
    report = evaluate(ctx, seeded.candidates["strong"], "production")
    assert [gate.gate for gate in report.gates] == ["metrics", "champion"]
    assert report.blocking == ["metrics"] and not report.passed
    assert report.gate("champion").status is GateStatus.PASSED  # type: ignore[union-attr]
    assert report.evidence_key["champion"] == seeded.champion.ref
    assert np.isfinite(report.gates[0].evidence["thresholds"][0]["interval"]["lower"])
