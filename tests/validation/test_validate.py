"""Corrupted copies of real data: every injected defect is reported at its rows."""

from __future__ import annotations

import json
import types

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import rasad.validation as validation
from rasad.examples import generate_portfolio
from rasad.validation import (
    CheckKind,
    Severity,
    TableSchema,
    infer_schema,
    validate,
)
from rasad.validation.validate import mask_value


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    frame = generate_portfolio(months=2, rows_per_month=500, seed=11)
    return frame.sort_values(["application_date", "application_id"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def schema(reference: pd.DataFrame) -> TableSchema:
    return infer_schema(reference)


def _failure(report: validation.ValidationReport, check: CheckKind, column: str | None):
    found = [r for r in report.failures if r.check is check and r.column == column]
    assert len(found) == 1, (check, column, report.failures)
    return found[0]


def _rows(result: validation.CheckResult) -> list[int]:
    return [example.row for example in result.examples]


def test_clean_copy_passes(reference: pd.DataFrame, schema: TableSchema) -> None:
    report = validate(reference.copy(), schema)
    assert report.ok
    assert report.failures == ()
    assert report.rows == 1000


def test_inferred_portfolio_schema(schema: TableSchema) -> None:
    key = schema.column("application_id")
    assert key.unique and key.format == r"APP\-\d{6}"
    assert schema.column("application_date").monotonic
    assert schema.column("region").categories is not None
    assert schema.max_duplicate_share == 0.0


def _corrupt(frame: pd.DataFrame, defect: str) -> tuple[pd.DataFrame, CheckKind, str, list[int]]:
    frame = frame.copy()
    if defect == "nulls":
        rows = [3, 517]
        frame.loc[rows, "income"] = np.nan
        return frame, CheckKind.NULLS, "income", rows
    if defect == "range":
        rows = [5, 40, 999]
        frame.loc[rows, "age"] = [500, -3, 140]
        return frame, CheckKind.OUT_OF_RANGE, "age", rows
    if defect == "category":
        rows = [8, 99]
        frame.loc[rows, "region"] = "Atlantis"
        return frame, CheckKind.UNSEEN_CATEGORY, "region", rows
    if defect == "duplicate_key":
        rows = [120, 640]
        frame.loc[rows, "application_id"] = frame.loc[[0, 1], "application_id"].to_numpy()
        return frame, CheckKind.DUPLICATE_KEY, "application_id", rows
    if defect == "format":
        rows = [200]
        frame.loc[rows, "application_id"] = "app_200"
        return frame, CheckKind.FORMAT, "application_id", rows
    if defect == "wrong_type":
        rows = [11, 300]
        amounts = frame["loan_amount"].astype(object)
        amounts[rows] = ["lots", "n/a?"]
        frame["loan_amount"] = amounts
        return frame, CheckKind.WRONG_TYPE, "loan_amount", rows
    if defect == "monotonic":
        rows = [600]
        frame.loc[rows, "application_date"] = frame.loc[0, "application_date"]
        return frame, CheckKind.MONOTONIC, "application_date", rows
    if defect == "duplicate_rows":
        rows = [400, 401]
        frame.loc[rows] = frame.loc[[10, 11]].to_numpy()
        frame = frame.astype(dict(frame.dtypes))
        return frame, CheckKind.DUPLICATE_ROWS, None, rows
    raise AssertionError(defect)


DEFECTS = ["nulls", "range", "category", "duplicate_key", "format", "wrong_type", "monotonic",
           "duplicate_rows"]


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_defect_is_reported_at_its_rows(
    reference: pd.DataFrame, schema: TableSchema, defect: str
) -> None:
    corrupted, check, column, rows = _corrupt(reference, defect)
    report = validate(corrupted, schema)
    result = _failure(report, check, column)
    assert _rows(result) == rows
    assert result.failing == len(rows)
    assert result.share == pytest.approx(len(rows) / len(corrupted))
    assert result.severity is schema.severity_of(check) if column is None else \
        schema.column(column).severity_of(check)
    if result.severity is Severity.ERROR:
        assert not report.ok
    assert result.message


def test_every_defect_is_collected_in_one_pass(
    reference: pd.DataFrame, schema: TableSchema
) -> None:
    frame = reference
    expected = {}
    for defect in ["nulls", "range", "category", "format", "wrong_type"]:
        frame, check, column, rows = _corrupt(frame, defect)
        expected[(check, column)] = rows
    frame = frame.drop(columns=["gender"]).assign(extra=1)
    report = validate(frame, schema)
    for (check, column), rows in expected.items():
        assert _rows(_failure(report, check, column)) == rows
    assert _failure(report, CheckKind.MISSING_COLUMN, "gender").severity is Severity.ERROR
    assert _failure(report, CheckKind.UNEXPECTED_COLUMN, "extra").severity is Severity.WARNING
    assert len(report.errors) == 6


def test_wrong_type_values_are_not_also_counted_as_nulls(
    reference: pd.DataFrame, schema: TableSchema
) -> None:
    frame, _, _, _ = _corrupt(reference, "wrong_type")
    report = validate(frame, schema)
    assert [r.check for r in report.failures] == [CheckKind.WRONG_TYPE]
    assert [e.value for e in report.failures[0].examples] == ["lots", "n/a?"]


def test_rows_are_positions_whatever_the_index(schema: TableSchema, reference) -> None:
    frame, _, _, rows = _corrupt(reference, "range")
    frame.index = frame.index * 7 + 1000
    assert _rows(_failure(validate(frame, schema), CheckKind.OUT_OF_RANGE, "age")) == rows


def test_arrow_table_and_file_inputs(tmp_path, reference, schema) -> None:
    frame, _, _, rows = _corrupt(reference, "category")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert _rows(_failure(validate(table, schema), CheckKind.UNSEEN_CATEGORY, "region")) == rows
    path = tmp_path / "batch.csv"
    frame.to_csv(path, index=False)
    report = validate(path, schema)
    assert _rows(_failure(report, CheckKind.UNSEEN_CATEGORY, "region")) == rows
    assert len(report.errors) == 1


def test_schema_naming_absent_columns_reports_missing_columns(reference) -> None:
    schema = infer_schema(reference.assign(ghost=1.0, phantom="x"))
    report = validate(reference, schema)
    missing = [r for r in report.errors if r.check is CheckKind.MISSING_COLUMN]
    assert [r.column for r in missing] == ["ghost", "phantom"]
    assert missing[0].failing == len(reference) and "ghost" in missing[0].message


def test_row_count_bounds(reference, schema) -> None:
    bounded = TableSchema.from_yaml(schema.to_yaml().replace("max_rows: null", "max_rows: 900"))
    result = _failure(validate(reference, bounded), CheckKind.ROW_COUNT, None)
    assert result.severity is Severity.ERROR and "1000 rows" in result.message


def test_missing_share_against_reference() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=200)
    values[:10] = np.nan
    schema = infer_schema(pd.DataFrame({"x": values}))
    column = schema.column("x")
    assert column.nullable and column.max_missing_share == pytest.approx(0.1)
    batch = pd.DataFrame({"x": rng.normal(size=200)})
    batch.loc[[2, 4, 6, 8, 10, 12] + list(range(100, 130)), "x"] = np.nan
    report = validate(batch, schema)
    result = _failure(report, CheckKind.MISSING_SHARE, "x")
    assert result.severity is Severity.WARNING and report.ok
    assert _rows(result) == [2, 4, 6, 8, 10] and result.failing == 36


def test_severity_override_from_yaml(reference, schema) -> None:
    text = schema.to_yaml().replace(
        "  format: APP\\-\\d{6}", "  format: APP\\-\\d{6}\n  severity:\n    format: warning")
    edited = TableSchema.from_yaml(text)
    frame, _, _, _ = _corrupt(reference, "format")
    report = validate(frame, edited)
    assert report.ok and [r.check for r in report.warnings] == [CheckKind.FORMAT]


def test_report_json_and_masking(reference, schema) -> None:
    frame, _, _, _ = _corrupt(reference, "category")
    report = validate(frame, schema)
    plain = json.loads(json.dumps(report.to_dict()))
    masked = json.loads(report.masked().to_json())
    [raw] = [r for r in plain["results"] if not r["passed"]]
    [hidden] = [r for r in masked["results"] if not r["passed"]]
    assert raw["examples"][0] == {"row": 8, "value": "Atlantis"}
    assert hidden["examples"][0] == {"row": 8, "value": "A******s"}
    assert plain["ok"] is False and plain["errors"] == 1
    assert mask_value(None) is None and mask_value("x") == "*"


def test_examples_are_capped_at_five(reference, schema) -> None:
    frame = reference.copy()
    frame.loc[range(0, 100, 10), "age"] = 999
    result = _failure(validate(frame, schema), CheckKind.OUT_OF_RANGE, "age")
    assert result.failing == 10 and _rows(result) == [0, 10, 20, 30, 40]
    assert [e.value for e in result.examples] == [999] * 5


def test_to_pandera_matches_value_checks(reference, schema) -> None:
    frame, _, _, rows = _corrupt(reference, "range")
    with pytest.raises(Exception) as caught:
        validation.to_pandera(schema).validate(frame, lazy=True)
    cases = caught.value.failure_cases  # type: ignore[attr-defined]
    assert sorted(cases.loc[cases["column"] == "age", "index"]) == rows


def test_exported_members() -> None:
    exported = {
        name for name, value in vars(validation).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(validation.__all__) == exported


def test_docs_examples_run() -> None:
    # Every ```python block of docs/validation.md runs, in order, in one namespace.
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "validation.md").read_text()
    blocks = [part.split("```", 1)[0] for part in text.split("```python\n")[1:]]
    assert len(blocks) == 6
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/validation.md", "exec"), namespace)  # noqa: S102
