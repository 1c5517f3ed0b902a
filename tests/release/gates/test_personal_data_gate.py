"""The personal-data gate on real projects: undeclared personal data among the inputs blocks."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import yaml
from sklearn.linear_model import LogisticRegression

from rasad import Project
from rasad.config import ProjectConfig
from rasad.release.gates import evaluate, personal_data
from rasad.release.report import GateResult, GateStatus
from rasad.validation.service import infer_data_schema
from tests.release._data_gates_seed import (
    BIASED,
    EVAL,
    FAIR_FEATURES,
    SEXIST_FEATURES,
    TARGET,
    TRAIN,
    add_data,
    configured,
    gate_inputs,
    train,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "promotion.md"

PERSONAL = [*FAIR_FEATURES, "mobile", "contact_email"]
"""Inputs that include a phone number and an e-mail address."""


def _raw_values(project: Project) -> set[str]:
    """Every personal value of the project's data, as text."""
    values: set[str] = set()
    for name in (TRAIN, EVAL):
        frame = project.load_dataset(name)
        values |= {str(value) for value in frame["mobile"]}
        values |= {str(value) for value in frame["contact_email"]}
    return values


def _assert_no_raw_value(result: GateResult, raw: set[str]) -> None:
    text = result.to_json()
    quoted = sorted(value for value in raw if value in text)
    assert not quoted, f"raw personal data in the gate result: {quoted[:3]}"


def test_personal_data_in_an_input_blocks_unless_justified(project: Project) -> None:
    add_data(project)
    candidate = train(project, PERSONAL)
    raw = _raw_values(project)
    blocked = personal_data.run(gate_inputs(configured(project), candidate))
    assert blocked.status is GateStatus.FAILED
    columns = {entry["column"]: entry for entry in blocked.evidence["columns"]}
    assert list(columns) == ["mobile", "contact_email"]
    assert (columns["mobile"]["kinds"], columns["contact_email"]["kinds"]) == (
        ["phone"], ["email"])
    finding = columns["mobile"]["findings"][0]
    assert finding["dataset"] == f"{TRAIN}@1"
    assert (finding["share"], finding["checked"]) == (1.0, 3000)
    assert all("*" in example for example in finding["examples"]) and finding["examples"]
    assert all(entry["blocks"] and entry["allowed"] is None for entry in columns.values())
    assert "mobile (phone in 100% of applications@1's values)" in blocked.summary
    assert "promotion.personal_data.allowed" in blocked.summary
    dataset = blocked.evidence["datasets"][0]
    assert dataset == {"dataset": f"{TRAIN}@1", "sha256": project.dataset(TRAIN).content_hash,
                       "rows": 3000, "sampled_rows": 3000, "not_scanned": []}
    _assert_no_raw_value(blocked, raw)
    # one justified, one not: still blocked, by the other one only
    half = personal_data.run(gate_inputs(configured(project, personal_data={
        "allowed": {"mobile": "Fraud checks need the applicant's phone; DPO review 2026-10"}}),
        candidate))
    assert half.status is GateStatus.FAILED
    assert [e["column"] for e in half.evidence["columns"] if e["blocks"]] == ["contact_email"]
    allowed = {"mobile": "Fraud checks need the applicant's phone; DPO review 2026-10",
               "contact_email": "Contact channel quality; DPO review 2026-10",
               "region": "not an input"}
    justified = personal_data.run(gate_inputs(configured(project, personal_data={
        "allowed": allowed}), candidate))
    assert justified.status is GateStatus.PASSED, justified.summary
    assert justified.evidence["allowed"] == allowed
    assert justified.evidence["unused_allowances"] == ["region"]
    assert {e["column"]: e["allowed"] for e in justified.evidence["columns"]} == {
        "mobile": allowed["mobile"], "contact_email": allowed["contact_email"]}
    assert "DPO review" in justified.summary
    _assert_no_raw_value(justified, raw)


def test_a_protected_attribute_as_an_input_blocks_unless_declared(project: Project) -> None:
    add_data(project)
    sexist = train(project, SEXIST_FEATURES, dataset=BIASED)
    blocked = personal_data.run(gate_inputs(configured(project), sexist))
    assert blocked.status is GateStatus.FAILED
    (entry,) = blocked.evidence["columns"]
    assert (entry["column"], entry["protected"], entry["findings"], entry["blocks"]) == (
        "sex", True, [], True)
    assert "sex (protected attribute)" in blocked.summary
    # not a protected attribute in rasad.yaml: nothing to declare
    assert personal_data.run(gate_inputs(configured(project, protected=["age"]),
                                         sexist)).status is GateStatus.PASSED
    declared = personal_data.run(gate_inputs(configured(project, personal_data={
        "allowed": {"sex": "Measured for a mitigation study approved by the board"}}), sexist))
    assert declared.status is GateStatus.PASSED
    assert declared.evidence["columns"][0]["allowed"].startswith("Measured")


def test_personal_data_outside_the_inputs_does_not_count(project: Project) -> None:
    add_data(project)
    fair = train(project, FAIR_FEATURES)  # the data hold phones and e-mails; the model not
    result = personal_data.run(gate_inputs(configured(project), fair))
    assert result.status is GateStatus.PASSED, result.summary
    assert result.evidence["columns"] == []
    assert result.evidence["inputs"] == FAIR_FEATURES


def test_without_training_data_the_evaluation_data_is_scanned(project: Project) -> None:
    add_data(project)
    frame = project.load_dataset(TRAIN)
    inputs = frame[[*FAIR_FEATURES, "mobile", "sex"]].assign(
        sex=(frame["sex"] == "female").astype(int))
    with project.start_run("outside") as run:
        run.log_model(LogisticRegression(max_iter=1000).fit(inputs, frame[TARGET]), inputs,
                      target=TARGET)
    logged = project.register(run.id, "logged")
    assert logged.datasets == []
    result = personal_data.run(gate_inputs(configured(project), logged))
    assert result.status is GateStatus.FAILED
    assert result.evidence["scanned"] == "evaluation"
    columns = {e["column"]: e for e in result.evidence["columns"]}
    assert columns["mobile"]["findings"][0]["dataset"] == f"{EVAL}@1"
    assert columns["sex"]["protected"]
    # no data at all: the protected input still blocks; without it the gate is skipped
    no_data = configured(project, evaluation_data=None)
    assert personal_data.run(gate_inputs(no_data, logged)).status is GateStatus.FAILED
    unprotected = configured(project, evaluation_data=None, protected=[])
    skipped = personal_data.run(gate_inputs(unprotected, logged))
    assert skipped.status is GateStatus.SKIPPED
    assert "promotion.evaluation_data" in skipped.summary


def test_no_raw_personal_value_in_any_data_gate_report(project: Project) -> None:
    add_data(project)
    candidate = train(project, [*PERSONAL, "sex"])
    project.infer_schema(TRAIN)
    ctx = configured(project, bootstrap=200, environments={"staging": {
        "gates": ["validation", "fairness", "personal_data"]}})
    report = evaluate(ctx, candidate, "staging")
    assert [gate.gate for gate in report.gates] == ["validation", "fairness", "personal_data"]
    assert "personal_data" in report.blocking
    blocked = report.gate("personal_data")
    assert blocked is not None
    assert [e["column"] for e in blocked.evidence["columns"]] == ["mobile", "contact_email",
                                                                  "sex"]
    text = report.to_json()
    quoted = sorted(value for value in _raw_values(project) if value in text)
    assert not quoted, f"raw personal data in the gate report: {quoted[:3]}"


def test_the_documented_configuration(project: Project) -> None:
    """The YAML of docs/promotion.md, "Gates: validation, fairness, personal data", as is."""
    section = DOCS.read_text(encoding="utf-8").split(
        "## Gates: validation, fairness, personal data", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, flags=re.S)
    assert block is not None
    declared = yaml.safe_load(block.group(1))
    config = ProjectConfig.model_validate({**project.config.model_dump(by_alias=True),
                                           **declared})
    add_data(project)
    sexist = train(project, SEXIST_FEATURES, dataset=BIASED)
    project.infer_schema(BIASED)
    path = project.context.root / declared["validation"]["schemas"][EVAL]
    path.parent.mkdir()
    path.write_text(infer_data_schema(project.load_dataset(EVAL), label=EVAL)
                    .table_schema.to_yaml())
    ctx = dataclasses.replace(project.context, config=config)
    report = evaluate(ctx, sexist, "staging")
    statuses = {gate.gate: gate.status for gate in report.gates}
    assert statuses["validation"] is GateStatus.PASSED
    assert statuses["fairness"] is GateStatus.FAILED
    assert statuses["personal_data"] is GateStatus.FAILED  # sex is an input; age is allowed
    blocked = report.gate("personal_data")
    assert blocked is not None
    assert [e["column"] for e in blocked.evidence["columns"] if e["blocks"]] == ["sex"]
    assert blocked.evidence["unused_allowances"] == ["age"]
