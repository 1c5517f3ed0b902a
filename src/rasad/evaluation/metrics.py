"""Model-quality metrics for classification and regression.

Every value is computed by scikit-learn's own metric function, so a number rasad
records is the number a data scientist gets by calling scikit-learn directly.
The rules that scikit-learn leaves to the caller are fixed here, once:

- Binary classification: the positive class is ``classes[1]`` (scikit-learn's
  ``estimator.classes_`` order, so the second of the sorted labels).
- Multiclass classification: precision, recall and F1 are macro averages over
  ``classes``; ROC AUC is the macro average of one-vs-rest AUCs; the Brier score
  is reported for binary tasks only.
- Precision, recall and F1 are 0.0 when their denominator is zero (no predicted
  or no true positives), as scikit-learn reports them, without its warning.
- A metric that cannot be computed from the data given is ``None``, never an
  exception and never ``nan``: ROC AUC when a class is absent from ``y_true``,
  probability metrics when no ``y_proba`` is given, MAPE when a true value is 0
  (scikit-learn would return an arbitrarily large number), R2 with fewer than
  two rows.
"""

from __future__ import annotations

import enum
import math
import types
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from rasad.errors import InputError


class Task(enum.StrEnum):
    """What a model predicts: a class label or a number."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


class Metric(enum.StrEnum):
    """A model-quality metric rasad can compute."""

    ACCURACY = "accuracy"
    PRECISION = "precision"
    RECALL = "recall"
    F1 = "f1"
    ROC_AUC = "roc_auc"
    LOG_LOSS = "log_loss"
    BRIER = "brier"
    RMSE = "rmse"
    MAE = "mae"
    R2 = "r2"
    MAPE = "mape"


_TASK_METRICS: Mapping[Task, tuple[Metric, ...]] = types.MappingProxyType(
    {
        Task.CLASSIFICATION: (
            Metric.ACCURACY,
            Metric.PRECISION,
            Metric.RECALL,
            Metric.F1,
            Metric.ROC_AUC,
            Metric.LOG_LOSS,
            Metric.BRIER,
        ),
        Task.REGRESSION: (Metric.RMSE, Metric.MAE, Metric.R2, Metric.MAPE),
    }
)

DEFAULT_METRICS: Mapping[Task, tuple[Metric, ...]] = _TASK_METRICS
"""The metrics computed when none are named: every metric of the task.

A read-only mapping; pass ``metrics=`` to :func:`compute_metrics` to choose others.
"""


def parse_task(value: Task | str) -> Task:
    """Return the :class:`Task` named by ``value``.

    Parameters
    ----------
    value : Task or str
        A task, or its name in any case (``"classification"``, ``"regression"``).

    Returns
    -------
    Task

    Raises
    ------
    InputError
        If ``value`` names no task; the message lists the tasks.

    Examples
    --------
    >>> parse_task("Regression")
    <Task.REGRESSION: 'regression'>
    """
    if isinstance(value, Task):
        return value
    try:
        return Task(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(task.value for task in Task)
        raise InputError(f"Unknown task {value!r}; choose one of {allowed}.") from None


def parse_metrics(names: Iterable[str] | str, task: Task | str) -> tuple[Metric, ...]:
    """Validate metric names given by a user for a task.

    Parameters
    ----------
    names : iterable of str, or str
        Metric names in any case (``"ROC_AUC"`` is ``Metric.ROC_AUC``). A single
        string is read as a comma-separated list, as typed on a command line.
        Repeated names are kept once, in first-seen order.
    task : Task or str
        The task the metrics must apply to.

    Returns
    -------
    tuple of Metric

    Raises
    ------
    InputError
        If a name is unknown or belongs to the other task, or no name is given;
        the message lists the names allowed for ``task``.

    Examples
    --------
    >>> parse_metrics("F1, roc_auc,f1", Task.CLASSIFICATION)
    (<Metric.F1: 'f1'>, <Metric.ROC_AUC: 'roc_auc'>)
    >>> parse_metrics(["rmse"], Task.CLASSIFICATION)
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Metric 'rmse' is not available for classification; \
choose from accuracy, precision, recall, f1, roc_auc, log_loss, brier.
    """
    parsed_task = parse_task(task)
    allowed = _TASK_METRICS[parsed_task]
    raw = names.split(",") if isinstance(names, str) else list(names)
    chosen: list[Metric] = []
    bad: list[str] = []
    for name in raw:
        key = str(name).strip().lower()
        metric = Metric(key) if key in Metric._value2member_map_ else None
        if metric is None or metric not in allowed:
            bad.append(str(name).strip())
        elif metric not in chosen:
            chosen.append(metric)
    choices = ", ".join(metric.value for metric in allowed)
    if bad:
        noun = "Metric" if len(bad) == 1 else "Metrics"
        verb = "is" if len(bad) == 1 else "are"
        quoted = ", ".join(repr(name) for name in bad)
        raise InputError(
            f"{noun} {quoted} {verb} not available for {parsed_task.value}; choose from {choices}."
        )
    if not chosen:
        raise InputError(f"No metric was named; choose from {choices}.")
    return tuple(chosen)


def compute_metrics(
    task: Task | str,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    y_proba: ArrayLike | None = None,
    classes: Sequence[Any] | ArrayLike | None = None,
    metrics: Iterable[Metric | str] | None = None,
) -> dict[str, float | None]:
    """Compute model-quality metrics with scikit-learn.

    Parameters
    ----------
    task : Task or str
        Classification or regression.
    y_true : array-like of shape (n,)
        True labels or values.
    y_pred : array-like of shape (n,)
        Predicted labels or values.
    y_proba : array-like of shape (n, n_classes) or (n,), optional
        Classification only: predicted probabilities, one column per class in
        ``classes`` order (``estimator.predict_proba``). For a binary task a 1-D
        array is read as the probability of the positive class ``classes[1]``.
        Without it ROC AUC, log loss and Brier score are ``None``.
    classes : sequence, optional
        Classification only: every class label in the order of the columns of
        ``y_proba`` (pass ``estimator.classes_``). Defaults to the sorted labels
        present in ``y_true`` and ``y_pred``.
    metrics : iterable of Metric or str, optional
        Which metrics to compute (see :func:`parse_metrics`); defaults to
        ``DEFAULT_METRICS[task]``.

    Returns
    -------
    dict of str to float or None
        Metric name to value, in the order the metrics were asked for; ``None``
        where the metric cannot be computed (see the module notes).

    Raises
    ------
    InputError
        If the arrays are empty or of different lengths, regression values are
        missing or infinite, a label is not in ``classes``, or ``y_proba`` does
        not have one column per class.

    Examples
    --------
    >>> compute_metrics(
    ...     Task.CLASSIFICATION,
    ...     [0, 1, 1, 0],
    ...     [0, 1, 0, 0],
    ...     y_proba=[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]],
    ...     metrics=["accuracy", "f1", "roc_auc", "brier"],
    ... )
    {'accuracy': 0.75, 'f1': 0.6666666666666666, 'roc_auc': 1.0, 'brier': 0.125}
    >>> compute_metrics("regression", [1.0, 2.0, 0.0], [1.5, 2.0, 0.5])
    {'rmse': 0.408248290463863, 'mae': 0.3333333333333333, 'r2': 0.75, 'mape': None}
    """
    parsed_task = parse_task(task)
    chosen = (
        DEFAULT_METRICS[parsed_task] if metrics is None else parse_metrics(metrics, parsed_task)
    )
    truth = _as_1d(y_true, "y_true")
    pred = _as_1d(y_pred, "y_pred")
    if truth.shape[0] != pred.shape[0]:
        raise InputError(
            f"y_true has {truth.shape[0]} values but y_pred has {pred.shape[0]}; "
            "pass one prediction per row."
        )
    if truth.shape[0] == 0:
        raise InputError("y_true is empty; metrics need at least one row.")
    values: _Regression | _Classification
    table: Mapping[Metric, Callable[[Any], float | None]]
    if parsed_task is Task.REGRESSION:
        values = _Regression.build(truth, pred)
        table = _REGRESSION
    else:
        values = _Classification.build(truth, pred, y_proba, classes)
        table = _CLASSIFICATION
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return {metric.value: _finite(table[metric](values)) for metric in chosen}


def _as_1d(values: ArrayLike, name: str) -> NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InputError(f"{name} has shape {array.shape}; pass a 1-D array, one value per row.")
    return array


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class _Regression:
    truth: NDArray[np.float64]
    pred: NDArray[np.float64]

    @classmethod
    def build(cls, truth: NDArray[Any], pred: NDArray[Any]) -> _Regression:
        return cls(_numbers(truth, "y_true"), _numbers(pred, "y_pred"))


def _numbers(array: NDArray[Any], name: str) -> NDArray[np.float64]:
    try:
        numbers = array.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"{name} holds values that are not numbers; a regression needs numbers."
        ) from None
    bad = int(np.count_nonzero(~np.isfinite(numbers)))
    if bad:
        raise InputError(f"{name} holds {bad} missing or infinite values; drop those rows first.")
    return numbers


def _mape(values: _Regression) -> float | None:
    if np.any(values.truth == 0):
        return None
    return float(skm.mean_absolute_percentage_error(values.truth, values.pred))


def _r2(values: _Regression) -> float | None:
    if values.truth.shape[0] < 2:
        return None
    return float(skm.r2_score(values.truth, values.pred))


_REGRESSION: Mapping[Metric, Callable[[_Regression], float | None]] = types.MappingProxyType(
    {
        Metric.RMSE: lambda v: float(skm.root_mean_squared_error(v.truth, v.pred)),
        Metric.MAE: lambda v: float(skm.mean_absolute_error(v.truth, v.pred)),
        Metric.R2: _r2,
        Metric.MAPE: _mape,
    }
)


@dataclass(frozen=True)
class _Classification:
    truth: NDArray[Any]
    pred: NDArray[Any]
    proba: NDArray[np.float64] | None
    labels: NDArray[Any]

    @property
    def binary(self) -> bool:
        return bool(self.labels.shape[0] == 2)

    @classmethod
    def build(
        cls,
        truth: NDArray[Any],
        pred: NDArray[Any],
        y_proba: ArrayLike | None,
        classes: Sequence[Any] | ArrayLike | None,
    ) -> _Classification:
        if classes is None:
            labels = np.unique(np.concatenate([truth, pred]))
        else:
            labels = np.asarray(classes)
            _check_known(truth, labels, "y_true")
            _check_known(pred, labels, "y_pred")
        proba = None if y_proba is None else _probabilities(y_proba, labels, truth.shape[0])
        return cls(truth, pred, proba, labels)

    def scores(self, average_metric: Callable[..., Any]) -> float | None:
        if self.labels.shape[0] < 2:
            return None
        if self.binary:
            return float(
                average_metric(
                    self.truth,
                    self.pred,
                    pos_label=self.labels[1],
                    average="binary",
                    zero_division=0.0,
                )
            )
        return float(
            average_metric(
                self.truth, self.pred, labels=self.labels, average="macro", zero_division=0.0
            )
        )


def _check_known(values: NDArray[Any], labels: NDArray[Any], name: str) -> None:
    unknown = np.setdiff1d(np.unique(values), labels)
    if unknown.size:
        raise InputError(
            f"{name} holds labels {unknown.tolist()} that are not in classes {labels.tolist()}; "
            "pass classes=estimator.classes_."
        )


def _probabilities(y_proba: ArrayLike, labels: NDArray[Any], rows: int) -> NDArray[np.float64]:
    proba = np.asarray(y_proba, dtype=np.float64)
    if proba.ndim == 1 and labels.shape[0] == 2:
        proba = np.column_stack([1.0 - proba, proba])
    if proba.ndim != 2 or proba.shape != (rows, labels.shape[0]):
        raise InputError(
            f"y_proba has shape {proba.shape} but there are {rows} rows and "
            f"{labels.shape[0]} classes {labels.tolist()}; pass predict_proba's output "
            "and classes=estimator.classes_."
        )
    if not np.all(np.isfinite(proba)):
        raise InputError("y_proba holds missing or infinite values; pass predict_proba's output.")
    return proba


def _roc_auc(values: _Classification) -> float | None:
    # AUC ranks positives against negatives: undefined for a class absent from y_true.
    if values.proba is None or values.labels.shape[0] < 2:
        return None
    if np.setdiff1d(values.labels, values.truth).size:
        return None
    if values.binary:
        return float(skm.roc_auc_score(values.truth == values.labels[1], values.proba[:, 1]))
    return float(
        skm.roc_auc_score(
            values.truth, values.proba, multi_class="ovr", average="macro", labels=values.labels
        )
    )


def _log_loss(values: _Classification) -> float | None:
    if values.proba is None or values.labels.shape[0] < 2:
        return None
    return float(skm.log_loss(values.truth, values.proba, labels=values.labels))


def _brier(values: _Classification) -> float | None:
    if values.proba is None or not values.binary:
        return None
    return float(skm.brier_score_loss(values.truth == values.labels[1], values.proba[:, 1]))


_CLASSIFICATION: Mapping[Metric, Callable[[_Classification], float | None]] = (
    types.MappingProxyType(
        {
            Metric.ACCURACY: lambda v: float(skm.accuracy_score(v.truth, v.pred)),
            Metric.PRECISION: lambda v: v.scores(skm.precision_score),
            Metric.RECALL: lambda v: v.scores(skm.recall_score),
            Metric.F1: lambda v: v.scores(skm.f1_score),
            Metric.ROC_AUC: _roc_auc,
            Metric.LOG_LOSS: _log_loss,
            Metric.BRIER: _brier,
        }
    )
)

__all__ = [
    "DEFAULT_METRICS",
    "Metric",
    "Task",
    "compute_metrics",
    "parse_metrics",
    "parse_task",
]
