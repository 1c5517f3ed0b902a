"""Metrics over many weightings of the same rows at once: the engine of the bootstrap.

A bootstrap resample of ``n`` rows matters to every metric rasad computes only through how
many times it drew each row. :func:`resample_weights` draws ``n_boot`` resamples as row
counts (integer draws, one ``np.bincount`` per resample), a chunk of resamples at a time
so memory stays bounded, and each kernel turns a ``(resamples, rows)`` matrix of counts
into one value per resample with array operations:

- means of a per-row quantity (accuracy, log loss, Brier score, MAE, MAPE, and the
  squared error under RMSE and R2) are one matrix product;
- precision, recall and F1 come from weighted confusion counts (one matrix product),
  binary for ``classes[1]`` or macro-averaged over ``classes`` as in
  :mod:`rasad.evaluation.metrics`, 0.0 where a denominator is zero;
- ROC AUC is the weighted Mann-Whitney statistic: rows sorted by score once, tied scores
  counted half (macro average of one-vs-rest AUCs for several classes).

With every weight 1 a kernel gives scikit-learn's value (tests/evaluation check it
against :func:`rasad.evaluation.compute_metrics`). A value undefined in a resample (ROC
AUC when a class was not drawn, R2 when the drawn truths are all equal) is NaN.

>>> import numpy as np
>>> data = Prepared.regression(np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0]))
>>> kernel(Metric.MAE, data)(np.array([[1.0, 1.0, 1.0], [3.0, 0.0, 0.0]])).tolist()
[0.5, 0.5]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rasad.evaluation.metrics import Metric

FloatArray = npt.NDArray[np.float64]
Kernel = Callable[[FloatArray], FloatArray]
"""Weights of shape ``(resamples, rows)`` to one metric value per resample."""

CHUNK_CELLS: Final = 1_000_000
"""Resamples x rows of counts held in memory at once (8 MB of float64)."""


def resample_weights(n: int, n_boot: int, seed: int) -> Iterator[tuple[int, FloatArray]]:
    """Yield ``(first, weights)``: bootstrap row counts of resamples ``first, first + 1, ...``.

    ``weights`` has shape ``(count, n)``; each row sums to ``n``. The same ``seed`` gives
    the same resamples, so two models scored on the same rows are resampled in pairs.
    The array is reused from one chunk to the next: use it before asking for the next.

    >>> [(first, w.sum(axis=1).tolist()) for first, w in resample_weights(4, 3, seed=0)]
    [(0, [4.0, 4.0, 4.0])]
    """
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, CHUNK_CELLS // max(n, 1)))
    buffer = np.empty((chunk, n), dtype=np.float64)
    index = np.int32 if n < np.iinfo(np.int32).max else np.int64
    for first in range(0, n_boot, chunk):
        count = min(chunk, n_boot - first)
        drawn = rng.integers(0, n, size=(count, n), dtype=index)
        for row in range(count):  # one row at a time: its counts stay in cache
            buffer[row] = np.bincount(drawn[row], minlength=n)
        yield first, buffer[:count]


@dataclass(frozen=True)
class Prepared:
    """Validated rows as the kernels read them.

    Classification: ``truth`` and ``pred`` are positions in the class list (``pred`` is
    None without predictions), ``proba`` one column per class. Regression: ``truth`` and
    ``pred`` are the values.
    """

    truth: npt.NDArray[Any]
    pred: npt.NDArray[Any] | None
    proba: FloatArray | None
    n_classes: int  # 0 for a regression

    @classmethod
    def classification(cls, codes_true: npt.NDArray[np.intp],
                       codes_pred: npt.NDArray[np.intp] | None, proba: FloatArray | None,
                       n_classes: int) -> Prepared:
        return cls(codes_true, codes_pred, proba, n_classes)

    @classmethod
    def regression(cls, truth: FloatArray, pred: FloatArray) -> Prepared:
        return cls(truth, pred, None, 0)

    @property
    def binary(self) -> bool:
        return self.n_classes == 2


def kernel(metric: Metric, data: Prepared) -> Kernel:
    """The weighted form of ``metric`` on ``data`` (its inputs must be present)."""
    return _BUILDERS[metric](data)


@dataclass(frozen=True)
class Linear:
    """A metric computed from weighted sums of per-row columns: ``finish(weights @ columns)``."""

    columns: FloatArray
    finish: Callable[[FloatArray], FloatArray]

    def __call__(self, weights: FloatArray) -> FloatArray:
        return self.finish(weights @ self.columns)


class Batch:
    """Several kernels on the same weights; the linear ones share one matrix product.

    >>> import numpy as np
    >>> data = Prepared.regression(np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0]))
    >>> batch = Batch([kernel(Metric.MAE, data), kernel(Metric.RMSE, data)])
    >>> batch(np.ones((1, 3))).round(4).tolist()
    [[0.5], [0.6455]]
    """

    def __init__(self, kernels: list[Kernel]) -> None:
        self.kernels = kernels
        linear = [k for k in kernels if isinstance(k, Linear)]
        self._columns = np.hstack([k.columns for k in linear]) if linear else None
        ends = np.cumsum([k.columns.shape[1] for k in linear]).tolist()
        self._slices = dict(zip((id(k) for k in linear),
                                (slice(end - k.columns.shape[1], end)
                                 for k, end in zip(linear, ends, strict=True)), strict=True))

    def __call__(self, weights: FloatArray) -> FloatArray:
        """One row of values per kernel, one column per resample."""
        sums = None if self._columns is None else weights @ self._columns
        out = np.empty((len(self.kernels), weights.shape[0]))
        for i, k in enumerate(self.kernels):
            if isinstance(k, Linear) and sums is not None:
                out[i] = k.finish(sums[:, self._slices[id(k)]])
            else:
                out[i] = k(weights)
        return out


def _ratio(sums: FloatArray) -> FloatArray:
    result: FloatArray = sums[:, 0] / sums[:, 1]
    return result


def _weighted_mean(values: FloatArray) -> Linear:
    return Linear(np.column_stack([values, np.ones_like(values)]), _ratio)


def _pred(data: Prepared) -> npt.NDArray[Any]:
    if data.pred is None:
        raise ValueError("predictions are needed")  # callers check first
    return data.pred


def _proba(data: Prepared) -> FloatArray:
    if data.proba is None:
        raise ValueError("probabilities are needed")  # callers check first
    return data.proba


def _accuracy(data: Prepared) -> Kernel:
    return _weighted_mean((data.truth == _pred(data)).astype(np.float64))


def _log_loss(data: Prepared) -> Kernel:
    # scikit-learn clips to [eps, 1 - eps] and takes the true class's column
    proba = _proba(data)
    eps = np.finfo(proba.dtype).eps
    chosen = np.clip(proba[np.arange(proba.shape[0]), data.truth], eps, 1 - eps)
    return _weighted_mean(-np.log(chosen))


def _brier(data: Prepared) -> Kernel:
    return _weighted_mean((_proba(data)[:, 1] - (data.truth == 1)) ** 2)


def _divide(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """numerator / denominator, 0.0 where the denominator is 0 (scikit-learn's zero_division)."""
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, 0.0)


def _confusion(data: Prepared, score: Callable[[FloatArray, FloatArray, FloatArray], FloatArray]
               ) -> Linear:
    """A kernel from per-class (true positives, predicted, actual) weighted counts."""
    truth, pred = data.truth, _pred(data)
    classes = [1] if data.binary else list(range(data.n_classes))
    columns = np.column_stack(
        [column for c in classes
         for column in ((truth == c) & (pred == c), pred == c, truth == c)]).astype(np.float64)

    def by_class(sums: FloatArray) -> FloatArray:
        counts = sums.reshape(sums.shape[0], len(classes), 3)
        result: FloatArray = score(counts[..., 0], counts[..., 1], counts[..., 2]).mean(axis=1)
        return result
    return Linear(columns, by_class)


def _precision(data: Prepared) -> Kernel:
    return _confusion(data, lambda tp, predicted, actual: _divide(tp, predicted))


def _recall(data: Prepared) -> Kernel:
    return _confusion(data, lambda tp, predicted, actual: _divide(tp, actual))


def _f1(data: Prepared) -> Kernel:
    return _confusion(data, lambda tp, predicted, actual: _divide(2 * tp, predicted + actual))


def _auc_of(positive: npt.NDArray[np.bool_], score: FloatArray) -> Kernel:
    """Weighted Mann-Whitney AUC of ``score`` for ``positive`` against the other rows.

    The smaller class is the "outer" one, the larger the "inner" one. Each outer row
    needs the inner weight scored below it (plus half the inner weight tied with it):
    a cumulative sum over the inner rows in score order, read at two positions found by
    binary search once. Only those positions matter, so the inner rows are pooled into
    the segments between them, and outer rows that read the same positions into one
    group; per resample, one weighted ``np.bincount`` over a fixed key per row gives
    every segment's and group's weight, and what is left is a cumulative sum over the
    segments (at most twice the outer rows, far fewer on tied scores).
    """
    outer_is_pos = int(positive.sum()) * 2 <= positive.shape[0]
    outer_rows = np.flatnonzero(positive if outer_is_pos else ~positive)
    inner_rows = np.flatnonzero(~positive if outer_is_pos else positive)
    inner_order = np.argsort(score[inner_rows], kind="stable")
    inner_scores = score[inner_rows][inner_order]
    low = np.searchsorted(inner_scores, score[outer_rows], side="left")
    high = np.searchsorted(inner_scores, score[outer_rows], side="right")
    bounds = np.unique(np.concatenate([low, high]))
    segments = bounds.shape[0] + 1  # segment s holds inner positions [bounds[s-1], bounds[s])
    key = np.empty(positive.shape[0], dtype=np.intp)
    position = np.empty(inner_rows.shape[0], dtype=np.intp)
    position[inner_order] = np.arange(inner_rows.shape[0])
    key[inner_rows] = np.searchsorted(bounds, position, side="right")
    reads, group = np.unique(np.stack([np.searchsorted(bounds, low),
                                       np.searchsorted(bounds, high)]),
                             axis=1, return_inverse=True)
    key[outer_rows] = segments + group.ravel()
    bins = segments + reads.shape[1]
    read_low, read_high = reads
    tied = not np.array_equal(read_low, read_high)

    def auc(weights: FloatArray) -> FloatArray:
        pooled = np.empty((weights.shape[0], bins))
        for row in range(weights.shape[0]):
            pooled[row] = np.bincount(key, weights=weights[row], minlength=bins)
        below = np.cumsum(pooled[:, :segments - 1], axis=1)  # inner weight below bounds[j]
        outer = pooled[:, segments:]
        won = np.einsum("ij,ij->i", outer, np.take(below, read_low, axis=1))
        if tied:
            won += np.einsum("ij,ij->i", outer, np.take(below, read_high, axis=1))
            won *= 0.5
        pairs = outer.sum(axis=1) * (below[:, -1] + pooled[:, segments - 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            share = won / pairs
        value: FloatArray = np.where(pairs > 0, share if outer_is_pos else 1.0 - share, np.nan)
        return value
    return auc


def _roc_auc(data: Prepared) -> Kernel:
    proba = _proba(data)
    if data.binary:
        return _auc_of(data.truth == 1, proba[:, 1])
    parts = [_auc_of(data.truth == c, proba[:, c]) for c in range(data.n_classes)]

    def macro(weights: FloatArray) -> FloatArray:
        result: FloatArray = np.mean([part(weights) for part in parts], axis=0)
        return result
    return macro


def _errors(data: Prepared) -> FloatArray:
    errors: FloatArray = _pred(data) - data.truth
    return errors


def _rmse(data: Prepared) -> Kernel:
    errors = _errors(data)
    return Linear(np.column_stack([errors ** 2, np.ones_like(errors)]),
                  lambda sums: np.sqrt(_ratio(sums)))


def _mae(data: Prepared) -> Kernel:
    return _weighted_mean(np.abs(_errors(data)))


def _mape(data: Prepared) -> Kernel:
    eps = np.finfo(np.float64).eps
    return _weighted_mean(np.abs(_errors(data)) / np.maximum(np.abs(data.truth), eps))


def _r2(data: Prepared) -> Kernel:
    truth = data.truth - data.truth.mean()  # centred once: sums of squares lose less

    def r2(sums: FloatArray) -> FloatArray:
        sse, s1, s2, total = sums.T
        sst = s2 - s1 * s1 / total
        with np.errstate(divide="ignore", invalid="ignore"):
            value: FloatArray = np.where(sst > 0, 1.0 - sse / sst, np.nan)
        return value
    return Linear(np.column_stack([_errors(data) ** 2, truth, truth ** 2, np.ones_like(truth)]),
                  r2)


_BUILDERS: Final[dict[Metric, Callable[[Prepared], Kernel]]] = {
    Metric.ACCURACY: _accuracy,
    Metric.PRECISION: _precision,
    Metric.RECALL: _recall,
    Metric.F1: _f1,
    Metric.ROC_AUC: _roc_auc,
    Metric.LOG_LOSS: _log_loss,
    Metric.BRIER: _brier,
    Metric.RMSE: _rmse,
    Metric.MAE: _mae,
    Metric.R2: _r2,
    Metric.MAPE: _mape,
}

__all__ = ["CHUNK_CELLS", "Batch", "Kernel", "Linear", "Prepared", "kernel", "resample_weights"]
