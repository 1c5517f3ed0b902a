"""A seeded, synthetic consumer-credit portfolio with drift on a documented schedule.

Each month of applications is drawn from its own child of
``numpy.random.SeedSequence(seed)``, so a month looks the same whether you
generate six months or sixty, and the whole frame is identical for a given
seed. The first months are clean; later months carry three kinds of drift,
listed in :data:`DRIFT_SCHEDULE`:

1. *Income reporting.* From ``income_shift_start`` on, recorded incomes are
   multiplied by ``income_factor`` (think of a switch from net to gross pay).
   The underlying risk does not change, so a model trained on earlier months
   now sees applicants as richer, and safer, than they are.
2. *A new employment category.* ``gig_economy`` never appears before
   ``new_category_start``; from then on about ``new_category_share`` of
   applicants report it.
3. *Concept drift.* From ``dti_effect_start`` on, default depends more
   steeply on ``debt_to_income`` (coefficient ``dti_coefficient_after``
   instead of ``dti_coefficient_before`` in the log-odds).

Default is drawn from a logistic model of debt-to-income, log income, age,
credit history, employment type and loan term, plus unobserved noise; gender,
nationality and region do not enter it directly. Incomes carry a modest gap
by gender and nationality, as in labour statistics, so fairness checks have
an indirect disparity to find.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rasad.errors import InputError


def _is_integer(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_integer(name: str, value: int, *, minimum: int) -> None:
    if not _is_integer(value) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}; got {value!r}.")


class EmploymentType(StrEnum):
    """How an applicant earns a living."""

    SALARIED_PRIVATE = "salaried_private"
    SALARIED_GOVERNMENT = "salaried_government"
    SELF_EMPLOYED = "self_employed"
    RETIRED = "retired"
    UNEMPLOYED = "unemployed"
    GIG_ECONOMY = "gig_economy"


class Region(StrEnum):
    """The thirteen administrative regions of Saudi Arabia."""

    RIYADH = "Riyadh"
    MAKKAH = "Makkah"
    EASTERN_PROVINCE = "Eastern Province"
    MADINAH = "Madinah"
    ASIR = "Asir"
    QASSIM = "Qassim"
    JAZAN = "Jazan"
    TABUK = "Tabuk"
    HAIL = "Hail"
    NAJRAN = "Najran"
    AL_JOUF = "Al Jouf"
    AL_BAHAH = "Al Bahah"
    NORTHERN_BORDERS = "Northern Borders"


class Nationality(StrEnum):
    """Whether the applicant is a Saudi national."""

    SAUDI = "saudi"
    NON_SAUDI = "non_saudi"


class Gender(StrEnum):
    """The applicant's recorded gender."""

    FEMALE = "female"
    MALE = "male"


@dataclass(frozen=True)
class DriftSchedule:
    """When and how drift enters the generated portfolio.

    Month indices count from the first generated month, starting at 0.

    Parameters
    ----------
    income_shift_start : int
        First month whose recorded incomes are multiplied by `income_factor`.
    income_factor : float
        Multiplier on recorded income from `income_shift_start` on.
    new_category_start : int
        First month in which ``gig_economy`` employment appears.
    new_category_share : float
        Share of applicants reporting ``gig_economy`` from then on.
    dti_effect_start : int
        First month in which default follows `dti_coefficient_after`.
    dti_coefficient_before : float
        Log-odds of default per unit of debt-to-income before that month.
    dti_coefficient_after : float
        Log-odds of default per unit of debt-to-income from that month on.

    Examples
    --------
    >>> DRIFT_SCHEDULE.first_drift_month
    6
    >>> DriftSchedule(income_factor=0.0)
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: income_factor must be > 0; got 0.0.
    """

    income_shift_start: int = 6
    income_factor: float = 1.25
    new_category_start: int = 8
    new_category_share: float = 0.12
    dti_effect_start: int = 9
    dti_coefficient_before: float = 2.0
    dti_coefficient_after: float = 4.5

    def __post_init__(self) -> None:
        for name in ("income_shift_start", "new_category_start", "dti_effect_start"):
            _check_integer(name, getattr(self, name), minimum=0)
        if not self.income_factor > 0:
            raise InputError(f"income_factor must be > 0; got {self.income_factor!r}.")
        if not 0 <= self.new_category_share < 1:
            raise InputError(
                f"new_category_share must be in [0, 1); got {self.new_category_share!r}."
            )

    @property
    def first_drift_month(self) -> int:
        """Index of the first month that carries any drift; earlier months are clean."""
        return min(self.income_shift_start, self.new_category_start, self.dti_effect_start)

    def to_dict(self) -> dict[str, Any]:
        """Return the schedule as a JSON-ready dictionary.

        >>> DRIFT_SCHEDULE.to_dict()["income_factor"]
        1.25
        """
        return dataclasses.asdict(self)


DRIFT_SCHEDULE = DriftSchedule()
"""The default schedule: months 0-5 are clean, income shifts at 6, ``gig_economy``
appears at 8, and the debt-to-income effect steepens at 9."""

TARGET_COLUMN = "default"
FAVORABLE_OUTCOME = 0
"""The target's favourable value: 1 is a default (adverse for the applicant, who is then
refused), 0 a repaid loan (approved). Fairness rates count 0; see docs/fairness.md."""

FEATURE_COLUMNS: tuple[str, ...] = (
    "income",
    "age",
    "employment_type",
    "employment_years",
    "loan_amount",
    "loan_term_months",
    "debt_to_income",
    "credit_history_years",
    "region",
    "nationality",
    "gender",
)
PORTFOLIO_COLUMNS: tuple[str, ...] = (
    "application_id",
    "application_date",
    "month",
    *FEATURE_COLUMNS,
    TARGET_COLUMN,
)

_START_PATTERN = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

# Categorical columns are drawn as integer codes into these label tuples.
_EMPLOYMENT = tuple(EmploymentType)
_REGIONS = tuple(Region)
_NATIONALITIES = tuple(Nationality)
_GENDERS = tuple(Gender)
_GIG = _EMPLOYMENT.index(EmploymentType.GIG_ECONOMY)
_RETIRED = _EMPLOYMENT.index(EmploymentType.RETIRED)
_GOVERNMENT = _EMPLOYMENT.index(EmploymentType.SALARIED_GOVERNMENT)
_SELF_EMPLOYED = _EMPLOYMENT.index(EmploymentType.SELF_EMPLOYED)
_UNEMPLOYED = _EMPLOYMENT.index(EmploymentType.UNEMPLOYED)

# Shares are rough figures for Saudi retail lending: Saudi applicants are mostly
# salaried in government or the private sector; expatriates rarely retire locally.
# Order follows EmploymentType; gig_economy only enters through the drift schedule.
_EMPLOYMENT_WEIGHTS = {
    Nationality.SAUDI: np.array([0.34, 0.40, 0.09, 0.09, 0.08, 0.0]),
    Nationality.NON_SAUDI: np.array([0.80, 0.05, 0.10, 0.00, 0.05, 0.0]),
}
_SAUDI_SHARE = 0.72
_FEMALE_SHARE = 0.32
_REGION_SHARES = {
    Region.RIYADH: 0.28,
    Region.MAKKAH: 0.25,
    Region.EASTERN_PROVINCE: 0.15,
    Region.MADINAH: 0.07,
    Region.ASIR: 0.06,
    Region.QASSIM: 0.045,
    Region.JAZAN: 0.04,
    Region.TABUK: 0.03,
    Region.HAIL: 0.02,
    Region.NAJRAN: 0.02,
    Region.AL_JOUF: 0.015,
    Region.AL_BAHAH: 0.01,
    Region.NORTHERN_BORDERS: 0.01,
}
_LOAN_TERMS = np.array([12, 24, 36, 48, 60])
_LOAN_TERM_SHARES = np.array([0.08, 0.17, 0.25, 0.20, 0.30])
_ANNUAL_RATE = 0.07

# Median monthly income (SAR) at zero years of employment, and log-scale spread.
_INCOME_MEDIAN = {
    EmploymentType.SALARIED_PRIVATE: 7_000.0,
    EmploymentType.SALARIED_GOVERNMENT: 9_000.0,
    EmploymentType.SELF_EMPLOYED: 9_500.0,
    EmploymentType.RETIRED: 6_500.0,
    EmploymentType.UNEMPLOYED: 2_500.0,
    EmploymentType.GIG_ECONOMY: 5_500.0,
}
_INCOME_SIGMA = {
    EmploymentType.SALARIED_PRIVATE: 0.45,
    EmploymentType.SALARIED_GOVERNMENT: 0.35,
    EmploymentType.SELF_EMPLOYED: 0.70,
    EmploymentType.RETIRED: 0.40,
    EmploymentType.UNEMPLOYED: 0.40,
    EmploymentType.GIG_ECONOMY: 0.50,
}

# The risk model: log-odds of default. The intercept puts clean months near 11%.
_RISK_INTERCEPT = -2.1
_RISK_EMPLOYMENT = {
    EmploymentType.SALARIED_PRIVATE: 0.0,
    EmploymentType.SALARIED_GOVERNMENT: -0.6,
    EmploymentType.SELF_EMPLOYED: 0.35,
    EmploymentType.RETIRED: -0.3,
    EmploymentType.UNEMPLOYED: 1.1,
    EmploymentType.GIG_ECONOMY: 0.6,
}
_RISK_NOISE_SD = 0.6

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def generate_portfolio(
    months: int = 12,
    rows_per_month: int = 2000,
    seed: int = 0,
    start: str = "2025-01",
    *,
    drift: DriftSchedule = DRIFT_SCHEDULE,
) -> pd.DataFrame:
    """Generate a synthetic credit-scoring portfolio, month by month.

    Parameters
    ----------
    months : int
        Number of consecutive months to generate, at least 1.
    rows_per_month : int
        Applications per month, at least 1.
    seed : int
        Seed for ``numpy.random.SeedSequence``; the same seed gives the same frame.
    start : str
        First month, as ``"YYYY-MM"``.
    drift : DriftSchedule
        When drift enters; see :data:`DRIFT_SCHEDULE`.

    Returns
    -------
    pandas.DataFrame
        One row per application, columns in the order of ``PORTFOLIO_COLUMNS``:
        ``application_id`` (``"APP-000001"``, unique), ``application_date``
        (datetime64), ``month`` (``"YYYY-MM"``), the features in
        ``FEATURE_COLUMNS`` and the 0/1 target ``default``.

    Raises
    ------
    rasad.errors.InputError
        If `months` or `rows_per_month` is below 1, `seed` is negative, or `start`
        is not ``"YYYY-MM"``.

    Notes
    -----
    Month ``i`` is drawn from child ``i`` of ``SeedSequence(seed)``, so the first
    six months of a twelve-month portfolio equal a six-month portfolio with the
    same seed and size. String columns use pandas' default string dtype.

    Examples
    --------
    >>> frame = generate_portfolio(months=3, rows_per_month=4, seed=7)
    >>> frame.shape
    (12, 15)
    >>> list(frame.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['application_id', 'application_date', 'month', 'income', 'age',
     'employment_type', 'employment_years', 'loan_amount', 'loan_term_months',
     'debt_to_income', 'credit_history_years', 'region', 'nationality', 'gender',
     'default']
    >>> frame["month"].unique().tolist()
    ['2025-01', '2025-02', '2025-03']
    >>> frame.loc[:2, ["application_id", "age", "employment_type", "region"]]
      application_id  age      employment_type            region
    0     APP-000001   37     salaried_private            Makkah
    1     APP-000002   31  salaried_government            Riyadh
    2     APP-000003   27  salaried_government  Eastern Province
    >>> int(frame["default"].sum())
    2
    """
    _check_integer("months", months, minimum=1)
    _check_integer("rows_per_month", rows_per_month, minimum=1)
    _check_integer("seed", seed, minimum=0)
    first_month = _parse_start(start)
    month_starts = first_month + np.arange(months)
    first_days = month_starts.astype("datetime64[D]")
    month_lengths = ((month_starts + 1).astype("datetime64[D]") - first_days).astype(np.int64)
    children = np.random.SeedSequence(seed).spawn(months)
    parts = [
        _draw_month(np.random.default_rng(child), rows_per_month, index, drift)
        for index, child in enumerate(children)
    ]
    columns: dict[str, Any] = {
        name: np.concatenate([part[name] for part in parts]) for name in parts[0]
    }
    for name, labels in (
        ("employment_type", _EMPLOYMENT),
        ("region", _REGIONS),
        ("nationality", _NATIONALITIES),
        ("gender", _GENDERS),
    ):
        categorical = pd.Categorical.from_codes(columns[name], pd.Index([str(x) for x in labels]))
        columns[name] = categorical.astype(str)

    # Day within the month as a fraction, so every month length is covered evenly.
    day_fraction = columns.pop("day_fraction")
    days = np.floor(day_fraction * np.repeat(month_lengths, rows_per_month)).astype(np.int64)
    dates = np.repeat(first_days, rows_per_month) + days.astype("timedelta64[D]")
    total = months * rows_per_month
    width = max(6, len(str(total)))
    numbers = pd.Series(np.arange(1, total + 1)).astype(str).str.zfill(width)
    frame = pd.DataFrame(
        {
            "application_id": ("APP-" + numbers).to_numpy(),
            "application_date": dates.astype("datetime64[ns]"),
            "month": np.repeat(np.datetime_as_string(month_starts, unit="M"), rows_per_month),
            **columns,
        }
    )
    return frame[list(PORTFOLIO_COLUMNS)]


def month_range(frame: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    """Select the months with 0-based index `first` to `last`, inclusive.

    Indices count over the distinct values of the ``month`` column in sorted
    order, so ``month_range(frame, 0, 5)`` is "the first six months" and
    ``month_range(frame, 10, 10)`` is "month 10".

    Parameters
    ----------
    frame : pandas.DataFrame
        A portfolio with a ``"YYYY-MM"`` ``month`` column.
    first, last : int
        First and last month index to keep.

    Returns
    -------
    pandas.DataFrame
        The matching rows in their original order, with a fresh ``RangeIndex``.

    Raises
    ------
    rasad.errors.InputError
        If the frame has no ``month`` column or the indices are out of range.

    Examples
    --------
    >>> frame = generate_portfolio(months=12, rows_per_month=10, seed=1)
    >>> month_range(frame, 0, 5)["month"].unique().tolist()
    ['2025-01', '2025-02', '2025-03', '2025-04', '2025-05', '2025-06']
    >>> len(month_range(frame, 10, 10))
    10
    """
    if "month" not in frame.columns:
        raise InputError("The frame has no 'month' column; pass a frame from generate_portfolio.")
    labels = sorted(frame["month"].unique())
    count = len(labels)
    for name, value in (("first", first), ("last", last)):
        if not _is_integer(value) or not 0 <= value < count:
            raise InputError(f"{name} must be a month index from 0 to {count - 1}; got {value!r}.")
    if first > last:
        raise InputError(f"first ({first}) must not be after last ({last}).")
    keep = frame["month"].isin(labels[first : last + 1])
    return frame.loc[keep].reset_index(drop=True)


def _parse_start(start: str) -> np.datetime64:
    if not isinstance(start, str) or not _START_PATTERN.fullmatch(start):
        raise InputError(
            f"start must be a month written 'YYYY-MM' with month 01-12, "
            f"for example '2025-01'; got {start!r}."
        )
    return np.datetime64(start, "M")


def _draw_month(
    rng: np.random.Generator, n: int, index: int, drift: DriftSchedule
) -> dict[str, npt.NDArray[Any]]:
    """Draw one month of applications; categorical columns come back as codes."""
    saudi = rng.random(n) < _SAUDI_SHARE
    female = rng.random(n) < _FEMALE_SHARE
    age = np.clip(np.floor(18 + rng.gamma(4.0, 4.8, n)), 18, 75).astype(np.int64)
    employment = _draw_employment(rng, saudi, age)
    if index >= drift.new_category_start:
        gig = rng.random(n) < drift.new_category_share
        employment = np.where(gig, _GIG, employment)
    working_life = (age - 18).astype(np.float64)
    employment_years = _draw_employment_years(rng, employment, working_life)
    history_share = np.where(saudi, rng.beta(2.5, 2.0, n), rng.beta(1.5, 3.0, n))
    credit_history_years = np.floor(working_life * history_share * 10) / 10

    income = _draw_income(rng, employment, employment_years, saudi, female)
    term = rng.choice(_LOAN_TERMS, size=n, p=_LOAN_TERM_SHARES)
    loan_amount, debt_to_income = _draw_loan(rng, income, term)

    after = index >= drift.dti_effect_start
    dti_coefficient = drift.dti_coefficient_after if after else drift.dti_coefficient_before
    log_odds = (
        _RISK_INTERCEPT
        + dti_coefficient * (debt_to_income - 0.45)
        - 0.6 * (np.log(income) - np.log(9_000.0))
        + 0.025 * (35 - age)
        - 0.06 * credit_history_years
        + _lookup(employment, _RISK_EMPLOYMENT)
        + 0.01 * (term - 36)
        + rng.normal(0.0, _RISK_NOISE_SD, n)
    )
    default = (rng.random(n) < 1 / (1 + np.exp(-log_odds))).astype(np.int64)

    # The reporting change alters recorded income only; risk above used the true value.
    if index >= drift.income_shift_start:
        income = income * drift.income_factor
    region_p = np.array([_REGION_SHARES[region] for region in _REGIONS])
    return {
        "day_fraction": rng.random(n),
        "income": np.round(income, 0),
        "age": age,
        "employment_type": employment,
        "employment_years": employment_years,
        "loan_amount": loan_amount,
        "loan_term_months": term.astype(np.int64),
        "debt_to_income": np.round(debt_to_income, 4),
        "credit_history_years": credit_history_years,
        "region": rng.choice(len(_REGIONS), size=n, p=region_p / region_p.sum()),
        "nationality": np.where(saudi, _code(Nationality.SAUDI), _code(Nationality.NON_SAUDI)),
        "gender": np.where(female, _code(Gender.FEMALE), _code(Gender.MALE)),
        "default": default,
    }


def _draw_employment(
    rng: np.random.Generator, saudi: npt.NDArray[np.bool_], age: IntArray
) -> IntArray:
    weights = np.where(
        saudi[:, None],
        _EMPLOYMENT_WEIGHTS[Nationality.SAUDI],
        _EMPLOYMENT_WEIGHTS[Nationality.NON_SAUDI],
    )
    # Nobody retires before 45; civil service retirement at 60 empties government posts.
    weights[:, _RETIRED] *= np.select([age < 45, age >= 60], [0.0, 8.0], 1.0)
    weights[:, _GOVERNMENT] *= np.where(age >= 60, 0.1, 1.0)
    cumulative = weights.cumsum(axis=1)
    draw = rng.random(len(age)) * cumulative[:, -1]
    chosen = (cumulative <= draw[:, None]).sum(axis=1)
    # A draw that rounds up to the total falls past the end: take the last category
    # with positive weight, so a zero-weight category is never chosen.
    last_positive = weights.shape[1] - 1 - np.argmax(weights[:, ::-1] > 0, axis=1)
    return np.minimum(chosen, last_positive).astype(np.int64)


def _draw_employment_years(
    rng: np.random.Generator, employment: IntArray, working_life: FloatArray
) -> FloatArray:
    n = len(employment)
    share = rng.beta(2.0, 2.5, n)
    share = np.where(employment == _SELF_EMPLOYED, rng.beta(2.2, 2.0, n), share)
    share = np.where(employment == _RETIRED, rng.beta(5.0, 2.0, n), share)
    years = working_life * share
    gig_years = np.minimum(working_life, rng.gamma(1.5, 1.0, n))
    years = np.where(employment == _GIG, gig_years, years)
    years = np.where(employment == _UNEMPLOYED, 0.0, years)
    return np.floor(years * 10) / 10


def _draw_income(
    rng: np.random.Generator,
    employment: IntArray,
    employment_years: FloatArray,
    saudi: npt.NDArray[np.bool_],
    female: npt.NDArray[np.bool_],
) -> FloatArray:
    log_median = (
        np.log(_lookup(employment, _INCOME_MEDIAN))
        + 0.02 * np.minimum(employment_years, 30)
        - 0.20 * ~saudi
        - 0.10 * female
    )
    sigma = _lookup(employment, _INCOME_SIGMA)
    return np.exp(log_median + sigma * rng.standard_normal(len(employment)))


def _draw_loan(
    rng: np.random.Generator, income: FloatArray, term: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Draw loan amounts (SAR, multiples of 500) and the resulting debt-to-income."""
    n = len(income)
    monthly_rate = _ANNUAL_RATE / 12
    annuity = (1 - (1 + monthly_rate) ** -term.astype(np.float64)) / monthly_rate
    existing = 0.9 * rng.beta(2.0, 5.0, n)
    installment_share = 0.05 + 0.35 * rng.beta(2.0, 3.0, n)
    loan_amount = np.maximum(3_000.0, np.round(installment_share * income * annuity / 500) * 500)
    debt_to_income = np.clip(existing + loan_amount / annuity / income, 0.0, 1.5)
    return loan_amount, debt_to_income


def _code(member: StrEnum) -> int:
    return list(type(member)).index(member)


def _lookup(employment: IntArray, table: dict[EmploymentType, float]) -> FloatArray:
    return np.array([table[kind] for kind in _EMPLOYMENT])[employment]
