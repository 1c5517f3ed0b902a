"""Monitoring: how well a model performs in production, with labels and without.

Pure computation over data frames, like :mod:`rasad.drift`: nothing here touches
the project store. :func:`track` computes realized metrics per chunk when labels
are available; :func:`estimate` (CBPE, binary classifiers) and
:func:`estimate_regression` (direct loss estimation) estimate them before labels
arrive. All three set alert thresholds from the reference chunks and return a
frozen report whose ``to_dict()`` is JSON-ready.
"""

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
from rasad.monitoring.thresholds import (
    MIN_REFERENCE_CHUNKS,
    Bounds,
    FixedThreshold,
    StdThreshold,
    Threshold,
)

__all__ = [
    "METRIC_RANGE",
    "MIN_CHUNK_ROWS",
    "MIN_REFERENCE_CHUNKS",
    "TRACKED_METRICS",
    "Bounds",
    "ChunkPerformance",
    "ChunkStatus",
    "FixedThreshold",
    "MetricValue",
    "PerformanceReport",
    "StdThreshold",
    "Threshold",
    "track",
]
