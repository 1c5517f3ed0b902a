"""Demo data: a seeded synthetic credit portfolio with drift on a documented schedule.

``generate_portfolio`` feeds ``rasad demo``, the tutorials and the tests with
realistic-looking loan applications; ``DRIFT_SCHEDULE`` says which months are
clean and when each kind of drift begins; ``month_range`` picks months by index.
``months`` cuts twelve simulated months for the automation loop demo (income drift from
month ``INCOME_DRIFT_MONTH``, a concept change from ``CONCEPT_CHANGE_MONTH``).
``generate_drift_pair`` gives the 50-column tables with drift in ten known columns
(``DRIFTED_COLUMNS``) that the drift tests and the peer benchmarks share.
"""

from rasad.examples.credit import (
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
from rasad.examples.drift_tables import (
    CATEGORICAL_COLUMNS,
    DRIFTED_COLUMNS,
    NUMERIC_COLUMNS,
    generate_drift_pair,
    generate_drift_table,
)
from rasad.examples.portfolio import (
    CONCEPT_CHANGE_MONTH,
    INCOME_DRIFT_MONTH,
    PORTFOLIO_SCHEDULE,
    Month,
    months,
)

__all__ = [
    "CATEGORICAL_COLUMNS",
    "CONCEPT_CHANGE_MONTH",
    "DRIFTED_COLUMNS",
    "DRIFT_SCHEDULE",
    "FEATURE_COLUMNS",
    "INCOME_DRIFT_MONTH",
    "NUMERIC_COLUMNS",
    "PORTFOLIO_COLUMNS",
    "PORTFOLIO_SCHEDULE",
    "TARGET_COLUMN",
    "DriftSchedule",
    "EmploymentType",
    "Gender",
    "Month",
    "Nationality",
    "Region",
    "generate_drift_pair",
    "generate_drift_table",
    "generate_portfolio",
    "month_range",
    "months",
]
