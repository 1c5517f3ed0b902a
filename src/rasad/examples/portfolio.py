"""Twelve months of the credit portfolio as they reach the bank: applications first,
outcomes later.

:func:`months` cuts the portfolio of :func:`rasad.examples.credit.generate_portfolio`
into monthly :class:`Month` values, each with the applications (what a monthly file
and the serving log hold) and, apart, the default outcomes that arrive later as
feedback. It draws with :data:`PORTFOLIO_SCHEDULE`, which tells the automation loop's
story (``rasad demo --loop``) with two changes and nothing else:

- **Month 7: income drift.** Recorded incomes are 25% higher (a switch from net to
  gross pay). A drift test on ``income`` flags it; every other input stays as it was.
- **Month 10: a concept change in debt-to-income.** Default follows debt-to-income far
  more steeply (log-odds ``30`` per unit instead of ``1``: think of a rise in rates that
  borrowers with heavy debts can no longer carry). The inputs do not move at all, so
  drift monitoring cannot see it; a model trained on the first months ranks applicants
  clearly worse once the outcomes arrive, and one retrained on the new months ranks
  them far better. Debt-to-income raises the risk before and after, so a retrained
  model keeps passing the demo's behavioural test "higher debt-to-income never lowers
  risk".

No new employment category appears (``new_category_share`` is 0), so the income drift
is the only drift of the inputs. Months are numbered from 1, as people count them;
:class:`~rasad.examples.credit.DriftSchedule` counts from 0.

>>> year = months(rows_per_month=5)
>>> [month.number for month in year][:3], year[6].label, len(year)
([1, 2, 3], '2025-07', 12)
>>> list(year[0].labels.columns)
['application_id', 'default']
>>> INCOME_DRIFT_MONTH, CONCEPT_CHANGE_MONTH
(7, 10)
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from rasad.errors import InputError
from rasad.examples.credit import (
    PORTFOLIO_COLUMNS,
    TARGET_COLUMN,
    DriftSchedule,
    generate_portfolio,
)

PORTFOLIO_SCHEDULE = DriftSchedule(
    income_shift_start=6,
    income_factor=1.25,
    new_category_start=8,
    new_category_share=0.0,
    dti_effect_start=9,
    dti_coefficient_before=1.0,
    dti_coefficient_after=30.0,
)
"""The loop's schedule (0-based month indices): income drift from index 6 (month 7), the
debt-to-income concept change from index 9 (month 10), no new category."""

INCOME_DRIFT_MONTH = PORTFOLIO_SCHEDULE.income_shift_start + 1
"""The first month (from 1) whose recorded incomes drifted."""

CONCEPT_CHANGE_MONTH = PORTFOLIO_SCHEDULE.dti_effect_start + 1
"""The first month (from 1) whose defaults follow the new debt-to-income relation."""

APPLICANT_COLUMNS: tuple[str, ...] = tuple(c for c in PORTFOLIO_COLUMNS if c != TARGET_COLUMN)
"""What an application carries: id, date, month label and every feature; no outcome."""

LABEL_COLUMNS: tuple[str, ...] = ("application_id", TARGET_COLUMN)
"""What arrives later: the outcome of each application, by its id."""


@dataclass(frozen=True, eq=False)
class Month:
    """One simulated month: its applications, and the outcomes that arrive later.

    Parameters
    ----------
    number : int
        The month, from 1.
    label : str
        The calendar month, ``"YYYY-MM"``.
    applicants : pandas.DataFrame
        The applications, columns :data:`APPLICANT_COLUMNS`, with a fresh index.
    labels : pandas.DataFrame
        ``application_id`` and ``default`` (1: the loan defaulted), row for row in the
        order of `applicants`.
    """

    number: int
    label: str
    applicants: pd.DataFrame
    labels: pd.DataFrame

    def labelled(self) -> pd.DataFrame:
        """The applications with their outcome, columns in ``PORTFOLIO_COLUMNS`` order.

        >>> month = months(rows_per_month=3, count=1)[0]
        >>> month.labelled().shape
        (3, 15)
        """
        joined = self.applicants.merge(self.labels, on="application_id", how="left",
                                       validate="one_to_one")
        return joined[list(PORTFOLIO_COLUMNS)]


def months(seed: int = 0, rows_per_month: int = 2000, *, count: int = 12,
           start: str = "2025-01", schedule: DriftSchedule = PORTFOLIO_SCHEDULE
           ) -> list[Month]:
    """The portfolio, month by month, with the loop's drift and concept change.

    Parameters
    ----------
    seed : int
        Seed of the generator; the same seed gives the same months.
    rows_per_month : int
        Applications per month, at least 1.
    count : int
        Number of months, at least 1. Month ``n`` is the same whatever the count.
    start : str
        The first month, ``"YYYY-MM"``.
    schedule : DriftSchedule
        When drift enters; :data:`PORTFOLIO_SCHEDULE` by default.

    Returns
    -------
    list of Month
        ``count`` months numbered from 1, application ids unique across all of them.

    Raises
    ------
    rasad.errors.InputError
        If `count` or `rows_per_month` is below 1, `seed` is negative or `start` is not
        ``"YYYY-MM"``.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(f"count must be an integer >= 1 (the number of months); got {count!r}.")
    frame = generate_portfolio(months=count, rows_per_month=rows_per_month, seed=seed,
                               start=start, drift=schedule)
    result = []
    for number, (label, rows) in enumerate(frame.groupby("month", sort=True), start=1):
        rows = rows.reset_index(drop=True)
        result.append(Month(number=number, label=str(label),
                            applicants=rows[list(APPLICANT_COLUMNS)].copy(),
                            labels=rows[list(LABEL_COLUMNS)].copy()))
    return result


__all__ = [
    "APPLICANT_COLUMNS",
    "CONCEPT_CHANGE_MONTH",
    "INCOME_DRIFT_MONTH",
    "LABEL_COLUMNS",
    "PORTFOLIO_SCHEDULE",
    "Month",
    "months",
]
