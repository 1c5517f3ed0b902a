"""Tests for rasad.tables.kinds: column kinds inferred by an explicit policy."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from rasad.errors import InputError
from rasad.tables._reader import read_table
from rasad.tables.kinds import (
    ColumnKind,
    KindPolicy,
    as_timestamps,
    category_label,
    check_kinds,
    infer_kinds,
)

ROWS = 2_000


@pytest.fixture(scope="module")
def realistic() -> pa.Table:
    """A loan-application table with every kind of column a user brings."""
    rng = np.random.default_rng(42)
    words = np.array("the payment was late because my employer paid salary two weeks after".split())
    comments = [" ".join(rng.choice(words, 6)) for _ in range(ROWS)]
    frame = pd.DataFrame(
        {
            "application_id": np.arange(ROWS) + 5_000,
            "customerId": rng.permutation(ROWS),
            "ref": [f"R{n:07d}" for n in rng.permutation(10**6)[:ROWS]],
            "age": rng.integers(18, 80, ROWS),
            "children": rng.integers(0, 4, ROWS),
            "income": rng.lognormal(8, 0.5, ROWS).round(2),
            "region": rng.choice(["north", "south", "east", "west"], ROWS),
            "employment": rng.choice(["Self-employed", "Salaried, full time", "Retired"], ROWS),
            "member": rng.random(ROWS) < 0.4,
            "applied": pd.date_range("2024-01-01", periods=ROWS, freq="h"),
            "comment": comments,
            "opened": pd.date_range("2023-01-01", periods=ROWS, freq="D").strftime("%Y-%m-%d"),
            "zip": [f"{n:05d}" for n in rng.integers(10_000, 10_500, ROWS)],
            "city": [f"Port {n}" for n in rng.integers(0, 1_500, ROWS)],
            "empty": [None] * ROWS,
        }
    )
    return read_table(frame)


def test_realistic_mixed_table(realistic: pa.Table) -> None:
    kinds = infer_kinds(realistic, time_columns=["opened"])
    assert kinds == {
        "application_id": ColumnKind.IDENTIFIER,  # unique integers named like an id
        "customerId": ColumnKind.IDENTIFIER,  # camelCase id
        "ref": ColumnKind.IDENTIFIER,  # unique codes without spaces
        "age": ColumnKind.NUMERIC,
        "children": ColumnKind.NUMERIC,  # few distinct integers are still numbers
        "income": ColumnKind.NUMERIC,
        "region": ColumnKind.CATEGORICAL,
        "employment": ColumnKind.CATEGORICAL,  # long labels with spaces, but few of them
        "member": ColumnKind.BOOLEAN,
        "applied": ColumnKind.DATETIME,
        "comment": ColumnKind.TEXT,
        "opened": ColumnKind.DATETIME,  # declared; text parsed as dates
        "zip": ColumnKind.CATEGORICAL,  # repeats too often to identify rows
        "city": ColumnKind.TEXT,  # more distinct values than a category list holds
        "empty": ColumnKind.CATEGORICAL,
    }
    assert list(kinds) == realistic.schema.names


def test_city_rule_follows_max_categories(realistic: pa.Table) -> None:
    # With room for every city, it is a category; the rule is the policy, not magic.
    kinds = infer_kinds(realistic, policy=KindPolicy(max_categories=5_000))
    assert kinds["city"] is ColumnKind.CATEGORICAL


def test_integer_unique_but_not_named_like_id_is_numeric() -> None:
    table = pa.table({"amount": [10, 20, 30], "id": [3, 1, 2], "key": [1, 1, 2]})
    kinds = infer_kinds(table)
    assert kinds["amount"] is ColumnKind.NUMERIC
    assert kinds["id"] is ColumnKind.IDENTIFIER
    assert kinds["key"] is ColumnKind.NUMERIC  # named like an id but repeats


def test_unique_codes_need_enough_rows_or_an_id_name() -> None:
    codes = [f"c{n}" for n in range(10)]
    table = pa.table({"colour": codes, "code_id": codes})
    kinds = infer_kinds(table)
    assert kinds["colour"] is ColumnKind.CATEGORICAL  # 10 rows prove nothing
    assert kinds["code_id"] is ColumnKind.IDENTIFIER
    assert infer_kinds(table, policy=KindPolicy(identifier_min_count=5))["colour"] is (
        ColumnKind.IDENTIFIER
    )


def test_unique_text_with_spaces_is_not_an_identifier() -> None:
    names = [f"Jane {n}" for n in range(100)]
    assert infer_kinds(pa.table({"name": names}))["name"] is ColumnKind.CATEGORICAL


def test_declared_columns_override_values() -> None:
    table = pa.table({"code": ["a", "a", "b"], "when": ["2024-01-05", None, "2024-01-05T10:00"]})
    kinds = infer_kinds(table, id_columns=["code"], time_columns=["when"])
    assert kinds == {"code": ColumnKind.IDENTIFIER, "when": ColumnKind.DATETIME}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"id_columns": ["nope"]}, "'nope' are not in the table; columns are 'a', 'b'"),
        ({"time_columns": ["a"]}, "Time column 'a' has type int64"),
        ({"time_columns": ["b"]}, "not an ISO 8601 date or time: 'x'"),
        ({"id_columns": ["a"], "time_columns": ["a"]}, "declared both"),
    ],
)
def test_bad_declarations(kwargs: dict[str, list[str]], expected: str) -> None:
    table = pa.table({"a": [1, 2], "b": ["2024-01-01", "x"]})
    with pytest.raises(InputError, match=expected):
        infer_kinds(table, kwargs.get("id_columns", ()), kwargs.get("time_columns", ()))


def test_policy_validates_its_fields() -> None:
    with pytest.raises(InputError, match="text_min_whitespace_share=-0.1 is not a share"):
        KindPolicy(text_min_whitespace_share=-0.1)
    with pytest.raises(InputError, match="max_categories=-1 is negative"):
        KindPolicy(max_categories=-1)
    with pytest.raises(InputError, match="not a valid regular expression"):
        KindPolicy(id_name_pattern="(")
    assert KindPolicy().to_dict()["identifier_min_unique_share"] == 0.95


def test_as_timestamps_parses_offsets_as_utc() -> None:
    parsed = as_timestamps(pa.chunked_array([["2024-01-05T10:00:00+03:00", None]]), "t")
    assert parsed.type == pa.timestamp("us", "UTC")
    assert parsed[0].as_py() == dt.datetime(2024, 1, 5, 7, 0, tzinfo=dt.UTC)


def test_category_label_is_stable_across_storage_types() -> None:
    assert category_label(np.int64(3)) == category_label(3.0) == "3"
    assert category_label(np.bool_(True)) == "True"
    assert category_label(float("nan")) == "nan"
    assert category_label(dt.datetime(2024, 1, 5, 10)) == "2024-01-05T10:00:00"


def test_check_kinds() -> None:
    table = pa.table({"a": [1]})
    check_kinds(table, {"a": ColumnKind.NUMERIC})
    with pytest.raises(InputError, match="No kind given for column"):
        check_kinds(table, {})
    with pytest.raises(InputError, match="is not a ColumnKind"):
        check_kinds(table, {"a": "numeric"})  # type: ignore[dict-item]


def test_a_million_rows_keep_their_kinds() -> None:
    # Its speed is measured in benchmarks/kinds.py, not here.
    rows = 1_000_000
    rng = np.random.default_rng(0)
    table = pa.table(
        {
            "user_id": np.arange(rows),
            "x": rng.normal(size=rows),
            "code": pa.array([f"K{n:08d}" for n in range(rows)]),
            "region": pa.array(rng.choice(["a", "b", "c"], rows)),
        }
    )
    kinds = infer_kinds(table)
    assert kinds["user_id"] is kinds["code"] is ColumnKind.IDENTIFIER
    assert kinds["x"] is ColumnKind.NUMERIC and kinds["region"] is ColumnKind.CATEGORICAL
