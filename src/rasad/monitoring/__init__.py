"""Monitoring: how well a model performs in production, with labels and without.

What this package exports is pure computation over data frames, like
:mod:`rasad.drift`: none of it touches the project store, so ``import rasad.monitoring``
stays light. Names load on first use, so ``rasad drift`` on two files, which imports
:mod:`rasad.monitoring.drift_check`, does not load scikit-learn and the estimators.
Each entry point splits both sides with the shared
:class:`rasad.drift.chunking.Chunker`, sets alert thresholds from the reference
chunks (:class:`StdThreshold` or :class:`FixedThreshold`), and returns a typed,
immutable report (a :class:`rasad.results.Result`) whose ``to_dict()`` is JSON-ready
(``None`` where a value is missing) and whose ``from_dict()`` reads it back:

- :func:`track`: realized metrics per chunk, when labels are available;
- :func:`estimate`: confidence-based performance estimation (CBPE) of a binary
  classifier's accuracy, precision, recall, F1 and ROC AUC, without labels;
- :func:`estimate_regression`: direct loss estimation (DLE) of a regression
  model's MAE and RMSE, without labels.

:class:`CBPE` and :class:`DLE` are the same estimators as objects, to fit on a
reference once and estimate many current batches.

The services over a project's dataset versions live in modules that are imported by
name: :mod:`rasad.monitoring.tracking` (track or estimate, and store the report with
its audit event), :mod:`rasad.monitoring.results` (stored results) and
:mod:`rasad.monitoring.reference` (stored reference profiles).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rasad.monitoring.estimation import (
        CBPE,
        CBPE_METRICS,
        MIN_EFFECTIVE_ROWS,
        Calibration,
        CalibrationResult,
        EstimatedChunk,
        EstimatedMetric,
        EstimationMethod,
        EstimationReport,
        ThresholdBasis,
        estimate,
        expected_confusion_metrics,
        expected_roc_auc,
    )
    from rasad.monitoring.performance import (
        METRIC_RANGE,
        MIN_CHUNK_ROWS,
        TRACKED_METRICS,
        ChunkPerformance,
        ChunkStatus,
        ChunkSummary,
        MetricAlert,
        MetricValue,
        PerformanceReport,
        track,
    )
    from rasad.monitoring.regression_estimation import (
        DLE,
        DLE_METRICS,
        MIN_REFERENCE_ROWS,
        estimate_regression,
    )
    from rasad.monitoring.thresholds import (
        MIN_REFERENCE_CHUNKS,
        Bounds,
        FixedThreshold,
        StdThreshold,
        Threshold,
    )

_HOMES = {
    **dict.fromkeys(
        ("CBPE", "CBPE_METRICS", "MIN_EFFECTIVE_ROWS", "Calibration", "CalibrationResult",
         "EstimatedChunk", "EstimatedMetric", "EstimationMethod", "EstimationReport",
         "ThresholdBasis", "estimate", "expected_confusion_metrics", "expected_roc_auc"),
        "estimation"),
    **dict.fromkeys(
        ("METRIC_RANGE", "MIN_CHUNK_ROWS", "TRACKED_METRICS", "ChunkPerformance",
         "ChunkStatus", "ChunkSummary", "MetricAlert", "MetricValue", "PerformanceReport",
         "track"),
        "performance"),
    **dict.fromkeys(("DLE", "DLE_METRICS", "MIN_REFERENCE_ROWS", "estimate_regression"),
                    "regression_estimation"),
    **dict.fromkeys(("MIN_REFERENCE_CHUNKS", "Bounds", "FixedThreshold", "StdThreshold",
                     "Threshold"), "thresholds"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "CBPE",
    "CBPE_METRICS",
    "DLE",
    "DLE_METRICS",
    "METRIC_RANGE",
    "MIN_CHUNK_ROWS",
    "MIN_EFFECTIVE_ROWS",
    "MIN_REFERENCE_CHUNKS",
    "MIN_REFERENCE_ROWS",
    "TRACKED_METRICS",
    "Bounds",
    "Calibration",
    "CalibrationResult",
    "ChunkPerformance",
    "ChunkStatus",
    "ChunkSummary",
    "EstimatedChunk",
    "EstimatedMetric",
    "EstimationMethod",
    "EstimationReport",
    "FixedThreshold",
    "MetricAlert",
    "MetricValue",
    "PerformanceReport",
    "StdThreshold",
    "Threshold",
    "ThresholdBasis",
    "estimate",
    "estimate_regression",
    "expected_confusion_metrics",
    "expected_roc_auc",
    "track",
]
