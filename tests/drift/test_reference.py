"""Reference profiles: JSON round trip, and accuracy against the reference rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from rasad.drift import ColumnStatus, DriftPolicy, Method, ReferenceProfile, compare
from rasad.drift.reference import NOT_COMPARED, SKETCH_SIZE, is_time_text, resolve_kinds
from rasad.errors import InputError
from rasad.tables import ColumnKind


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(21)
    n = 200_000

    def table(shift: float) -> pd.DataFrame:
        income = rng.lognormal(3 + shift, 0.6, n)
        income[rng.random(n) < 0.02 + shift / 4] = np.nan
        return pd.DataFrame({
            "normal": rng.normal(shift, 1, n),
            "income": income,
            "uniform": rng.uniform(shift, 1 + shift, n),
            "children": rng.poisson(1.5 + shift, n),
            "region": rng.choice(["n", "s", "e", "w"], n, p=[0.4 - shift / 4, 0.3, 0.2,
                                                              0.1 + shift / 4]),
            "member": rng.random(n) < 0.3 + shift / 10,
            "customer_id": np.arange(n) + int(shift * n),
        })

    return table(0.0), table(0.04)


def round_trip(profile: ReferenceProfile) -> ReferenceProfile:
    return ReferenceProfile.from_dict(json.loads(json.dumps(profile.to_dict(), allow_nan=False)))


def test_profile_round_trips_through_json(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    profile = ReferenceProfile.from_frame(data[0])
    assert round_trip(profile) == profile
    income = profile.column("income").numeric
    assert income is not None and len(income.sketch) == SKETCH_SIZE
    assert profile.column("customer_id").numeric is None  # identifiers keep no values
    assert profile.column("customer_id").categories is None


def test_profile_matches_the_exact_comparison(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    reference, current = data
    exact = compare(reference, current)
    approx = compare(round_trip(ReferenceProfile.from_frame(reference)), current)
    assert approx.from_profile and not exact.from_profile
    assert approx.drifted_columns == exact.drifted_columns
    for name in ("region", "member"):  # counts are exact: every figure is identical
        assert approx.column(name).to_dict() == exact.column(name).to_dict()
    bound = 1 / (SKETCH_SIZE - 1) + 2 / len(reference)  # rank spacing, plus rounding of ranks
    for name in ("normal", "income", "uniform", "children"):
        a, e = approx.column(name), exact.column(name)
        assert a.status == e.status and a.drifted == e.drifted
        assert a.missing == e.missing
        for method in (Method.PSI, Method.JENSEN_SHANNON):  # same bins, same counts
            assert a.result(method).statistic == e.result(method).statistic
        assert abs(a.result(Method.KS).statistic - e.result(Method.KS).statistic) <= bound
        assert a.result(Method.WASSERSTEIN).statistic == pytest.approx(
            e.result(Method.WASSERSTEIN).statistic, abs=0.005)
        assert a.reference == e.reference  # moments are stored exactly


def test_small_references_are_kept_whole_and_compare_exactly() -> None:
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"x": rng.normal(size=800), "y": rng.choice(list("abc"), 800)})
    current = pd.DataFrame({"x": rng.normal(0.3, size=900), "y": rng.choice(list("abd"), 900)})
    profile = ReferenceProfile.from_frame(reference)
    assert profile.column("x").numeric.exact  # type: ignore[union-attr]
    exact = compare(reference, current).to_dict()
    approx = compare(profile, current).to_dict()
    assert approx.pop("from_profile") and not exact.pop("from_profile")
    assert approx == exact


def test_profile_of_some_columns(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    profile = ReferenceProfile.from_frame(data[0].head(100), columns=["region", "normal"],
                                          kinds={"normal": "categorical"})
    assert profile.names == ["region", "normal"]
    assert profile.column("normal").categories is not None
    with pytest.raises(InputError, match="'salary' are not in the reference"):
        ReferenceProfile.from_frame(data[0].head(100), columns=["salary"])


def test_profile_settings_must_agree_with_the_comparison(
        data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    reference, current = (frame.head(1000) for frame in data)
    profile = ReferenceProfile.from_frame(reference, bins=20)
    with pytest.raises(InputError, match="profile has 20 bins but the policy asks for 10"):
        compare(profile, current)
    assert compare(profile, current, policy=DriftPolicy(bins=20)).n_counted == 6
    with pytest.raises(InputError, match="Kinds are fixed when a reference profile is built"):
        compare(profile, current, kinds={"normal": "numeric"})


@pytest.mark.parametrize(("data", "message"), [
    ({"rows": 3}, "Not a rasad reference profile"),
    ({"format": "rasad.drift.reference/1", "rows": 3}, "malformed"),
    ([1, 2], "Not a rasad reference profile"),
])
def test_malformed_profiles_are_input_errors(data: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ReferenceProfile.from_dict(data)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "message"), [({"sketch_size": 1}, "sketch_size=1"),
                                                 ({"bins": 1}, "bins=1")])
def test_profile_arguments_are_checked(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(InputError, match=message):
        ReferenceProfile.from_frame(pd.DataFrame({"x": [1.0]}), **kwargs)  # type: ignore[arg-type]


# --- kinds: dates written as text are time columns ----------------------------------------


@pytest.mark.parametrize(("values", "expected"), [
    (["2025-01", "2025-02", None], True),  # month labels
    (["2025-01-05", "2025-12-31"], True),
    (["2025-01-05T10:00:00Z", "2025-01-05 11:30:15.5+03:00"], True),
    (["2025-01", "north"], False),  # one value is not a date
    (["2025-13", "2025-01"], False),  # no month 13
    (["2025", "2026"], False),  # a year alone may as well be a code
    (["05/01/2025", "06/01/2025"], False),  # not ISO 8601: order of day and month unknown
    ([None, None], False),
])
def test_time_text(values: list[str | None], expected: bool) -> None:
    assert is_time_text(pa.chunked_array([pa.array(values, pa.string())])) is expected
    dictionary = pa.chunked_array([pa.array(values, pa.string()).dictionary_encode()])
    assert is_time_text(dictionary) is expected


def test_month_labels_are_not_compared_and_given_kinds_win() -> None:
    """A month label differs between a reference and a later sample by construction."""
    reference = pd.DataFrame({"month": ["2025-01", "2025-02"] * 50, "x": np.arange(100.0)})
    current = pd.DataFrame({"month": ["2025-06"] * 100, "x": np.arange(100.0)})
    assert resolve_kinds(pa.Table.from_pandas(reference), None)["month"] is ColumnKind.DATETIME
    column = compare(reference, current).column("month")
    assert (column.status, column.kind, column.drifted) == (ColumnStatus.NOT_TESTED,
                                                             ColumnKind.DATETIME, False)
    assert column.reason == NOT_COMPARED[ColumnKind.DATETIME]
    as_given = compare(reference, current, kinds={"month": "categorical"}).column("month")
    assert as_given.status is ColumnStatus.TESTED and as_given.drifted
    profile = ReferenceProfile.from_frame(reference)
    assert profile.column("month").kind is ColumnKind.DATETIME
