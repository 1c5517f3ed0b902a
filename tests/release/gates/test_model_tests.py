"""The model-tests gate on real projects: skipped with nothing declared, failed by any
failing test, and its evidence the report ``rasad test`` prints."""

from __future__ import annotations

from typing import Any

from rasad import Project
from rasad.config import PromotionConfig
from rasad.registry import ModelVersion
from rasad.release.gates import evaluate
from rasad.release.gates._base import GateInputs
from rasad.release.gates.model_tests import run
from rasad.release.model_tests import run_model_tests
from rasad.release.report import GateStatus

from .._model_tests_seed import EVAL, FAILING, MODEL, PASSING, declared, seed


def _inputs(project: Project, candidate: ModelVersion, **promotion: Any) -> GateInputs:
    config = PromotionConfig.model_validate(promotion)
    policy = config.policy("staging", project.config.registry.environments)
    return GateInputs(project.context, candidate, "staging", policy, config)


def test_nothing_declared_skips_the_gate_and_names_the_key(project: Project) -> None:
    model = seed(project).model
    no_tests = run(_inputs(project, model, evaluation_data=EVAL))
    no_data = run(_inputs(project, model, tests=PASSING))
    assert no_tests.status == no_data.status == GateStatus.SKIPPED
    assert "promotion.tests" in no_tests.summary
    assert "promotion.evaluation_data" in no_data.summary


def test_one_failing_test_fails_the_gate_with_the_whole_report(project: Project) -> None:
    seeded = seed(project)
    passed = run(_inputs(project, seeded.model, evaluation_data=EVAL, tests=PASSING))
    failed = run(_inputs(project, seeded.model, evaluation_data=EVAL,
                         tests=[*PASSING, FAILING]))
    assert passed.status == GateStatus.PASSED
    assert passed.summary.startswith("4 of 4 model tests pass on loans-eval@1 (600 rows)")
    assert failed.status == GateStatus.FAILED
    assert failed.summary.startswith("1 of 5 model tests fail on loans-eval@1 (600 rows): "
                                     "region plays no part: setting region to")
    ctx = declared(project, evaluation_data=EVAL, tests=[*PASSING, FAILING])
    assert failed.evidence == run_model_tests(ctx, MODEL, 1).to_dict()
    assert failed.evidence["artifact_sha256"] == seeded.model.blob
    assert failed.evidence["data_sha256"] == seeded.evaluation.content_hash


def test_evaluate_runs_the_gate_for_an_environment_that_names_it(project: Project) -> None:
    model = seed(project).model
    ctx = declared(project, evaluation_data=EVAL, tests=[FAILING],
                   environments={"staging": {"gates": ["model_tests"]}})
    report = evaluate(ctx, model, "staging")
    assert [gate.gate for gate in report.gates] == ["model_tests"]
    assert report.blocking == ["model_tests"]
