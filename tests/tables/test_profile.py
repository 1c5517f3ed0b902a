"""Tests for rasad.tables.profile: column statistics checked against numpy and pandas."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.errors import InputError, NotFoundError
from rasad.tables.kinds import ColumnKind, infer_kinds
from rasad.tables.profile import (
    QUANTILES,
    TOP_CATEGORIES,
    ColumnProfile,
    TableProfile,
    profile_table,
)

ROWS = 5_000


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    income = rng.lognormal(8, 0.7, ROWS)
    income[rng.random(ROWS) < 0.05] = np.nan
    age = pd.array(rng.integers(18, 90, ROWS), dtype="Int64")
    age[rng.random(ROWS) < 0.1] = pd.NA
    labels = rng.choice(["north", "south", "east", "west", "Mars"], ROWS, p=[.4, .3, .2, .09, .01])
    region = pd.Series(labels, dtype=object)
    region[rng.random(ROWS) < 0.03] = None
    return pd.DataFrame(
        {
            "income": income,
            "age": age,
            "region": region,
            "member": rng.random(ROWS) < 0.3,
            "applied": pd.Series(pd.date_range("2024-01-01", periods=ROWS, freq="37min"))
            .sample(frac=1.0, random_state=1)
            .reset_index(drop=True),
            "application_id": np.arange(ROWS)[::-1],
            "nothing": np.full(ROWS, np.nan),
            "same": np.full(ROWS, 7.5),
            "same_text": ["yes"] * ROWS,
        }
    )


@pytest.fixture(scope="module")
def profile(frame: pd.DataFrame) -> TableProfile:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return profile_table(table, infer_kinds(table))


def test_numeric_statistics_match_numpy_and_pandas(
    frame: pd.DataFrame, profile: TableProfile
) -> None:
    for name in ("income", "age"):
        column = profile.column(name)
        values = frame[name].dropna().to_numpy(dtype=float)
        assert column.kind is ColumnKind.NUMERIC
        assert column.count == len(values)
        assert column.missing == ROWS - len(values)
        assert column.missing_share == pytest.approx(frame[name].isna().mean())
        assert column.n_unique == frame[name].nunique()
        assert column.min == values.min()
        assert column.max == values.max()
        assert column.mean == pytest.approx(values.mean(), rel=1e-12)
        assert column.std == pytest.approx(frame[name].std(), rel=1e-12)  # ddof=1, as pandas
        assert column.quantiles is not None
        expected = np.quantile(values, QUANTILES)  # numpy's default linear interpolation
        assert list(column.quantiles) == [str(q) for q in QUANTILES]
        assert list(column.quantiles.values()) == pytest.approx(list(expected), rel=1e-12)
        assert column.top is None


def test_nan_in_float_columns_counts_as_missing() -> None:
    table = pa.table({"x": pa.array([1.0, float("nan"), None, 3.0])})
    column = profile_table(table, {"x": ColumnKind.NUMERIC}).column("x")
    assert (column.count, column.missing, column.n_unique) == (2, 2, 2)
    assert column.mean == 2.0


def test_categorical_top_values_match_value_counts(
    frame: pd.DataFrame, profile: TableProfile
) -> None:
    column = profile.column("region")
    expected = frame["region"].value_counts()
    assert column.kind is ColumnKind.CATEGORICAL
    assert column.top == tuple(expected.items())
    assert column.n_unique == frame["region"].nunique()
    assert column.missing == frame["region"].isna().sum()
    assert column.mean is column.quantiles is None


def test_boolean_top_values(frame: pd.DataFrame, profile: TableProfile) -> None:
    column = profile.column("member")
    counts = frame["member"].value_counts()
    assert column.kind is ColumnKind.BOOLEAN
    assert dict(column.top or ()) == {"True": counts[True], "False": counts[False]}


def test_datetime_min_max_are_iso(frame: pd.DataFrame, profile: TableProfile) -> None:
    column = profile.column("applied")
    assert column.kind is ColumnKind.DATETIME
    assert column.min == frame["applied"].min().isoformat()
    assert column.max == frame["applied"].max().isoformat()
    assert column.n_unique == ROWS
    assert column.mean is None


def test_identifier_values_are_never_copied(profile: TableProfile) -> None:
    column = profile.column("application_id")
    assert column.kind is ColumnKind.IDENTIFIER
    assert column.top is None  # an identifier may be a national ID: no examples stored
    assert column.n_unique == column.count


def test_ties_at_the_cut_keep_the_smallest_values() -> None:
    values = ["z"] * 5 + ["y"] * 5 + [f"v{n:02d}" for n in range(30) for _ in range(2)]
    column = profile_table(pa.table({"c": values}), {"c": ColumnKind.CATEGORICAL}).column("c")
    assert column.top is not None
    assert column.top[:2] == (("y", 5), ("z", 5))
    assert column.top[2:] == tuple((f"v{n:02d}", 2) for n in range(TOP_CATEGORIES - 2))
    assert column.n_unique == 32


def test_all_missing_and_constant_columns(profile: TableProfile) -> None:
    nothing = profile.column("nothing")
    assert (nothing.count, nothing.missing, nothing.missing_share, nothing.n_unique) == (
        0, ROWS, 1.0, 0,
    )
    assert nothing.min is nothing.mean is nothing.std is nothing.quantiles is None
    same = profile.column("same")
    assert (same.min, same.max, same.mean, same.std, same.n_unique) == (7.5, 7.5, 7.5, 0.0, 1)
    assert set((same.quantiles or {}).values()) == {7.5}
    assert profile.column("same_text").top == (("yes", ROWS),)


@pytest.mark.parametrize("kind", list(ColumnKind))
def test_every_kind_survives_a_column_of_nulls(kind: ColumnKind) -> None:
    table = pa.table({"x": pa.nulls(3)})
    column = profile_table(table, {"x": kind}).column("x")
    assert (column.count, column.missing, column.n_unique) == (0, 3, 0)
    assert json.loads(json.dumps(column.to_dict(), allow_nan=False))["missing"] == 3


def test_single_value_has_no_std() -> None:
    column = profile_table(pa.table({"x": [4]}), {"x": ColumnKind.NUMERIC}).column("x")
    assert (column.mean, column.std) == (4.0, None)


def test_infinite_values_are_counted_apart_and_left_out_of_statistics() -> None:
    values = [1.0, math.inf, 3.0, None, -math.inf, math.nan, math.inf, 2.0]
    column = profile_table(pa.table({"x": values}), {"x": ColumnKind.NUMERIC}).column("x")
    # inf is present (not missing) but counted apart; NaN and None are missing.
    assert (column.count, column.missing, column.infinite) == (6, 2, 3)
    assert column.infinite_share == 3 / 8
    assert (column.min, column.max, column.mean) == (1.0, 3.0, 2.0)
    assert column.quantiles is not None and column.quantiles["0.5"] == 2.0
    data = json.loads(json.dumps(column.to_dict(), allow_nan=False))
    assert (data["infinite"], data["infinite_share"]) == (3, 0.375)
    assert ColumnProfile.from_dict(data) == column


def test_a_column_of_only_infinite_values_has_no_statistics() -> None:
    table = pa.table({"x": [math.inf, -math.inf]})
    column = profile_table(table, {"x": ColumnKind.NUMERIC}).column("x")
    assert (column.count, column.infinite, column.n_unique) == (2, 2, 2)
    assert (column.min, column.max, column.mean, column.std) == (None, None, None, None)
    json.dumps(column.to_dict(), allow_nan=False)


def test_columns_that_cannot_hold_infinity_count_none(profile: TableProfile) -> None:
    assert all(column.infinite == 0 and column.infinite_share == 0.0
               for column in profile.columns)
    ints = profile_table(pa.table({"n": [1, 2]}), {"n": ColumnKind.NUMERIC}).column("n")
    assert ints.infinite == 0


def test_profiles_stored_before_the_infinite_count_still_load(profile: TableProfile) -> None:
    stored = json.loads(json.dumps(profile.to_dict()))
    for column in stored["columns"]:
        del column["infinite"], column["infinite_share"]
    assert TableProfile.from_dict(stored) == profile


def test_json_round_trip_is_exact(profile: TableProfile) -> None:
    text = json.dumps(profile.to_dict(), allow_nan=False)
    assert TableProfile.from_dict(json.loads(text)) == profile
    assert profile.rows == ROWS
    assert [c.name for c in profile.columns][:3] == ["income", "age", "region"]


def test_profile_of_text_dates_and_declared_kinds() -> None:
    table = pa.table({"when": ["2024-03-01", "2024-01-05T10:00", None]})
    column = profile_table(table, {"when": ColumnKind.DATETIME}).column("when")
    assert (column.min, column.max, column.dtype) == (
        "2024-01-05T10:00:00", "2024-03-01T00:00:00", "string",
    )


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ({}, "No kind given for column"),
        ({"x": ColumnKind.NUMERIC, "s": ColumnKind.NUMERIC}, "type string but kind numeric"),
        ({"x": ColumnKind.NUMERIC, "s": ColumnKind.DATETIME}, "not an ISO 8601 date"),
        ({"x": ColumnKind.NUMERIC, "s": ColumnKind.TEXT, "y": ColumnKind.TEXT}, "'y'"),
    ],
)
def test_kinds_that_do_not_fit(kinds: dict[str, ColumnKind], expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        profile_table(pa.table({"x": [1, 2], "s": ["a", "b"]}), kinds)


def test_lookup_and_malformed_stored_profiles(profile: TableProfile) -> None:
    with pytest.raises(NotFoundError, match="no column 'zzz'; columns are 'income'"):
        profile.column("zzz")
    stored = profile.to_dict()
    stored["columns"][0]["kind"] = "fancy"
    with pytest.raises(InputError, match="profile the dataset again"):
        TableProfile.from_dict(stored)
    with pytest.raises(InputError, match="malformed"):
        ColumnProfile.from_dict({"name": "x"})


def test_a_project_profile_stored_before_the_infinite_count_still_loads(
        project: Project) -> None:
    frame = pd.DataFrame({"ratio": [0.5, math.inf, 1.5], "n": [1, 2, 3]})
    project.add_dataset(frame, "ratios")
    assert project.dataset("ratios").profile.column("ratio").infinite == 1
    # Rewrite the stored JSON as an older rasad wrote it: no infinite keys.
    with project.db.write_engine.begin() as conn:
        query = sa.text("SELECT profile FROM dataset_versions")
        stored = json.loads(conn.execute(query).scalar_one())
        for column in stored["columns"]:
            del column["infinite"], column["infinite_share"]
        conn.execute(sa.text("UPDATE dataset_versions SET profile = :p"),
                     {"p": json.dumps(stored)})
    loaded = project.dataset("ratios")
    assert loaded.profile.column("ratio").infinite == 0
    assert loaded.profile.column("ratio").max == 1.5
