"""Monitoring: how well a model performs in production, with labels and without.

Pure computation over data frames, like :mod:`rasad.drift`: nothing here touches
the project store. Each entry point splits both sides with the shared
:class:`rasad.drift.chunking.Chunker`, sets alert thresholds from the reference
chunks (:class:`StdThreshold` or :class:`FixedThreshold`), and returns a frozen
report whose ``to_dict()`` is JSON-ready (``None`` where a value is missing):

- :func:`track`: realized metrics per chunk, when labels are available;
- :func:`estimate`: confidence-based performance estimation (CBPE) of a binary
  classifier's accuracy, precision, recall, F1 and ROC AUC, without labels;
- :func:`estimate_regression`: direct loss estimation (DLE) of a regression
  model's MAE and RMSE, without labels.

:class:`CBPE` and :class:`DLE` are the same estimators as objects, to fit on a
reference once and estimate many current batches.
"""

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
    "EstimatedChunk",
    "EstimatedMetric",
    "EstimationMethod",
    "EstimationReport",
    "FixedThreshold",
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
