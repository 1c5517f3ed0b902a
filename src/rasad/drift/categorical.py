"""Categorical drift methods, computed on category counts.

Both sides are reduced to counts over the union of their categories (reference
categories first, then the ones only the current side has); every method works on
those two count vectors. The chi-square test is ``scipy.stats.chi2_contingency`` on
the 2 x k table, called as is (with its default continuity correction, which SciPy
applies only to 2 x 2 tables). The two-proportion z-test compares the share of the
first category; its p-value equals chi-square's without continuity correction.

>>> pair = CategoricalPair(("a", "b", "c"), np.array([500, 300, 200]), np.array([400, 300, 300]))
>>> CATEGORICAL_METHODS[Method.CHI_SQUARE](pair)
(31.11111111111111, 1.755125027994412e-07)
>>> round(CATEGORICAL_METHODS[Method.PSI](pair)[0], 4)
0.0629
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import stats

from rasad.drift.methods import (
    Method,
    jensen_shannon_from_counts,
    psi_from_counts,
    two_proportion_z,
)

Counts = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class CategoricalPair:
    """Counts of each category on both sides, aligned on ``labels``."""

    labels: tuple[str, ...]
    reference: Counts
    current: Counts


def chi_square(reference: Counts, current: Counts) -> tuple[float, float]:
    """``scipy.stats.chi2_contingency`` on the 2 x k table: statistic, p-value.

    Every category must be present on at least one side.
    """
    result = stats.chi2_contingency(np.vstack((reference, current)))
    return float(result.statistic), float(result.pvalue)


def _chi_square(pair: CategoricalPair) -> tuple[float, float | None]:
    return chi_square(pair.reference, pair.current)


def _z_test(pair: CategoricalPair) -> tuple[float, float | None]:
    if len(pair.labels) != 2:
        raise ValueError(f"The z-test needs exactly two categories, not {len(pair.labels)}.")
    return two_proportion_z(int(pair.reference[0]), int(pair.reference.sum()),
                            int(pair.current[0]), int(pair.current.sum()))


def _psi(pair: CategoricalPair) -> tuple[float, float | None]:
    return psi_from_counts(pair.reference, pair.current), None


def _jensen_shannon(pair: CategoricalPair) -> tuple[float, float | None]:
    return jensen_shannon_from_counts(pair.reference, pair.current), None


CATEGORICAL_METHODS: Final[
    Mapping[Method, Callable[[CategoricalPair], tuple[float, float | None]]]
] = MappingProxyType({
    Method.CHI_SQUARE: _chi_square,
    Method.Z_TEST: _z_test,
    Method.PSI: _psi,
    Method.JENSEN_SHANNON: _jensen_shannon,
})
"""Categorical methods: each maps a :class:`CategoricalPair` to (statistic, p-value or None)."""
