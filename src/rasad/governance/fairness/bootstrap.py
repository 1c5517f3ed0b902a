"""Vectorised, stratified bootstrap of group metrics and disparity measures.

Resampling is within groups: each resample draws, for every group, as many rows as the
group has, with replacement, from that group's rows only. Every group is therefore
present at its original size in every resample, however small it is.

For every metric computed from the confusion matrix (base rate, selection rate, true
and false positive rates, precision, accuracy), a resample of a group's rows matters
only through its four cell counts (true negatives, false positives, false negatives,
true positives). Drawing ``n_g`` rows with replacement from a group whose cells hold
``c_0..c_3`` rows gives cell counts distributed exactly as
``Multinomial(n_g, c / n_g)``; so :func:`resample_cells` draws all resamples of all
groups in one ``Generator.multinomial`` call, an array of shape
``(n_boot, n_groups, 4)``. The cost does not depend on the number of rows.

ROC AUC depends on which rows were drawn, not only on the cells. :func:`resample_auc`
draws each resample's row indices (``Generator.integers``) and counts how often each
row was drawn (one ``np.bincount`` per chunk), then computes the weighted Mann-Whitney
statistic with the scores sorted once, ties counted half, in array operations over
chunks of resamples.
Its cost grows with rows times resamples, so it runs on at most :data:`MAX_AUC_BOOT`
(200) resamples; the interval of roc_auc uses those.

Intervals are percentile intervals: at confidence ``c`` the ``(1 - c) / 2`` and
``(1 + c) / 2`` quantiles of the resampled values (resamples in which a figure is
undefined, such as a rate whose denominator was drawn empty, are left out).

>>> import numpy as np
>>> cells = np.array([[40, 10, 10, 40], [45, 5, 20, 30]])
>>> draws = resample_cells(cells, 1000, np.random.default_rng(0))
>>> draws.shape, bool((draws.sum(axis=2) == cells.sum(axis=1)).all())
((1000, 2, 4), True)
>>> rates = group_rates(cells)
>>> rates["selection_rate"].tolist(), rates["true_positive_rate"].tolist()
([0.5, 0.35], [0.8, 0.6])
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from rasad.governance.fairness.terms import GroupMetric

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TN, FP, FN, TP = 0, 1, 2, 3
"""Positions of the confusion-matrix cells in the last axis of a cell-count array."""

MAX_AUC_BOOT: Final = 200
"""At most this many resamples are used for the interval of roc_auc."""

_CHUNK_CELLS: Final = 20_000_000
"""Resamples x rows held in memory at once by :func:`resample_auc`."""


def cell_counts(codes: npt.NDArray[np.intp], y_true: IntArray, y_pred: IntArray,
                n_groups: int) -> IntArray:
    """Confusion-matrix cells per group, shape ``(n_groups, 4)`` (TN, FP, FN, TP).

    >>> import numpy as np
    >>> cell_counts(np.array([0, 0, 1]), np.array([1, 0, 1]), np.array([1, 1, 0]), 2)
    array([[0, 1, 0, 1],
           [0, 0, 1, 0]])
    """
    flat = np.bincount(codes * 4 + y_true * 2 + y_pred, minlength=4 * n_groups)
    return flat.reshape(n_groups, 4).astype(np.int64)


def resample_cells(cells: IntArray, n_boot: int, rng: np.random.Generator) -> IntArray:
    """``n_boot`` stratified resamples of the cell counts, shape ``(n_boot, n_groups, 4)``."""
    sizes = cells.sum(axis=1)
    pvals = cells / np.maximum(sizes, 1)[:, None]
    return rng.multinomial(sizes, pvals, size=(n_boot, len(sizes))).astype(np.int64)


def _ratio(numerator: npt.NDArray[np.int64], denominator: npt.NDArray[np.int64]) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1),
                        np.nan)


def group_rates(cells: IntArray) -> dict[GroupMetric, FloatArray]:
    """Every confusion-matrix metric from cell counts of shape ``(..., n_groups, 4)``.

    A metric whose denominator is zero is NaN.
    """
    tn, fp, fn, tp = (cells[..., i] for i in (TN, FP, FN, TP))
    n = tn + fp + fn + tp
    return {
        GroupMetric.BASE_RATE: _ratio(tp + fn, n),
        GroupMetric.SELECTION_RATE: _ratio(tp + fp, n),
        GroupMetric.TRUE_POSITIVE_RATE: _ratio(tp, tp + fn),
        GroupMetric.FALSE_POSITIVE_RATE: _ratio(fp, fp + tn),
        GroupMetric.PRECISION: _ratio(tp, tp + fp),
        GroupMetric.ACCURACY: _ratio(tp + tn, n),
    }


def _weighted_auc(weights: FloatArray, positive: npt.NDArray[np.bool_],
                  starts: npt.NDArray[np.intp]) -> FloatArray:
    """AUC per row of ``weights`` (resamples x rows sorted by score; ties start at ``starts``)."""
    pos = np.add.reduceat(weights * positive, starts, axis=1)
    neg = np.add.reduceat(weights * ~positive, starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    total = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (pos * (below + 0.5 * neg)).sum(axis=1) / total
    return np.where(total > 0, auc, np.nan)


def resample_auc(codes: npt.NDArray[np.intp], y_true: IntArray, y_score: FloatArray,
                 n_groups: int, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """Stratified bootstrap of roc_auc per group, shape ``(n_boot, n_groups)``.

    Groups with a single class give NaN.

    >>> import numpy as np
    >>> codes = np.zeros(6, dtype=np.intp)
    >>> y, s = np.array([0, 0, 1, 1, 0, 1]), np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.25])
    >>> draws = resample_auc(codes, y, s, 1, 50, np.random.default_rng(0))
    >>> draws.shape, bool(np.nanmax(draws) <= 1.0)
    ((50, 1), True)
    """
    out = np.full((n_boot, n_groups), np.nan)
    for group in range(n_groups):
        rows = np.flatnonzero(codes == group)
        labels = y_true[rows]
        if labels.min(initial=1) == labels.max(initial=0):
            continue
        order = np.argsort(y_score[rows], kind="stable")
        scores, positive = y_score[rows][order], labels[order].astype(bool)
        starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
        size = len(rows)
        chunk = max(1, _CHUNK_CELLS // size)
        for first in range(0, n_boot, chunk):
            count = min(chunk, n_boot - first)
            drawn = rng.integers(0, size, size=(count, size))
            drawn += np.arange(count)[:, None] * size
            weights = np.bincount(drawn.ravel(), minlength=count * size).reshape(
                count, size).astype(np.float64)
            out[first:first + count, group] = _weighted_auc(weights, positive, starts)
    return out


def percentile_interval(samples: FloatArray, confidence: float
                        ) -> tuple[FloatArray, FloatArray]:
    """Percentile interval over the first axis, ignoring NaN (all NaN gives NaN).

    >>> import numpy as np
    >>> lower, upper = percentile_interval(np.arange(101.0)[:, None], 0.5)
    >>> lower.tolist(), upper.tolist()
    ([25.0], [75.0])
    """
    tail = (1.0 - confidence) / 2.0
    none = np.isnan(samples).all(axis=0)
    filled = np.where(none, 0.0, samples)
    lower = np.nanquantile(filled, tail, axis=0)
    upper = np.nanquantile(filled, 1.0 - tail, axis=0)
    return np.where(none, np.nan, lower), np.where(none, np.nan, upper)
