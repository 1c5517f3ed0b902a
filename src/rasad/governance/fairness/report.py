"""Fairness reports: typed, immutable results per group, per measure, per attribute.

:func:`rasad.governance.fairness.assess` returns a :class:`FairnessReport`. It holds one
:class:`AttributeResult` per sensitive attribute (and one for their intersection when
asked). Each attribute lists its groups (:class:`GroupResult`, every group metric as an
:class:`Estimate` with its bootstrap interval) and its disparity measures
(:class:`DisparityResult`, with the threshold, the verdict and the reason for it).

Every class here is a :class:`rasad.results.Result`: ``to_dict()`` and ``to_json()``
give the one JSON form (enums as their string values; figures that do not exist, such
as a rate with no denominator or an interval that was not computed, as ``null``,
never NaN), and ``from_dict()`` reads it back, including reports stored by rasad
versions before these were pydantic models.

>>> Estimate(value=0.25, lower=0.2, upper=0.3).to_dict()
{'value': 0.25, 'lower': 0.2, 'upper': 0.3}
>>> Estimate(value=float("nan")).to_dict()
{'value': None, 'lower': None, 'upper': None}
"""

from __future__ import annotations

from pydantic import Field, computed_field

from rasad.errors import NotFoundError
from rasad.governance.fairness.terms import (
    AttributeKind,
    Figure,
    GroupMetric,
    Label,
    Measure,
    Verdict,
    finite,
)
from rasad.governance.fairness.verdict import FairnessPolicy
from rasad.results import Result


class Outcome(Result):
    """Which outcome the rates count: the favourable label value, and the other one.

    Every rate of a report is computed on the favourable outcome: the selection rate is
    the share of rows predicted favourable, the true positive rate (equal opportunity)
    the share of truly favourable rows predicted favourable, and so on.

    Parameters
    ----------
    target : str or None
        The label column's name, when the labels came as a named column.
    favorable : bool, int, float or str
        The label value that favours the person (a loan approved, no default).
    unfavorable : bool, int, float, str or None
        The other value; None when the data holds only the favourable one.
    declared : bool
        False when no favourable outcome was declared and the positive label 1 was
        assumed.

    Examples
    --------
    >>> Outcome(favorable=0, unfavorable=1, target="default").describe()
    'default = 0 is the favourable outcome; rates count predictions of 0'
    >>> Outcome(favorable=1, unfavorable=0, declared=False).describe()
    'label = 1 is the favourable outcome (assumed: none declared); rates count predictions of 1'
    """

    target: str | None = None
    favorable: Label
    unfavorable: Label | None
    declared: bool = True

    def describe(self) -> str:
        """One line naming the measured outcome, for every report."""
        how = "" if self.declared else " (assumed: none declared)"
        return (f"{self.target or 'label'} = {self.favorable!s} is the favourable outcome"
                f"{how}; rates count predictions of {self.favorable!s}")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def description(self) -> str:
        """:meth:`describe`, in the JSON form so that a reader needs no code to show it."""
        return self.describe()


ASSUMED_OUTCOME = Outcome(favorable=1, unfavorable=0, declared=False)
"""The outcome when none is declared: the positive label 1 (labels coded 0/1)."""


class Estimate(Result):
    """A point estimate with its bootstrap percentile interval (None when not computed).

    ``value`` is NaN when the figure does not exist (a rate whose denominator is empty).
    """

    value: Figure
    lower: float | None = None
    upper: float | None = None


class GroupResult(Result):
    """One group of one attribute.

    Parameters
    ----------
    group : str
        The group's label (a category, a bin such as ``"[25, 35)"``, or an
        intersection such as ``"F | SA"``).
    count, positives, negatives, predicted_positives : int
        Rows, rows whose label is the favourable outcome, rows whose label is the
        other outcome, rows predicted favourable (see :class:`Outcome`).
    judged : bool
        Whether the group has at least the policy's ``min_group_size`` rows.
    reason : str
        Why the group is or is not judged.
    metrics : mapping of GroupMetric to Estimate
        Every group metric that could be computed. A metric whose denominator is
        zero (the true positive rate of a group with no positives) has a NaN value.
    """

    group: str
    count: int
    positives: int
    negatives: int
    predicted_positives: int
    judged: bool
    reason: str
    metrics: dict[GroupMetric, Estimate]

    def metric(self, name: GroupMetric | str) -> Estimate:
        """The estimate of ``name``; NotFoundError lists the metrics computed."""
        try:
            return self.metrics[GroupMetric(name)]
        except (KeyError, ValueError):
            known = ", ".join(str(m) for m in self.metrics)
            raise NotFoundError(
                f"Group {self.group!r} has no metric {str(name)!r}; it has {known}."
            ) from None


class DisparityResult(Result):
    """One disparity measure of one attribute, with its verdict.

    Parameters
    ----------
    measure : Measure
        Which measure.
    value : float
        The measure among the judged groups (those large enough for it); NaN when
        no group is.
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
    value: Figure
    lower: float | None
    upper: float | None
    value_all_groups: Figure
    threshold: float | None
    higher_is_better: bool
    verdict: Verdict | None
    reason: str
    groups: tuple[str, ...]
    excluded: tuple[str, ...]

    @property
    def interval(self) -> tuple[float, float] | None:
        """``(lower, upper)`` when both ends exist, else None."""
        lower, upper = finite(self.lower), finite(self.upper)
        return None if lower is None or upper is None else (lower, upper)


class AttributeResult(Result):
    """Everything a report says about one sensitive attribute.

    ``bins`` holds the edges used when a numeric attribute was binned (None otherwise);
    ``bins_source`` says where they came from (``"user"`` or ``"quartiles"``).
    """

    name: str
    kind: AttributeKind
    bins: tuple[Figure, ...] | None = None
    bins_source: str | None = None
    verdict: Verdict
    groups: tuple[GroupResult, ...]
    disparities: tuple[DisparityResult, ...]

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


class FairnessReport(Result):
    """The result of :func:`~rasad.governance.fairness.assess`.

    ``verdict`` is FAIL when any judged measure fails, PASS when every measure with a
    threshold passes, NOT_JUDGED when none could be judged, and INCONCLUSIVE otherwise.
    ``policy`` is the policy actually applied (its JSON lists every measure's
    threshold); ``outcome`` says which label value the rates count as favourable.
    """

    rows: int
    verdict: Verdict
    reason: str
    n_boot: int
    confidence: float
    seed: int
    has_scores: bool
    outcome: Outcome = ASSUMED_OUTCOME
    policy: FairnessPolicy = Field(default_factory=FairnessPolicy)
    attributes: tuple[AttributeResult, ...]

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

    def failures(self) -> list[str]:
        """Each failed measure as ``"measure of 'attribute'"``, in report order.

        >>> FairnessReport(rows=0, verdict="not judged", reason="", n_boot=100,
        ...                confidence=0.95, seed=0, has_scores=False, attributes=()).failures()
        []
        """
        return [f"{d.measure} of {a.name!r}" for a in self.attributes for d in a.disparities
                if d.verdict is Verdict.FAIL]


class FairnessAssessment(Result):
    """A fairness report with what was assessed and where it was stored.

    What :func:`rasad.governance.fairness.service.assess_model` returns and
    ``rasad fairness --json`` prints.

    Parameters
    ----------
    data : str
        What was assessed, as people read it: ``"loans@1 scored by credit@1"`` or a
        file path.
    model, dataset : str or None
        The model version and dataset version (``name@version``) when a registered
        model scored a project dataset.
    declared_in : str or None
        Where the favourable outcome was declared; None when it was assumed.
    result_id : int or None
        The stored monitor result holding ``report``, when it was saved.
    report : FairnessReport
        The report itself.
    """

    data: str
    model: str | None = None
    dataset: str | None = None
    declared_in: str | None = None
    result_id: int | None = None
    report: FairnessReport

    @property
    def failed(self) -> bool:
        """Whether any measure failed."""
        return self.report.failed


__all__ = [
    "ASSUMED_OUTCOME",
    "AttributeKind",
    "AttributeResult",
    "DisparityResult",
    "Estimate",
    "FairnessAssessment",
    "FairnessReport",
    "GroupMetric",
    "GroupResult",
    "Label",
    "Measure",
    "Outcome",
    "Verdict",
    "finite",
]
