"""The weighted metric kernels equal scikit-learn, with unit weights and with row weights.

A bootstrap resample is a weighting of the rows by how often each was drawn, so a kernel
must give, for integer weights, what scikit-learn gives with ``sample_weight`` (the same as
repeating the rows), and with every weight 1 what ``compute_metrics`` reports.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from rasad.evaluation import Metric, Task, compute_metrics
from rasad.evaluation import _weighted as weighted
from rasad.evaluation._weighted import Batch, Prepared, kernel, resample_weights

CLASSIFICATION = [m for m in Metric if m not in {Metric.RMSE, Metric.MAE, Metric.R2,
                                                 Metric.MAPE}]
REGRESSION = [Metric.RMSE, Metric.MAE, Metric.R2, Metric.MAPE]


def _binary(seed: int, rows: int = 400, decimals: int | None = None) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    truth = np.array(["good", "bad"])[(rng.random(rows) < 0.3).astype(int)]
    p_bad = np.clip(np.where(truth == "bad", 0.6, 0.35) + rng.normal(0, 0.2, rows), 0, 1)
    if decimals is not None:  # ties between and within the classes
        p_bad = np.round(p_bad, decimals)
    classes = np.array(["bad", "good"])  # sorted, as estimator.classes_: "good" is positive
    proba = np.column_stack([p_bad, 1 - p_bad])
    pred = classes[proba.argmax(axis=1)]
    return {"truth": truth, "pred": pred, "proba": proba, "classes": classes}


def _multiclass(seed: int, rows: int = 300) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, rows)
    raw = rng.random((rows, 3)) + np.eye(3)[truth] * 0.7
    proba = raw / raw.sum(axis=1, keepdims=True)
    pred = np.where(rng.random(rows) < 0.2, rng.integers(0, 3, rows), proba.argmax(axis=1))
    return {"truth": truth, "pred": pred, "proba": proba, "classes": np.array([0, 1, 2])}


def _prepared(data: dict[str, Any]) -> Prepared:
    lookup = {label: i for i, label in enumerate(data["classes"].tolist())}
    codes = np.array([lookup[v] for v in data["truth"].tolist()])
    pred = np.array([lookup[v] for v in data["pred"].tolist()])
    return Prepared.classification(codes, pred, data["proba"], len(lookup))


def _sklearn(metric: Metric, data: dict[str, Any], weight: np.ndarray | None) -> float:
    """scikit-learn's value with rasad's conventions (metrics.py), weighted by ``weight``."""
    truth, pred, proba, classes = data["truth"], data["pred"], data["proba"], data["classes"]
    binary = len(classes) == 2
    kw = ({"pos_label": classes[1], "average": "binary"} if binary
          else {"labels": classes, "average": "macro"})
    if metric is Metric.ACCURACY:
        return float(skm.accuracy_score(truth, pred, sample_weight=weight))
    if metric in (Metric.PRECISION, Metric.RECALL, Metric.F1):
        score = {Metric.PRECISION: skm.precision_score, Metric.RECALL: skm.recall_score,
                 Metric.F1: skm.f1_score}[metric]
        return float(score(truth, pred, sample_weight=weight, zero_division=0.0, **kw))
    if metric is Metric.ROC_AUC:
        if binary:
            return float(skm.roc_auc_score(truth == classes[1], proba[:, 1], sample_weight=weight))
        return float(skm.roc_auc_score(truth, proba, multi_class="ovr", average="macro",
                                       labels=classes, sample_weight=weight))
    if metric is Metric.LOG_LOSS:
        return float(skm.log_loss(truth, y_proba=proba, labels=classes, sample_weight=weight))
    return float(skm.brier_score_loss(truth == classes[1], proba[:, 1], sample_weight=weight))


@pytest.mark.parametrize(("case", "metric"), [
    (case, metric) for case in ("binary", "binary-tied", "multiclass") for metric in CLASSIFICATION
    if not (case == "multiclass" and metric is Metric.BRIER)])  # brier: binary tasks only
def test_classification_kernels_equal_sklearn(case: str, metric: Metric) -> None:
    data = _multiclass(5) if case == "multiclass" else _binary(
        3, decimals=1 if case == "binary-tied" else None)
    weigh = kernel(metric, _prepared(data))
    rows = data["truth"].shape[0]
    ones = weigh(np.ones((1, rows)))[0]
    expected = compute_metrics(Task.CLASSIFICATION, data["truth"], data["pred"], data["proba"],
                               classes=data["classes"], metrics=[metric])[metric.value]
    assert ones == pytest.approx(expected, rel=1e-12, abs=1e-12)
    draws = np.random.default_rng(9).integers(0, 4, (3, rows)).astype(float)
    got = weigh(draws)
    for row, weights in zip(got, draws, strict=True):
        assert row == pytest.approx(_sklearn(metric, data, weights), rel=1e-11, abs=1e-12)


@pytest.mark.parametrize("metric", REGRESSION)
def test_regression_kernels_equal_sklearn(metric: Metric) -> None:
    rng = np.random.default_rng(2)
    truth = rng.normal(5, 2, 250)
    pred = truth + rng.normal(0, 1, 250)
    weigh = kernel(metric, Prepared.regression(truth, pred))
    expected = compute_metrics(Task.REGRESSION, truth, pred, metrics=[metric])[metric.value]
    assert weigh(np.ones((1, 250)))[0] == pytest.approx(expected, rel=1e-12)
    sk = {Metric.RMSE: skm.root_mean_squared_error, Metric.MAE: skm.mean_absolute_error,
          Metric.R2: skm.r2_score, Metric.MAPE: skm.mean_absolute_percentage_error}[metric]
    draws = rng.integers(0, 4, (3, 250)).astype(float)
    for value, weights in zip(weigh(draws), draws, strict=True):
        assert value == pytest.approx(sk(truth, pred, sample_weight=weights), rel=1e-10)


def test_auc_with_one_class_drawn_is_nan_and_precision_without_positives_is_zero() -> None:
    data = _binary(1, rows=6)
    data["truth"] = np.array(["good", "bad", "good", "bad", "good", "good"])
    data["pred"] = np.array(["bad", "bad", "bad", "bad", "good", "good"])
    prepared = _prepared(data)
    only_positives = np.array([[3.0, 0, 3.0, 0, 0, 0]])  # drew "good" rows only
    assert np.isnan(kernel(Metric.ROC_AUC, prepared)(only_positives)[0])
    no_predicted = np.array([[2.0, 2.0, 2.0, 0, 0, 0]])  # nothing predicted "good"
    assert kernel(Metric.PRECISION, prepared)(no_predicted)[0] == 0.0


def test_batch_gives_each_kernel_its_own_value() -> None:
    data = _binary(4)
    prepared = _prepared(data)
    chosen = [Metric.ROC_AUC, Metric.ACCURACY, Metric.BRIER, Metric.F1]
    kernels = [kernel(m, prepared) for m in chosen]
    draws = np.random.default_rng(0).integers(0, 3, (5, 400)).astype(float)
    together = Batch(kernels)(draws)
    for row, alone in zip(together, kernels, strict=True):
        np.testing.assert_allclose(row, alone(draws), rtol=1e-14)


def test_resamples_are_row_counts_that_sum_to_n_and_repeat_with_the_seed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weighted, "CHUNK_CELLS", 70)  # 7 resamples per chunk of 10 rows
    chunks = [(first, w.copy()) for first, w in resample_weights(10, 23, seed=4)]
    assert [first for first, _ in chunks] == [0, 7, 14, 21]
    counts = np.vstack([w for _, w in chunks])
    assert counts.shape == (23, 10)
    assert (counts.sum(axis=1) == 10).all() and (counts >= 0).all()
    assert np.array_equal(counts, np.round(counts))
    again = np.vstack([w.copy() for _, w in resample_weights(10, 23, seed=4)])
    other = np.vstack([w.copy() for _, w in resample_weights(10, 23, seed=5)])
    assert np.array_equal(counts, again) and not np.array_equal(counts, other)
    # the chunk size changes nothing: the same draws in the same order
    monkeypatch.setattr(weighted, "CHUNK_CELLS", 10_000)
    assert np.array_equal(counts, np.vstack([w.copy() for _, w in
                                             resample_weights(10, 23, seed=4)]))


def test_each_row_is_drawn_once_per_resample_on_average() -> None:
    counts = np.vstack([w.copy() for _, w in resample_weights(50, 4000, seed=0)])
    means = counts.mean(axis=0)
    assert np.all(np.abs(means - 1.0) < 0.06)  # sd of a mean of 4000 counts is 0.016
    # a bootstrap count is Binomial(n, 1/n): variance (1 - 1/n)
    assert counts.var() == pytest.approx(1 - 1 / 50, rel=0.03)
