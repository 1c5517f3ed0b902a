"""Alert thresholds for per-chunk metrics: the spread of the reference chunks, or fixed values.

A :class:`Threshold` turns the metric values of the reference chunks into
:class:`Bounds`; a chunk alerts when its value lies strictly below ``lower`` or
strictly above ``upper``. A missing bound never alerts, and neither does a
missing value (a metric that could not be computed in a chunk).

The default, :class:`StdThreshold` with ``multiplier=3.0``, is NannyML's
``StandardDeviationThreshold``: mean ± 3 standard deviations of the reference
chunks' values, with the population standard deviation (``ddof=0``, as
``numpy.nanstd``). The callers clip the bounds to the range a metric can take
(ROC AUC cannot exceed 1, an error cannot fall below 0), as NannyML does.

>>> bounds = StdThreshold(multiplier=2.0).bounds([0.80, 0.82, 0.84])
>>> round(bounds.lower, 4), round(bounds.upper, 4)
(0.7873, 0.8527)
>>> bounds.alerts([0.81, 0.70, None, 0.86])
(1, 3)
>>> FixedThreshold(lower=0.75).bounds([]).to_dict()
{'lower': 0.75, 'upper': None, 'method': 'fixed', 'reason': None}
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rasad.errors import InputError
from rasad.results import Result

MIN_REFERENCE_CHUNKS = 6
"""Fewer reference chunks than this make a spread-based threshold unreliable.

NannyML warns below the same number; rasad records a warning in the report.
"""


class Bounds(Result):
    """The alert bounds of one metric.

    Parameters
    ----------
    lower, upper : float or None
        A chunk alerts when its value is below ``lower`` or above ``upper``;
        ``None`` means no bound on that side.
    method : str
        The threshold that produced the bounds (``"std"`` or ``"fixed"``).
    reason : str or None
        Why a bound that the method would set is missing, if it is.
    """

    lower: float | None
    upper: float | None
    method: str
    reason: str | None = None

    def breached(self, value: float | None) -> bool:
        """Whether ``value`` lies outside the bounds (``False`` for a missing value)."""
        if value is None or not math.isfinite(value):
            return False
        return (self.lower is not None and value < self.lower) or (
            self.upper is not None and value > self.upper
        )

    def alerts(self, values: Sequence[float | None]) -> tuple[int, ...]:
        """Positions of the values that lie outside the bounds."""
        return tuple(i for i, value in enumerate(values) if self.breached(value))

    def clip(self, low: float | None, high: float | None) -> Bounds:
        """The bounds limited to ``[low, high]``, the range a metric can take."""

        def limit(bound: float | None) -> float | None:
            if bound is None:
                return None
            if low is not None:
                bound = max(bound, low)
            if high is not None:
                bound = min(bound, high)
            return bound

        return self.model_copy(update={"lower": limit(self.lower), "upper": limit(self.upper)})


class Threshold(abc.ABC):
    """How alert bounds are set from the values of the reference chunks."""

    @abc.abstractmethod
    def bounds(self, reference: Sequence[float | None]) -> Bounds:
        """Bounds from the reference chunks' values (``None`` for a chunk without one)."""

    def to_dict(self) -> dict[str, Any]:
        """The configuration, JSON-ready (subclasses add their parameters)."""
        return {"method": type(self).__name__}


@dataclass(frozen=True)
class StdThreshold(Threshold):
    """Mean ± ``multiplier`` standard deviations of the reference chunks' values.

    Parameters
    ----------
    multiplier : float, default 3.0
        How many (population) standard deviations from the mean a value may lie
        before it alerts. NannyML's default is 3.

    Notes
    -----
    Needs the metric in at least two reference chunks; with fewer, both bounds
    are ``None`` and :attr:`Bounds.reason` says why.

    Examples
    --------
    >>> StdThreshold().bounds([0.9, None]).to_dict()
    {'lower': None, 'upper': None, 'method': 'std', 'reason': 'the metric has a value in \
only 1 reference chunk(s); a spread needs at least 2'}
    """

    multiplier: float = 3.0

    def __post_init__(self) -> None:
        if isinstance(self.multiplier, bool) or not isinstance(self.multiplier, (int, float)) \
                or not math.isfinite(self.multiplier) or self.multiplier < 0:
            raise InputError(
                f"StdThreshold multiplier must be a finite number >= 0; got {self.multiplier!r}."
            )

    def bounds(self, reference: Sequence[float | None]) -> Bounds:
        values = np.array([v for v in reference if v is not None and math.isfinite(v)],
                          dtype=np.float64)
        if values.size < 2:
            return Bounds(lower=None, upper=None, method="std",
                          reason=f"the metric has a value in only {values.size} reference "
                          "chunk(s); a spread needs at least 2")
        mean, spread = float(values.mean()), float(values.std())
        return Bounds(lower=mean - self.multiplier * spread,
                      upper=mean + self.multiplier * spread, method="std")

    def to_dict(self) -> dict[str, Any]:
        return {"method": "std", "multiplier": float(self.multiplier)}


@dataclass(frozen=True)
class FixedThreshold(Threshold):
    """Fixed bounds, whatever the reference shows.

    Parameters
    ----------
    lower, upper : float or None
        Alert below ``lower`` or above ``upper``; give at least one.

    Examples
    --------
    >>> FixedThreshold(lower=0.8, upper=0.7)
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: FixedThreshold lower (0.8) is above upper (0.7); swap them.
    """

    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        for name, value in (("lower", self.lower), ("upper", self.upper)):
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                raise InputError(f"FixedThreshold {name} must be a finite number or None; "
                                 f"got {value!r}.")
        if self.lower is None and self.upper is None:
            raise InputError("FixedThreshold needs a lower or an upper bound (or both).")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise InputError(f"FixedThreshold lower ({self.lower}) is above upper "
                             f"({self.upper}); swap them.")

    def bounds(self, reference: Sequence[float | None]) -> Bounds:
        return Bounds(lower=None if self.lower is None else float(self.lower),
                      upper=None if self.upper is None else float(self.upper), method="fixed")

    def to_dict(self) -> dict[str, Any]:
        return {"method": "fixed", "lower": self.lower, "upper": self.upper}


__all__ = ["MIN_REFERENCE_CHUNKS", "Bounds", "FixedThreshold", "StdThreshold", "Threshold"]
