"""The fairness policy (thresholds, minimum sizes) and the verdict on each measure.

A :class:`FairnessPolicy` is an explicit table. The default thresholds:

============================== =========== ==========================================
measure                        passes when notes
============================== =========== ==========================================
disparate_impact_ratio         >= 0.8      the four-fifths rule
demographic_parity_difference  <= 0.1
equalized_odds_difference      <= 0.1
equal_opportunity_difference   <= 0.1
predictive_parity_difference   <= 0.1
demographic_parity_ratio       (none)      reported, not judged (same number as the
                                           disparate impact ratio)
equalized_odds_ratio           (none)      reported, not judged
============================== =========== ==========================================

Pass ``thresholds={"equalized_odds_difference": 0.05}`` to change one (``None`` turns a
measure's verdict off); the others keep their defaults.

Minimum sizes (:attr:`FairnessPolicy.min_group_size`, 30 rows, and
:attr:`FairnessPolicy.min_class_count`, 10): a group is judged only when it has at
least 30 rows, and for measures built on a conditional rate only when that rate's
denominator has at least 10 rows (positives for the true positive rate, negatives for
the false positive rate, predicted positives for precision). Smaller groups are still
reported with their metrics and intervals.

The verdict on a measure (:func:`judge`) compares its bootstrap interval, computed
among the groups large enough for it, with the threshold:

- FAIL when the whole interval is on the wrong side (so the evidence of unfairness
  survives sampling noise). Adding groups can only widen a max - min difference or
  lower a min / max ratio, so a measure that fails among the large groups also fails
  with every group.
- PASS when the whole interval is on the right side and no group was left out.
- INCONCLUSIVE when the interval straddles the threshold, or when it passes but a
  group was too small to judge (that group could hide a disparity).
- NOT_JUDGED when fewer than two groups are large enough to compare.

>>> policy = FairnessPolicy(thresholds={"equalized_odds_difference": 0.05})
>>> policy.threshold("equalized_odds_difference"), policy.threshold("disparate_impact_ratio")
(0.05, 0.8)
>>> judge(Measure.DEMOGRAPHIC_PARITY_DIFFERENCE, 0.15, 0.12, 0.18, 0.1, ())
(<Verdict.FAIL: 'fail'>, 'interval [0.12, 0.18] is entirely above the threshold 0.1')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from pydantic import BaseModel, Field, ValidationError, field_serializer, model_validator

from rasad.errors import InputError
from rasad.governance.fairness.terms import GroupMetric, Measure, Verdict
from rasad.results import Result

DEFAULT_THRESHOLDS: Final[Mapping[Measure, float | None]] = MappingProxyType({
    Measure.DISPARATE_IMPACT_RATIO: 0.8,
    Measure.DEMOGRAPHIC_PARITY_DIFFERENCE: 0.1,
    Measure.EQUALIZED_ODDS_DIFFERENCE: 0.1,
    Measure.EQUAL_OPPORTUNITY_DIFFERENCE: 0.1,
    Measure.PREDICTIVE_PARITY_DIFFERENCE: 0.1,
    Measure.DEMOGRAPHIC_PARITY_RATIO: None,
    Measure.EQUALIZED_ODDS_RATIO: None,
})
"""Default threshold per measure; None means reported but not judged."""

HIGHER_IS_BETTER: Final[frozenset[Measure]] = frozenset({
    Measure.DISPARATE_IMPACT_RATIO, Measure.DEMOGRAPHIC_PARITY_RATIO,
    Measure.EQUALIZED_ODDS_RATIO,
})
"""Ratios pass when at least their threshold; differences when at most."""

RATES: Final[Mapping[Measure, tuple[GroupMetric, ...]]] = MappingProxyType({
    Measure.DEMOGRAPHIC_PARITY_DIFFERENCE: (GroupMetric.SELECTION_RATE,),
    Measure.DEMOGRAPHIC_PARITY_RATIO: (GroupMetric.SELECTION_RATE,),
    Measure.DISPARATE_IMPACT_RATIO: (GroupMetric.SELECTION_RATE,),
    Measure.EQUALIZED_ODDS_DIFFERENCE: (GroupMetric.TRUE_POSITIVE_RATE,
                                        GroupMetric.FALSE_POSITIVE_RATE),
    Measure.EQUALIZED_ODDS_RATIO: (GroupMetric.TRUE_POSITIVE_RATE,
                                   GroupMetric.FALSE_POSITIVE_RATE),
    Measure.EQUAL_OPPORTUNITY_DIFFERENCE: (GroupMetric.TRUE_POSITIVE_RATE,),
    Measure.PREDICTIVE_PARITY_DIFFERENCE: (GroupMetric.PRECISION,),
})
"""The group rates each measure compares."""


def _measure(name: Measure | str) -> Measure:
    try:
        return Measure(name)
    except ValueError:
        known = ", ".join(str(m) for m in Measure)
        raise InputError(f"Unknown fairness measure {str(name)!r}; use one of {known}.") \
            from None


class FairnessPolicy(Result):
    """Thresholds and minimum sizes for fairness verdicts (see the module docstring).

    Parameters
    ----------
    thresholds : mapping of measure (or its name) to float or None
        Overrides of :data:`DEFAULT_THRESHOLDS`. The JSON form lists the threshold
        applied to every measure, so a stored policy reads back to the same verdicts.
    min_group_size : int
        Rows a group needs to be judged (default 30).
    min_class_count : int
        Rows the denominator of a conditional rate needs in a group for measures built
        on that rate (default 10).

    Raises
    ------
    InputError
        For an unknown measure, a threshold that is not a number, or a minimum that is
        not an integer >= 1.

    Examples
    --------
    >>> FairnessPolicy().threshold(Measure.DEMOGRAPHIC_PARITY_RATIO) is None
    True
    >>> FairnessPolicy(min_group_size=50).to_dict()["thresholds"]["disparate_impact_ratio"]
    0.8
    """

    thresholds: dict[Measure, float | None] = Field(default_factory=dict)
    min_group_size: int = 30
    min_class_count: int = 10

    def __init__(self, *, thresholds: Mapping[Measure | str, float | None] | None = None,
                 min_group_size: int = 30, min_class_count: int = 10) -> None:
        # Bad values are the caller's input: an InputError naming the value, not
        # pydantic's ValidationError.
        try:
            BaseModel.__init__(self, thresholds={} if thresholds is None else thresholds,
                               min_group_size=min_group_size, min_class_count=min_class_count)
        except ValidationError as error:
            raise InputError(_first_message(error)) from None

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        thresholds = data.get("thresholds") or {}
        if not isinstance(thresholds, Mapping):
            raise ValueError(f"thresholds must map measure names to numbers or None; "
                             f"got {thresholds!r}.")
        checked: dict[Measure, float | None] = {}
        for name, value in thresholds.items():
            measure = _measure(name)
            if value is not None and not (isinstance(value, int | float)
                                          and value == value):
                raise ValueError(f"The threshold of {measure} must be a number or None; "
                                 f"got {value!r}.")
            checked[measure] = None if value is None else float(value)
        for name in ("min_group_size", "min_class_count"):
            value = data.get(name, 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")
        return {**data, "thresholds": checked}

    @field_serializer("thresholds")
    def _every_threshold(self, _: Any) -> dict[str, float | None]:
        return {str(m): self.threshold(m) for m in Measure}

    def threshold(self, measure: Measure | str) -> float | None:
        """The threshold applied to ``measure`` (the override, else the default)."""
        measure = _measure(measure)
        if measure in self.thresholds:
            value = self.thresholds[measure]
            return None if value is None else float(value)
        return DEFAULT_THRESHOLDS[measure]


def _first_message(error: ValidationError) -> str:
    """The message of the first problem, without pydantic's "Value error, " prefix."""
    first = error.errors()[0]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, Exception):
        return str(cause)
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def judge(measure: Measure, value: float, lower: float | None, upper: float | None,
          threshold: float | None, excluded: Sequence[str], judged_groups: int = 2
          ) -> tuple[Verdict | None, str]:
    """The verdict on one measure and the reason for it (see the module docstring)."""
    left_out = (f"; group(s) {', '.join(map(repr, excluded))} too small to judge"
                if excluded else "")
    if threshold is None:
        return None, "no threshold in the policy: reported, not judged"
    if judged_groups < 2:
        return Verdict.NOT_JUDGED, (f"fewer than two groups are large enough to compare"
                                    f"{left_out}")
    if lower is None or upper is None or lower != lower or upper != upper:
        return Verdict.NOT_JUDGED, f"no confidence interval could be computed{left_out}"
    interval = f"interval [{_fmt(lower)}, {_fmt(upper)}]"
    higher = measure in HIGHER_IS_BETTER
    good = lower >= threshold if higher else upper <= threshold
    bad = upper < threshold if higher else lower > threshold
    if bad:
        side = "below" if higher else "above"
        return Verdict.FAIL, f"{interval} is entirely {side} the threshold {_fmt(threshold)}"
    if good and not excluded:
        side = "at or above" if higher else "at or below"
        return Verdict.PASS, f"{interval} is entirely {side} the threshold {_fmt(threshold)}"
    if good:
        return Verdict.INCONCLUSIVE, (f"{interval} passes the threshold {_fmt(threshold)} "
                                      f"among the judged groups{left_out}")
    return Verdict.INCONCLUSIVE, (f"{interval} straddles the threshold {_fmt(threshold)}"
                                  f"{left_out}")


def combine(verdicts: Sequence[Verdict | None]) -> Verdict:
    """The verdict over several: FAIL if any fails, PASS if all judged pass, else
    INCONCLUSIVE; NOT_JUDGED when none was judged. Measures without threshold are ignored.

    >>> combine([Verdict.PASS, None, Verdict.INCONCLUSIVE])
    <Verdict.INCONCLUSIVE: 'inconclusive'>
    """
    present = [v for v in verdicts if v is not None]
    if Verdict.FAIL in present:
        return Verdict.FAIL
    if present and all(v is Verdict.PASS for v in present):
        return Verdict.PASS
    if all(v is Verdict.NOT_JUDGED for v in present):
        return Verdict.NOT_JUDGED
    return Verdict.INCONCLUSIVE
