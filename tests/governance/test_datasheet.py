"""Datasheets: every figure compared with what the datasets, validation and registry
services return; planted personal data never printed; open questions listed.

Every test runs on SQLite and PostgreSQL (the ``project`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rasad import Project
from rasad.datasets import service as datasets
from rasad.errors import NotFoundError
from rasad.examples import generate_portfolio
from rasad.governance.datasheet import datasheet
from rasad.governance.datasheet_result import ERASURES_NOTE, MIN_GROUP, QUESTIONS, Datasheet
from rasad.reports.datasheet import render_datasheet
from rasad.validation.pii import PIIKind
from tests._http import Server

EMAIL = "fatimah.alharbi@example.com"
IBAN = "SA0380000000608010167519"
CUSTOMER = "CUST-7734-QX"
FEATURES = ["income", "debt_to_income", "age", "employment_type"]

CONFIG = """
  protected_attributes: [gender, nationality, religion]
"""
GOVERNANCE = """
governance:
  fairness:
    favorable_outcomes: {default: 0}
  datasets:
    loans:
      motivation: "Credit decisions for <b>retail</b> loans | phase 1."
      owner: Credit risk team
"""


def planted() -> pd.DataFrame:
    """A portfolio with one e-mail, one IBAN and one customer id among ordinary values."""
    frame = generate_portfolio(months=2, rows_per_month=150, seed=2)
    frame["memo"] = [f"note {i % 7}" for i in range(len(frame))]
    frame.loc[11, "memo"] = EMAIL
    frame["branch"] = [f"B{i % 4}" for i in range(len(frame))]
    frame.loc[12, "branch"] = IBAN  # a categorical column: the IBAN is one rare category
    frame.loc[13, "branch"] = CUSTOMER
    frame["segment"] = [f"S{i % 3}" for i in range(len(frame))]
    frame.loc[14, "segment"] = CUSTOMER  # no pattern finds it: only its rarity hides it
    return frame


def configured(project: Project, *, governance: bool = True) -> Project:
    text = (project.root / "rasad.yaml").read_text()
    assert "protected_attributes: []" in text
    text = text.replace("  protected_attributes: []\n", CONFIG.lstrip("\n"))
    if governance:
        text += GOVERNANCE
    (project.root / "rasad.yaml").write_text(text)
    return Project.open(project.root)


def loans(project: Project) -> Project:
    """loans@1, loans@2 appended to it, a stored schema and validation, credit@1 on loans@2."""
    project = configured(project)
    first = project.add_dataset(planted(), "loans").version
    more = pd.concat([planted(), generate_portfolio(months=1, rows_per_month=50, seed=9)],
                     ignore_index=True)
    datasets.add(project.context, more, "loans", parent=first)
    project.infer_schema("loans")
    project.validate("loans@2")
    project.train(dataset="loans", target="default", features=FEATURES,
                  estimator="sklearn.linear_model.LogisticRegression",
                  params={"max_iter": 300}, register_as="credit")
    return project


def outputs(sheet: Datasheet) -> dict[str, str]:
    return {"md": sheet.to_markdown(), "html": render_datasheet(sheet), "json": sheet.to_json()}


def test_each_figure_matches_the_services(project: Project) -> None:
    project = loans(project)
    sheet = project.datasheet("loans", 2)
    version = project.dataset("loans", 2)
    assert (sheet.dataset, sheet.rows, sheet.columns) == ("loans@2", version.rows,
                                                                version.columns)
    assert [c.profile.name for c in sheet.profile] == [c.name for c in version.profile.columns]
    for column in sheet.profile:
        stored = version.profile.column(column.profile.name)
        assert column.profile.kind == version.kinds[stored.name] == stored.kind
        assert (column.profile.count, column.profile.missing, column.profile.n_unique) == (
            stored.count, stored.missing, stored.n_unique)
    income = next(c for c in sheet.profile if c.profile.name == "income")
    stored_income = version.profile.column("income")
    assert not income.withheld and (income.profile.min, income.profile.max, income.profile.mean) \
        == (stored_income.min, stored_income.max, stored_income.mean)

    schema = project.schema("loans")
    assert sheet.table_schema is not None
    assert (sheet.table_schema.label, sheet.table_schema.sha256) == (schema.label,
                                                                     schema.content_hash)
    assert [c.name for c in sheet.table_schema.columns] == [
        c.name for c in schema.table_schema.columns]
    recorded = [v for v in project.validations("loans") if v.dataset == "loans@2"]
    assert len(recorded) >= 1  # `train` validates what it trains on too
    assert [(v.id, v.ok, v.errors, v.warnings) for v in sheet.validations] == [
        (v.id, v.ok, v.errors, v.warnings) for v in recorded]

    scan = project.scan_pii("loans@2", all_rows=True)
    assert sheet.pii.rows == scan.rows == version.rows
    assert {(c.column, f.kind, round(f.share, 9)) for c in sheet.pii.columns for f in c.findings} \
        == {(c.column, f.kind.value, round(f.share, 9)) for c in scan.columns for f in c.findings}
    memo = next(c for c in sheet.pii.columns if c.column == "memo")
    assert [f.kind for f in memo.findings] == [PIIKind.EMAIL.value]
    assert 0 < memo.findings[0].share < 0.01  # one planted value (twice: loans@2 repeats it)

    protected = sheet.protected_attributes
    assert protected.declared == ("gender", "nationality", "religion")
    assert protected.present == ("gender", "nationality") and protected.missing == ("religion",)
    frame = project.load_dataset("loans", 2)
    gender = frame["gender"].value_counts()
    assert protected.groups["gender"] == {str(k): int(n) for k, n in gender.items()}
    assert protected.favorable_outcomes == {"default": 0}

    model = project.model_version("credit", 1)
    assert [(m.model, m.run_id, m.role) for m in sheet.models] == [
        ("credit@1", model.run_id, next(d["role"] for d in model.datasets
                                        if d["dataset"] == "loans@2"))]
    assert project.datasheet("loans", 1).models == ()


def test_lineage_names_parents_children_events_and_no_erasures(project: Project) -> None:
    project = loans(project)
    first, second = project.dataset("loans", 1), project.dataset("loans", 2)
    sheet = project.datasheet("loans", 2)
    lineage = sheet.lineage
    assert (lineage.source, lineage.content_hash, lineage.created_by, lineage.created_at) == (
        second.source, second.content_hash, second.created_by, second.created_at)
    assert [(p.ref, p.content_hash) for p in lineage.parents] == [("loans@1",
                                                                   first.content_hash)]
    assert lineage.children == ()
    assert project.datasheet("loans", 1).lineage.children[0].ref == "loans@2"
    audit = project.audit_log(subject="dataset:loans@2")
    assert [(e.seq, e.action, e.actor) for e in lineage.events] == [
        (e.seq, e.action, e.actor) for e in audit]
    assert {e.action for e in lineage.events} >= {"dataset.add", "dataset.validate"}
    assert lineage.erasures == ERASURES_NOTE
    assert "erasure" in sheet.to_markdown().lower()


def test_planted_personal_values_appear_in_no_output(project: Project) -> None:
    project = loans(project)
    for version in (1, 2):
        sheet = project.datasheet("loans", version)
        for form, text in outputs(sheet).items():
            for raw in (EMAIL, IBAN, CUSTOMER, "fatimah", "7734"):
                assert raw not in text, (form, raw)
        memo = next(c for c in sheet.profile if c.profile.name == "memo")
        assert memo.withheld and memo.profile.top is None
        branch = next(c for c in sheet.profile if c.profile.name == "branch")
        assert branch.withheld and branch.profile.top is None  # the scan found the IBAN
        segment = next(c for c in sheet.profile if c.profile.name == "segment")
        # Ordinary categories are shown with their counts; a value held by fewer than
        # MIN_GROUP rows is not.
        assert not segment.withheld and segment.profile.top
        assert all(n >= MIN_GROUP for _, n in segment.profile.top)
        assert {v for v, _ in segment.profile.top} == {"S0", "S1", "S2"}


def test_answers_come_from_rasad_yaml_and_the_rest_are_open(project: Project) -> None:
    project = loans(project)
    sheet = project.datasheet("loans")
    assert sheet.version == 2
    answers = {q.topic: q.answer for q in sheet.questions}
    assert answers["owner"] == "Credit risk team"
    assert answers["motivation"] == project.config.governance.datasets["loans"].motivation
    assert sheet.open_questions == tuple(t for t, _ in QUESTIONS
                                         if t not in {"owner", "motivation"})
    texts = outputs(sheet)
    for text in texts.values():  # each output cites the verified controls, ID and title
        assert "Art. 10" in text and "Data and data governance" in text
    assert "<b>retail</b>" not in texts["html"] and "&lt;b&gt;retail&lt;/b&gt;" in texts["html"]
    assert "governance.datasets.loans.collection" in texts["md"]
    assert Datasheet.from_json(texts["json"]) == sheet
    assert json.loads(texts["json"])["open_questions"] == list(sheet.open_questions)


def test_silent_rasad_yaml_lists_every_question_open(project: Project) -> None:
    project = configured(project, governance=False)
    project.add_dataset(generate_portfolio(months=1, rows_per_month=60, seed=1), "loans")
    sheet = datasheet(project.context, "loans", 1)
    assert sheet.open_questions == tuple(t for t, _ in QUESTIONS)
    assert sheet.table_schema is None and sheet.validations == () and sheet.models == ()
    assert sheet.protected_attributes.favorable_outcomes == {}
    html = render_datasheet(sheet)
    assert html.count("Open question") == len(QUESTIONS)


def test_a_missing_version_is_a_clear_error(project: Project) -> None:
    project.add_dataset(generate_portfolio(months=1, rows_per_month=60, seed=1), "loans")
    with pytest.raises(NotFoundError, match="no version 4; versions are 1"):
        project.datasheet("loans", 4)
    with pytest.raises(NotFoundError, match="No dataset named 'nope'"):
        project.datasheet("nope", 1)


def test_a_markdown_cell_cannot_break_its_table(project: Project) -> None:
    frame = pd.DataFrame({"a|b": [1.0, 2.0] * 5, "c": ["x|y"] * 10,
                          "<script>alert(1)</script>": ["y"] * 10})
    project.add_dataset(frame, "odd")
    sheet = project.datasheet("odd", 1)
    md = sheet.to_markdown()
    row = next(line for line in md.splitlines() if line.startswith("| a"))
    assert row.startswith("| a\\|b |") and row.count(" | ") == 7
    assert "<script>alert" not in md
    html = render_datasheet(sheet)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
    embedded = html.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    assert Datasheet.from_json(embedded) == sheet


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_remote_datasheet_is_the_local_one(backend: str, tmp_path: Path) -> None:
    with Project.init(tmp_path / "proj", name="test") as local:
        local = loans(local)
        local_sheet = local.datasheet("loans", 2)
        with Server(local) as server:
            remote = server.connect()
            remote_sheet = remote.datasheet("loans", 2)
            latest = remote.datasheet("loans")
            with pytest.raises(NotFoundError, match="no version 9"):
                remote.datasheet("loans", 9)
    assert remote_sheet.model_copy(update={"generated_at": ""}) == local_sheet.model_copy(
        update={"generated_at": ""})
    assert latest.version == 2
