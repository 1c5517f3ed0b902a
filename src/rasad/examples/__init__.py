"""Demo data: a seeded synthetic credit portfolio with drift on a documented schedule.

``generate_portfolio`` feeds ``rasad demo``, the tutorials and the tests with
realistic-looking loan applications; ``DRIFT_SCHEDULE`` says which months are
clean and when each kind of drift begins; ``month_range`` picks months by index.
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

__all__ = [
    "DRIFT_SCHEDULE",
    "FEATURE_COLUMNS",
    "PORTFOLIO_COLUMNS",
    "TARGET_COLUMN",
    "DriftSchedule",
    "EmploymentType",
    "Gender",
    "Nationality",
    "Region",
    "generate_portfolio",
    "month_range",
]
