"""Validation, quality and PII reports are typed results whose JSON is the previous one.

Each ``OLD_*`` payload is written literally in the layout the previous ``to_dict()``
produced (and the validation service stored): it must load with ``from_dict`` and
serialise back key for key.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from pydantic import ValidationError

from rasad.results import Result
from rasad.validation import (
    CheckKind,
    CheckResult,
    Example,
    QualityReport,
    Severity,
    ValidationReport,
    infer_schema,
    quality,
    validate,
)
from rasad.validation.pii import PIIPolicy, PIIReport, scan
from rasad.validation.quality import Outliers
from rasad.validation.service import StoredSchema, StoredValidation, ValidationRecord

OLD_REPORT = {
    "rows": 3, "ok": False, "errors": 1, "warnings": 1,
    "results": [
        {"check": "unseen_category", "column": "region", "severity": "error", "passed": False,
         "failing": 1, "share": 1 / 3, "examples": [{"row": 2, "value": "A******s"}],
         "message": "Column 'region': 1 of 3 values are not among the allowed categories."},
        {"check": "unexpected_column", "column": "extra", "severity": "warning",
         "passed": False, "failing": 3, "share": 1.0, "examples": [],
         "message": "Column 'extra' is not in the schema; drop it or add it to the schema."},
        {"check": "row_count", "column": None, "severity": "error", "passed": True,
         "failing": 0, "share": 0.0, "examples": [], "message": ""},
    ],
}

OLD_PII = {
    "rows": 4, "sampled_rows": 4, "columns_scanned": 3, "found": True,
    "missing_protected": ["religion"],
    "policy": {"min_matches": 1, "min_share": 0.3, "min_checksum_share": 0.3,
               "max_examples": 3, "seed": 0},
    "columns": [
        {"column": "memo", "kinds": ["email"], "protected": False, "findings": [
            {"kind": "email", "basis": "values", "matches": 1, "in_text": 1, "checked": 4,
             "share": 0.25, "checksum": False, "failed_checksum": 0,
             "examples": ["j***@e***.com"]}]},
        {"column": "gender", "kinds": ["protected attribute"], "protected": True,
         "findings": []},
    ],
}

OLD_QUALITY = {
    "rows": 4,
    "columns": [
        {"name": "x", "kind": "numeric", "missing": 1, "missing_share": 0.25, "n_unique": 3},
        {"name": "y", "kind": "categorical", "missing": 0, "missing_share": 0.0, "n_unique": 2},
    ],
    "duplicate_rows": 0, "duplicate_share": 0.0, "constant_columns": [],
    "high_cardinality": [],
    "outliers": [{"column": "x", "count": 0, "share": 0.0, "lower": -1.0, "upper": 5.0}],
    "target": "y",
    "balance": {"counts": [["a", 3], ["b", 1]], "minority_share": 0.25, "imbalanced": False},
    "leakage": [{"column": "x", "metric": "ROC AUC", "score": 0.99}],
    "policy": {"iqr_factor": 1.5, "high_cardinality": 50, "min_class_share": 0.1,
               "leakage_auc": 0.98, "max_classes": 20, "leakage_folds": 3,
               "leakage_rows": 20000, "seed": 0},
    "issues": ["possible leakage: x (ROC AUC 0.99)", "column x missing 0.25"],
}


def test_an_old_validation_report_loads_and_serialises_key_for_key() -> None:
    report = ValidationReport.from_dict(OLD_REPORT)
    assert (report.ok, len(report.errors), len(report.warnings)) == (False, 1, 1)
    assert report.errors[0].check is CheckKind.UNSEEN_CATEGORY
    assert report.errors[0].examples == (Example(row=2, value="A******s"),)
    assert report.to_dict() == OLD_REPORT
    # What the CLI wrote with --json PATH: the labels first, then the report.
    labelled = {"data": "batch.csv", "schema": "loans.yaml", **OLD_REPORT}
    assert ValidationReport.from_dict(labelled).to_dict() == labelled


def test_an_old_stored_validation_blob_loads() -> None:
    blob = {"dataset": "loans@2", "schema": "loans schema v1", "schema_sha256": "ab" * 32,
            "report": OLD_REPORT}
    record = ValidationRecord.from_json(json.dumps(blob, sort_keys=True))
    assert (record.dataset, record.schema_label, record.report.ok) == (
        "loans@2", "loans schema v1", False)
    assert record.to_dict() == blob
    row = {"id": 7, "dataset": "loans@2", "schema": "loans schema v1", "ok": False,
           "errors": 1, "warnings": 1, "blob": "cd" * 32, "created_at": "2026-01-02T03:04:05Z"}
    stored = StoredValidation.from_dict(row)
    assert (stored.id, stored.schema_label) == (7, "loans schema v1")
    assert stored.to_dict() == row


def test_an_old_stored_schema_loads_with_its_table_schema() -> None:
    schema = infer_schema(pd.DataFrame({"age": [20, 30, 40], "city": ["a", "b", "a"]}))
    old = {"dataset": "loans", "version": 2, "source": "saved from s.yaml", "sha256": "ef" * 32,
           "created_by": "sara", "created_at": "2026-01-02T03:04:05Z",
           "schema": schema.to_dict()}
    stored = StoredSchema.from_dict(old)
    assert stored.table_schema == schema and stored.label == "loans schema v2"
    assert stored.to_dict() == json.loads(json.dumps(old))
    with pytest.raises(ValidationError, match="numerc"):
        StoredSchema.from_dict({**old, "schema": {"columns": [
            {"name": "age", "kind": "numerc", "dtype": "int64"}]}})


def test_old_pii_reports_load_key_for_key() -> None:
    report = PIIReport.from_dict(OLD_PII)
    assert report.found and report.column("memo").findings[0].share == 0.25
    assert report.column("gender").kinds[0].value == "protected attribute"
    assert report.to_dict() == OLD_PII
    cli = {"data": "customers.csv", **OLD_PII}
    assert PIIReport.from_dict(cli).to_dict() == cli


def test_old_quality_reports_load_key_for_key() -> None:
    report = QualityReport.from_dict(OLD_QUALITY)
    assert report.balance is not None and report.balance.counts == (("a", 3), ("b", 1))
    assert report.to_dict() == OLD_QUALITY
    assert report.issues() == tuple(OLD_QUALITY["issues"])  # type: ignore[arg-type]


def test_a_missing_outlier_bound_is_null_in_json_and_nan_when_read() -> None:
    empty = Outliers(column="x", count=0, share=0.0, lower=math.nan, upper=math.nan)
    assert empty.to_dict()["lower"] is None
    assert math.isnan(Outliers.from_json(empty.to_json()).lower)
    report = quality(pd.DataFrame({"x": pd.Series([None, None], dtype=float), "k": [1, 2]}))
    assert json.loads(report.to_json())["outliers"][0]["upper"] is None


def test_fresh_reports_have_the_old_keys() -> None:
    frame = pd.DataFrame({"region": ["north", "south", "north"], "amount": [1.0, 2.0, 3.0]})
    batch = frame.assign(region=["north", "south", "Atlantis"], extra=1)
    report = validate(batch, infer_schema(frame)).masked()
    data = report.to_dict()
    assert set(data) == set(OLD_REPORT)
    assert {key for r in data["results"] for key in r} == set(OLD_REPORT["results"][0])
    pii = scan(pd.DataFrame({"memo": ["write to jane@example.com"], "g": ["f"]}),
               protected_attributes=["g", "religion"]).to_dict()
    assert set(pii) == set(OLD_PII)
    assert set(pii["columns"][0]["findings"][0]) == set(
        OLD_PII["columns"][0]["findings"][0])  # type: ignore[index]
    assert set(quality(frame, target="region").to_dict()) == set(OLD_QUALITY)


def test_masked_hides_text_and_leaves_the_report_unchanged() -> None:
    result = CheckResult(check=CheckKind.FORMAT, column="id", severity=Severity.ERROR,
                         passed=False, failing=3, share=1.0, examples=(
                             Example(row=0, value="APP-123"), Example(row=1, value=7),
                             Example(row=2)))
    report = ValidationReport(rows=3, results=(result,))
    masked = report.masked()
    assert [e.value for e in masked.results[0].examples] == ["A*****3", 7, None]
    assert [e.value for e in report.results[0].examples] == ["APP-123", 7, None]
    assert "APP-123" in report.to_json() and "APP-123" not in masked.to_json()
    assert masked.to_dict()["errors"] == 1 and masked.ok is False


def test_reports_are_immutable_results() -> None:
    report = ValidationReport.from_dict(OLD_REPORT)
    for value in (report, report.results[0], PIIReport.from_dict(OLD_PII),
                  QualityReport.from_dict(OLD_QUALITY), PIIPolicy()):
        assert isinstance(value, Result)
    with pytest.raises(ValidationError):
        report.rows = 9  # type: ignore[misc]
