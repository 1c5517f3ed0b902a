"""Schemas and validations inside a project: versioned, declared, stored and audited."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from rasad import Project
from rasad.errors import NotFoundError
from rasad.examples import generate_portfolio
from rasad.validation import TableSchema, infer_schema
from rasad.validation.schema import CheckKind
from rasad.validation.service import get_schema, save_schema, validate_version, validations

PLANTED = "Zzyzx-Secret-Town"


@pytest.fixture
def loans(project: Project) -> Project:
    project.add_dataset(generate_portfolio(months=2, rows_per_month=300, seed=1), "loans")
    return project


def _widened(schema: TableSchema, column: str, maximum: float) -> TableSchema:
    columns = tuple(dataclasses.replace(c, maximum=maximum) if c.name == column else c
                    for c in schema.columns)
    return dataclasses.replace(schema, columns=columns)


def test_schema_versions_increase_and_unchanged_content_is_not_stored(loans: Project) -> None:
    schema = infer_schema(loans.load_dataset("loans"))
    first = save_schema(loans, "loans", schema, source="inferred")
    again = save_schema(loans, "loans", schema, source="inferred again")
    assert (first.version, again.version) == (1, 1)
    assert again.content_hash == first.content_hash
    second = save_schema(loans, "loans", _widened(schema, "income", 1e9), source="edited")
    assert second.version == 2
    assert get_schema(loans, "loans").version == 2
    assert get_schema(loans, "loans", 1).table_schema == schema
    assert get_schema(loans, "loans", 2).table_schema.column("income").maximum == 1e9
    events = loans.audit_log(action="schema.save")
    assert [e.subject for e in events] == ["schema:loans@1", "schema:loans@2"]
    with pytest.raises(NotFoundError, match="no schema version 3"):
        get_schema(loans, "loans", 3)


def test_a_schema_declared_in_rasad_yaml_overrides_stored_ones(backend: str,
                                                               tmp_path: Path) -> None:
    root = tmp_path / "declared"
    frame = generate_portfolio(months=2, rows_per_month=300, seed=1)
    declared = _widened(infer_schema(frame), "age", 200.0)
    (root / "schemas").mkdir(parents=True)
    (root / "schemas" / "loans.yaml").write_text(declared.to_yaml(), encoding="utf-8")
    config = "name: declared\nvalidation:\n  schemas:\n    loans: schemas/loans.yaml\n"
    with Project.init(root, config_text=config) as project:
        project.add_dataset(frame, "loans")
        stored = save_schema(project, "loans", infer_schema(frame), source="inferred")
        found = get_schema(project, "loans")
        assert found.version is None
        assert "declared in rasad.yaml: schemas/loans.yaml" in found.source
        assert found.table_schema == declared
        assert get_schema(project, "loans", stored.version).table_schema != declared
        report, record = validate_version(project, project.dataset("loans"), found)
        assert report.ok and record.schema_label == found.source


def test_validate_version_stores_a_masked_report_with_its_audit_event(loans: Project) -> None:
    schema = save_schema(loans, "loans", infer_schema(loans.load_dataset("loans")), "inferred")
    bad = generate_portfolio(months=2, rows_per_month=300, seed=1)
    bad.loc[7, "region"] = PLANTED
    version = loans.add_dataset(bad, "loans").version
    before = len(loans.audit_log())

    report, stored = validate_version(loans, version, schema)

    assert not report.ok and not stored.ok
    unseen = next(r for r in report.errors if r.check is CheckKind.UNSEEN_CATEGORY)
    assert (unseen.column, [e.row for e in unseen.examples]) == ("region", [7])
    assert (stored.dataset, stored.schema_label, stored.errors) == ("loans@2", "loans schema v1", 1)
    blob = loans.artifacts.get_bytes(stored.blob).decode("utf-8")
    assert PLANTED not in blob
    assert "Z" + "*" * (len(PLANTED) - 2) + "n" in blob
    payload = json.loads(blob)
    assert payload["dataset"] == "loans@2" and payload["report"]["ok"] is False
    assert payload["schema_sha256"] == schema.content_hash
    # The layout the previous rasad stored, key for key (no labels inside the report).
    assert set(payload) == {"dataset", "schema", "schema_sha256", "report"}
    assert set(payload["report"]) == {"rows", "ok", "errors", "warnings", "results"}

    events = loans.audit_log()
    assert len(events) == before + 1
    event = events[-1]
    assert (event.action, event.subject) == ("dataset.validate", "dataset:loans@2")
    assert event.details["report_sha256"] == stored.blob
    assert event.details["ok"] is False and event.details["errors"] == 1

    clean, _ = validate_version(loans, loans.dataset("loans", 1), schema)
    assert clean.ok
    listed = validations(loans)
    assert [(v.dataset, v.ok) for v in listed] == [("loans@2", False), ("loans@1", True)]
    assert listed[0] == stored
    assert validations(loans, "loans") == listed
    assert validations(loans, "other") == []


def test_a_dataset_without_schema_names_the_command_to_make_one(loans: Project) -> None:
    with pytest.raises(NotFoundError, match=r"`rasad schema infer loans`") as caught:
        get_schema(loans, "loans")
    assert "--save" not in str(caught.value)

