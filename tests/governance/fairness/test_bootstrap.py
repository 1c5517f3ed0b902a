"""The vectorised bootstrap equals row resampling within groups, in distribution and exactly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from rasad.governance.fairness import GroupMetric
from rasad.governance.fairness import bootstrap as boot


def test_resamples_keep_every_group_at_its_size() -> None:
    cells = np.array([[5, 1, 0, 2], [400, 50, 30, 120]])
    draws = boot.resample_cells(cells, 500, np.random.default_rng(0))
    assert (draws.sum(axis=2) == cells.sum(axis=1)).all()
    assert (draws >= 0).all()


def test_cell_resampling_matches_row_resampling_in_distribution() -> None:
    rng = np.random.default_rng(1)
    codes = np.repeat([0, 1], [300, 80])
    y, pred = rng.integers(0, 2, 380), rng.integers(0, 2, 380)
    cells = boot.cell_counts(codes, y, pred, 2)
    fast = boot.group_rates(boot.resample_cells(cells, 4000, np.random.default_rng(2)))
    rows = [np.flatnonzero(codes == g) for g in (0, 1)]
    slow_rates = []
    draw = np.random.default_rng(3)
    for _ in range(4000):
        picked = np.concatenate([draw.choice(r, len(r)) for r in rows])
        slow_rates.append(boot.group_rates(boot.cell_counts(codes[picked], y[picked],
                                                            pred[picked], 2)))
    for metric in (GroupMetric.SELECTION_RATE, GroupMetric.TRUE_POSITIVE_RATE):
        slow = np.array([r[metric] for r in slow_rates])
        assert np.nanmean(fast[metric], axis=0) == pytest.approx(np.nanmean(slow, axis=0),
                                                                 abs=0.005)
        assert np.nanstd(fast[metric], axis=0) == pytest.approx(np.nanstd(slow, axis=0),
                                                                rel=0.08)


def test_rates_with_empty_denominators_are_nan() -> None:
    rates = boot.group_rates(np.array([[10, 0, 0, 0]]))
    assert np.isnan(rates[GroupMetric.TRUE_POSITIVE_RATE][0])
    assert np.isnan(rates[GroupMetric.PRECISION][0])
    assert rates[GroupMetric.SELECTION_RATE][0] == 0.0


def test_weighted_auc_equals_sklearn_on_repeated_rows() -> None:
    rng = np.random.default_rng(4)
    scores = np.sort(rng.choice([0.1, 0.2, 0.3, 0.5, 0.9], 60))  # ties on purpose
    labels = rng.integers(0, 2, 60).astype(bool)
    weights = rng.integers(0, 4, size=(5, 60)).astype(float)
    starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
    got = boot._weighted_auc(weights, labels, starts)
    for row, value in zip(weights, got, strict=True):
        repeat = row.astype(int)
        expected = roc_auc_score(np.repeat(labels, repeat), np.repeat(scores, repeat))
        assert value == pytest.approx(expected, abs=1e-12)


def test_resample_auc_is_centred_on_the_auc_and_nan_for_one_class() -> None:
    rng = np.random.default_rng(5)
    codes = np.repeat(np.array([0, 1], dtype=np.intp), [500, 40])
    y = np.r_[rng.integers(0, 2, 500), np.zeros(40, dtype=int)]
    score = np.clip(y * 0.3 + rng.random(540) * 0.7, 0, 1)
    draws = boot.resample_auc(codes, y, score, 2, 300, np.random.default_rng(6))
    assert np.isnan(draws[:, 1]).all()
    assert np.mean(draws[:, 0]) == pytest.approx(roc_auc_score(y[:500], score[:500]),
                                                 abs=0.01)


def test_percentile_interval_ignores_nan_and_keeps_all_nan() -> None:
    samples = np.array([[1.0, np.nan], [2.0, np.nan], [np.nan, np.nan], [3.0, np.nan]])
    lower, upper = boot.percentile_interval(samples, 0.5)
    assert lower.tolist()[0] == 1.5 and upper.tolist()[0] == 2.5
    assert np.isnan(lower[1]) and np.isnan(upper[1])
