"""Schemas and validations inside a project: versioned, declared, stored and audited.

Every test calls the Project verbs (``infer_schema``, ``save_schema``, ``schema``,
``validate``, ``validations``), so each also runs through the API (conftest's http
backend); the stored blob is read from the project behind the server.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from rasad import Project
from rasad.config import CONFIG_FILE
from rasad.errors import NotFoundError
from rasad.examples import generate_portfolio
from rasad.validation import TableSchema, infer_schema
from rasad.validation.schema import CheckKind
from tests._http import local, reopened

PLANTED = "Zzyzx-Secret-Town"

pytestmark = pytest.mark.over_http


@pytest.fixture
def loans(project: Project) -> Project:
    project.add_dataset(generate_portfolio(months=2, rows_per_month=300, seed=1), "loans")
    return project


def _widened(schema: TableSchema, column: str, maximum: float) -> TableSchema:
    columns = tuple(dataclasses.replace(c, maximum=maximum) if c.name == column else c
                    for c in schema.columns)
    return dataclasses.replace(schema, columns=columns)


def _written(path: Path, schema: TableSchema) -> Path:
    path.write_text(schema.to_yaml(), encoding="utf-8")
    return path


def test_schema_versions_increase_and_unchanged_content_is_not_stored(
        loans: Project, tmp_path: Path) -> None:
    first = loans.infer_schema("loans")
    schema = first.table_schema
    again = loans.save_schema("loans", _written(tmp_path / "same.yaml", schema))
    assert (first.version, again.version) == (1, 1)
    assert again.content_hash == first.content_hash
    second = loans.save_schema("loans", _written(tmp_path / "wide.yaml",
                                                 _widened(schema, "income", 1e9)))
    assert second.version == 2
    assert loans.schema("loans").version == 2
    assert loans.schema("loans", 1).table_schema == schema
    assert loans.schema("loans", 2).table_schema.column("income").maximum == 1e9
    events = loans.audit_log(action="schema.save")
    assert [e.subject for e in events] == ["schema:loans@1", "schema:loans@2"]
    with pytest.raises(NotFoundError, match="no schema version 3"):
        loans.schema("loans", 3)


def test_a_schema_declared_in_rasad_yaml_overrides_stored_ones(project: Project) -> None:
    root = local(project).root
    frame = generate_portfolio(months=2, rows_per_month=300, seed=1)
    declared = _widened(infer_schema(frame), "age", 200.0)
    (root / "schemas").mkdir(parents=True)
    (root / "schemas" / "loans.yaml").write_text(declared.to_yaml(), encoding="utf-8")
    config = yaml.safe_load((root / CONFIG_FILE).read_text(encoding="utf-8"))
    config["validation"] = {"schemas": {"loans": "schemas/loans.yaml"}}
    (root / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    with reopened(project) as there:
        there.add_dataset(frame, "loans")
        stored = there.infer_schema("loans")
        found = there.schema("loans")
        assert found.version is None
        assert "declared in rasad.yaml: schemas/loans.yaml" in found.source
        assert found.table_schema == declared
        assert there.schema("loans", stored.version).table_schema != declared
        report = there.validate("loans")
        [record] = there.validations("loans")
        assert report.ok and record.schema_label == found.source


def test_validate_stores_a_masked_report_with_its_audit_event(loans: Project) -> None:
    schema = loans.infer_schema("loans")
    bad = generate_portfolio(months=2, rows_per_month=300, seed=1)
    bad.loc[7, "region"] = PLANTED
    loans.add_dataset(bad, "loans")
    before = len(loans.audit_log())

    report = loans.validate("loans@2")
    [stored] = loans.validations()

    assert not report.ok and not stored.ok
    unseen = next(r for r in report.errors if r.check is CheckKind.UNSEEN_CATEGORY)
    assert (unseen.column, [e.row for e in unseen.examples]) == ("region", [7])
    assert (stored.dataset, stored.schema_label, stored.errors) == ("loans@2", "loans schema v1", 1)
    blob = local(loans).artifacts.get_bytes(stored.blob).decode("utf-8")
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

    clean = loans.validate("loans@1")
    assert clean.ok
    listed = loans.validations()
    assert [(v.dataset, v.ok) for v in listed] == [("loans@2", False), ("loans@1", True)]
    assert listed[0] == stored
    assert loans.validations("loans") == listed
    assert loans.validations("other") == []


def test_a_dataset_without_schema_names_the_command_to_make_one(loans: Project) -> None:
    with pytest.raises(NotFoundError, match=r"`rasad schema infer loans`") as caught:
        loans.schema("loans")
    assert "--save" not in str(caught.value)
