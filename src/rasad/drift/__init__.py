"""Drift: statistical tests between a reference and current data (pure computation).

Nothing here touches a project or a store: functions take DataFrames, Arrow tables
or file paths and return typed, immutable results that render to JSON.

- Univariate drift: :func:`compare` compares each column by the rule an explicit
  :class:`DriftPolicy` gives it, and returns a :class:`DriftReport` with a verdict
  per column, per chunk (:class:`Chunker`) and for the dataset.
  :class:`ReferenceProfile` lets it run against a stored summary of the reference.
- Multivariate drift and online concept-drift detectors: see the second section of
  ``__all__``.

Every result is a :class:`rasad.results.Result`: an immutable pydantic model whose
JSON (``to_json()``) reads back with ``from_json()``. Names load on first use, so
``import rasad.drift`` loads neither pandas, SciPy nor scikit-learn.

>>> import pandas as pd
>>> from rasad.drift import compare
>>> report = compare(pd.DataFrame({"x": range(100)}), pd.DataFrame({"x": range(50, 150)}))
>>> report.drifted, report.column("x").status
(True, <ColumnStatus.TESTED: 'tested'>)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # --- univariate drift --------------------------------------------------------------
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

    # --- multivariate drift and online detectors (multivariate.py, online.py) -----------
    from rasad.drift.multivariate import (
        DomainClassifierResult,
        ExcludedColumn,
        FeatureImportance,
        MultivariateResult,
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
        NewCategory,
        SideSummary,
    )

_HOMES: dict[str, str] = {
    **dict.fromkeys(("Chunk", "Chunker", "Period"), "chunking"),
    "compare": "compare",
    **dict.fromkeys(("METHODS", "Direction", "Method", "MethodInfo", "MethodKind",
                     "MethodResult", "ValueKind"), "methods"),
    **dict.fromkeys(("DomainClassifierResult", "ExcludedColumn", "FeatureImportance",
                     "MultivariateResult", "PCAReconstructionResult", "ReconstructionChunk",
                     "domain_classifier", "pca_reconstruction"), "multivariate"),
    **dict.fromkeys(("DETECTORS", "Detector", "OnlineDriftResult", "OnlineMonitor",
                     "default_params", "detect", "parse_detector"), "online"),
    **dict.fromkeys(("Combine", "Correction", "DriftPolicy", "MethodSpec", "Rule"), "policy"),
    **dict.fromkeys(("NumericSummary", "ReferenceColumn", "ReferenceProfile"), "reference"),
    **dict.fromkeys(("ChunkDrift", "ColumnDrift", "ColumnStatus", "DriftReport", "Histogram",
                     "MissingChange", "NewCategory", "SideSummary"), "report"),
}
"""Where each public name lives; the module loads on first use of one of its names."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
    "NewCategory",
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
    "MultivariateResult",
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
