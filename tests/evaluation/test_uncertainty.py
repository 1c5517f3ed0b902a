"""Bootstrap intervals, paired comparisons and DeLong's test (rasad.evaluation.uncertainty)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from rasad.errors import InputError
from rasad.evaluation import Metric, Task, compute_metrics
from rasad.evaluation import uncertainty as unc
from rasad.evaluation.uncertainty import (
    ChampionComparison,
    DeLongResult,
    Method,
    MetricInterval,
    compare,
    delong,
    metric_interval,
    metric_intervals,
)


def reference_delong(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """DeLong et al. (1988) as written: structural components from the Mann-Whitney kernel.

    O(positives x negatives): psi(x, y) = 1 if x > y, 1/2 if x == y, 0 otherwise.
    """
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    aucs, v10, v01 = [], [], []
    for score in (a, b):
        x, z = score[pos], score[neg]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        aucs.append(psi.mean())
        v10.append(psi.mean(axis=1))  # one per positive
        v01.append(psi.mean(axis=0))  # one per negative
    s10, s01 = np.cov(np.vstack(v10)), np.cov(np.vstack(v01))
    cov = s10 / m + s01 / n
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    z = (aucs[0] - aucs[1]) / math.sqrt(var)
    return {"auc_a": aucs[0], "auc_b": aucs[1], "var": var, "z": z,
            "p": 2 * stats.norm.sf(abs(z)), "cov": cov}


def _scores(seed: int, rows: int, decimals: int | None, rate: float = 0.35
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < rate).astype(int)
    shared = rng.normal(0, 1, rows)
    a = 0.9 * y + shared + rng.normal(0, 0.6, rows)
    b = 0.7 * y + shared + rng.normal(0, 0.6, rows)
    if decimals is not None:
        a, b = np.round(a, decimals), np.round(b, decimals)
    return y, a, b


# -- DeLong ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("seed", "rows", "decimals"), [
    (0, 300, None), (1, 500, 1), (2, 200, 0), (3, 801, 2), (4, 60, 1), (5, 3000, 0)])
def test_delong_agrees_with_the_reference_within_1e_9(seed: int, rows: int,
                                                      decimals: int | None) -> None:
    y, a, b = _scores(seed, rows, decimals)
    if decimals is not None:
        assert len(np.unique(a)) < rows  # the case has ties
    got = delong(y, a, b)
    ref = reference_delong(y, a, b)
    assert abs(got.auc_a - ref["auc_a"]) < 1e-9 and abs(got.auc_b - ref["auc_b"]) < 1e-9
    assert abs(got.standard_error - math.sqrt(ref["var"])) < 1e-9
    assert abs(got.z - ref["z"]) < 1e-9 and abs(got.p_value - ref["p"]) < 1e-9
    np.testing.assert_allclose(got.covariance, ref["cov"], atol=1e-12)
    assert abs(got.auc_a - roc_auc_score(y, a)) < 1e-12
    assert (got.n_positive, got.n_negative) == (int(y.sum()), int((1 - y).sum()))


def test_delong_takes_the_larger_label_as_positive_unless_told() -> None:
    y, a, b = _scores(7, 300, None)
    labels = np.where(y == 1, "yes", "no")
    assert delong(labels, a, b).auc_a == pytest.approx(roc_auc_score(y, a))
    flipped = delong(labels, a, b, positive="no")
    assert flipped.auc_a == pytest.approx(1 - roc_auc_score(y, a))


def test_delong_of_identical_scores_has_no_difference_and_p_one() -> None:
    y, a, _ = _scores(8, 200, 1)
    result = delong(y, a, a)
    assert (result.difference, result.standard_error, result.z, result.p_value) == (
        0.0, 0.0, 0.0, 1.0)


# -- intervals --------------------------------------------------------------------------------

def test_interval_estimate_is_compute_metrics_and_records_its_settings() -> None:
    y, a, _ = _scores(9, 400, None)
    proba = 1 / (1 + np.exp(-a))
    pred = (proba > 0.5).astype(int)
    found = metric_intervals(["roc_auc", "brier", "f1"], y, predictions=pred, proba=proba,
                             classes=[0, 1], confidence=0.9, n_boot=300, seed=3)
    expected = compute_metrics(Task.CLASSIFICATION, y, pred, proba, classes=[0, 1],
                               metrics=["roc_auc", "brier", "f1"])
    for interval in found:
        assert interval.estimate == expected[interval.metric.value]
        assert interval.lower < interval.estimate < interval.upper
        assert (interval.n, interval.n_boot, interval.seed, interval.confidence) == (
            400, 300, 3, 0.9)
        assert interval.method is Method.PERCENTILE_BOOTSTRAP and interval.n_valid == 300
    auc, brier, _ = found
    assert auc.worst == auc.lower and brier.worst == brier.upper  # brier: lower is better
    alone = metric_interval("brier", y, proba=proba, classes=[0, 1], confidence=0.9,
                            n_boot=300, seed=3)
    # the same resamples, alone or with other metrics (sums in another order: last digits)
    assert (alone.lower, alone.upper) == pytest.approx((brier.lower, brier.upper), rel=1e-12)
    assert alone.estimate == brier.estimate


def test_accuracy_intervals_cover_the_truth_at_their_level() -> None:
    rng = np.random.default_rng(20)
    covered = 0
    for _ in range(200):
        y = rng.integers(0, 2, 200)
        correct = rng.random(200) < 0.8
        result = metric_interval("accuracy", y, predictions=np.where(correct, y, 1 - y),
                                 classes=[0, 1], confidence=0.9, n_boot=400,
                                 seed=int(rng.integers(1 << 30)))
        covered += result.lower <= 0.8 <= result.upper
    assert 0.84 <= covered / 200 <= 0.95  # nominal 0.90; a halved width covers about 0.6


def test_roc_auc_intervals_cover_the_truth_at_their_level() -> None:
    truth = stats.norm.cdf(1 / math.sqrt(2))  # positives N(1, 1) against negatives N(0, 1)
    rng = np.random.default_rng(21)
    covered = 0
    for _ in range(150):
        y = (rng.random(300) < 0.3).astype(int)
        score = stats.norm.cdf(y + rng.normal(0, 1, 300))
        result = metric_interval("roc_auc", y, proba=score, classes=[0, 1], confidence=0.9,
                                 n_boot=400, seed=int(rng.integers(1 << 30)))
        covered += result.lower <= truth <= result.upper
    assert 0.82 <= covered / 150 <= 0.96


def test_regression_interval_covers_the_truth() -> None:
    rng = np.random.default_rng(22)
    covered = 0
    for _ in range(150):
        truth = rng.normal(10, 3, 200)
        result = metric_interval("mae", truth, predictions=truth + rng.normal(0, 1, 200),
                                 classes=None, confidence=0.9, n_boot=400,
                                 seed=int(rng.integers(1 << 30)))
        covered += result.lower <= math.sqrt(2 / math.pi) <= result.upper  # E|N(0, 1)|
    assert 0.82 <= covered / 150 <= 0.96


def test_the_same_seed_gives_the_same_figures_and_another_seed_others() -> None:
    y, a, b = _scores(10, 500, None)
    pa, pb = 1 / (1 + np.exp(-a)), 1 / (1 + np.exp(-b))
    kw = {"classes": [0, 1], "n_boot": 200}
    first = metric_interval("log_loss", y, proba=pa, seed=5, **kw)
    assert metric_interval("log_loss", y, proba=pa, seed=5, **kw) == first
    assert metric_interval("log_loss", y, proba=pa, seed=6, **kw).lower != first.lower
    paired = compare("brier", y, (None, pb), (None, pa), seed=5, **kw)
    assert compare("brier", y, (None, pb), (None, pa), seed=5, **kw) == paired
    assert compare("brier", y, (None, pb), (None, pa), seed=6, **kw).lower_bound != \
        paired.lower_bound


# -- champion against challenger --------------------------------------------------------------

def test_better_on_average_but_not_significantly_does_not_beat_the_champion() -> None:
    """The issue's case: a zero margin does not let a non-significant gain through."""
    y, _, b = _scores(11, 400, None)
    champion_score = stats.norm.cdf(b)
    # the challenger: the champion's score with a little signal and much noise added
    noise = np.random.default_rng(0).normal(0, 1, 400)
    challenger_score = stats.norm.cdf(b + 0.05 * y + 0.5 * noise)
    champion = ((champion_score > 0.5).astype(int), champion_score)
    challenger = ((challenger_score > 0.5).astype(int), challenger_score)
    for metric, method in (("roc_auc", Method.DELONG), ("accuracy", Method.PAIRED_BOOTSTRAP)):
        result = compare(metric, y, champion, challenger, classes=[0, 1])
        assert result.method is method
        assert result.difference > 0  # better on average...
        assert result.lower_bound < 0 and result.p_value > 0.05  # ...but not significantly
        assert not result.better and not result.not_worse
        generous = compare(metric, y, champion, challenger, classes=[0, 1],
                           margin=-result.lower_bound + 1e-6)
        assert generous.not_worse and not generous.better
        assert generous.lower_bound == result.lower_bound


def test_delong_comparison_is_delong() -> None:
    y, a, b = _scores(12, 600, 1)
    result = compare("roc_auc", y, (None, stats.norm.cdf(b)), (None, stats.norm.cdf(a)),
                     classes=[0, 1], margin=0.01, confidence=0.9)
    test = delong(y, a, b)  # the CDF keeps the order, hence the AUCs and the test
    assert result.difference == pytest.approx(test.difference, abs=1e-12)
    assert result.standard_error == pytest.approx(test.standard_error, abs=1e-12)
    z = stats.norm.ppf(0.9)
    assert result.lower_bound == pytest.approx(result.difference - z * test.standard_error)
    assert result.p_value == pytest.approx(stats.norm.sf(test.z))
    assert result.p_value_not_worse == pytest.approx(
        stats.norm.sf((test.difference + 0.01) / test.standard_error))
    assert result.n_boot is None and result.seed is None


def test_a_clearly_better_challenger_is_better_and_a_worse_one_is_neither() -> None:
    y, a, b = _scores(13, 2000, None)
    strong, weak = (None, stats.norm.cdf(a)), (None, stats.norm.cdf(b))
    up = compare("roc_auc", y, weak, strong, classes=[0, 1])
    down = compare("roc_auc", y, strong, weak, classes=[0, 1])
    assert up.better and up.not_worse and up.lower_bound > 0
    assert not down.better and not down.not_worse
    assert down.difference == pytest.approx(-up.difference)


def test_paired_bootstrap_pairs_the_rows() -> None:
    """A small gain on every row is significant paired, though the intervals overlap."""
    rng = np.random.default_rng(14)
    y = (rng.random(3000) < 0.3).astype(int)
    old = np.clip(np.where(y == 1, 0.55, 0.3) + rng.normal(0, 0.2, 3000), 0.01, 0.99)
    new = np.clip(old + np.where(y == 1, 0.005, -0.005), 0.0, 1.0)  # a little closer to y
    result = compare("brier", y, (None, old), (None, new), classes=[0, 1], n_boot=500)
    assert result.method is Method.PAIRED_BOOTSTRAP and result.higher_is_better is False
    assert result.difference == pytest.approx(result.champion - result.challenger)
    assert result.difference > 0 and result.better and result.p_value == 0.0
    old_interval = metric_interval("brier", y, proba=old, classes=[0, 1], n_boot=500)
    new_interval = metric_interval("brier", y, proba=new, classes=[0, 1], n_boot=500)
    assert new_interval.upper > old_interval.lower  # unpaired, they could not tell


def test_paired_bootstrap_without_gain_is_not_better_and_not_worse_at_zero_margin() -> None:
    y, a, _ = _scores(15, 300, None)
    pred = (a > 0.5).astype(int)
    result = compare("accuracy", y, (pred, None), (pred.copy(), None), classes=[0, 1],
                     n_boot=200)
    assert (result.difference, result.lower_bound, result.p_value) == (0.0, 0.0, 1.0)
    assert result.not_worse and not result.better and result.p_value_not_worse == 0.0


def test_regression_comparison_reads_rmse_lower_is_better() -> None:
    rng = np.random.default_rng(16)
    truth = rng.normal(0, 1, 1000)
    good, bad = truth + rng.normal(0, 0.5, 1000), truth + rng.normal(0, 0.8, 1000)
    result = compare("rmse", truth, (bad, None), (good, None), classes=None, n_boot=300)
    assert result.champion > result.challenger and result.difference > 0 and result.better


def test_multiclass_roc_auc_is_compared_by_paired_bootstrap() -> None:
    rng = np.random.default_rng(17)
    y = rng.integers(0, 3, 400)
    raw = rng.random((400, 3)) + np.eye(3)[y] * 0.6
    proba = raw / raw.sum(axis=1, keepdims=True)
    result = compare("roc_auc", y, (None, proba), (None, proba), classes=[0, 1, 2],
                     n_boot=100)
    assert result.method is Method.PAIRED_BOOTSTRAP and result.difference == 0.0


def test_results_round_trip_through_json_with_their_verdicts() -> None:
    y, a, b = _scores(18, 200, None)
    result = compare("roc_auc", y, (None, stats.norm.cdf(b)), (None, stats.norm.cdf(a)),
                     classes=[0, 1])
    data = result.to_dict()
    assert data["not_worse"] == result.not_worse and data["better"] == result.better
    assert data["method"] == "delong" and data["metric"] == "roc_auc"
    assert ChampionComparison.from_json(result.to_json()) == result
    interval = metric_interval("roc_auc", y, proba=stats.norm.cdf(a), classes=[0, 1],
                               n_boot=50)
    assert MetricInterval.from_json(interval.to_json()) == interval
    test = delong(y, a, b)
    assert DeLongResult.from_json(test.to_json()) == test


def test_direction_of_every_metric() -> None:
    assert {m for m in Metric if not unc.higher_is_better(m)} == {
        Metric.LOG_LOSS, Metric.BRIER, Metric.RMSE, Metric.MAE, Metric.MAPE}


# -- bad input --------------------------------------------------------------------------------

Y = np.array([0, 1, 0, 1, 1, 0])
P = np.array([0.2, 0.8, 0.4, 0.6, 0.7, 0.1])


@pytest.mark.parametrize(("call", "message"), [
    (lambda: metric_interval("roc_auc", Y, proba=P[:5], classes=[0, 1]), r"shape \(5, 2\)"),
    (lambda: metric_interval("accuracy", Y, predictions=Y[:4], classes=[0, 1]),
     "has 4 values but y_true has 6"),
    (lambda: metric_interval("accuracy", np.zeros(6, int), predictions=Y, classes=[0, 1]),
     "one class only"),
    (lambda: metric_interval("roc_auc", np.r_[Y[:5], np.nan], proba=P, classes=[0, 1]),
     "y_true holds 1 missing"),
    (lambda: metric_interval("accuracy", pd.array([0, 1, None, 1, 1, 0], dtype="Int64")
                             .to_numpy(), predictions=Y, classes=[0, 1]),
     "y_true holds 1 missing"),
    (lambda: metric_interval("roc_auc", Y, proba=np.r_[P[:5], np.nan], classes=[0, 1]),
     "proba holds missing or infinite values in 1 rows"),
    (lambda: metric_interval("rmse", P, predictions=np.r_[P[:5], np.nan], classes=None),
     "predictions holds 1 missing"),
    (lambda: metric_interval("roc_auc", Y, proba=P * 3, classes=[0, 1]), r"outside \[0, 1\]"),
    (lambda: metric_interval("auc", Y, proba=P, classes=[0, 1]), "Unknown metric 'auc'"),
    (lambda: metric_intervals(["rmse", "f1"], Y, predictions=Y, classes=[0, 1]), "mix"),
    (lambda: metric_interval("roc_auc", Y, predictions=Y, classes=[0, 1]),
     r"roc_auc needs predicted probabilities"),
    (lambda: metric_interval("f1", Y, proba=P, classes=[0, 1]), "predictions are needed"),
    (lambda: metric_interval("f1", Y, predictions=Y + 1, classes=[0, 1]),
     "labels '2' that are not in classes"),
    (lambda: metric_interval("f1", Y, predictions=Y, classes=None), "pass classes="),
    (lambda: metric_interval("f1", Y[:1], predictions=Y[:1], classes=[0, 1]), "at least 2"),
    (lambda: metric_interval("f1", Y, predictions=Y, classes=[0, 1], confidence=95),
     "confidence = 95"),
    (lambda: metric_interval("f1", Y, predictions=Y, classes=[0, 1], n_boot=0), "n_boot = 0"),
    (lambda: metric_interval("r2", np.ones(6), predictions=P, classes=None),
     "every true value is the same"),
    (lambda: metric_interval("mape", np.r_[0.0, P[1:]], predictions=P, classes=None),
     "y_true holds 1 zeros"),
    (lambda: metric_interval("roc_auc", Y, proba=np.column_stack([1 - P, P, 0 * P]),
                             classes=[0, 1, 2]), "class 2 has no rows"),
    (lambda: compare("roc_auc", Y, (None, P), (None, P[:5]), classes=[0, 1]),
     "challenger proba has shape"),
    (lambda: compare("brier", Y, (None, P), (None, P), classes=[0, 1], margin=-0.1),
     "margin = -0.1"),
    (lambda: compare("roc_auc", Y, (None, None), (None, P), classes=[0, 1]),
     "needs champion predicted probabilities"),
    (lambda: delong(Y, P, P[:5]), "score_b has 5 values"),
    (lambda: delong(np.zeros(6), P, P), "1 distinct labels"),
    (lambda: delong(Y, P, np.r_[P[:5], np.nan]), "score_b holds 1 missing"),
    (lambda: delong(np.array([0, 1, 2, 0, 1, 2]), P, P), "3 distinct labels"),
])
def test_bad_input_is_an_input_error_naming_the_problem(call, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()
