"""The validation gate on real projects: schemas found, errors counted, nothing written."""

from __future__ import annotations

import numpy as np

from rasad import Project
from rasad.release.gates import evaluate, validation
from rasad.release.report import GateStatus
from rasad.validation import validate
from rasad.validation.service import file_schema, infer_data_schema
from tests.release._data_gates_seed import (
    EVAL,
    FAIR_FEATURES,
    TRAIN,
    add_data,
    configured,
    gate_inputs,
    train,
)


def _declare_eval_schema(project: Project) -> str:
    """An evaluation-data schema file in the project folder; its path for rasad.yaml."""
    schema = infer_data_schema(project.load_dataset(EVAL), label=EVAL).table_schema
    path = project.context.root / "schemas" / "eval.yaml"
    path.parent.mkdir()
    path.write_text(schema.to_yaml())
    return "schemas/eval.yaml"


def test_data_without_a_schema_is_reported_and_the_gate_skipped(project: Project) -> None:
    add_data(project)
    candidate = train(project, FAIR_FEATURES)
    result = validation.run(gate_inputs(configured(project), candidate))
    assert result.status is GateStatus.SKIPPED
    assert [(d["dataset"], d["roles"], d["status"]) for d in result.evidence["datasets"]] == [
        (f"{TRAIN}@1", ["training"], "no schema"), (f"{EVAL}@1", ["evaluation"], "no schema")]
    assert f"`rasad schema save {EVAL} FILE`" in result.summary
    assert "validation.schemas" in result.summary
    # one dataset with a schema, one without: still skipped, the checked one named
    project.infer_schema(TRAIN)
    partial = validation.run(gate_inputs(configured(project), candidate))
    assert partial.status is GateStatus.SKIPPED
    assert f"{TRAIN}@1 (training data) passes {TRAIN} schema v1" in partial.summary
    assert f"{EVAL}@1 (evaluation data) has no schema" in partial.summary


def test_stored_and_declared_schemas_pass_and_nothing_is_written(project: Project) -> None:
    add_data(project)
    candidate = train(project, FAIR_FEATURES)
    stored = project.infer_schema(TRAIN)
    declared = _declare_eval_schema(project)
    ctx = configured(project, schemas={EVAL: declared})
    before = project.validations()
    result = validation.run(gate_inputs(ctx, candidate))
    assert result.status is GateStatus.PASSED, result.summary
    assert project.validations() == before  # the gate records no validation
    training, evaluation = result.evidence["datasets"]
    assert training["dataset"] == f"{TRAIN}@1"
    assert training["sha256"] == project.dataset(TRAIN).content_hash
    assert training["schema"] == {"label": f"{TRAIN} schema v1", "source": stored.source,
                                  "version": 1, "sha256": stored.content_hash}
    assert (training["errors"], training["rows"], training["failures"]) == (0, 3000, [])
    expected = file_schema(project.context.root / declared, EVAL)
    assert evaluation["schema"]["version"] is None
    assert evaluation["schema"]["source"] == f"declared in rasad.yaml: {declared}"
    assert evaluation["schema"]["sha256"] == expected.content_hash
    # the same version as training and evaluation data is validated once, in both roles
    both = validation.run(gate_inputs(configured(project, evaluation_data=TRAIN), candidate))
    assert [(d["dataset"], d["roles"]) for d in both.evidence["datasets"]] == [
        (f"{TRAIN}@1", ["training", "evaluation"])]


def test_errors_fail_the_gate_with_counts_per_dataset_and_no_values(project: Project) -> None:
    add_data(project)
    broken = project.load_dataset(TRAIN)
    rng = np.random.default_rng(4)
    holes = rng.choice(len(broken), 40, replace=False)
    broken.loc[holes, "income"] = np.nan
    broken["region"] = broken["region"].astype(object)
    broken.loc[7, "region"] = "Atlantis"
    project.add_dataset(broken, TRAIN)  # version 2
    candidate = train(project, FAIR_FEATURES, version=2)
    schema = project.infer_schema(f"{TRAIN}@1")  # the contract, from the clean version
    ctx = configured(project, schemas={EVAL: _declare_eval_schema(project)})
    result = validation.run(gate_inputs(ctx, candidate))
    assert result.status is GateStatus.FAILED
    training, evaluation = result.evidence["datasets"]
    assert (training["dataset"], training["status"]) == (f"{TRAIN}@2", "failed")
    assert training["schema"]["sha256"] == schema.content_hash
    assert training["schema"]["version"] == schema.version == 1
    assert evaluation["status"] == "passed"
    # the counts re-check against the pure validation of the stored rows
    report = validate(project.load_dataset(TRAIN, 2), schema.table_schema)
    assert training["errors"] == len(report.errors) >= 2
    failures = {(f["check"], f["column"]): f for f in training["failures"]}
    assert failures[("nulls", "income")]["failing"] == 40
    assert failures[("nulls", "income")]["rows"] == sorted(holes)[:5]
    assert failures[("unseen_category", "region")]["rows"] == [7]
    assert f"{TRAIN}@2 (training data) fails {TRAIN} schema v1: {training['errors']} " \
           f"error(s)" in result.summary
    assert "nulls on income" in result.summary
    assert "Atlantis" not in result.to_json() and "A******s" not in result.to_json()


def test_no_data_at_all_skips(project: Project) -> None:
    add_data(project)
    frame = project.load_dataset(TRAIN)
    with project.start_run("outside") as run:
        from sklearn.linear_model import LogisticRegression

        x = frame[FAIR_FEATURES]
        run.log_model(LogisticRegression(max_iter=1000).fit(x, frame["default"]), x,
                      target="default")
    candidate = project.register(run.id, "logged")
    result = validation.run(gate_inputs(configured(project, evaluation_data=None), candidate))
    assert result.status is GateStatus.SKIPPED
    assert "records no dataset version" in result.summary
    assert "promotion.evaluation_data" in result.summary


def test_through_evaluate(project: Project) -> None:
    add_data(project)
    candidate = train(project, FAIR_FEATURES)
    project.infer_schema(TRAIN)
    ctx = configured(project, schemas={EVAL: _declare_eval_schema(project)},
                     environments={"staging": {"gates": ["validation"]}})
    report = evaluate(ctx, candidate, "staging")
    assert [gate.gate for gate in report.gates] == ["validation"]
    gate = report.gate("validation")
    assert report.passed and gate is not None and gate.status is GateStatus.PASSED
    strict = configured(project, environments={"staging": {"gates": ["validation"],
                                                           "strict": True}})
    blocked = evaluate(strict, candidate, "staging")  # the evaluation data has no schema
    assert blocked.blocking == ["validation"]
