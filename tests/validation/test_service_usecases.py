"""The use-cases behind ``rasad schema``, ``validate``, ``quality`` and ``pii scan``.

They take a project context (a Project here, as the facade passes one) and read the
identifier, time and protected columns from ``rasad.yaml``. The tests marked
``over_http`` call the Project verbs over them, so they also run through the API
(conftest's http backend, the server reading the same ``rasad.yaml``). The others stay
local: one checks the raw report the service returns (a remote report comes back masked,
as stored), one needs no project.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rasad import Project
from rasad.config import CONFIG_FILE
from rasad.errors import InputError, NotFoundError
from rasad.examples import generate_portfolio
from rasad.tables import ColumnKind
from rasad.validation import CheckKind, infer_schema
from rasad.validation.service import (
    dataset_quality,
    get_schema,
    infer_dataset_schema,
    save_schema_file,
    scan_dataset,
    validate_dataset,
    validate_file,
    validation_record,
    validations,
)
from tests._http import local, reopened

DATA = {"id_columns": ["application_id", "customer_no"],
        "time_columns": ["application_date"], "protected_attributes": ["gender", "religion"]}


@pytest.fixture
def governed(project: Project) -> Iterator[Project]:
    """The project with rasad.yaml's ``data`` section declaring identifier, time and
    protected columns, and ``loans@1``."""
    path = local(project).root / CONFIG_FILE
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**config, "data": DATA}, sort_keys=False),
                    encoding="utf-8")
    with reopened(project) as again:
        again.add_dataset(_portfolio(), "loans")
        yield again


def _portfolio() -> pd.DataFrame:
    frame = generate_portfolio(months=2, rows_per_month=200, seed=1)
    frame["customer_no"] = range(len(frame))  # a number, an identifier only by declaration
    return frame


@pytest.mark.over_http
def test_infer_dataset_schema_uses_declared_columns_and_stores_once(governed: Project) -> None:
    stored = governed.infer_schema("loans", tolerance=0.2)
    assert (stored.dataset, stored.version, stored.source) == (
        "loans", 1, "inferred from loans@1")
    schema = stored.table_schema
    assert schema.column("customer_no").kind is ColumnKind.IDENTIFIER
    assert schema.column("customer_no").unique
    assert infer_schema(_portfolio()).column("customer_no").kind is ColumnKind.NUMERIC
    assert schema.column("age").tolerance == 0.2
    assert governed.schema("loans") == stored == get_schema(local(governed), "loans")
    assert governed.infer_schema("loans@1", tolerance=0.2).version == 1
    assert len(governed.audit_log(action="schema.save")) == 1


@pytest.mark.over_http
def test_save_schema_file_checks_the_columns_of_the_latest_version(governed: Project,
                                                                   tmp_path: Path) -> None:
    inferred = governed.infer_schema("loans")
    path = tmp_path / "edited.yaml"
    path.write_text(inferred.table_schema.to_yaml().replace("min_rows: 1", "min_rows: 10"),
                    encoding="utf-8")
    saved = governed.save_schema("loans", path)
    assert (saved.version, saved.source, saved.table_schema.min_rows) == (
        2, f"saved from {path}", 10)
    assert save_schema_file(local(governed), "loans", path) == saved  # stored once

    other = tmp_path / "other.yaml"
    other.write_text(infer_schema(pd.DataFrame({"x": [1.0, 2.0]})).to_yaml(), encoding="utf-8")
    with pytest.raises(InputError, match=rf"{other} names column\(s\) 'x' that loans@1 does "
                                         "not have"):
        governed.save_schema("loans", other)
    with pytest.raises(NotFoundError, match="No dataset named 'nosuch'"):
        governed.save_schema("nosuch", path)
    assert governed.schema("loans").version == 2


def test_validate_dataset_returns_the_raw_report_and_stores_it_masked(
        governed: Project, tmp_path: Path) -> None:
    infer_dataset_schema(governed, governed.dataset("loans"))
    batch = _portfolio()
    batch.loc[4, "region"] = "Atlantis"
    version = governed.add_dataset(batch, "loans").version

    report = validate_dataset(governed, version)

    assert (report.data, report.schema_label, report.ok) == ("loans@2", "loans schema v1", False)
    [unseen] = [r for r in report.errors if r.check is CheckKind.UNSEEN_CATEGORY]
    assert unseen.examples[0].value == "Atlantis"
    [stored] = validations(governed, "loans")
    record = validation_record(governed, stored)
    assert (record.dataset, record.schema_label) == ("loans@2", "loans schema v1")
    assert record.report == report.masked().model_copy(update={"data": None,
                                                               "schema_label": None})
    assert "Atlantis" not in governed.artifacts.get_bytes(stored.blob).decode("utf-8")

    schema_file = tmp_path / "s.yaml"
    schema_file.write_text(get_schema(governed, "loans").table_schema.to_yaml()
                           .replace("- Makkah", "- Makkah\n  - Atlantis"), encoding="utf-8")
    with_file = validate_dataset(governed, version, schema_path=schema_file)
    assert with_file.ok and with_file.schema_label == str(schema_file)
    assert [v.ok for v in validations(governed)] == [False, True]


@pytest.mark.over_http
def test_validate_dataset_without_a_schema_names_the_command(governed: Project) -> None:
    with pytest.raises(NotFoundError, match="rasad schema infer loans"):
        governed.validate("loans")
    assert governed.validations() == []


def test_validate_file_needs_no_project_and_refuses_another_tables_schema(
        tmp_path: Path) -> None:
    frame = generate_portfolio(months=1, rows_per_month=100, seed=2)
    data = tmp_path / "batch.csv"
    frame.to_csv(data, index=False)
    schema = tmp_path / "s.yaml"
    schema.write_text(infer_schema(frame).to_yaml(), encoding="utf-8")
    report = validate_file(data, schema)
    assert report.ok and (report.data, report.schema_label) == (str(data), str(schema))
    assert validate_file(data, schema, label="january").data == "january"

    other = tmp_path / "other.yaml"
    other.write_text(infer_schema(pd.DataFrame({"x": [1.0]})).to_yaml(), encoding="utf-8")
    with pytest.raises(InputError, match="names none of"):
        validate_file(data, other)


@pytest.mark.over_http
def test_dataset_quality_and_scan_read_rasad_yaml(governed: Project) -> None:
    report = governed.quality("loans", target="default")
    # As JSON: a missing outlier bound is NaN in memory, and NaN equals nothing.
    assert report.to_dict() == dataset_quality(local(governed), governed.dataset("loans"),
                                               target="default").to_dict()
    assert report.data == "loans@1" and report.target == "default"
    kinds = {c.name: c.kind for c in report.columns}
    assert kinds["customer_no"] is ColumnKind.IDENTIFIER
    assert "customer_no" not in [o.column for o in report.outliers]

    pii = governed.scan_pii("loans@1")
    assert pii.data == "loans@1"
    assert pii.column("gender").protected and pii.missing_protected == ("religion",)
    overridden = governed.scan_pii("loans", protected_attributes=["region"], all_rows=True)
    assert overridden.column("region").protected
    assert "gender" not in [c.column for c in overridden.columns]
    assert overridden.sampled_rows == overridden.rows == 400
    assert overridden.to_dict() == scan_dataset(
        local(governed), governed.dataset("loans"), protected_attributes=["region"],
        sample_rows=None).to_dict()
