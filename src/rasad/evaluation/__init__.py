"""Evaluation: how good a model is, as pure computation over arrays.

Metrics take true values and predictions and return numbers; they never touch the
project store. The training and registry services record what these functions return.
"""

from rasad.evaluation.metrics import (
    DEFAULT_METRICS,
    Metric,
    Task,
    compute_metrics,
    parse_metrics,
    parse_task,
)

__all__ = [
    "DEFAULT_METRICS",
    "Metric",
    "Task",
    "compute_metrics",
    "parse_metrics",
    "parse_task",
]
