"""Demo data: a seeded synthetic credit portfolio with drift on a documented schedule.

``generate_portfolio`` feeds ``rasad demo``, the tutorials and the tests with
realistic-looking loan applications; ``DRIFT_SCHEDULE`` says which months are
clean and when each kind of drift begins; ``month_range`` picks months by index.
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

__all__ = [
    "CATEGORICAL_COLUMNS",
    "DRIFTED_COLUMNS",
    "DRIFT_SCHEDULE",
    "FEATURE_COLUMNS",
    "NUMERIC_COLUMNS",
    "PORTFOLIO_COLUMNS",
    "TARGET_COLUMN",
    "DriftSchedule",
    "EmploymentType",
    "Gender",
    "Nationality",
    "Region",
    "generate_drift_pair",
    "generate_drift_table",
    "generate_portfolio",
    "month_range",
]
