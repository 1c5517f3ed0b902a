"""Direct loss estimation (DLE): a regression model's error per chunk, without labels.

NannyML's idea: a second model learns, on the labelled reference, how large
the first model's error is from the features and the prediction. On current
data, the mean predicted error of a chunk estimates its realized error.

rasad's version, step by step:

1. **Loss models.** For MAE a scikit-learn ``HistGradientBoostingRegressor``
   is trained to predict ``|y - prediction|``; for RMSE another one predicts
   ``(y - prediction)**2``. Both see the named feature columns and the
   prediction. Text and categorical columns are passed as native categories
   (the reference's 254 most frequent values; others and missing values are
   missing), numbers as they are (missing values allowed). NannyML trains
   LightGBM with its defaults; rasad uses scikit-learn to stay within its
   dependencies.
2. **Estimates.** A chunk's MAE is the mean of its predicted absolute errors;
   its RMSE the square root of the mean of its predicted squared errors
   (predictions below zero count as zero).
3. **Honest reference estimates.** The reference's own estimates are
   cross-fitted: each fold is predicted by a loss model trained on the other
   folds (``folds=5``, shuffled with ``random_state``), so the thresholds and
   the reference timeline do not flatter the estimator. ``folds=None`` uses
   the in-sample fit, as NannyML does.
4. **Confidence band.** The realized MAE of ``n`` rows scatters around its
   estimate by about ``s * estimate / sqrt(n)``, where ``s`` is the standard
   deviation of the cross-fitted residuals ``|e| - predicted |e|`` on the
   reference, relative to the reference MAE (the error's spread is assumed to
   scale with its size). RMSE uses the same with squared errors and the delta
   method (``std(rmse) = std(mse) / (2 * rmse)``). Band: ``estimate ± z * std``,
   clipped at 0.

Like CBPE, DLE assumes the relation between the inputs and the error holds on
the current data (covariate shift, no concept drift).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from rasad.drift.chunking import Chunk, Chunker
from rasad.errors import InputError
from rasad.evaluation.metrics import Metric, Task, parse_metrics
from rasad.monitoring.estimation import (
    EstimatedChunk,
    EstimatedMetric,
    EstimationMethod,
    EstimationReport,
    ThresholdBasis,
    _banded,
    _enum,
    _thresholds,
    _z,
)
from rasad.monitoring.performance import (
    MIN_CHUNK_ROWS,
    ChunkStatus,
    _check_frame,
    _check_min_rows,
    _chunking_dict,
    _Design,
    _numeric,
    _realized,
    _reference_warnings,
    _row_status,
    _with_alerts,
)
from rasad.monitoring.thresholds import StdThreshold, Threshold

DLE_METRICS: tuple[Metric, ...] = (Metric.MAE, Metric.RMSE)
"""The metrics DLE estimates, and its default."""

MIN_REFERENCE_ROWS = 50
"""Fewer labelled reference rows than this cannot train a loss model worth trusting."""

class DLE:
    """Direct loss estimation of a regression model's MAE and RMSE.

    Parameters
    ----------
    target, prediction : str
        Columns of the true value (needed in the reference only) and the model's
        prediction.
    features : sequence of str
        The columns the loss models learn from (usually the model's inputs).
    chunker : Chunker, optional
        Default ``Chunker()``, 10 equal parts per side.
    metrics : iterable of Metric or str, optional
        A subset of :data:`DLE_METRICS` (the default).
    confidence : float, default 0.95
        Coverage of the confidence band.
    threshold : Threshold, optional
        Default ``StdThreshold(3.0)``.
    thresholds_from : ThresholdBasis or str, default "estimated"
        Set thresholds from the reference chunks' (cross-fitted) estimates or
        their realized values.
    min_chunk_rows : int, default 30
    folds : int or None, default 5
        Cross-fitting folds for the reference's estimates; ``None`` for in-sample.
    max_iter, learning_rate : int, float
        Passed to each ``HistGradientBoostingRegressor`` (defaults 100 and 0.1,
        scikit-learn's).
    threads : int or None, default 1
        OpenMP threads for the loss models. One by default: on loss-model-sized
        data on a shared machine, threads spend longer waiting for each other
        than computing (20-25x slower measured on 2 shared cores). ``None`` lets
        scikit-learn use every core; measure before you switch.
    random_state : int, default 0
        Seeds the folds and the regressors.

    Attributes
    ----------
    models_ : dict of str to HistGradientBoostingRegressor
        One loss model per metric, trained on the whole labelled reference.
    thresholds_ : dict of str to Bounds
    reference_ : tuple of EstimatedChunk

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> def draw(n, shift):
    ...     x = rng.normal(shift, 1.0, n)
    ...     y = 2 * x + rng.normal(0, 0.5 + np.abs(x), n)   # noisier away from 0
    ...     return pd.DataFrame({"x": x, "y": y, "pred": 2 * x})
    >>> dle = DLE(target="y", prediction="pred", features=["x"],
    ...           chunker=Chunker(size=500), max_iter=50).fit(draw(5000, 0.0))
    >>> report = dle.estimate(draw(1500, 1.5))
    >>> [round(c.metrics["mae"].estimate, 2) for c in report.current]
    [1.56, 1.57, 1.58]
    >>> [round(c.metrics["mae"].realized, 2) for c in report.current]
    [1.62, 1.49, 1.67]
    >>> len(report.alerts) > 0
    True
    """

    def __init__(
        self,
        *,
        target: str,
        prediction: str,
        features: Sequence[str],
        chunker: Chunker | None = None,
        metrics: Iterable[Metric | str] | str | None = None,
        confidence: float = 0.95,
        threshold: Threshold | None = None,
        thresholds_from: ThresholdBasis | str = ThresholdBasis.ESTIMATED,
        min_chunk_rows: int = MIN_CHUNK_ROWS,
        folds: int | None = 5,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        threads: int | None = 1,
        random_state: int = 0,
    ) -> None:
        self.target = target
        self.prediction = prediction
        self.features = features
        self.chunker = chunker
        self.metrics = metrics
        self.confidence = confidence
        self.threshold = threshold
        self.thresholds_from = thresholds_from
        self.min_chunk_rows = min_chunk_rows
        self.folds = folds
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.threads = threads
        self.random_state = random_state

    def fit(self, reference: pd.DataFrame) -> DLE:
        """Train the loss models on the labelled reference and set thresholds."""
        with threadpool_limits(limits=self.threads, user_api="openmp"):
            return self._fit(reference)

    def estimate(self, current: pd.DataFrame) -> EstimationReport:
        """Estimate the error of every chunk of ``current`` (its target may be absent)."""
        with threadpool_limits(limits=self.threads, user_api="openmp"):
            return self._estimate(current)

    def _fit(self, reference: pd.DataFrame) -> DLE:
        self._metrics, self._z = _dle_metrics(self.metrics), _z(self.confidence)
        self._basis = _enum(ThresholdBasis, self.thresholds_from, "thresholds_from")
        _check_min_rows(self.min_chunk_rows)
        features = self._features()
        _check_frame(reference, "reference", [self.target, self.prediction, *features])
        if self.folds is not None and (isinstance(self.folds, bool)
                                       or not isinstance(self.folds, int) or self.folds < 2):
            raise InputError(f"folds must be a whole number >= 2, or None for in-sample "
                             f"reference estimates; got {self.folds!r}.")
        truth = _numeric(reference[self.target], "reference", self.target, allow_missing=True)
        pred = _numeric(reference[self.prediction], "reference", self.prediction)
        labelled = ~np.isnan(truth)
        if labelled.sum() < MIN_REFERENCE_ROWS:
            raise InputError(f"The reference has {int(labelled.sum())} labelled row(s); DLE "
                             f"needs at least {MIN_REFERENCE_ROWS} to learn the model's error.")
        self._design = _Design.learn(reference.loc[labelled], [*features, self.prediction])
        x = self._design.matrix(reference, "reference")
        error = truth - pred
        self.models_: dict[str, HistGradientBoostingRegressor] = {}
        self._spread: dict[str, float] = {}
        predicted = np.full((len(reference), len(self._metrics)), np.nan)
        for j, metric in enumerate(self._metrics):
            loss = _loss(metric, error)
            self.models_[metric.value] = self._regressor().fit(x[labelled], loss[labelled])
            predicted[:, j] = self._reference_losses(metric, x, loss, labelled)
            residual = loss[labelled] - predicted[labelled, j]
            self._spread[metric.value] = float(residual.std() / loss[labelled].mean()) \
                if loss[labelled].mean() > 0 else 0.0
        chunks = [self._chunk(c, predicted, truth, pred, labelled)
                  for c in self._chunker.split(reference)]
        self.thresholds_ = _thresholds(chunks, self._metrics, self._threshold, self._basis)
        self.reference_ = tuple(_with_alerts(c, self.thresholds_, "estimate") for c in chunks)
        return self

    def _estimate(self, current: pd.DataFrame) -> EstimationReport:
        if not hasattr(self, "thresholds_"):
            raise InputError("This DLE is not fitted yet; call fit(reference) first.")
        _check_frame(current, "current", [self.prediction, *self._features()])
        x = self._design.matrix(current, "current")
        pred = _numeric(current[self.prediction], "current", self.prediction)
        if self.target in current.columns:
            truth = _numeric(current[self.target], "current", self.target, allow_missing=True)
        else:
            truth = np.full(len(current), np.nan)
        predicted = np.column_stack([np.clip(self.models_[m.value].predict(x), 0.0, None)
                                     for m in self._metrics])
        chunks = [self._chunk(c, predicted, truth, pred, ~np.isnan(truth))
                  for c in self._chunker.split(current)]
        return EstimationReport(
            method=EstimationMethod.DLE, metrics=tuple(m.value for m in self._metrics),
            confidence=float(self.confidence), chunking=_chunking_dict(self._chunker),
            threshold=self._threshold.to_dict(), thresholds_from=self._basis,
            thresholds=self.thresholds_, reference=self.reference_,
            current=tuple(_with_alerts(c, self.thresholds_, "estimate") for c in chunks),
            features=tuple(self._features()),
            warnings=_reference_warnings(self.reference_, self._threshold),
        )

    @property
    def _chunker(self) -> Chunker:
        return Chunker() if self.chunker is None else self.chunker

    @property
    def _threshold(self) -> Threshold:
        return StdThreshold() if self.threshold is None else self.threshold

    def _features(self) -> list[str]:
        if isinstance(self.features, str) or not list(self.features):
            raise InputError("DLE needs features=, a list of the columns the model reads "
                             "(the loss models learn the error from them).")
        features = list(dict.fromkeys(self.features))
        clash = [c for c in (self.target, self.prediction) if c in features]
        if clash:
            raise InputError(f"features must not include {', '.join(map(repr, clash))}; the "
                             "prediction is added for you and the target is what is missing.")
        return features

    def _regressor(self) -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(
            max_iter=self.max_iter, learning_rate=self.learning_rate,
            categorical_features=self._design.mask if any(self._design.mask) else None,
            random_state=self.random_state)

    def _reference_losses(self, metric: Metric, x: npt.NDArray[np.float64],
                          loss: npt.NDArray[np.float64],
                          labelled: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        full = self.models_[metric.value]
        predicted = np.clip(full.predict(x), 0.0, None)
        if self.folds is None:
            return predicted
        rows = np.flatnonzero(labelled)
        folds = KFold(n_splits=min(self.folds, len(rows)), shuffle=True,
                      random_state=self.random_state)
        for train, test in folds.split(rows):
            model = self._regressor().fit(x[rows[train]], loss[rows[train]])
            predicted[rows[test]] = np.clip(model.predict(x[rows[test]]), 0.0, None)
        return predicted

    def _chunk(self, chunk: Chunk, predicted: npt.NDArray[np.float64],
               truth: npt.NDArray[np.float64], pred: npt.NDArray[np.float64],
               labelled: npt.NDArray[np.bool_]) -> EstimatedChunk:
        index = chunk.index
        labelled_index = index[labelled[index]]
        status, reason = _row_status(chunk.rows, self.min_chunk_rows, labels=False)
        if status is not ChunkStatus.OK:
            values = {m.value: EstimatedMetric(metric=m.value, estimate=None, reason=reason)
                      for m in self._metrics}
            return EstimatedChunk(key=chunk.key, start=chunk.start, end=chunk.end,
                                  rows=chunk.rows, labelled_rows=len(labelled_index),
                                  status=status, metrics=values, reason=reason)
        realized: dict[str, float | None] = {}
        if len(labelled_index) >= self.min_chunk_rows:
            realized = {name: value.value for name, value in _realized(
                Task.REGRESSION, truth[labelled_index], pred[labelled_index], None, None,
                self._metrics).items()}
        values = {}
        root_n = math.sqrt(chunk.rows)
        for j, metric in enumerate(self._metrics):
            mean_loss = float(predicted[index, j].mean())
            spread = self._spread[metric.value]
            if metric is Metric.MAE:
                value, std = mean_loss, spread * mean_loss / root_n
            else:
                value = math.sqrt(mean_loss)
                std = spread * value / (2.0 * root_n)
            values[metric.value] = _banded(metric.value, value, std,
                                           realized.get(metric.value), self._z, None)
        return EstimatedChunk(key=chunk.key, start=chunk.start, end=chunk.end, rows=chunk.rows,
                              labelled_rows=len(labelled_index), status=status, metrics=values)


def estimate_regression(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    target: str,
    prediction: str,
    features: Sequence[str],
    chunker: Chunker | None = None,
    metrics: Iterable[Metric | str] | str | None = None,
    confidence: float = 0.95,
    threshold: Threshold | None = None,
    thresholds_from: ThresholdBasis | str = ThresholdBasis.ESTIMATED,
    min_chunk_rows: int = MIN_CHUNK_ROWS,
    folds: int | None = 5,
    max_iter: int = 100,
    learning_rate: float = 0.1,
    threads: int | None = 1,
    random_state: int = 0,
) -> EstimationReport:
    """Estimate a regression model's MAE and RMSE per chunk without labels (DLE).

    ``DLE(...).fit(reference).estimate(current)``; see :class:`DLE` for the
    parameters and the module notes for the method.

    Returns
    -------
    EstimationReport

    Raises
    ------
    InputError
        If a side is empty, a column is missing, no features are named, the
        reference has fewer than 50 labelled rows, or a value is not a number.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> x = rng.normal(size=3000)
    >>> frame = pd.DataFrame({"x": x, "y": x + rng.normal(0, 1 + (x > 1), 3000), "pred": x})
    >>> report = estimate_regression(frame[:2000], frame[2000:].drop(columns="y"), target="y",
    ...                              prediction="pred", features=["x"], metrics=["rmse"],
    ...                              chunker=Chunker(size=500), folds=None, max_iter=30)
    >>> rmse = report.current[0].metrics["rmse"]
    >>> round(rmse.estimate, 3), round(rmse.band_lower, 3), round(rmse.band_upper, 3)
    (1.256, 1.159, 1.352)
    """
    return DLE(
        target=target, prediction=prediction, features=features, chunker=chunker,
        metrics=metrics, confidence=confidence, threshold=threshold,
        thresholds_from=thresholds_from, min_chunk_rows=min_chunk_rows, folds=folds,
        max_iter=max_iter, learning_rate=learning_rate, threads=threads,
        random_state=random_state,
    ).fit(reference).estimate(current)


def _loss(metric: Metric, error: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.abs(error) if metric is Metric.MAE else error**2


def _dle_metrics(metrics: Iterable[Metric | str] | str | None) -> tuple[Metric, ...]:
    if metrics is None:
        return DLE_METRICS
    chosen = parse_metrics(metrics, Task.REGRESSION)
    other = [m.value for m in chosen if m not in DLE_METRICS]
    if other:
        raise InputError(f"DLE does not estimate {', '.join(other)}; choose from "
                         f"{', '.join(m.value for m in DLE_METRICS)}.")
    return chosen


__all__ = ["DLE", "DLE_METRICS", "MIN_REFERENCE_ROWS", "estimate_regression"]
