"""Fairness reports: typed, immutable results per group, per measure, per attribute.

:func:`rasad.governance.fairness.assess` returns a :class:`FairnessReport`. It holds one
:class:`AttributeResult` per sensitive attribute (and one for their intersection when
asked). Each attribute lists its groups (:class:`GroupResult`, every group metric as an
:class:`Estimate` with its bootstrap interval) and its disparity measures
(:class:`DisparityResult`, with the threshold, the verdict and the reason for it).

``to_dict()`` renders every figure as JSON-ready data: enums become their string values
and figures that do not exist (a rate with no denominator, an interval that was not
computed) are ``None``, never NaN.

>>> Estimate(0.25, 0.2, 0.3).to_dict()
{'value': 0.25, 'lower': 0.2, 'upper': 0.3}
>>> Estimate(float("nan")).to_dict()
{'value': None, 'lower': None, 'upper': None}
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rasad.errors import NotFoundError


def finite(value: float | None) -> float | None:
    """``value`` as a float, or None when it is None, NaN or infinite.

    >>> finite(float("nan")) is None, finite(1)
    (True, 1.0)
    """
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class GroupMetric(enum.StrEnum):
    """A metric computed for each group."""

    BASE_RATE = "base_rate"
    SELECTION_RATE = "selection_rate"
    TRUE_POSITIVE_RATE = "true_positive_rate"
    FALSE_POSITIVE_RATE = "false_positive_rate"
    PRECISION = "precision"
    ACCURACY = "accuracy"
    ROC_AUC = "roc_auc"


class Measure(enum.StrEnum):
    """A disparity measure between the groups of one attribute."""

    DEMOGRAPHIC_PARITY_DIFFERENCE = "demographic_parity_difference"
    DEMOGRAPHIC_PARITY_RATIO = "demographic_parity_ratio"
    EQUALIZED_ODDS_DIFFERENCE = "equalized_odds_difference"
    EQUALIZED_ODDS_RATIO = "equalized_odds_ratio"
    EQUAL_OPPORTUNITY_DIFFERENCE = "equal_opportunity_difference"
    DISPARATE_IMPACT_RATIO = "disparate_impact_ratio"
    PREDICTIVE_PARITY_DIFFERENCE = "predictive_parity_difference"


class Verdict(enum.StrEnum):
    """The verdict on one measure, one attribute or a whole report.

    ``PASS`` and ``FAIL`` need the whole confidence interval on one side of the
    threshold; ``INCONCLUSIVE`` means it straddles the threshold (or that the measure
    passes among the groups large enough to judge while a smaller group was left out);
    ``NOT_JUDGED`` means fewer than two groups were large enough to compare.
    """

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_JUDGED = "not judged"


Label = bool | int | float | str
"""A label value: the favourable outcome is one of the values of the target column."""


@dataclass(frozen=True)
class Outcome:
    """Which outcome the rates count: the favourable label value, and the other one.

    Every rate of a report is computed on the favourable outcome: the selection rate is
    the share of rows predicted favourable, the true positive rate (equal opportunity)
    the share of truly favourable rows predicted favourable, and so on.

    Parameters
    ----------
    favorable : bool, int, float or str
        The label value that favours the person (a loan approved, no default).
    unfavorable : bool, int, float, str or None
        The other value; None when the data holds only the favourable one.
    target : str or None
        The label column's name, when the labels came as a named column.
    declared : bool
        False when no favourable outcome was declared and the positive label 1 was
        assumed.

    Examples
    --------
    >>> Outcome(0, 1, "default").describe()
    'default = 0 is the favourable outcome; rates count predictions of 0'
    >>> Outcome(1, 0, declared=False).describe()
    'label = 1 is the favourable outcome (assumed: none declared); rates count predictions of 1'
    """

    favorable: Label
    unfavorable: Label | None
    target: str | None = None
    declared: bool = True

    def describe(self) -> str:
        """One line naming the measured outcome, for every report."""
        how = "" if self.declared else " (assumed: none declared)"
        return (f"{self.target or 'label'} = {self.favorable!s} is the favourable outcome"
                f"{how}; rates count predictions of {self.favorable!s}")

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "favorable": self.favorable,
                "unfavorable": self.unfavorable, "declared": self.declared,
                "description": self.describe()}


ASSUMED_OUTCOME = Outcome(1, 0, declared=False)
"""The outcome when none is declared: the positive label 1 (labels coded 0/1)."""


class AttributeKind(enum.StrEnum):
    """How an attribute's groups were formed."""

    CATEGORICAL = "categorical"
    BINNED = "binned"
    INTERSECTION = "intersection"


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap percentile interval (None when not computed)."""

    value: float
    lower: float | None = None
    upper: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"value": finite(self.value), "lower": finite(self.lower),
                "upper": finite(self.upper)}


@dataclass(frozen=True)
class GroupResult:
    """One group of one attribute.

    Parameters
    ----------
    group : str
        The group's label (a category, a bin such as ``"[25, 35)"``, or an
        intersection such as ``"F | SA"``).
    count, positives, negatives, predicted_positives : int
        Rows, rows whose label is the favourable outcome, rows whose label is the
        other outcome, rows predicted favourable (see :class:`Outcome`).
    metrics : mapping of GroupMetric to Estimate
        Every group metric that could be computed. A metric whose denominator is
        zero (the true positive rate of a group with no positives) has a NaN value.
    judged : bool
        Whether the group has at least the policy's ``min_group_size`` rows.
    reason : str
        Why the group is or is not judged.
    """

    group: str
    count: int
    positives: int
    negatives: int
    predicted_positives: int
    metrics: Mapping[GroupMetric, Estimate]
    judged: bool
    reason: str

    def metric(self, name: GroupMetric | str) -> Estimate:
        """The estimate of ``name``; NotFoundError lists the metrics computed."""
        try:
            return self.metrics[GroupMetric(name)]
        except (KeyError, ValueError):
            known = ", ".join(str(m) for m in self.metrics)
            raise NotFoundError(
                f"Group {self.group!r} has no metric {str(name)!r}; it has {known}."
            ) from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "count": self.count,
            "positives": self.positives,
            "negatives": self.negatives,
            "predicted_positives": self.predicted_positives,
            "judged": self.judged,
            "reason": self.reason,
            "metrics": {str(k): v.to_dict() for k, v in self.metrics.items()},
        }


@dataclass(frozen=True)
class DisparityResult:
    """One disparity measure of one attribute, with its verdict.

    Parameters
    ----------
    measure : Measure
        Which measure.
    value : float
        The measure among the judged groups (those large enough for it).
    lower, upper : float or None
        The bootstrap percentile interval of ``value``.
    value_all_groups : float
        The measure over every group, as Fairlearn computes it.
    threshold : float or None
        The policy's threshold; None means the measure is reported, not judged.
    higher_is_better : bool
        True for ratios (pass when at least the threshold), False for differences.
    verdict : Verdict or None
        None when there is no threshold.
    reason : str
        Why this verdict, naming the interval, the threshold and any excluded group.
    groups : tuple of str
        The groups the measure was judged among.
    excluded : tuple of str
        Groups left out because they are too small for this measure.
    """

    measure: Measure
    value: float
    lower: float | None
    upper: float | None
    value_all_groups: float
    threshold: float | None
    higher_is_better: bool
    verdict: Verdict | None
    reason: str
    groups: tuple[str, ...]
    excluded: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": str(self.measure),
            "value": finite(self.value),
            "lower": finite(self.lower),
            "upper": finite(self.upper),
            "value_all_groups": finite(self.value_all_groups),
            "threshold": self.threshold,
            "higher_is_better": self.higher_is_better,
            "verdict": None if self.verdict is None else str(self.verdict),
            "reason": self.reason,
            "groups": list(self.groups),
            "excluded": list(self.excluded),
        }


@dataclass(frozen=True)
class AttributeResult:
    """Everything a report says about one sensitive attribute.

    ``bins`` holds the edges used when a numeric attribute was binned (None otherwise);
    ``bins_source`` says where they came from (``"user"`` or ``"quartiles"``).
    """

    name: str
    kind: AttributeKind
    groups: tuple[GroupResult, ...]
    disparities: tuple[DisparityResult, ...]
    verdict: Verdict
    bins: tuple[float, ...] | None = None
    bins_source: str | None = None

    def group(self, label: str) -> GroupResult:
        """The group labelled ``label``; NotFoundError lists the labels."""
        for group in self.groups:
            if group.group == label:
                return group
        labels = ", ".join(repr(g.group) for g in self.groups)
        raise NotFoundError(f"Attribute {self.name!r} has no group {label!r}; it has {labels}.")

    def disparity(self, measure: Measure | str) -> DisparityResult:
        """The result of ``measure``; NotFoundError lists the measures."""
        for result in self.disparities:
            if result.measure == measure:
                return result
        known = ", ".join(str(d.measure) for d in self.disparities)
        raise NotFoundError(f"Attribute {self.name!r} has no measure {str(measure)!r}; "
                            f"it has {known}.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": str(self.kind),
            "bins": None if self.bins is None else [finite(b) for b in self.bins],
            "bins_source": self.bins_source,
            "verdict": str(self.verdict),
            "groups": [g.to_dict() for g in self.groups],
            "disparities": [d.to_dict() for d in self.disparities],
        }


@dataclass(frozen=True)
class FairnessReport:
    """The result of :func:`~rasad.governance.fairness.assess`.

    ``verdict`` is FAIL when any judged measure fails, PASS when every measure with a
    threshold passes, NOT_JUDGED when none could be judged, and INCONCLUSIVE otherwise.
    ``policy`` is the policy as a dict (thresholds and minimum sizes actually applied);
    ``outcome`` says which label value the rates count as favourable.
    """

    rows: int
    attributes: tuple[AttributeResult, ...]
    verdict: Verdict
    reason: str
    n_boot: int
    confidence: float
    seed: int
    policy: Mapping[str, Any]
    has_scores: bool
    outcome: Outcome = ASSUMED_OUTCOME

    @property
    def failed(self) -> bool:
        """Whether any measure failed (the CLI exits 1 on this)."""
        return self.verdict is Verdict.FAIL

    def attribute(self, name: str) -> AttributeResult:
        """The attribute ``name``; NotFoundError lists the attributes."""
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        names = ", ".join(repr(a.name) for a in self.attributes)
        raise NotFoundError(f"The report has no attribute {name!r}; it has {names}.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "verdict": str(self.verdict),
            "reason": self.reason,
            "n_boot": self.n_boot,
            "confidence": self.confidence,
            "seed": self.seed,
            "has_scores": self.has_scores,
            "outcome": self.outcome.to_dict(),
            "policy": dict(self.policy),
            "attributes": [a.to_dict() for a in self.attributes],
        }
