"""The metrics gate: absolute thresholds on the evaluation data, each with its interval.

``promotion.metrics`` in ``rasad.yaml`` names metrics and bounds (``roc_auc: {min: 0.75}``,
``brier: {max: 0.2, basis: bound}``). The candidate scores the declared evaluation
dataset version once; every metric is computed on it, exactly as
:func:`rasad.evaluation.compute_metrics` computes it, with a percentile bootstrap interval
(:func:`rasad.evaluation.uncertainty.metric_intervals`: ``promotion.confidence``,
``promotion.bootstrap`` resamples, ``promotion.seed``; every metric on the same
resamples). A threshold on ``basis: estimate`` compares the value; on ``basis: bound``
the worst end of the interval for that side (the lower bound for ``min``, the upper for
``max``), so it holds at that confidence.

A threshold on a probability metric (roc_auc, log_loss, brier) fails when the candidate
gives no probabilities: a declared check that cannot be made does not pass. A metric
that does not exist, or not for the candidate's task, is a mistake in ``rasad.yaml``
and raises :class:`~rasad.errors.InputError` naming the key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasad.errors import InputError
from rasad.evaluation.metrics import Metric, parse_metrics
from rasad.evaluation.uncertainty import MetricInterval, metric_intervals
from rasad.release.gates._base import GateInputs, skipped
from rasad.release.report import GateResult, GateStatus

if TYPE_CHECKING:
    from rasad.config import Threshold

GATE = "metrics"

_PROBABILITY_METRICS = frozenset({Metric.ROC_AUC, Metric.LOG_LOSS, Metric.BRIER})


def run(inputs: GateInputs) -> GateResult:
    """Check every threshold of ``promotion.metrics`` on the evaluation data."""
    config = inputs.config
    if not config.metrics:
        return skipped(GATE, "No metric thresholds are declared; set promotion.metrics in "
                             "rasad.yaml (for example roc_auc: {min: 0.75}).")
    evaluation = inputs.evaluation
    if evaluation is None:
        return skipped(GATE, "No evaluation data is declared; set promotion.evaluation_data "
                             "in rasad.yaml to check promotion.metrics.")
    candidate = inputs.candidate
    declared = _declared(config.metrics, candidate.task)
    scores = inputs.candidate_scores
    measurable = [metric for metric in declared
                  if scores.proba is not None or metric not in _PROBABILITY_METRICS]
    found = {} if not measurable else {
        interval.metric: interval for interval in metric_intervals(
            measurable, evaluation.y_true, predictions=scores.predictions, proba=scores.proba,
            classes=scores.classes, confidence=config.confidence, n_boot=config.bootstrap,
            seed=config.seed)}
    checks = [_check(metric, threshold, found.get(metric), candidate.ref)
              for metric, threshold in declared.items()]
    failed = [check for check in checks if not check["passed"]]
    version = evaluation.version
    if failed:
        summary = "; ".join(check["reason"] for check in failed)
    else:
        summary = (f"{len(checks)} of {len(checks)} thresholds hold on {version.ref} "
                   f"({version.rows} rows, {config.confidence:.0%} intervals): "
                   + "; ".join(check["reason"] for check in checks))
    return GateResult(
        gate=GATE, status=GateStatus.FAILED if failed else GateStatus.PASSED, summary=summary,
        evidence={
            "model": candidate.ref, "artifact_sha256": candidate.blob,
            "evaluation_data": version.ref, "evaluation_sha256": version.content_hash,
            "target": evaluation.target, "rows": int(evaluation.frame.shape[0]),
            "confidence": config.confidence, "n_boot": config.bootstrap, "seed": config.seed,
            "method": "percentile bootstrap", "thresholds": checks,
        })


def _declared(thresholds: dict[str, Threshold], task: str) -> dict[Metric, Threshold]:
    """``promotion.metrics`` keyed by metric, each checked against the candidate's task."""
    declared: dict[Metric, Threshold] = {}
    for name, threshold in thresholds.items():
        try:
            (metric,) = parse_metrics([name], task)
        except InputError as exc:
            raise InputError(f"promotion.metrics in rasad.yaml: {exc}") from None
        if metric in declared:
            raise InputError(f"promotion.metrics in rasad.yaml names {metric.value} twice; "
                             "keep one threshold per metric.")
        declared[metric] = threshold
    return declared


def _check(metric: Metric, threshold: Threshold, interval: MetricInterval | None,
           model: str) -> dict[str, Any]:
    """One threshold's figures and verdict, as stored in the gate's evidence."""
    side = "min" if threshold.min is not None else "max"
    limit = threshold.min if threshold.min is not None else threshold.max
    assert limit is not None  # Threshold validates that exactly one side is given
    check: dict[str, Any] = {"metric": metric.value, "side": side, "threshold": limit,
                             "basis": threshold.basis}
    if interval is None:
        reason = (f"{metric.value} needs predicted probabilities and {model} has no "
                  "predict_proba")
        return {**check, "compared": None, "passed": False, "reason": reason, "interval": None}
    if threshold.basis == "estimate":
        compared, what = interval.estimate, metric.value
    elif side == "min":
        compared, what = interval.lower, f"{metric.value} lower bound"
    else:
        compared, what = interval.upper, f"{metric.value} upper bound"
    passed = compared >= limit if side == "min" else compared <= limit
    sign = (">=" if passed else "<") if side == "min" else ("<=" if passed else ">")
    reason = (f"{what} {compared:.4g} {sign} {side} {limit:g} (estimate {interval.estimate:.4g}, "
              f"{interval.confidence:.0%} interval {interval.lower:.4g} to "
              f"{interval.upper:.4g})")
    return {**check, "compared": compared, "passed": bool(passed), "reason": reason,
            "interval": interval.to_dict()}


__all__ = ["GATE", "run"]
