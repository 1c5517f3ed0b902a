"""Tests for the synthetic credit portfolio in ``rasad.examples.credit``."""

from __future__ import annotations

import dataclasses
import inspect
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import rasad.examples
from rasad.errors import InputError
from rasad.examples import (
    DRIFT_SCHEDULE,
    FEATURE_COLUMNS,
    PORTFOLIO_COLUMNS,
    TARGET_COLUMN,
    DriftSchedule,
    EmploymentType,
    Gender,
    Nationality,
    Region,
    generate_portfolio,
    month_range,
)

GIG = str(EmploymentType.GIG_ECONOMY)


@pytest.fixture(scope="module")
def portfolio() -> pd.DataFrame:
    return generate_portfolio(seed=11)


def test_exports_match_all() -> None:
    public = {
        name
        for name, value in vars(rasad.examples).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert set(rasad.examples.__all__) == public


def test_same_seed_gives_identical_frame() -> None:
    pd.testing.assert_frame_equal(
        generate_portfolio(months=3, rows_per_month=300, seed=5),
        generate_portfolio(months=3, rows_per_month=300, seed=5),
    )


def test_different_seed_gives_different_frame() -> None:
    first = generate_portfolio(months=2, rows_per_month=300, seed=1)
    second = generate_portfolio(months=2, rows_per_month=300, seed=2)
    assert not np.array_equal(first["income"], second["income"])
    assert not first["region"].equals(second["region"])


def test_month_does_not_depend_on_how_many_months_follow() -> None:
    short = generate_portfolio(months=4, rows_per_month=200, seed=3)
    long = generate_portfolio(months=12, rows_per_month=200, seed=3)
    pd.testing.assert_frame_equal(short, month_range(long, 0, 3))


def test_columns_and_dtypes(portfolio: pd.DataFrame) -> None:
    assert tuple(portfolio.columns) == PORTFOLIO_COLUMNS
    assert PORTFOLIO_COLUMNS == (
        "application_id",
        "application_date",
        "month",
        *FEATURE_COLUMNS,
        TARGET_COLUMN,
    )
    assert pd.api.types.is_datetime64_dtype(portfolio["application_date"])
    for name in ("application_id", "month", "employment_type", "region", "nationality", "gender"):
        assert pd.api.types.is_string_dtype(portfolio[name]), name
    for name in ("age", "loan_term_months", "default"):
        assert pd.api.types.is_integer_dtype(portfolio[name]), name
    for name in (
        "income",
        "employment_years",
        "loan_amount",
        "debt_to_income",
        "credit_history_years",
    ):
        assert pd.api.types.is_float_dtype(portfolio[name]), name
    assert not portfolio.isna().any().any()


def test_months_and_dates(portfolio: pd.DataFrame) -> None:
    expected = [f"2025-{m:02d}" for m in range(1, 13)]
    assert sorted(portfolio["month"].unique()) == expected
    assert (portfolio.groupby("month").size() == 2000).all()
    assert (portfolio["application_date"].dt.strftime("%Y-%m") == portfolio["month"]).all()
    # Every day of a 31-day month is reachable, not only the first 28.
    january = portfolio.loc[portfolio["month"] == "2025-01", "application_date"]
    assert january.dt.day.max() == 31


def test_start_month_rolls_over_the_year() -> None:
    frame = generate_portfolio(months=3, rows_per_month=5, start="2024-11")
    assert frame["month"].unique().tolist() == ["2024-11", "2024-12", "2025-01"]
    february = generate_portfolio(months=1, rows_per_month=500, start="2023-02")
    assert february["application_date"].dt.day.max() == 28


def test_application_ids_are_unique_and_numbered(portfolio: pd.DataFrame) -> None:
    assert portfolio["application_id"].is_unique
    assert portfolio["application_id"].iloc[0] == "APP-000001"
    assert portfolio["application_id"].iloc[-1] == "APP-024000"
    assert portfolio["application_id"].str.fullmatch(r"APP-\d{6}").all()


def test_values_lie_in_their_domains(portfolio: pd.DataFrame) -> None:
    assert portfolio["age"].between(18, 75).all()
    assert (portfolio["income"] > 0).all()
    assert (portfolio["loan_amount"] > 0).all()
    assert portfolio["debt_to_income"].between(0, 1.5).all()
    assert set(portfolio["loan_term_months"]) == {12, 24, 36, 48, 60}
    assert set(portfolio["default"]) == {0, 1}
    assert set(portfolio["employment_type"]) == {str(kind) for kind in EmploymentType}
    assert set(portfolio["region"]) <= {str(region) for region in Region}
    assert {"Riyadh", "Makkah", "Eastern Province"} <= set(portfolio["region"])
    assert set(portfolio["nationality"]) == {str(n) for n in Nationality}
    assert set(portfolio["gender"]) == {str(g) for g in Gender}


def test_ages_and_years_are_consistent(portfolio: pd.DataFrame) -> None:
    working_life = portfolio["age"] - 18
    assert portfolio["employment_years"].between(0, working_life).all()
    assert portfolio["credit_history_years"].between(0, working_life).all()
    employment = portfolio["employment_type"]
    assert (portfolio.loc[employment == "unemployed", "employment_years"] == 0).all()
    assert (portfolio.loc[employment == "retired", "age"] >= 45).all()


def test_default_rate_is_plausible_in_clean_months(portfolio: pd.DataFrame) -> None:
    clean = month_range(portfolio, 0, DRIFT_SCHEDULE.first_drift_month - 1)
    assert 0.08 <= clean["default"].mean() <= 0.15
    assert 0.05 <= portfolio["default"].mean() <= 0.2


def test_new_category_appears_only_from_its_month(portfolio: pd.DataFrame) -> None:
    start = DRIFT_SCHEDULE.new_category_start
    before = month_range(portfolio, 0, start - 1)
    assert GIG not in set(before["employment_type"])
    for index in range(start, 12):
        share = (month_range(portfolio, index, index)["employment_type"] == GIG).mean()
        assert share > 0.02, (index, share)


def test_income_shifts_by_the_documented_factor(portfolio: pd.DataFrame) -> None:
    shift = DRIFT_SCHEDULE.income_shift_start
    # Months between the income shift and the new category isolate the income effect.
    assert shift + 2 <= DRIFT_SCHEDULE.new_category_start
    early = month_range(portfolio, 0, 2)["income"].median()
    late_clean = month_range(portfolio, 3, shift - 1)["income"].median()
    shifted = month_range(portfolio, shift, shift + 1)["income"].median()
    assert late_clean / early == pytest.approx(1.0, abs=0.05)
    clean_median = month_range(portfolio, 0, shift - 1)["income"].median()
    assert shifted / clean_median == pytest.approx(DRIFT_SCHEDULE.income_factor, abs=0.07)


def test_custom_schedule_is_honoured() -> None:
    schedule = DriftSchedule(
        income_shift_start=1, income_factor=2.0, new_category_start=2, dti_effect_start=2
    )
    frame = generate_portfolio(months=3, rows_per_month=2000, seed=4, drift=schedule)
    ratio = (
        month_range(frame, 1, 1)["income"].median() / month_range(frame, 0, 0)["income"].median()
    )
    assert ratio == pytest.approx(2.0, abs=0.12)
    assert GIG not in set(month_range(frame, 0, 1)["employment_type"])
    assert GIG in set(month_range(frame, 2, 2)["employment_type"])


def _dti_coefficient(frame: pd.DataFrame) -> float:
    features = np.column_stack(
        [
            frame["debt_to_income"],
            np.log(frame["income"]),
            frame["age"],
            frame["credit_history_years"],
        ]
    )
    model = LogisticRegression(C=1e6, max_iter=1000).fit(features, frame["default"])
    return float(model.coef_[0][0])


def test_debt_to_income_effect_steepens_from_its_month() -> None:
    frame = generate_portfolio(rows_per_month=4000, seed=2)
    start = DRIFT_SCHEDULE.dti_effect_start
    before = _dti_coefficient(month_range(frame, 0, start - 1))
    after = _dti_coefficient(month_range(frame, start, 11))
    assert before > 1.0
    assert after > before + 1.0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"months": 0}, "months must be an integer >= 1; got 0"),
        ({"months": -3}, "months must be an integer >= 1; got -3"),
        ({"months": 2.5}, "months must be an integer >= 1; got 2.5"),
        ({"rows_per_month": 0}, "rows_per_month must be an integer >= 1; got 0"),
        ({"seed": -1}, "seed must be an integer >= 0; got -1"),
        ({"start": "2025-13"}, "start must be a month written 'YYYY-MM'.*got '2025-13'"),
        ({"start": "2025/01"}, "got '2025/01'"),
        ({"start": "25-01"}, "got '25-01'"),
        ({"start": "2025-01-15"}, "got '2025-01-15'"),
    ],
)
def test_bad_arguments_raise_input_error(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        generate_portfolio(**arguments)  # type: ignore[arg-type]


def test_month_range_selects_by_index(portfolio: pd.DataFrame) -> None:
    first_six = month_range(portfolio, 0, 5)
    assert first_six["month"].unique().tolist() == [f"2025-{m:02d}" for m in range(1, 7)]
    assert len(first_six) == 6 * 2000
    assert first_six.index.equals(pd.RangeIndex(len(first_six)))
    month_ten = month_range(portfolio, 10, 10)
    assert month_ten["month"].unique().tolist() == ["2025-11"]


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (-1, 3, "first must be a month index from 0 to 11; got -1"),
        (0, 12, "last must be a month index from 0 to 11; got 12"),
        (5, 4, r"first \(5\) must not be after last \(4\)"),
    ],
)
def test_month_range_rejects_bad_indices(
    portfolio: pd.DataFrame, first: int, last: int, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        month_range(portfolio, first, last)


def test_month_range_needs_a_month_column() -> None:
    with pytest.raises(InputError, match="no 'month' column"):
        month_range(pd.DataFrame({"x": [1]}), 0, 0)


def test_drift_schedule_defaults_leave_six_clean_months() -> None:
    assert DRIFT_SCHEDULE.first_drift_month == 6
    assert DRIFT_SCHEDULE.income_shift_start == 6
    assert DRIFT_SCHEDULE.new_category_start == 8
    assert DRIFT_SCHEDULE.dti_effect_start == 9
    assert DRIFT_SCHEDULE.dti_coefficient_after > DRIFT_SCHEDULE.dti_coefficient_before
    assert json.loads(json.dumps(DRIFT_SCHEDULE.to_dict())) == DRIFT_SCHEDULE.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        DRIFT_SCHEDULE.income_factor = 2.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "arguments",
    [
        {"income_factor": -1.0},
        {"new_category_share": 1.0},
        {"dti_effect_start": -1},
        {"income_shift_start": 1.5},
    ],
)
def test_drift_schedule_rejects_bad_values(arguments: dict[str, object]) -> None:
    with pytest.raises(InputError):
        DriftSchedule(**arguments)  # type: ignore[arg-type]
