"""Numeric methods against SciPy, on the same data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from rasad.drift.methods import Method, psi_from_counts
from rasad.drift.numeric import (
    KS_EXACT_MAX,
    NUMERIC_METHODS,
    NumericPair,
    _largest,
    anderson_darling,
    bin_counts,
    cramer_von_mises,
    ks,
    ks_statistic,
    kstwo_sf,
    quantile_edges,
    quantiles,
    sorted_finite,
    wasserstein,
)


def samples(seed: int, n1: int, n2: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "continuous":
        a, b = rng.normal(size=n1), rng.normal(0.05, 1.1, size=n2)
    elif kind == "ties":
        a, b = rng.integers(0, 6, n1).astype(float), rng.integers(0, 7, n2).astype(float)
    else:  # rounded: ties within and across the samples
        a, b = np.round(rng.lognormal(size=n1), 1), np.round(rng.lognormal(0.1, size=n2), 1)
    return np.sort(a), np.sort(b)


@pytest.mark.parametrize("kind", ["continuous", "ties", "rounded"])
@pytest.mark.parametrize(("n1", "n2"), [(1, 7), (30, 30), (200, 731), (KS_EXACT_MAX, 900),
                                        (KS_EXACT_MAX + 1, 4000), (60_000, 25_000)])
def test_ks_equals_scipy_exactly(kind: str, n1: int, n2: int) -> None:
    a, b = samples(n1 * 7 + n2, n1, n2, kind)
    expected = stats.ks_2samp(a, b)
    assert ks(a, b) == (float(expected.statistic), float(expected.pvalue))
    assert ks(b, a) == tuple(map(float, stats.ks_2samp(b, a)[:2]))


def test_ks_statistic_is_scipys_unrounded_statistic() -> None:
    # SciPy rounds the statistic onto its lattice in the exact branch only; the
    # asymptotic branch keeps the raw maximum, which ks_statistic reproduces.
    for seed in range(40):
        rng = np.random.default_rng(seed)
        kind = ("continuous", "ties", "rounded")[seed % 3]
        a, b = samples(seed, int(rng.integers(1, 400)), int(rng.integers(1, 400)), kind)
        assert ks_statistic(a, b) == stats.ks_2samp(a, b, method="asymp").statistic


def large_samples(seed: int, n1: int, n2: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Samples for the asymptotic branch, with the shapes that stress the extremes."""
    rng = np.random.default_rng(seed)
    if kind == "discrete":  # three values: every difference sits on a tie
        a, b = rng.integers(0, 3, n1).astype(float), rng.integers(0, 3, n2).astype(float)
    elif kind == "constant":  # the current side holds one value the reference has
        a, b = rng.integers(0, 4, n1).astype(float), np.full(n2, 2.0)
    elif kind == "disjoint":  # every current value above every reference value
        a, b = rng.normal(size=n1), rng.normal(size=n2) + 100.0
    elif kind == "same":  # equal samples: the statistic is 0
        a = rng.normal(size=n1)
        b = a.copy() if n1 == n2 else rng.normal(size=n2)
    else:
        return samples(seed, n1, n2, kind)
    return np.sort(a), np.sort(b)


@pytest.mark.parametrize("kind", ["continuous", "ties", "rounded", "discrete", "constant",
                                  "disjoint", "same"])
@pytest.mark.parametrize(("n1", "n2"), [(200_000, 150_000), (12_000, 60_000), (30_000, 30_000)])
def test_ks_equals_scipy_exactly_on_large_samples(kind: str, n1: int, n2: int) -> None:
    a, b = large_samples(n1 + n2, n1, n2, kind)
    expected = stats.ks_2samp(a, b)  # asymptotic: both sizes are above KS_EXACT_MAX
    assert ks(a, b) == (float(expected.statistic), float(expected.pvalue))
    assert ks(b, a) == tuple(map(float, stats.ks_2samp(b, a)[:2]))


@pytest.mark.parametrize("kind", ["continuous", "ties", "rounded", "discrete", "constant",
                                  "disjoint"])
def test_searching_every_value_or_every_kth_gives_the_same_extremes(kind: str) -> None:
    # The blocks left unsearched hold no larger difference, whatever their size: the
    # result equals the plain maximum over every current value.
    for seed in range(6):
        rng = np.random.default_rng(seed)
        n1, n2 = int(rng.integers(1, 3000)), int(rng.integers(1, 3000))
        a, b = large_samples(seed, n1, n2, kind)
        j = np.arange(n2)
        below = np.searchsorted(a, b, "left") / n1 - j / n2
        at_most = (j + 1) / n2 - np.searchsorted(a, b, "right") / n1
        for step in (1, 2, 3, 7, 64, n2 + 5):
            assert _largest(a, b, "left", step) == below.max()
            assert _largest(a, b, "right", step) == at_most.max()


def test_ks_in_scipys_exact_smirnov_range_equals_scipy() -> None:
    # n d^2 between 2.2 and 370 is where kstwo.sf sums the one-sided Smirnov series;
    # rasad calls that ufunc with the GIL released, and must still give SciPy's figure.
    rng = np.random.default_rng(11)
    a, b = np.sort(rng.normal(size=20_000)), np.sort(rng.normal(0.04, size=20_000))
    expected = stats.ks_2samp(a, b)
    assert 2.2 <= 10_000 * expected.statistic ** 2 < 370
    assert ks(a, b) == (float(expected.statistic), float(expected.pvalue))


@pytest.mark.parametrize("n", [1, 2, 140, 141, 5_000, 10_000, 60_000])
def test_kstwo_sf_equals_scipy_on_every_branch(n: int) -> None:
    edges = np.sqrt(np.array([2.19, 2.2, 2.21, 10.0, 369.9, 370.0, 371.0]) / n)
    points = [*np.linspace(0.0, 1.0, 41), *edges, 0.5 / n, 1 / n, 1.01 / n, (n - 1) / n, 0.4999]
    for d in (float(x) for x in points if 0.0 <= x <= 1.0):
        assert kstwo_sf(d, n) == float(stats.kstwo.sf(d, n)), d


@pytest.mark.parametrize("kind", ["continuous", "ties", "rounded"])
@pytest.mark.parametrize(("n1", "n2"), [(1, 1), (5, 9), (500, 500), (1000, 2500), (7, 3000)])
def test_wasserstein_equals_scipy(kind: str, n1: int, n2: int) -> None:
    a, b = samples(n1 + n2, n1, n2, kind)
    assert wasserstein(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12,
                                              abs=1e-15)


def test_anderson_darling_and_cramer_von_mises_equal_scipy() -> None:
    a, b = samples(3, 300, 400, "continuous")
    ad = stats.anderson_ksamp([a, b], variant="midrank")
    assert anderson_darling(a, b) == (float(ad.statistic), float(ad.pvalue))
    cvm = stats.cramervonmises_2samp(a, b)
    assert cramer_von_mises(a, b) == (float(cvm.statistic), float(cvm.pvalue))


def test_anderson_darling_silences_scipys_cap_warning() -> None:
    a, b = samples(4, 300, 300, "continuous")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, p = anderson_darling(a, b + 3.0)
    assert p == 0.001  # SciPy's floor


def test_pair_methods_use_reference_bins_and_std() -> None:
    a, b = samples(5, 5000, 3000, "continuous")
    pair = NumericPair.of(a, b, bins=10)
    edges = np.quantile(a, np.arange(1, 10) / 10)
    np.testing.assert_allclose(pair.edges, edges, rtol=1e-14)
    # the peers' PSI: searchsorted(edges, values, side="right") bins every value
    ref = np.bincount(np.searchsorted(edges, a, side="right"), minlength=10)
    cur = np.bincount(np.searchsorted(edges, b, side="right"), minlength=10)
    assert pair.reference_bins.tolist() == ref.tolist()
    assert pair.current_bins.tolist() == cur.tolist()
    assert NUMERIC_METHODS[Method.PSI](pair) == (psi_from_counts(ref, cur), None)
    js, _ = NUMERIC_METHODS[Method.JENSEN_SHANNON](pair)
    assert js == pytest.approx(distance.jensenshannon(ref / ref.sum(), cur / cur.sum()),
                               rel=1e-12)
    w, p = NUMERIC_METHODS[Method.WASSERSTEIN](pair)
    assert p is None
    assert w == pytest.approx(stats.wasserstein_distance(a, b) / np.std(a, ddof=1), rel=1e-12)


def test_mean_shift_in_std_units_is_the_normalised_wasserstein() -> None:
    rng = np.random.default_rng(6)
    a = np.sort(rng.lognormal(size=20_000))
    assert wasserstein(a, a + 0.3 * a.std(ddof=1)) / a.std(ddof=1) == pytest.approx(0.3)


def test_bins_put_values_on_an_edge_above_it_and_keep_duplicate_edges_once() -> None:
    values = np.array([0.0] * 6 + [1.0, 2.0, 3.0, 4.0])
    edges = quantile_edges(values, 5)
    assert edges.tolist() == pytest.approx([0.0, 0.4, 2.2])
    assert bin_counts(values, edges).tolist() == [0, 6, 2, 2]
    assert bin_counts(np.array([-5.0, 99.0]), edges).tolist() == [1, 0, 0, 1]


def test_quantiles_match_numpy_linear() -> None:
    a, _ = samples(8, 1001, 1, "rounded")
    q = np.linspace(0, 1, 17)
    np.testing.assert_allclose(quantiles(a, q), np.quantile(a, q), rtol=1e-13)


def test_sorted_finite_drops_nan_and_infinities() -> None:
    values = np.array([3.0, np.nan, -np.inf, 1.0, np.inf, 2.0])
    assert sorted_finite(values).tolist() == [1.0, 2.0, 3.0]
    assert values[0] == 3.0  # the input is not sorted in place
