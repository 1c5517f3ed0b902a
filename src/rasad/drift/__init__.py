"""Drift: statistical tests between a reference and current data (pure computation).

Nothing here touches a project or a store: functions take DataFrames, Arrow tables
or file paths and return typed, immutable results that render to JSON.

- Univariate drift: :func:`compare` compares each column by the rule an explicit
  :class:`DriftPolicy` gives it, and returns a :class:`DriftReport` with a verdict
  per column, per chunk (:class:`Chunker`) and for the dataset.
  :class:`ReferenceProfile` lets it run against a stored summary of the reference.
- Multivariate drift and online concept-drift detectors: see the second section of
  ``__all__``.

>>> import pandas as pd
>>> report = compare(pd.DataFrame({"x": range(100)}), pd.DataFrame({"x": range(50, 150)}))
>>> report.drifted, report.column("x").status
(True, <ColumnStatus.TESTED: 'tested'>)
"""

# --- univariate drift ------------------------------------------------------------------
from rasad.drift.chunking import Chunk, Chunker, Period
from rasad.drift.compare import compare
from rasad.drift.methods import (
    METHODS,
    Direction,
    Method,
    MethodInfo,
    MethodKind,
    MethodResult,
    ValueKind,
)

# --- multivariate drift and online detectors (multivariate.py, online.py) ---------------
from rasad.drift.multivariate import (
    DomainClassifierResult,
    ExcludedColumn,
    FeatureImportance,
    PCAReconstructionResult,
    ReconstructionChunk,
    domain_classifier,
    pca_reconstruction,
)
from rasad.drift.online import (
    DETECTORS,
    Detector,
    OnlineDriftResult,
    OnlineMonitor,
    default_params,
    detect,
    parse_detector,
)
from rasad.drift.policy import Combine, Correction, DriftPolicy, MethodSpec, Rule
from rasad.drift.reference import NumericSummary, ReferenceColumn, ReferenceProfile
from rasad.drift.report import (
    ChunkDrift,
    ColumnDrift,
    ColumnStatus,
    DriftReport,
    Histogram,
    MissingChange,
    SideSummary,
)

__all__ = [
    # univariate drift
    "METHODS",
    "Chunk",
    "ChunkDrift",
    "Chunker",
    "ColumnDrift",
    "ColumnStatus",
    "Combine",
    "Correction",
    "Direction",
    "DriftPolicy",
    "DriftReport",
    "Histogram",
    "Method",
    "MethodInfo",
    "MethodKind",
    "MethodResult",
    "MethodSpec",
    "MissingChange",
    "NumericSummary",
    "Period",
    "ReferenceColumn",
    "ReferenceProfile",
    "Rule",
    "SideSummary",
    "ValueKind",
    "compare",
    # multivariate drift and online detectors
    "DETECTORS",
    "Detector",
    "DomainClassifierResult",
    "ExcludedColumn",
    "FeatureImportance",
    "OnlineDriftResult",
    "OnlineMonitor",
    "PCAReconstructionResult",
    "ReconstructionChunk",
    "default_params",
    "detect",
    "domain_classifier",
    "parse_detector",
    "pca_reconstruction",
]
