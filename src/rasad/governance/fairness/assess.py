"""Assess a binary classifier's fairness: group metrics, disparities, intervals, verdicts.

:func:`assess` is pure computation: labels, predictions, optional scores and the
sensitive features in; a :class:`~rasad.governance.fairness.report.FairnessReport` out.
Labels and predictions are first coded 1 for the favourable outcome and 0 for the
other (:mod:`rasad.governance.fairness._outcome`), so every rate below is a rate of the
favourable outcome and ``report.outcome`` names it.

Point estimates come from Fairlearn: one ``MetricFrame`` per attribute gives every
group metric, and its ``difference()`` and ``ratio()`` (between groups) give the
disparities over all groups (``value_all_groups``), so they equal Fairlearn's
``demographic_parity_difference``, ``equalized_odds_difference`` and the rest. The
MetricFrame is built on the confusion-matrix cells of each group weighted by their
counts (at most four rows per group), which gives the same numbers as the raw rows at
a cost independent of the row count. roc_auc per group is scikit-learn's
``roc_auc_score`` on the group's rows (None for a group with one class). The
disparate impact ratio is numerically Fairlearn's ``demographic_parity_ratio``
(``method="between_groups"``): the smallest group selection rate divided by the
largest. rasad reports it under its own name because it carries the four-fifths
threshold (0.8) of the US Uniform Guidelines on Employee Selection; the demographic
parity ratio is reported beside it without a threshold. The predictive parity
difference is the largest minus the smallest group precision.

Intervals come from the stratified, vectorised bootstrap of
:mod:`rasad.governance.fairness.bootstrap`; verdicts from the
:class:`~rasad.governance.fairness.verdict.FairnessPolicy`
(:mod:`rasad.governance.fairness.verdict`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, precision_score, roc_auc_score

from rasad.errors import InputError
from rasad.governance.fairness import bootstrap as boot
from rasad.governance.fairness._measures import disparity
from rasad.governance.fairness._outcome import code_outcomes, code_scores
from rasad.governance.fairness.groups import Attribute, encode
from rasad.governance.fairness.report import (
    AttributeResult,
    DisparityResult,
    Estimate,
    FairnessReport,
    GroupMetric,
    GroupResult,
    Label,
    Measure,
    Verdict,
)
from rasad.governance.fairness.verdict import (
    HIGHER_IS_BETTER,
    RATES,
    FairnessPolicy,
    combine,
    judge,
)

MIN_BOOT = 100
"""The fewest bootstrap resamples :func:`assess` accepts."""

_DENOMINATOR = {
    GroupMetric.TRUE_POSITIVE_RATE: "positives",
    GroupMetric.FALSE_POSITIVE_RATE: "negatives",
    GroupMetric.PRECISION: "predicted positives",
    GroupMetric.SELECTION_RATE: None,
}


def _base_rate(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    return float(np.average(y_true, weights=sample_weight))


def _roc_auc(y_true: Any, y_score: Any) -> float:
    if len(np.unique(y_true)) < 2:
        return float("nan")
    return float(roc_auc_score(y_true, y_score))


_FAIRLEARN_METRICS = {
    GroupMetric.BASE_RATE: _base_rate,
    GroupMetric.SELECTION_RATE: selection_rate,
    GroupMetric.TRUE_POSITIVE_RATE: true_positive_rate,
    GroupMetric.FALSE_POSITIVE_RATE: false_positive_rate,
    GroupMetric.PRECISION: functools.partial(precision_score, zero_division=np.nan),
    GroupMetric.ACCURACY: accuracy_score,
}


def _check_options(n_boot: int, confidence: float, seed: int) -> None:
    if not isinstance(n_boot, int) or isinstance(n_boot, bool) or n_boot < MIN_BOOT:
        raise InputError(f"n_boot must be an integer >= {MIN_BOOT}; got {n_boot!r}.")
    if not isinstance(confidence, float | int) or not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1 (such as 0.95); "
                         f"got {confidence!r}.")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"seed must be a non-negative integer; got {seed!r}.")


def _metric_frame(cells: npt.NDArray[np.int64], labels: Sequence[str]) -> MetricFrame:
    """Fairlearn's MetricFrame on the cell counts: one row per group and cell, weighted.

    Every metric here depends on the rows only through each group's confusion-matrix
    cells, so the weighted table gives Fairlearn's numbers at a cost that does not grow
    with the rows (Fairlearn stacks its inputs element by element, seconds per metric
    at a million rows).
    """
    group, cell = np.nonzero(cells)
    weight = cells[group, cell].astype(float)
    y_true, y_pred = cell // 2, cell % 2
    metrics = {str(k): v for k, v in _FAIRLEARN_METRICS.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MetricFrame(
            metrics=metrics, y_true=y_true, y_pred=y_pred,
            sensitive_features=pd.Series(np.asarray(labels, dtype=object)[group], name="group"),
            sample_params={name: {"sample_weight": weight} for name in metrics})


def _roc_auc_by_group(attribute: Attribute, y_true: npt.NDArray[np.int64],
                      y_score: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.array([_roc_auc(y_true[attribute.codes == i], y_score[attribute.codes == i])
                     for i in range(len(attribute.labels))])


def _point_metrics(attribute: Attribute, cells: npt.NDArray[np.int64],
                   y_true: npt.NDArray[np.int64], y_score: npt.NDArray[np.float64] | None,
                   ) -> tuple[dict[GroupMetric, npt.NDArray[np.float64]], dict[Measure, float]]:
    """Fairlearn's group metrics (in ``attribute.labels`` order) and all-group disparities."""
    frame = _metric_frame(cells, attribute.labels)
    by_group = frame.by_group.reindex(list(attribute.labels))
    rates = {k: by_group[str(k)].to_numpy(dtype=float) for k in _FAIRLEARN_METRICS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        difference = frame.difference(method="between_groups")
        ratio = frame.ratio(method="between_groups")
    tpr, fpr = str(GroupMetric.TRUE_POSITIVE_RATE), str(GroupMetric.FALSE_POSITIVE_RATE)
    selection = str(GroupMetric.SELECTION_RATE)
    overall = {
        Measure.DEMOGRAPHIC_PARITY_DIFFERENCE: difference[selection],
        Measure.DEMOGRAPHIC_PARITY_RATIO: ratio[selection],
        Measure.DISPARATE_IMPACT_RATIO: ratio[selection],
        Measure.EQUALIZED_ODDS_DIFFERENCE: max(difference[tpr], difference[fpr]),
        Measure.EQUALIZED_ODDS_RATIO: min(ratio[tpr], ratio[fpr]),
        Measure.EQUAL_OPPORTUNITY_DIFFERENCE: difference[tpr],
        Measure.PREDICTIVE_PARITY_DIFFERENCE: difference[str(GroupMetric.PRECISION)],
    }
    if y_score is not None:
        rates[GroupMetric.ROC_AUC] = _roc_auc_by_group(attribute, y_true, y_score)
    return rates, {k: float(v) for k, v in overall.items()}


def _sizes(cells: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[np.int64]]:
    tn, fp, fn, tp = (cells[:, i] for i in (boot.TN, boot.FP, boot.FN, boot.TP))
    return {"rows": cells.sum(axis=1), "positives": tp + fn, "negatives": tn + fp,
            "predicted positives": tp + fp}


def _eligible(measure: Measure, sizes: Mapping[str, npt.NDArray[np.int64]],
              policy: FairnessPolicy) -> npt.NDArray[np.bool_]:
    mask = sizes["rows"] >= policy.min_group_size
    for rate in RATES[measure]:
        denominator = _DENOMINATOR[rate]
        if denominator is not None:
            mask &= sizes[denominator] >= policy.min_class_count
    return np.asarray(mask, dtype=bool)


def _group_reason(index: int, sizes: Mapping[str, npt.NDArray[np.int64]],
                  policy: FairnessPolicy) -> str:
    rows = int(sizes["rows"][index])
    if rows < policy.min_group_size:
        return (f"{rows} rows, fewer than the minimum of {policy.min_group_size}: "
                f"reported, not judged")
    short = [f"{int(sizes[k][index])} {k}" for k in ("positives", "negatives",
                                                      "predicted positives")
             if sizes[k][index] < policy.min_class_count]
    if short:
        return (f"{rows} rows; judged only on measures that do not need "
                f"{' or '.join(short)} (minimum {policy.min_class_count})")
    return f"{rows} rows: judged"


def _assess_attribute(attribute: Attribute, y_true: npt.NDArray[np.int64],
                      y_pred: npt.NDArray[np.int64], y_score: npt.NDArray[np.float64] | None,
                      policy: FairnessPolicy, n_boot: int, confidence: float,
                      rng: np.random.Generator) -> AttributeResult:
    n_groups = len(attribute.labels)
    cells = boot.cell_counts(attribute.codes, y_true, y_pred, n_groups)
    sizes = _sizes(cells)
    points, overall = _point_metrics(attribute, cells, y_true, y_score)
    # Fairlearn reports 0 for a rate whose denominator is empty; rasad reports None.
    own = boot.group_rates(cells)
    for metric, values in own.items():
        points[metric] = np.where(np.isnan(values), np.nan, points[metric])
    samples: dict[GroupMetric, npt.NDArray[np.float64]] = dict(
        boot.group_rates(boot.resample_cells(cells, n_boot, rng)))
    if y_score is not None:
        samples[GroupMetric.ROC_AUC] = boot.resample_auc(
            attribute.codes, y_true, y_score, n_groups, min(n_boot, boot.MAX_AUC_BOOT), rng)
    intervals = {k: boot.percentile_interval(v, confidence) for k, v in samples.items()}

    groups = []
    for i, label in enumerate(attribute.labels):
        metrics = {
            metric: Estimate(value=float(points[metric][i]),
                             lower=float(intervals[metric][0][i]),
                             upper=float(intervals[metric][1][i]))
            if not np.isnan(points[metric][i]) else Estimate(value=float("nan"))
            for metric in points}
        groups.append(GroupResult(
            group=label, count=int(sizes["rows"][i]), positives=int(sizes["positives"][i]),
            negatives=int(sizes["negatives"][i]),
            predicted_positives=int(sizes["predicted positives"][i]), metrics=dict(metrics),
            judged=bool(sizes["rows"][i] >= policy.min_group_size),
            reason=_group_reason(i, sizes, policy)))

    disparities = []
    for measure in Measure:
        mask = _eligible(measure, sizes, policy)
        value = float(disparity(measure, points, mask)) if mask.any() else float("nan")
        lower, upper = (boot.percentile_interval(disparity(measure, samples, mask)[:, None],
                                                 confidence) if mask.any()
                        else (np.array([np.nan]), np.array([np.nan])))
        excluded = tuple(label for label, keep in zip(attribute.labels, mask, strict=True)
                         if not keep)
        threshold = policy.threshold(measure)
        verdict, reason = judge(measure, value, float(lower[0]), float(upper[0]), threshold,
                                excluded, int(mask.sum()))
        disparities.append(DisparityResult(
            measure=measure, value=value, lower=float(lower[0]), upper=float(upper[0]),
            value_all_groups=overall[measure], threshold=threshold,
            higher_is_better=measure in HIGHER_IS_BETTER, verdict=verdict, reason=reason,
            groups=tuple(label for label, keep in zip(attribute.labels, mask, strict=True)
                         if keep),
            excluded=excluded))
    return AttributeResult(
        name=attribute.name, kind=attribute.kind, groups=tuple(groups),
        disparities=tuple(disparities), verdict=combine([d.verdict for d in disparities]),
        bins=attribute.bins, bins_source=attribute.bins_source)


def _report_reason(attributes: Sequence[AttributeResult], verdict: Verdict) -> str:
    def listed(wanted: Verdict) -> list[str]:
        return [f"{d.measure} of {a.name!r}" for a in attributes for d in a.disparities
                if d.verdict is wanted]

    if verdict is Verdict.FAIL:
        return "failed: " + ", ".join(listed(Verdict.FAIL))
    if verdict is Verdict.PASS:
        return "every judged measure passed"
    if verdict is Verdict.NOT_JUDGED:
        return "no measure could be judged: too few groups of the minimum size"
    return "inconclusive: " + ", ".join(listed(Verdict.INCONCLUSIVE)
                                        + listed(Verdict.NOT_JUDGED))


def assess(y_true: Any, y_pred: Any, sensitive_features: Any, y_score: Any = None, *,
           favorable: Label | None = None, intersections: bool = False,
           bins: Mapping[str, Sequence[float] | None] | None = None,
           policy: FairnessPolicy | None = None, n_boot: int = 1000,
           confidence: float = 0.95, seed: int = 0) -> FairnessReport:
    """Assess a binary classifier's fairness across groups, with intervals and verdicts.

    Parameters
    ----------
    y_true, y_pred : array-like with two values (0/1, bool, or labels with ``favorable``)
        Labels and predictions, one per row. Pass named columns (``frame["default"]``)
        and errors name them.
    sensitive_features : DataFrame, mapping of name to column, Series or array-like
        One column per sensitive attribute, same rows.
    y_score : array-like of float, optional
        Scores of the favourable outcome (its probability); adds roc_auc per group.
    favorable : bool, int, float or str, optional
        The label value that favours the person (``0`` when the label is 1 for a loan
        default). Every rate counts this outcome: the selection rate is the share
        predicted favourable, the true positive rate (equal opportunity) the share of
        truly favourable rows predicted favourable. When omitted, the labels must be
        coded 0/1 and 1 is assumed; ``report.outcome`` says which was measured.
    intersections : bool
        Also assess the intersection of all attributes (``"gender & nationality"``).
    bins : mapping of column to edges (or None for quartiles), optional
        How to bin numeric attributes; see :mod:`rasad.governance.fairness.groups`.
    policy : FairnessPolicy, optional
        Thresholds and minimum sizes; the default policy when omitted.
    n_boot : int
        Bootstrap resamples (at least 100); roc_auc uses at most 200 of them.
    confidence : float
        Level of the percentile intervals.
    seed : int
        Seed of the bootstrap; the same inputs and seed give the same report.

    Returns
    -------
    FairnessReport

    Raises
    ------
    InputError
        Labels or predictions not binary or of different lengths, a favourable value
        that never occurs, scores of the other outcome, a sensitive column with a
        single group, bad bins or options. The message names the columns and the fix.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> group = np.repeat(["A", "B"], 500)
    >>> y = rng.integers(0, 2, 1000)
    >>> pred = (rng.random(1000) < np.where(group == "A", 0.6, 0.3)).astype(int)
    >>> report = assess(y, pred, group, n_boot=200, seed=1)
    >>> report.verdict
    <Verdict.FAIL: 'fail'>
    >>> dp = report.attribute("sensitive").disparity("demographic_parity_difference")
    >>> round(dp.value, 3), round(dp.lower, 3), round(dp.upper, 3), str(dp.verdict)
    (0.284, 0.216, 0.342, 'fail')

    With the label 1 for a default, approvals (0) are the favourable outcome:

    >>> flipped = assess(1 - y, 1 - pred, group, favorable=0, n_boot=200, seed=1)
    >>> flipped.outcome.describe()
    'label = 0 is the favourable outcome; rates count predictions of 0'
    >>> sr = flipped.attribute("sensitive").group("A").metric("selection_rate").value
    >>> sr == report.attribute("sensitive").group("A").metric("selection_rate").value
    True
    """
    policy = FairnessPolicy() if policy is None else policy
    _check_options(n_boot, confidence, seed)
    labels, predictions, outcome = code_outcomes(y_true, y_pred, favorable)
    scores = None if y_score is None else code_scores(y_score, predictions, outcome)
    attributes = encode(sensitive_features, bins=bins, rows=len(labels),
                        intersections=intersections)
    streams = np.random.SeedSequence(seed).spawn(len(attributes))
    results = tuple(
        _assess_attribute(attribute, labels, predictions, scores, policy, n_boot,
                          float(confidence), np.random.default_rng(stream))
        for attribute, stream in zip(attributes, streams, strict=True))
    verdict = combine([d.verdict for a in results for d in a.disparities])
    return FairnessReport(
        rows=len(labels), attributes=results, verdict=verdict,
        reason=_report_reason(results, verdict), n_boot=n_boot,
        confidence=float(confidence), seed=seed,
        policy=policy, has_scores=scores is not None,
        outcome=outcome)
