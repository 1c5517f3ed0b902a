"""The loop's twelve months: income drift from month 7 only, a concept change from month 10
that the inputs do not show but the outcomes do, and the same months for the same seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from rasad.drift import compare
from rasad.errors import InputError
from rasad.examples import FEATURE_COLUMNS, PORTFOLIO_COLUMNS, generate_portfolio
from rasad.examples.portfolio import (
    APPLICANT_COLUMNS,
    CONCEPT_CHANGE_MONTH,
    INCOME_DRIFT_MONTH,
    PORTFOLIO_SCHEDULE,
    Month,
    months,
)
from rasad.training.pipeline import build_pipeline

# The demo's model (DEMO_CONFIG in rasad/demo.py): its features and estimator.
NUMERIC = ["income", "employment_years", "loan_amount", "loan_term_months", "debt_to_income",
           "credit_history_years", "age"]
CATEGORICAL = ["employment_type"]


@pytest.fixture(scope="module")
def year() -> list[Month]:
    return months(seed=0)


def _fit(parts: list[Month]) -> ClassifierMixin:
    rows = pd.concat([month.labelled() for month in parts], ignore_index=True)
    estimator = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05,
                                               early_stopping=False, random_state=7)
    model = build_pipeline(NUMERIC, CATEGORICAL, [], estimator)
    model.fit(rows[NUMERIC + CATEGORICAL], rows["default"])
    return model  # type: ignore[no-any-return]


def _auc(model: ClassifierMixin, month: Month) -> float:
    scores = model.predict_proba(month.applicants[NUMERIC + CATEGORICAL])[:, 1]  # type: ignore[attr-defined]
    return float(roc_auc_score(month.labels["default"], scores))


def _dti_effect(model: ClassifierMixin, month: Month) -> float:
    """How the mean risk moves when every debt-to-income rises by 0.1 (the demo's test)."""
    rows = month.applicants[NUMERIC + CATEGORICAL]
    moved = rows.assign(debt_to_income=rows["debt_to_income"] + 0.1)
    proba = model.predict_proba  # type: ignore[attr-defined]
    return float(proba(moved)[:, 1].mean() - proba(rows)[:, 1].mean())


def test_twelve_months_of_applications_with_outcomes_apart(year: list[Month]) -> None:
    assert [m.number for m in year] == list(range(1, 13))
    assert [m.label for m in year] == [f"2025-{n:02d}" for n in range(1, 13)]
    ids = pd.concat([m.applicants["application_id"] for m in year])
    assert ids.is_unique and len(ids) == 12 * 2000
    for month in year:
        assert tuple(month.applicants.columns) == APPLICANT_COLUMNS
        assert "default" not in month.applicants.columns
        assert set(FEATURE_COLUMNS) <= set(month.applicants.columns)
        assert (month.applicants["month"] == month.label).all()
        # the outcomes arrive apart, row for row, and join back by id
        assert month.labels["application_id"].tolist() == (
            month.applicants["application_id"].tolist())
        assert set(month.labels["default"].unique()) <= {0, 1}
        assert list(month.labelled().columns) == list(PORTFOLIO_COLUMNS)
    # no new employment category: income is the only input that drifts
    every = pd.concat([m.applicants for m in year])
    assert "gig_economy" not in set(every["employment_type"])


def test_same_seed_same_months_and_month_n_does_not_depend_on_count() -> None:
    first, again, other = months(seed=3, rows_per_month=300), months(seed=3, rows_per_month=300), \
        months(seed=4, rows_per_month=300)
    for a, b in zip(first, again, strict=True):
        pd.testing.assert_frame_equal(a.applicants, b.applicants)
        pd.testing.assert_frame_equal(a.labels, b.labels)
    assert not first[0].applicants.equals(other[0].applicants)
    for a, b in zip(months(seed=3, rows_per_month=300, count=4), first[:4], strict=True):
        pd.testing.assert_frame_equal(a.labelled(), b.labelled())
    # the months are the generator's portfolio under the loop's schedule, cut by month
    whole = generate_portfolio(months=12, rows_per_month=300, seed=3, drift=PORTFOLIO_SCHEDULE)
    joined = pd.concat([m.labelled() for m in first], ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole)


def test_income_drifts_from_month_7_and_nothing_else_drifts(year: list[Month]) -> None:
    assert INCOME_DRIFT_MONTH == 7
    reference = year[0].applicants[list(FEATURE_COLUMNS)]

    def drifted(number: int) -> tuple[str, ...]:
        current = year[number - 1].applicants[list(FEATURE_COLUMNS)]
        return compare(reference, current).drifted_columns

    assert drifted(3) == ()
    assert drifted(6) == ()
    assert drifted(7) == ("income",)
    # the concept change moves no input: drift monitoring alone cannot see it
    assert drifted(11) == ("income",)
    report = compare(year[3].applicants[list(FEATURE_COLUMNS)],
                     year[10].applicants[list(FEATURE_COLUMNS)])
    assert not report.column("debt_to_income").drifted


def test_concept_change_hurts_the_old_model_and_a_retrained_one_recovers(
        year: list[Month]) -> None:
    assert CONCEPT_CHANGE_MONTH == 10
    early = _fit(year[0:3])
    before, after = _auc(early, year[3]), _auc(early, year[10])
    assert before - after >= 0.05, (before, after)

    baseline = _fit(year[0:6])
    retrained = _fit(year[9:11])
    old, new = _auc(baseline, year[11]), _auc(retrained, year[11])
    assert new - old >= 0.15, (old, new)  # the champion gate has something to find
    # both keep "higher debt-to-income never lowers risk", the demo's behavioural test
    assert _dti_effect(baseline, year[6]) > 0
    assert _dti_effect(retrained, year[11]) > 0


def test_outcomes_follow_debt_to_income_far_more_steeply_from_month_10(
        year: list[Month]) -> None:
    def default_rate(month: Month, low: float, high: float) -> float:
        rows = month.labelled()
        band = rows[(rows["debt_to_income"] >= low) & (rows["debt_to_income"] < high)]
        return float(band["default"].mean())

    heavy_before = np.mean([default_rate(m, 0.6, 2.0) for m in year[6:9]])
    heavy_after = np.mean([default_rate(m, 0.6, 2.0) for m in year[9:12]])
    light_before = np.mean([default_rate(m, 0.0, 0.3) for m in year[6:9]])
    light_after = np.mean([default_rate(m, 0.0, 0.3) for m in year[9:12]])
    assert heavy_after > 3 * heavy_before
    assert light_after < light_before + 0.03  # light debts are no riskier than before


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"count": 0}, "count"), ({"count": True}, "count"), ({"count": 2.0}, "count"),
    ({"rows_per_month": 0}, "rows_per_month"), ({"seed": -1}, "seed"),
    ({"start": "2025-13"}, "start"),
])
def test_bad_arguments_name_the_problem(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(InputError, match=named):
        months(**kwargs)  # type: ignore[arg-type]
