"""Fairness of binary classifiers: group metrics, disparities, intervals and verdicts.

Pure computation: :func:`assess` takes labels, predictions, optional scores and the
sensitive features, and returns a :class:`FairnessReport` with, per attribute, every
group's metrics (count, base rate, selection rate, true and false positive rates,
precision, accuracy, roc_auc) and the disparity measures between groups, each with a
stratified bootstrap interval and, where the :class:`FairnessPolicy` sets a threshold,
a :class:`Verdict`. Every rate counts the favourable outcome (``favorable=``, the
positive label 1 when none is declared; :class:`Outcome`). Point estimates are
Fairlearn's; intervals are rasad's vectorised bootstrap
(:mod:`rasad.governance.fairness.bootstrap`). Numeric attributes are binned
(:mod:`rasad.governance.fairness.groups`). Reports are typed results
(:class:`rasad.results.Result`) with one JSON form. See ``docs/fairness.md``.

Assessing a registered model on a project's dataset, and storing the report, is the
service :mod:`rasad.governance.fairness.service`; this package never imports it, so
it needs no project.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> sex = rng.choice(["F", "M"], 4000)
>>> y = rng.integers(0, 2, 4000)
>>> pred = np.where(rng.random(4000) < 0.9, y, 1 - y)
>>> report = assess(y, pred, {"sex": sex}, n_boot=200)
>>> report.verdict, report.attribute("sex").group("F").count
(<Verdict.PASS: 'pass'>, 1971)
"""

from rasad.governance.fairness.assess import MIN_BOOT, assess
from rasad.governance.fairness.groups import (
    DEFAULT_QUANTILES,
    MAX_NUMERIC_CATEGORIES,
    MISSING_LABEL,
    Attribute,
    encode,
)
from rasad.governance.fairness.mitigation import (
    TRUSTED_TYPES as MITIGATION_TRUSTED_TYPES,
)
from rasad.governance.fairness.mitigation import (
    Constraint,
    EvaluatedOn,
    ExponentiatedGradientClassifier,
    Method,
    MitigatedClassifier,
    MitigationResult,
    Objective,
    ThresholdOptimizedClassifier,
    mitigate,
)
from rasad.governance.fairness.report import (
    AttributeKind,
    AttributeResult,
    DisparityResult,
    Estimate,
    FairnessAssessment,
    FairnessReport,
    GroupMetric,
    GroupResult,
    Measure,
    Outcome,
    Verdict,
)
from rasad.governance.fairness.verdict import (
    DEFAULT_THRESHOLDS,
    HIGHER_IS_BETTER,
    FairnessPolicy,
    judge,
)

__all__ = [
    "DEFAULT_QUANTILES",
    "DEFAULT_THRESHOLDS",
    "HIGHER_IS_BETTER",
    "MAX_NUMERIC_CATEGORIES",
    "MIN_BOOT",
    "MISSING_LABEL",
    "MITIGATION_TRUSTED_TYPES",
    "Attribute",
    "AttributeKind",
    "AttributeResult",
    "Constraint",
    "DisparityResult",
    "Estimate",
    "EvaluatedOn",
    "ExponentiatedGradientClassifier",
    "FairnessAssessment",
    "FairnessPolicy",
    "FairnessReport",
    "GroupMetric",
    "GroupResult",
    "Measure",
    "Method",
    "MitigatedClassifier",
    "MitigationResult",
    "Objective",
    "Outcome",
    "ThresholdOptimizedClassifier",
    "Verdict",
    "assess",
    "encode",
    "judge",
    "mitigate",
]
