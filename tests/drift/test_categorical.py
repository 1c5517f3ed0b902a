"""Categorical methods against SciPy, on the same count tables."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from rasad.drift.categorical import CATEGORICAL_METHODS, CategoricalPair, chi_square
from rasad.drift.methods import Method, psi_from_counts


def pair(ref: list[int], cur: list[int]) -> CategoricalPair:
    labels = tuple(f"k{i}" for i in range(len(ref)))
    return CategoricalPair(labels, np.array(ref, dtype=np.int64), np.array(cur, dtype=np.int64))


@pytest.mark.parametrize(("ref", "cur"), [
    ([500, 300, 200], [400, 300, 300]),
    ([10, 0, 5], [3, 8, 0]),           # a category on one side only
    ([40, 60], [55, 45]),               # 2 x 2: SciPy applies Yates' correction
    ([1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1]),
])
def test_chi_square_equals_scipy_exactly(ref: list[int], cur: list[int]) -> None:
    expected = stats.chi2_contingency(np.array([ref, cur]))
    assert CATEGORICAL_METHODS[Method.CHI_SQUARE](pair(ref, cur)) == (
        float(expected.statistic), float(expected.pvalue))
    assert chi_square(np.array(ref), np.array(cur))[1] == expected.pvalue


@pytest.mark.parametrize(("ref", "cur"), [([40, 60], [55, 45]), ([900, 100], [880, 120]),
                                          ([3, 1], [1, 3])])
def test_z_test_p_value_equals_uncorrected_chi_square(ref: list[int], cur: list[int]) -> None:
    z, p = CATEGORICAL_METHODS[Method.Z_TEST](pair(ref, cur))
    expected = stats.chi2_contingency(np.array([ref, cur]), correction=False)
    assert p == pytest.approx(expected.pvalue, rel=1e-10)
    assert z * z == pytest.approx(expected.statistic, rel=1e-10)
    # the sign says which way the first category's share moved
    assert (z > 0) == (cur[0] / sum(cur) > ref[0] / sum(ref))


def test_z_test_needs_two_categories() -> None:
    with pytest.raises(ValueError, match="exactly two categories"):
        CATEGORICAL_METHODS[Method.Z_TEST](pair([1, 2, 3], [3, 2, 1]))


def test_z_test_without_variation_does_not_flag() -> None:
    assert CATEGORICAL_METHODS[Method.Z_TEST](pair([10, 0], [20, 0])) == (0.0, 1.0)


def test_psi_and_jensen_shannon_on_categories() -> None:
    p = pair([500, 300, 200, 0], [400, 300, 250, 50])
    psi, none = CATEGORICAL_METHODS[Method.PSI](p)
    assert none is None
    r = np.array([0.5, 0.3, 0.2, 1e-4])
    c = np.array([0.4, 0.3, 0.25, 0.05])
    assert psi == pytest.approx(float(np.sum((c - r) * np.log(c / r))), rel=1e-12)
    js, _ = CATEGORICAL_METHODS[Method.JENSEN_SHANNON](p)
    assert js == pytest.approx(distance.jensenshannon([500, 300, 200, 0], [400, 300, 250, 50]))
    assert psi_from_counts([1, 1], [1, 1]) == 0.0
