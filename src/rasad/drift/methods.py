"""Drift methods: their names, kinds, default thresholds, and the typed result of one.

A method is either a **p-value** test (drift when the p-value is below its
threshold, ``alpha``) or a **distance** (drift when the distance is at least its
threshold). :data:`METHODS` is the explicit table of every method rasad runs, what
columns it applies to, and which SciPy function computes it; the computations
themselves live in :mod:`rasad.drift.numeric` and :mod:`rasad.drift.categorical`.

>>> info = METHODS[Method.WASSERSTEIN]
>>> info.kind, info.default_threshold, info.direction
(<MethodKind.DISTANCE: 'distance'>, 0.1, <Direction.AT_LEAST: 'at least'>)
>>> sorted(m.value for m, i in METHODS.items() if ValueKind.BINARY in i.value_kinds)
['chi_square', 'jensen_shannon', 'psi', 'z_test']
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from pydantic import computed_field

from rasad.drift._model import Figure
from rasad.results import Result

if TYPE_CHECKING:
    # NumPy and SciPy load with the first computation, not with the method table and
    # the result type (reading a stored report needs neither).
    import numpy as np
    import numpy.typing as npt

PSI_EPSILON: Final[float] = 1e-4
"""Share given to an empty bin or category in PSI, so the logarithm stays finite
(Evidently's convention)."""


class ValueKind(enum.StrEnum):
    """How drift treats a column's values.

    ``NUMERIC`` for numeric columns; ``BINARY`` for boolean and categorical columns
    with exactly two values across both sides; ``CATEGORICAL`` for the other
    categorical columns.
    """

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BINARY = "binary"


class Method(enum.StrEnum):
    """The drift methods rasad runs; ``Method("ks") is Method.KS``."""

    KS = "ks"
    WASSERSTEIN = "wasserstein"
    PSI = "psi"
    JENSEN_SHANNON = "jensen_shannon"
    ANDERSON_DARLING = "anderson_darling"
    CRAMER_VON_MISES = "cramer_von_mises"
    CHI_SQUARE = "chi_square"
    Z_TEST = "z_test"


class MethodKind(enum.StrEnum):
    """Whether a method yields a p-value or a distance."""

    P_VALUE = "p-value"
    DISTANCE = "distance"


class Direction(enum.StrEnum):
    """When a method flags drift: p-value below the threshold, distance at least it."""

    BELOW = "below"
    AT_LEAST = "at least"


@dataclass(frozen=True)
class MethodInfo:
    """What one method is: its kind, default threshold, the columns it applies to.

    ``default_threshold`` is None for p-value tests: they use the policy's ``alpha``.
    """

    method: Method
    title: str
    kind: MethodKind
    default_threshold: float | None
    value_kinds: frozenset[ValueKind]
    source: str

    @property
    def direction(self) -> Direction:
        return Direction.BELOW if self.kind is MethodKind.P_VALUE else Direction.AT_LEAST


_NUM = frozenset({ValueKind.NUMERIC})
_CAT = frozenset({ValueKind.CATEGORICAL, ValueKind.BINARY})
_ALL = frozenset(ValueKind)

METHODS: Final[Mapping[Method, MethodInfo]] = MappingProxyType({
    info.method: info
    for info in (
        MethodInfo(Method.KS, "Kolmogorov-Smirnov", MethodKind.P_VALUE, None, _NUM,
                   "scipy.stats.ks_2samp"),
        MethodInfo(Method.WASSERSTEIN, "Wasserstein distance / reference std",
                   MethodKind.DISTANCE, 0.1, _NUM, "scipy.stats.wasserstein_distance"),
        MethodInfo(Method.PSI, "population stability index", MethodKind.DISTANCE, 0.1, _ALL,
                   "reference-quantile bins or categories"),
        MethodInfo(Method.JENSEN_SHANNON, "Jensen-Shannon distance", MethodKind.DISTANCE, 0.1,
                   _ALL, "scipy.spatial.distance.jensenshannon"),
        MethodInfo(Method.ANDERSON_DARLING, "Anderson-Darling k-sample", MethodKind.P_VALUE,
                   None, _NUM, "scipy.stats.anderson_ksamp"),
        MethodInfo(Method.CRAMER_VON_MISES, "Cramér-von Mises", MethodKind.P_VALUE, None, _NUM,
                   "scipy.stats.cramervonmises_2samp"),
        MethodInfo(Method.CHI_SQUARE, "chi-square", MethodKind.P_VALUE, None, _CAT,
                   "scipy.stats.chi2_contingency"),
        MethodInfo(Method.Z_TEST, "two-proportion z-test", MethodKind.P_VALUE, None,
                   frozenset({ValueKind.BINARY}), "pooled z, scipy.stats.norm"),
    )
})
"""Every method, by name. A method applies to a column when its value kind is listed."""


class MethodResult(Result):
    """The outcome of one method on one column.

    Parameters
    ----------
    method : Method
        Which method.
    kind : MethodKind
        P-value test or distance.
    statistic : float
        The test statistic or the distance (for Wasserstein, already divided by the
        reference standard deviation); NaN when it could not be computed (``null``
        in JSON).
    p_value : float or None
        The p-value, exactly as SciPy computes it; None for distances.
    threshold : float
        Alpha for a p-value test, the distance threshold otherwise.
    drifted : bool
        Whether the method flags drift: ``p < threshold`` (the adjusted p-value when a
        correction applies) or ``distance >= threshold``.
    adjusted_p_value : float or None
        The p-value after the policy's multiple-testing correction, when one applies.
    deciding : bool
        Whether the method takes part in the column's verdict (False: reported only).

    Examples
    --------
    >>> r = MethodResult(method=Method.KS, kind=MethodKind.P_VALUE, statistic=0.21,
    ...                  p_value=0.003, threshold=0.05, drifted=True)
    >>> r.direction, r.value
    (<Direction.BELOW: 'below'>, 0.003)
    >>> r.to_dict()["p_value"]
    0.003
    """

    method: Method
    kind: MethodKind
    statistic: Figure
    p_value: float | None
    threshold: float
    drifted: bool
    adjusted_p_value: float | None = None
    deciding: bool = True

    @computed_field  # type: ignore[prop-decorator]
    @property
    def direction(self) -> Direction:
        """Whether the figure must fall below the threshold or reach it to flag drift."""
        return Direction.BELOW if self.kind is MethodKind.P_VALUE else Direction.AT_LEAST

    @property
    def value(self) -> float:
        """The figure compared with the threshold."""
        if self.kind is MethodKind.DISTANCE or self.p_value is None:
            return self.statistic
        return self.adjusted_p_value if self.adjusted_p_value is not None else self.p_value

    def describe(self) -> str:
        """One phrase: ``'ks p=0.003 < 0.05'``, ``'wasserstein 0.012 < 0.1'``."""
        name = self.method.value
        if self.kind is MethodKind.P_VALUE:
            adjusted = "adjusted " if self.adjusted_p_value is not None else ""
            sign = "<" if self.drifted else ">="
            return f"{name} {adjusted}p={_fmt(self.value)} {sign} {_fmt(self.threshold)}"
        sign = ">=" if self.drifted else "<"
        return f"{name} {_fmt(self.statistic)} {sign} {_fmt(self.threshold)}"


def flags(kind: MethodKind, value: float, threshold: float) -> bool:
    """Whether ``value`` flags drift for a method of ``kind`` (NaN never flags).

    >>> flags(MethodKind.P_VALUE, 0.01, 0.05), flags(MethodKind.DISTANCE, 0.1, 0.1)
    (True, True)
    """
    if math.isnan(value):
        return False
    return value < threshold if kind is MethodKind.P_VALUE else value >= threshold


def psi_from_counts(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Population stability index of two count (or share) vectors over the same bins.

    ``sum((c - r) * ln(c / r))`` over the bins' shares, an empty bin counting as
    :data:`PSI_EPSILON`.

    >>> round(psi_from_counts([50, 50], [40, 60]), 4)
    0.0405
    """
    import numpy as np

    r = _shares(reference)
    c = _shares(current)
    r = np.where(r == 0, PSI_EPSILON, r)
    c = np.where(c == 0, PSI_EPSILON, c)
    return float(np.sum((c - r) * np.log(c / r)))


def jensen_shannon_from_counts(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Jensen-Shannon distance (natural log, as SciPy's default) of two count vectors.

    >>> round(jensen_shannon_from_counts([50, 50], [40, 60]), 4)
    0.0711
    """
    import numpy as np
    from scipy.spatial import distance

    return float(distance.jensenshannon(np.asarray(reference, dtype=float),
                                        np.asarray(current, dtype=float)))


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test of ``x2/n2`` against ``x1/n1``: (z, two-sided p).

    Its p-value equals that of ``scipy.stats.chi2_contingency`` on the 2x2 table
    without continuity correction (z squared is the chi-square statistic). When
    both proportions are 0 or both 1 there is nothing to test: z is 0 and p is 1.

    >>> z, p = two_proportion_z(50, 100, 35, 100)
    >>> round(z, 4), round(p, 4)
    (-2.1456, 0.0319)
    """
    from scipy import stats

    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if variance <= 0.0:
        return 0.0, 1.0
    z = (x2 / n2 - x1 / n1) / math.sqrt(variance)
    return float(z), float(2.0 * stats.norm.sf(abs(z)))


def finite(value: float | None) -> float | None:
    """``value`` as a float, or None when it is missing, NaN or infinite (JSON-safe)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _shares(counts: npt.ArrayLike) -> npt.NDArray[np.float64]:
    import numpy as np

    values = np.asarray(counts, dtype=np.float64)
    total = values.sum()
    return values / total if total > 0 else values


def _fmt(value: float) -> str:
    return f"{value:.3g}"
