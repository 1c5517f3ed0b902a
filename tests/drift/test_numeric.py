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
    anderson_darling,
    bin_counts,
    cramer_von_mises,
    ks,
    ks_statistic,
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
