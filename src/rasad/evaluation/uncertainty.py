"""How sure a metric is: bootstrap intervals, paired comparisons of two models, DeLong's test.

A promotion gate asks two questions of a model's metrics on labelled evaluation rows, and
each answer needs its uncertainty:

- **Is the metric good enough?** :func:`metric_interval` (several at once:
  :func:`metric_intervals`) returns the estimate, computed exactly as
  :func:`rasad.evaluation.compute_metrics` computes it (so by scikit-learn), with a
  percentile bootstrap interval: the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
  quantiles of the metric over ``n_boot`` resamples of the rows.
- **Is the challenger at least as good as the champion?** :func:`compare` measures the
  improvement of the challenger over the champion on the same rows (positive = better,
  whichever way the metric points) and a one-sided lower confidence bound on it. ROC AUC
  of a binary classifier uses DeLong's paired test (:func:`delong`, in Sun and Xu's fast
  form); every other metric a paired bootstrap, both models scored on the same resampled
  rows. The challenger is *not worse* when the bound is at least ``-margin``, and
  *better* when the bound is above zero: a challenger better on average but not
  significantly so is not better, and under a zero margin not "not worse" either.

Resampling draws row counts (``np.bincount`` of integer draws, a chunk of resamples at a
time) and computes every metric for all resamples of a chunk with array operations
(``rasad.evaluation._weighted``): 1,000 resamples of 100,000 rows take about a second.
The same ``seed`` gives the same resamples, hence the same figures.

Conventions (:data:`LOWER_IS_BETTER`): accuracy, precision, recall, F1, ROC AUC and R2 are
better higher; log loss, Brier score, RMSE, MAE and MAPE lower. Positive class of a
binary classifier: ``classes[1]``.

References: E. R. DeLong, D. M. DeLong, D. L. Clarke-Pearson (1988), Biometrics 44(3);
X. Sun, W. Xu (2014), IEEE Signal Processing Letters 21(11); B. Efron, R. Tibshirani
(1993), *An Introduction to the Bootstrap*, ch. 13.

>>> y = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0]
>>> result = metric_interval("accuracy", y, predictions=[0, 1, 1, 1, 0, 0, 0, 1, 1, 0],
...                          classes=[0, 1], n_boot=200, seed=1)
>>> result.estimate, result.lower <= result.estimate <= result.upper, result.n
(0.8, True, 10)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike
from pydantic import computed_field
from scipy import stats

from rasad.errors import InputError
from rasad.evaluation._weighted import Batch, FloatArray, Prepared, kernel, resample_weights
from rasad.evaluation.metrics import DEFAULT_METRICS, Metric, Task, compute_metrics
from rasad.results import Result

LOWER_IS_BETTER: Final = frozenset(
    {Metric.LOG_LOSS, Metric.BRIER, Metric.RMSE, Metric.MAE, Metric.MAPE})
"""Metrics where a smaller value is a better model; every other metric is better higher."""

_NEEDS_PREDICTIONS: Final = frozenset(
    {Metric.ACCURACY, Metric.PRECISION, Metric.RECALL, Metric.F1,
     Metric.RMSE, Metric.MAE, Metric.R2, Metric.MAPE})
_NEEDS_PROBA: Final = frozenset({Metric.ROC_AUC, Metric.LOG_LOSS, Metric.BRIER})

Scored = tuple[ArrayLike | None, ArrayLike | None]
"""One model's answers on the rows: ``(predictions, proba)``, either None if not needed."""


class Method(StrEnum):
    """How an interval or a comparison was computed."""

    PERCENTILE_BOOTSTRAP = "percentile bootstrap"
    PAIRED_BOOTSTRAP = "paired bootstrap"
    DELONG = "delong"


def higher_is_better(metric: Metric | str) -> bool:
    """True when a larger value of ``metric`` means a better model.

    >>> higher_is_better("roc_auc"), higher_is_better("brier")
    (True, False)
    """
    return _metric(metric) not in LOWER_IS_BETTER


class MetricInterval(Result):
    """A metric on labelled rows, with its percentile bootstrap interval.

    ``n_valid`` counts the resamples in which the metric was defined (ROC AUC is not when
    a resample drew one class only); the interval is taken over those. ``worst`` is the
    end a threshold with ``basis: bound`` compares: the lower bound when higher is
    better, the upper bound otherwise.
    """

    metric: Metric
    estimate: float
    lower: float
    upper: float
    confidence: float
    n: int
    n_boot: int
    n_valid: int
    seed: int
    method: Method = Method.PERCENTILE_BOOTSTRAP
    higher_is_better: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def worst(self) -> float:
        """The pessimistic end of the interval."""
        return self.lower if self.higher_is_better else self.upper


class DeLongResult(Result):
    """DeLong's paired test of two ROC AUCs on the same rows.

    ``difference`` is ``auc_a - auc_b``; ``standard_error`` its standard error from the
    covariance of the two AUCs (``covariance``, 2 x 2); ``p_value`` is two-sided.
    """

    auc_a: float
    auc_b: float
    difference: float
    standard_error: float
    z: float
    p_value: float
    covariance: list[list[float]]
    n_positive: int
    n_negative: int


class ChampionComparison(Result):
    """The challenger against the champion on the same rows, with a paired test.

    ``difference`` is the challenger's improvement: ``challenger - champion`` when the
    metric is better higher, ``champion - challenger`` when lower is better. Its
    one-sided lower confidence bound at ``confidence`` is ``lower_bound``. ``p_value``
    tests "the challenger is not better" (difference at most 0); ``p_value_not_worse``
    tests "the challenger is worse by more than the margin". For a bootstrap they are
    the shares of resamples in which that held.
    """

    metric: Metric
    method: Method
    higher_is_better: bool
    champion: float
    challenger: float
    difference: float
    lower_bound: float
    standard_error: float | None = None
    p_value: float
    p_value_not_worse: float
    margin: float
    confidence: float
    n: int
    n_boot: int | None = None
    n_valid: int | None = None
    seed: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def not_worse(self) -> bool:
        """The challenger is not worse than the champion by more than ``margin``."""
        return bool(self.lower_bound >= -self.margin)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def better(self) -> bool:
        """The challenger is significantly better (the lower bound is above zero)."""
        return bool(self.lower_bound > 0)


def metric_interval(metric: Metric | str, y_true: ArrayLike, *,
                    predictions: ArrayLike | None = None, proba: ArrayLike | None = None,
                    classes: Sequence[Any] | ArrayLike | None, confidence: float = 0.95,
                    n_boot: int = 1000, seed: int = 0) -> MetricInterval:
    """``metric`` on the rows with a percentile bootstrap interval.

    Parameters
    ----------
    metric : Metric or str
        Any :class:`~rasad.evaluation.Metric`.
    y_true : array-like of shape (n,)
        True labels or values.
    predictions : array-like of shape (n,), optional
        Predicted labels or values; needed by every metric but roc_auc, log_loss, brier.
    proba : array-like of shape (n, n_classes) or (n,), optional
        Predicted probabilities in ``classes`` order (a 1-D array: of ``classes[1]``);
        needed by roc_auc, log_loss and brier.
    classes : sequence or None
        A classifier's classes in ``predict_proba`` column order; None for a regressor.
    confidence : float
        Of the two-sided interval, strictly between 0 and 1.
    n_boot : int
        Resamples (at least 1).
    seed : int
        Seed of the resampling.

    Returns
    -------
    MetricInterval

    Raises
    ------
    InputError
        Arrays of different lengths, fewer than two rows, missing values, labels outside
        ``classes``, a single class in ``y_true``, inputs the metric needs but lacks, or
        a metric undefined on these rows; the message names the problem.

    Examples
    --------
    >>> result = metric_interval("rmse", [1.0, 2.0, 3.0, 4.0], predictions=[1.1, 2.3, 2.8, 4.4],
    ...                          classes=None, n_boot=100, seed=0)
    >>> round(result.estimate, 4), result.higher_is_better, result.worst == result.upper
    (0.2739, False, True)
    """
    return metric_intervals([metric], y_true, predictions=predictions, proba=proba,
                            classes=classes, confidence=confidence, n_boot=n_boot,
                            seed=seed)[0]


def metric_intervals(metrics: Iterable[Metric | str], y_true: ArrayLike, *,
                     predictions: ArrayLike | None = None, proba: ArrayLike | None = None,
                     classes: Sequence[Any] | ArrayLike | None, confidence: float = 0.95,
                     n_boot: int = 1000, seed: int = 0) -> list[MetricInterval]:
    """:func:`metric_interval` for several metrics, all on the same resamples (one pass).

    >>> found = metric_intervals(["accuracy", "brier"], [0, 1, 1, 0], predictions=[0, 1, 0, 0],
    ...                          proba=[0.2, 0.9, 0.4, 0.3], classes=[0, 1], n_boot=50)
    >>> [(r.metric.value, r.estimate) for r in found]
    [('accuracy', 0.75), ('brier', 0.125)]
    """
    chosen = _metrics(metrics)
    _check_settings(confidence, n_boot)
    rows = _Rows.build(y_true, classes, chosen)
    model = rows.model(chosen, predictions, proba)
    estimates = model.estimates(chosen)
    batch = Batch([kernel(metric, model.prepared) for metric in chosen])
    samples = np.empty((len(chosen), n_boot))
    for first, weights in resample_weights(rows.n, n_boot, seed):
        samples[:, first:first + weights.shape[0]] = batch(weights)
    tail = (1.0 - confidence) / 2.0
    found = []
    for metric, estimate, drawn in zip(chosen, estimates, samples, strict=True):
        valid = drawn[~np.isnan(drawn)]
        lower, upper = (np.quantile(valid, [tail, 1.0 - tail]) if valid.size
                        else (math.nan, math.nan))
        found.append(MetricInterval(
            metric=metric, estimate=estimate, lower=float(lower), upper=float(upper),
            confidence=confidence, n=rows.n, n_boot=n_boot, n_valid=int(valid.size),
            seed=seed, higher_is_better=higher_is_better(metric)))
    return found


def compare(metric: Metric | str, y_true: ArrayLike, champion: Scored, challenger: Scored, *,
            classes: Sequence[Any] | ArrayLike | None, margin: float = 0.0,
            confidence: float = 0.95, n_boot: int = 1000, seed: int = 0
            ) -> ChampionComparison:
    """The challenger's improvement over the champion on ``metric``, with a paired test.

    Parameters
    ----------
    metric : Metric or str
        The metric compared.
    y_true : array-like of shape (n,)
        True labels or values of the rows both models scored.
    champion, challenger : (predictions, proba)
        Each model's answers on the rows (see :func:`metric_interval`; either may be None
        when the metric does not need it).
    classes : sequence or None
        The classes both classifiers predict, in ``predict_proba`` column order.
    margin : float
        How much worse the challenger may be and still be "not worse" (at least 0, in
        the metric's units).
    confidence : float
        Of the one-sided lower bound.
    n_boot, seed : int
        Resamples and seed of the paired bootstrap (not used by DeLong's test).

    Returns
    -------
    ChampionComparison
        ``method`` is ``delong`` for the ROC AUC of a binary classifier, ``paired
        bootstrap`` otherwise.

    Examples
    --------
    >>> y = [0, 1, 0, 1, 1, 0, 1, 0]
    >>> old = (None, [0.3, 0.6, 0.4, 0.7, 0.5, 0.2, 0.8, 0.6])
    >>> new = (None, [0.2, 0.7, 0.3, 0.8, 0.6, 0.1, 0.9, 0.4])
    >>> result = compare("roc_auc", y, old, new, classes=[0, 1])
    >>> result.method.value, result.difference, result.not_worse, result.better
    ('delong', 0.09375, False, False)
    """
    chosen = _metric(metric)
    _check_settings(confidence, n_boot)
    if not (math.isfinite(margin) and margin >= 0):
        raise InputError(f"margin = {margin!r}: give a number of at least 0, in the units of "
                         f"{chosen.value}.")
    rows = _Rows.build(y_true, classes, [chosen])
    old = rows.model([chosen], *champion, who="champion")
    new = rows.model([chosen], *challenger, who="challenger")
    old_value, new_value = old.estimates([chosen])[0], new.estimates([chosen])[0]
    higher = higher_is_better(chosen)
    difference = new_value - old_value if higher else old_value - new_value
    if chosen is Metric.ROC_AUC and rows.n_classes == 2:
        assert old.prepared.proba is not None and new.prepared.proba is not None
        test = delong(rows.codes == 1, new.prepared.proba[:, 1], old.prepared.proba[:, 1],
                      positive=True)
        se = test.standard_error
        method, lower_bound = Method.DELONG, difference - float(stats.norm.ppf(confidence)) * se
        p_value = _normal_tail(difference, se, strict=False)
        p_value_not_worse = _normal_tail(difference + margin, se, strict=True)
        standard_error: float | None = se
        resampled: dict[str, int | None] = {"n_boot": None, "n_valid": None, "seed": None}
    else:
        drawn = _paired_differences(chosen, rows.n, old, new, n_boot, seed)
        method, lower_bound = Method.PAIRED_BOOTSTRAP, float(np.quantile(drawn, 1 - confidence))
        p_value = float(np.mean(drawn <= 0))
        p_value_not_worse = float(np.mean(drawn < -margin))
        standard_error = None
        resampled = {"n_boot": n_boot, "n_valid": int(drawn.size), "seed": seed}
    return ChampionComparison(
        metric=chosen, method=method, higher_is_better=higher, champion=old_value,
        challenger=new_value, difference=difference, lower_bound=lower_bound,
        standard_error=standard_error, p_value=p_value, p_value_not_worse=p_value_not_worse,
        margin=margin, confidence=confidence, n=rows.n, **resampled)


def _paired_differences(metric: Metric, n: int, old: _Model, new: _Model, n_boot: int,
                        seed: int) -> FloatArray:
    """The improvement in each resample where it is defined, both models on the same rows."""
    sign = 1.0 if higher_is_better(metric) else -1.0
    batch = Batch([kernel(metric, old.prepared), kernel(metric, new.prepared)])
    drawn = np.empty(n_boot)
    for first, weights in resample_weights(n, n_boot, seed):
        old_values, new_values = batch(weights)
        drawn[first:first + weights.shape[0]] = sign * (new_values - old_values)
    valid: FloatArray = drawn[~np.isnan(drawn)]
    if not valid.size:
        raise InputError(f"{metric.value} was undefined in every resample of these {n} rows; "
                         "evaluate on more rows.")
    return valid


def delong(y_true: ArrayLike, score_a: ArrayLike, score_b: ArrayLike, *,
           positive: Any = None) -> DeLongResult:
    """DeLong's test of two correlated ROC AUCs, in Sun and Xu's O(n log n) form.

    Each score's AUC and its structural components come from midranks: of the
    positives among the positives, of the negatives among the negatives, and of every
    row among all (``scipy.stats.rankdata``, ties averaged, so a tie counts half as in
    the Mann-Whitney statistic). The covariance of the two AUCs is
    ``S10 / m + S01 / n`` (``m`` positives, ``n`` negatives; ``S10`` and ``S01`` the
    covariances of the components over positives and over negatives).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Labels of exactly two values.
    score_a, score_b : array-like of shape (n,)
        Two models' scores for the positive class on the same rows.
    positive : optional
        The positive label; default the larger of the two labels.

    Returns
    -------
    DeLongResult

    Examples
    --------
    >>> y = [0, 0, 1, 1, 0, 1]
    >>> result = delong(y, [0.1, 0.4, 0.35, 0.8, 0.2, 0.7], [0.2, 0.3, 0.5, 0.6, 0.1, 0.4])
    >>> round(result.auc_a, 4), round(result.auc_b, 4), round(result.difference, 4)
    (0.8889, 1.0, -0.1111)
    """
    truth = _column(y_true, "y_true")
    labels = _present(truth, "y_true")
    if labels.size != 2:
        raise InputError(f"y_true holds {labels.size} distinct labels ({_shown(labels)}); "
                         "DeLong's test compares AUCs of a binary label: pass two classes.")
    chosen = labels[1] if positive is None else positive
    is_pos = truth == chosen
    if not is_pos.any() or is_pos.all():
        raise InputError(f"The positive label {chosen!r} is not one of y_true's labels "
                         f"{_shown(labels)}.")
    scores = np.vstack([_numbers(score_a, "score_a", truth.shape[0]),
                        _numbers(score_b, "score_b", truth.shape[0])])
    aucs, covariance = _fast_delong(scores, is_pos)
    variance = covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]
    se = math.sqrt(max(float(variance), 0.0))
    difference = float(aucs[0] - aucs[1])
    if se > 0:
        z = difference / se
    else:
        z = 0.0 if difference == 0 else math.copysign(math.inf, difference)
    return DeLongResult(
        auc_a=float(aucs[0]), auc_b=float(aucs[1]), difference=difference,
        standard_error=se, z=z, p_value=float(2 * stats.norm.sf(abs(z))),
        covariance=covariance.tolist(), n_positive=int(is_pos.sum()),
        n_negative=int((~is_pos).sum()))


def _fast_delong(scores: FloatArray, is_pos: npt.NDArray[np.bool_]
                 ) -> tuple[FloatArray, FloatArray]:
    """AUCs and their covariance for the rows of ``scores`` (Sun and Xu 2014, Algorithm 1)."""
    x, y = scores[:, is_pos], scores[:, ~is_pos]
    m, n = x.shape[1], y.shape[1]
    rank_x = stats.rankdata(x, axis=1)
    rank_y = stats.rankdata(y, axis=1)
    rank_all = stats.rankdata(np.hstack([x, y]), axis=1)
    v10 = (rank_all[:, :m] - rank_x) / n        # per positive: share of negatives below
    v01 = 1.0 - (rank_all[:, m:] - rank_y) / m  # per negative: share of positives above
    aucs: FloatArray = v10.mean(axis=1)
    covariance: FloatArray = np.cov(v10) / m + np.cov(v01) / n
    return aucs, np.atleast_2d(covariance)


def _normal_tail(value: float, se: float, *, strict: bool) -> float:
    """One-sided p-value of "the improvement is at most ``-shift``" (``value`` = difference
    + shift) under the normal approximation; with a zero standard error, 0 or 1.

    ``strict``: the hypothesis is "below" rather than "at most" (they differ only then).
    """
    if se > 0:
        return float(stats.norm.sf(value / se))
    return float(value < 0) if strict else float(value <= 0)


# -- validated inputs --------------------------------------------------------------------

def _metric(value: Metric | str) -> Metric:
    key = str(value).strip().lower()
    if key not in Metric._value2member_map_:
        raise InputError(f"Unknown metric {value!r}; choose from "
                         f"{', '.join(m.value for m in Metric)}.")
    return Metric(key)


def _metrics(values: Iterable[Metric | str]) -> list[Metric]:
    chosen = list(dict.fromkeys(_metric(value) for value in values))
    if not chosen:
        raise InputError("No metric was named; name at least one.")
    tasks = {_task(metric) for metric in chosen}
    if len(tasks) > 1:
        raise InputError(f"Metrics {', '.join(m.value for m in chosen)} mix classification "
                         "and regression; name metrics of one task.")
    return chosen


def _task(metric: Metric) -> Task:
    return Task.CLASSIFICATION if metric in DEFAULT_METRICS[Task.CLASSIFICATION] \
        else Task.REGRESSION


def _check_settings(confidence: float, n_boot: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence = {confidence!r}: give a level strictly between 0 and "
                         "1, such as 0.95.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise InputError(f"n_boot = {n_boot!r}: give a whole number of resamples of at least "
                         "1, such as 1000.")


def _column(values: ArrayLike, name: str) -> npt.NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InputError(f"{name} has shape {array.shape}; pass a 1-D array, one value per row.")
    return array


def _missing(array: npt.NDArray[Any]) -> int:
    if array.dtype.kind in "fc":
        return int(np.count_nonzero(np.isnan(array)))
    if array.dtype.kind == "O":  # None, NaN, pandas.NA and NaT of an object column
        import pandas as pd

        return int(pd.isna(array).sum())
    return 0


def _present(array: npt.NDArray[Any], name: str) -> npt.NDArray[Any]:
    """The distinct values of a label column that holds no missing value."""
    missing = _missing(array)
    if missing:
        raise InputError(f"{name} holds {missing} missing values (NaN or None); drop those "
                         "rows or fill them first.")
    try:
        return np.unique(array)
    except TypeError:
        raise InputError(f"{name} mixes values that cannot be ordered (such as numbers and "
                         "text); pass labels of one type.") from None


def _numbers(values: ArrayLike, name: str, rows: int) -> FloatArray:
    array = _column(values, name)
    if array.shape[0] != rows:
        raise InputError(f"{name} has {array.shape[0]} values but y_true has {rows}; pass one "
                         "per row.")
    try:
        numbers = array.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} holds values that are not numbers.") from None
    bad = int(np.count_nonzero(~np.isfinite(numbers)))
    if bad:
        raise InputError(f"{name} holds {bad} missing or infinite values (NaN); drop those "
                         "rows or fix the model's output.")
    return numbers


def _shown(labels: npt.NDArray[Any]) -> str:
    return ", ".join(repr(label) for label in labels.tolist()[:10])


@dataclass(frozen=True)
class _Rows:
    """The true labels or values, checked once and shared by every model scored on them."""

    task: Task
    truth: npt.NDArray[Any]
    labels: npt.NDArray[Any] | None
    codes: npt.NDArray[np.intp]  # positions in labels (classification); empty otherwise

    @property
    def n(self) -> int:
        return int(self.truth.shape[0])

    @property
    def n_classes(self) -> int:
        return 0 if self.labels is None else int(self.labels.shape[0])

    @classmethod
    def build(cls, y_true: ArrayLike, classes: Sequence[Any] | ArrayLike | None,
              metrics: list[Metric]) -> _Rows:
        task = _task(metrics[0])
        truth = _column(y_true, "y_true")
        if truth.shape[0] < 2:
            raise InputError(f"y_true has {truth.shape[0]} rows; an interval needs at least 2.")
        if task is Task.REGRESSION:
            values = _numbers(truth, "y_true", truth.shape[0])
            if Metric.R2 in metrics and np.all(values == values[0]):
                raise InputError("r2 is undefined when every true value is the same; "
                                 "evaluate on rows with varied targets or choose rmse or mae.")
            if Metric.MAPE in metrics and np.any(values == 0):
                raise InputError(f"mape is undefined: y_true holds "
                                 f"{int(np.count_nonzero(values == 0))} zeros; choose mae.")
            return cls(task, values, None, np.empty(0, dtype=np.intp))
        if classes is None:
            raise InputError(f"{metrics[0].value} is a classification metric: pass "
                             "classes=estimator.classes_.")
        labels = _column(np.asarray(classes), "classes")
        if np.unique(labels).shape[0] != labels.shape[0] or labels.shape[0] < 2:
            raise InputError(f"classes = {_shown(labels)}: give at least two distinct labels, "
                             "in predict_proba's column order.")
        present = _present(truth, "y_true")
        if present.shape[0] < 2:
            raise InputError(f"y_true holds one class only ({_shown(present)}); a classifier "
                             "is judged on rows of at least two classes: evaluate on data "
                             "with both outcomes.")
        codes = _codes(truth, labels, "y_true")
        if Metric.ROC_AUC in metrics and np.unique(codes).shape[0] < labels.shape[0]:
            absent = np.setdiff1d(labels, present)
            raise InputError(f"roc_auc is undefined: class {_shown(absent)} has no rows in "
                             "y_true; evaluate on rows of every class.")
        if Metric.BRIER in metrics and labels.shape[0] != 2:
            raise InputError("brier is reported for binary classifiers only; choose log_loss.")
        return cls(task, truth, labels, codes)

    def model(self, metrics: list[Metric], predictions: ArrayLike | None,
              proba: ArrayLike | None, who: str = "") -> _Model:
        """One model's answers, checked against these rows and what ``metrics`` need."""
        prefix = f"{who} " if who else ""
        if any(m in _NEEDS_PREDICTIONS for m in metrics) and predictions is None:
            raise InputError(f"{prefix}predictions are needed for "
                             f"{', '.join(m.value for m in metrics)}; pass predictions=.")
        if any(m in _NEEDS_PROBA for m in metrics) and proba is None:
            raise InputError(f"{', '.join(m.value for m in metrics if m in _NEEDS_PROBA)} "
                             f"needs {prefix}predicted probabilities (predict_proba); pass "
                             "proba=, or choose a metric of predicted labels.")
        if self.task is Task.REGRESSION:
            assert predictions is not None
            values = _numbers(predictions, f"{prefix}predictions", self.n)
            return _Model(self, Prepared.regression(self.truth, values), values, None)
        assert self.labels is not None
        codes = None
        pred = None
        if predictions is not None:
            pred = _column(predictions, f"{prefix}predictions")
            if pred.shape[0] != self.n:
                raise InputError(f"{prefix}predictions has {pred.shape[0]} values but y_true "
                                 f"has {self.n}; pass one per row.")
            _present(pred, f"{prefix}predictions")
            codes = _codes(pred, self.labels, f"{prefix}predictions")
        probabilities = None if proba is None else self._proba(proba, f"{prefix}proba")
        prepared = Prepared.classification(self.codes, codes, probabilities, self.n_classes)
        return _Model(self, prepared, pred, probabilities)

    def _proba(self, proba: ArrayLike, name: str) -> FloatArray:
        try:
            array = np.asarray(proba, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{name} holds values that are not numbers.") from None
        if array.ndim == 1 and self.n_classes == 2:
            array = np.column_stack([1.0 - array, array])
        if array.shape != (self.n, self.n_classes):
            raise InputError(f"{name} has shape {array.shape} but there are {self.n} rows and "
                             f"{self.n_classes} classes; pass predict_proba's output.")
        bad = int(np.count_nonzero(~np.isfinite(array).all(axis=1)))
        if bad:
            raise InputError(f"{name} holds missing or infinite values in {bad} rows (NaN); "
                             "pass predict_proba's output.")
        if array.min() < 0 or array.max() > 1:
            raise InputError(f"{name} holds values outside [0, 1]; pass probabilities "
                             "(predict_proba), not decision scores.")
        return array


def _codes(values: npt.NDArray[Any], labels: npt.NDArray[Any], name: str
           ) -> npt.NDArray[np.intp]:
    """Each value's position in ``labels`` (every value must be one of them)."""
    lookup = {label: i for i, label in enumerate(labels.tolist())}
    try:
        codes = np.fromiter((lookup.get(v, -1) for v in values.tolist()), dtype=np.intp,
                            count=values.shape[0])
    except TypeError:
        raise InputError(f"{name} holds values that cannot be labels.") from None
    if np.any(codes < 0):
        unknown = np.unique(values[codes < 0].astype(str))
        raise InputError(f"{name} holds labels {_shown(unknown)} that are not in classes "
                         f"{_shown(labels)}; pass classes=estimator.classes_.")
    return codes


@dataclass(frozen=True)
class _Model:
    """One model's checked answers on :class:`_Rows`."""

    rows: _Rows
    prepared: Prepared
    predictions: npt.NDArray[Any] | None
    proba: FloatArray | None

    def estimates(self, metrics: list[Metric]) -> list[float]:
        """Each metric exactly as :func:`rasad.evaluation.compute_metrics` computes it."""
        predictions = self.predictions
        if predictions is None:  # probability metrics only: the labels do not enter them
            assert self.rows.labels is not None and self.proba is not None
            predictions = self.rows.labels[self.proba.argmax(axis=1)]
        values = compute_metrics(self.rows.task, self.rows.truth, predictions, self.proba,
                                 classes=self.rows.labels, metrics=metrics)
        found = []
        for metric in metrics:
            value = values[metric.value]
            if value is None:
                raise InputError(f"{metric.value} cannot be computed on these rows; choose "
                                 "another metric or other evaluation data.")
            found.append(value)
        return found


__all__ = [
    "LOWER_IS_BETTER",
    "ChampionComparison",
    "DeLongResult",
    "Method",
    "MetricInterval",
    "Scored",
    "compare",
    "delong",
    "higher_is_better",
    "metric_interval",
    "metric_intervals",
]
