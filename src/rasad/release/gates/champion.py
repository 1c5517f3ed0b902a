"""The champion gate: the candidate against the version serving in the target environment.

The champion is the version of the same model serving in the environment the candidate
is promoted to. Both score the same evaluation dataset version, and
:func:`rasad.evaluation.uncertainty.compare` measures the candidate's improvement on
``promotion.champion.metric`` (default roc_auc for a classifier, rmse for a regressor)
with a paired test: DeLong's for the ROC AUC of a binary classifier, a paired bootstrap
(``promotion.bootstrap`` resamples, ``promotion.seed``) otherwise. The gate passes when
the candidate is not worse than the champion by more than ``promotion.champion.margin``
at ``promotion.confidence``: the one-sided lower confidence bound of the improvement is
at least ``-margin``. Under a zero margin, a candidate better on average but not
significantly so does not pass. The evidence says whether the candidate is also
significantly better (``better``).

The first version promoted to an environment has no champion: the gate is skipped and
says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from rasad.errors import InputError
from rasad.evaluation.metrics import Metric, Task, parse_metrics
from rasad.evaluation.uncertainty import Method, compare
from rasad.release.gates._base import GateInputs, skipped
from rasad.release.report import GateResult, GateStatus

GATE = "champion"

DEFAULT_METRIC: Mapping[Task, Metric] = MappingProxyType(
    {Task.CLASSIFICATION: Metric.ROC_AUC, Task.REGRESSION: Metric.RMSE})
"""The metric compared when ``promotion.champion.metric`` is not set, per task."""

_PROBABILITY_METRICS = frozenset({Metric.ROC_AUC, Metric.LOG_LOSS, Metric.BRIER})


def run(inputs: GateInputs) -> GateResult:
    """Compare the candidate with the champion on the evaluation data."""
    candidate, env = inputs.candidate, inputs.env
    champion = inputs.champion
    if champion is None:
        return skipped(GATE, f"No version of {candidate.name} serves in {env}: "
                             f"{candidate.ref} would be the first, so there is no champion "
                             "to compare with.", model=candidate.ref, environment=env)
    evaluation = inputs.evaluation
    if evaluation is None:
        return skipped(GATE, f"No evaluation data is declared to compare {candidate.ref} "
                             f"with {champion.ref}; set promotion.evaluation_data in "
                             "rasad.yaml.", model=candidate.ref, champion=champion.ref,
                       environment=env)
    config = inputs.config
    metric = _metric(config.champion.metric, candidate.task)
    version = evaluation.version
    evidence = {
        "model": candidate.ref, "artifact_sha256": candidate.blob,
        "champion": champion.ref, "champion_artifact_sha256": champion.blob,
        "environment": env, "evaluation_data": version.ref,
        "evaluation_sha256": version.content_hash, "target": evaluation.target,
        "rows": int(evaluation.frame.shape[0]), "metric": metric.value,
        "margin": config.champion.margin, "confidence": config.confidence,
        "n_boot": config.bootstrap, "seed": config.seed,
    }
    problem = _incomparable(inputs, metric)
    if problem:
        return GateResult(gate=GATE, status=GateStatus.FAILED, summary=problem,
                          evidence={**evidence, "comparison": None})
    new, old = inputs.candidate_scores, inputs.champion_scores
    assert old is not None  # a champion was found above
    result = compare(metric, evaluation.y_true, (old.predictions, old.proba),
                     (new.predictions, new.proba), classes=new.classes,
                     margin=config.champion.margin, confidence=config.confidence,
                     n_boot=config.bootstrap, seed=config.seed)
    margin = f"{result.margin:g}"
    level = f"{result.confidence:.0%}"
    verdict = (f"not worse than {champion.ref} by more than {margin} at {level} confidence"
               if result.not_worse else
               f"not shown to be within {margin} of {champion.ref} at {level} confidence")
    strength = "significantly better" if result.better else "not significantly better"
    how = (f"DeLong, p = {result.p_value:.3g}" if result.method is Method.DELONG
           else f"paired bootstrap of {result.n_boot} resamples, p = {result.p_value:.3g}")
    summary = (f"{candidate.ref} against {champion.ref} (serving in {env}) on {metric.value}: "
               f"{result.challenger:.4g} vs {result.champion:.4g}, improvement "
               f"{result.difference:+.4g} with {level} lower bound {result.lower_bound:+.4g} "
               f"({how}): {verdict}; {strength}.")
    return GateResult(gate=GATE,
                      status=GateStatus.PASSED if result.not_worse else GateStatus.FAILED,
                      summary=summary, evidence={**evidence, "comparison": result.to_dict()})


def _metric(declared: str | None, task: str) -> Metric:
    if declared is None:
        return DEFAULT_METRIC[Task(task)]
    try:
        (metric,) = parse_metrics([declared], task)
    except InputError as exc:
        raise InputError(f"promotion.champion.metric in rasad.yaml: {exc}") from None
    return metric


def _incomparable(inputs: GateInputs, metric: Metric) -> str | None:
    """Why the two versions cannot be compared on ``metric`` (None when they can)."""
    candidate, champion = inputs.candidate, inputs.champion
    assert champion is not None
    if champion.task != candidate.task:
        return (f"{champion.ref} is a {champion.task} model and {candidate.ref} a "
                f"{candidate.task} model: they cannot be compared.")
    if (champion.classes or None) != (candidate.classes or None):
        return (f"{champion.ref} predicts classes {champion.classes} and {candidate.ref} "
                f"{candidate.classes}: they cannot be compared.")
    if metric in _PROBABILITY_METRICS:
        lacking = [version.ref for version, scores in
                   ((candidate, inputs.candidate_scores), (champion, inputs.champion_scores))
                   if scores is None or scores.proba is None]
        if lacking:
            return (f"{metric.value} needs predicted probabilities and "
                    f"{' and '.join(lacking)} has no predict_proba; set "
                    "promotion.champion.metric in rasad.yaml to a metric of predicted "
                    "labels (such as f1).")
    return None


__all__ = ["DEFAULT_METRIC", "GATE", "run"]
