"""The vocabulary of fairness reports: group metrics, measures, verdicts, attribute kinds.

Both the report (:mod:`rasad.governance.fairness.report`) and the policy that judges
it (:mod:`rasad.governance.fairness.verdict`) speak these terms; keeping them here
lets the report hold the policy it applied without the two modules importing each
other. :data:`Figure` is how a report types a figure that may not exist (a rate with
no denominator): NaN in memory, ``null`` in JSON, and NaN again when read back.

>>> from pydantic import TypeAdapter
>>> figure = TypeAdapter(Figure)
>>> figure.validate_python(None), figure.dump_json(float("nan"))
(nan, b'null')
"""

from __future__ import annotations

import enum
import math
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema


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


class AttributeKind(enum.StrEnum):
    """How an attribute's groups were formed."""

    CATEGORICAL = "categorical"
    BINNED = "binned"
    INTERSECTION = "intersection"


Label = bool | int | float | str
"""A label value: the favourable outcome is one of the values of the target column."""


def finite(value: float | None) -> float | None:
    """``value`` as a float, or None when it is None, NaN or infinite.

    >>> finite(float("nan")) is None, finite(1)
    (True, 1.0)
    """
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _nan_for_null(value: Any) -> Any:
    return math.nan if value is None else value


Figure = Annotated[
    float,
    BeforeValidator(_nan_for_null),
    # A plain float in JSON (NaN and infinities as null, per Result's configuration).
    PlainSerializer(float, return_type=float),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "null"}]}),
]
"""A figure that may not exist: NaN in memory, ``null`` in JSON."""


__all__ = ["AttributeKind", "Figure", "GroupMetric", "Label", "Measure", "Verdict", "finite"]
