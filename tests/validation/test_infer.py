"""infer_schema: what is learned from reference data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from rasad.errors import InputError
from rasad.tables import ColumnKind
from rasad.validation import CheckKind, Severity, TableSchema, infer_schema, validate


def test_kinds_types_and_rules() -> None:
    frame = pd.DataFrame({
        "customer_id": [f"C{i:04d}x" for i in range(100)],
        "score": np.linspace(0.0, 1.0, 100),
        "count": np.arange(100) % 7,
        "segment": ["a", "b", "c", "d"] * 25,
        "active": [True, False] * 50,
        "when": pd.date_range("2025-01-01", periods=100, freq="D"),
        "note": [None if i % 10 == 0 else "x" for i in range(100)],
    })
    schema = infer_schema(frame)
    by_name = {c.name: c for c in schema.columns}
    assert by_name["customer_id"].kind is ColumnKind.IDENTIFIER
    assert by_name["customer_id"].unique
    assert by_name["customer_id"].format == r"C\d{4}x"
    # Shares stay within [0, 1]; counts stay non-negative (see widen in schema.py).
    assert (by_name["score"].dtype, by_name["score"].bounds()) == ("float64", (0.0, 1.0))
    assert by_name["count"].dtype == "int64" and by_name["count"].categories is None
    assert by_name["count"].bounds() == (0.0, 6.6)
    assert by_name["segment"].categories == ("a", "b", "c", "d")
    assert by_name["active"].dtype == "bool"
    when = by_name["when"]
    assert when.monotonic and when.minimum == "2025-01-01T00:00:00"
    assert when.severity_of(CheckKind.OUT_OF_RANGE) is Severity.WARNING
    note = by_name["note"]
    assert note.nullable and note.missing_share == 0.1 and note.max_missing_share == 0.15
    assert not by_name["score"].nullable and by_name["score"].max_missing_share is None
    assert schema.max_duplicate_share == 0.0 and schema.min_rows == 1


def test_options() -> None:
    frame = pd.DataFrame({"ref": ["z1", "z2", "z3"], "day": ["2025-01-02", "2025-01-01", None],
                          "grade": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]})
    schema = infer_schema(frame, id_columns=["ref"], time_columns=["day"], tolerance=0.5,
                          max_categories=2, missing_tolerance=0.0)
    assert schema.column("ref").kind is ColumnKind.IDENTIFIER
    day = schema.column("day")
    assert day.dtype == "datetime64" and not day.monotonic
    assert day.max_missing_share == pytest.approx(1 / 3)
    assert schema.column("grade").categories is None
    assert schema.column("x").bounds() == (0.0, 4.0)


def test_formats_of_varying_length_and_mixed_shapes() -> None:
    frame = pd.DataFrame({"key_id": ["ab-1", "cd-22", "ef-333"],
                          "code_id": ["A1", "1A", "AA"]})
    schema = infer_schema(frame)
    assert schema.column("key_id").format == r"[a-z]+\-\d+"
    assert schema.column("code_id").format is None


def test_inputs(tmp_path) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 2.0], "b": ["x", "y", "y"]})
    from_arrow = infer_schema(pa.Table.from_pandas(frame, preserve_index=False))
    path = tmp_path / "ref.csv"
    frame.to_csv(path, index=False)
    from_file = infer_schema(path)
    assert from_file.source == f"inferred from {path}"
    assert from_file.columns == from_arrow.columns
    assert from_arrow.max_duplicate_share == pytest.approx(1 / 3, abs=1e-6)
    with pytest.raises(InputError, match="no such file"):
        infer_schema(tmp_path / "absent.csv")
    with pytest.raises(InputError, match="'nope'"):
        infer_schema(frame, id_columns=["nope"])


def test_deterministic() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=50), "c": rng.choice(["p", "q"], 50)})
    assert infer_schema(frame).to_yaml() == infer_schema(frame.copy()).to_yaml()


def _out_of_range(frame: pd.DataFrame, schema: TableSchema, column: str) -> int:
    result = next(r for r in validate(frame, schema).results
                  if r.check is CheckKind.OUT_OF_RANGE and r.column == column)
    return result.failing


def test_an_inferred_range_never_widens_across_zero_or_past_one() -> None:
    # The new-user case: income never below 185, so -5 must fail (minimum - 0.1 x range
    # used to allow down to -296.5); a rate in [0, 1] must not allow 1.05.
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({
        "income": np.r_[185.0, 5000.0, rng.uniform(185, 5000, 98)],
        "rate": np.r_[0.02, 0.99, rng.uniform(0.02, 0.99, 98)],
        "debt": np.r_[-900.0, -10.0, rng.uniform(-900, -10, 98)],
        "change": np.r_[-3.0, 7.0, rng.uniform(-3, 7, 98)],
        "children": np.arange(100) % 5,
    })
    schema = TableSchema.from_yaml(infer_schema(reference).to_yaml())
    batch = pd.DataFrame({
        "income": [-5.0, 0.0, 185.0, 5400.0],
        "rate": [-0.01, 0.0, 1.0, 1.05],
        "debt": [1.0, 0.0, -10.0, -980.0],
        "change": [-3.9, -4.1, 7.9, 8.1],
        "children": [-1, 0, 2, 4],
    })
    assert _out_of_range(batch, schema, "income") == 1
    assert _out_of_range(batch, schema, "rate") == 2
    assert _out_of_range(batch, schema, "debt") == 1
    assert _out_of_range(batch, schema, "change") == 2  # crosses zero: widened freely
    assert _out_of_range(batch, schema, "children") == 1
    assert _out_of_range(reference, schema, "income") == 0
    assert schema.column("income").bounds() == (0.0, 5481.5)
