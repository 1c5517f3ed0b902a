"""Data validation: schemas inferred or declared, checks that report every failing row,
quality reports and JUnit output for CI.

Pure computation: these functions take data frames, Arrow tables or file paths and
return typed results; storing and auditing them is the job of the project services.

>>> import pandas as pd
>>> reference = pd.DataFrame({"id": ["A-1", "A-2", "A-3"], "amount": [10.0, 20.0, 30.0]})
>>> schema = infer_schema(reference)
>>> report = validate(pd.DataFrame({"id": ["A-4", "A-4"], "amount": [15.0, 99.0]}), schema)
>>> [(r.check.value, r.column, [e.row for e in r.examples]) for r in report.errors]
[('duplicate_key', 'id', [1]), ('out_of_range', 'amount', [1])]
"""

from rasad.validation.infer import infer_schema
from rasad.validation.junit import to_junit
from rasad.validation.quality import (
    ClassBalance,
    ColumnQuality,
    Leakage,
    Outliers,
    QualityPolicy,
    QualityReport,
    quality,
)
from rasad.validation.schema import (
    DEFAULT_SEVERITY,
    CheckKind,
    ColumnSchema,
    Severity,
    TableSchema,
)
from rasad.validation.validate import (
    CheckResult,
    Example,
    ValidationReport,
    mask_value,
    to_pandera,
    validate,
)

__all__ = [
    "DEFAULT_SEVERITY",
    "CheckKind",
    "CheckResult",
    "ClassBalance",
    "ColumnQuality",
    "ColumnSchema",
    "Example",
    "Leakage",
    "Outliers",
    "QualityPolicy",
    "QualityReport",
    "Severity",
    "TableSchema",
    "ValidationReport",
    "infer_schema",
    "mask_value",
    "quality",
    "to_junit",
    "to_pandera",
    "validate",
]

# --- PII detection (src/rasad/validation/pii.py, maintained separately) ----------------
from rasad.validation.pii import PIIFinding, PIIKind, PIIReport, scan  # noqa: E402

__all__ += ["PIIFinding", "PIIKind", "PIIReport", "scan"]
