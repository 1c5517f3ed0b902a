"""Numeric drift methods, computed on sorted samples.

Each column is sorted once per side; every numeric method then works on the two
sorted arrays: the Kolmogorov-Smirnov statistic and the Wasserstein distance by
binary search, PSI and Jensen-Shannon on bins whose counts are read off the sorted
arrays. Where SciPy has the test, rasad's figures are SciPy's:

- KS: for samples of at most :data:`KS_EXACT_MAX` values SciPy's ``ks_2samp`` is
  called as is (it uses the exact distribution there); above, the statistic is
  computed here with the same arithmetic and the p-value comes from the same
  ``scipy.stats.kstwo`` call, so both equal ``ks_2samp``'s bit for bit.
- Anderson-Darling and Cramér-von Mises: SciPy is called as is.
- Wasserstein: ``scipy.stats.wasserstein_distance``'s sum, term for term, without its
  sort of both samples; equal up to rounding in the last bits.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> pair = NumericPair.of(np.sort(rng.normal(size=2000)), np.sort(rng.normal(0.5, size=2000)))
>>> [(m.value, round(s, 4)) for m, (s, p) in
...  ((m, NUMERIC_METHODS[m](pair)) for m in (Method.KS, Method.WASSERSTEIN, Method.PSI))]
[('ks', 0.1985), ('wasserstein', 0.5256), ('psi', 0.2602)]
"""

from __future__ import annotations

import functools
import inspect
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt

from rasad.drift.methods import Method, jensen_shannon_from_counts, psi_from_counts

Floats = npt.NDArray[np.float64]
Counts = npt.NDArray[np.int64]

KS_EXACT_MAX: Final[int] = 10_000
"""SciPy's ``ks_2samp(method='auto')`` uses the exact distribution when neither sample
is larger than this; rasad calls SciPy directly there."""

PLOT_BINS: Final[int] = 20
"""Equal-width bins of the histograms a report carries for plotting."""



@functools.cache
def _ad_has_variant() -> bool:
    """Whether SciPy's anderson_ksamp takes ``variant`` (SciPy >= 1.17)."""
    from scipy import stats

    return "variant" in inspect.signature(stats.anderson_ksamp).parameters


# warnings.catch_warnings changes process-wide state; one lock keeps the threads that
# run Anderson-Darling from restoring each other's filters.
_AD_LOCK = threading.Lock()


def sorted_finite(values: npt.ArrayLike) -> Floats:
    """The finite values of ``values``, sorted, as a new float64 array.

    >>> sorted_finite([3.0, float("nan"), 1.0, float("inf")])
    array([1., 3.])
    """
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array)
    if finite.all():
        return np.sort(array)
    kept = array[finite]
    kept.sort()
    return kept


def ks(reference: Floats, current: Floats) -> tuple[float, float]:
    """Two-sided two-sample KS statistic and p-value of two sorted samples.

    Equal to ``scipy.stats.ks_2samp(reference, current)`` (``method='auto'``).
    """
    from scipy import stats  # SciPy loads with the first test, not with the results

    n1, n2 = len(reference), len(current)
    if max(n1, n2) <= KS_EXACT_MAX:
        result = stats.ks_2samp(reference, current)
        return float(result.statistic), float(result.pvalue)
    d = ks_statistic(reference, current)
    # ks_2samp's asymptotic branch, verbatim: kstwo with n = round(m n / (m + n)).
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    p = float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1))
    return d, p


def ks_statistic(reference: Floats, current: Floats) -> float:
    """The two-sided KS statistic of two sorted samples, computed as SciPy does.

    SciPy evaluates both empirical CDFs at every value of both samples and takes the
    extremes of their difference. Here the same integer counts are divided by the same
    sizes, so every difference is the same float; but between two consecutive current
    values the current CDF is constant, so among the reference values there only the
    first (lowest reference CDF) and the last (highest) can hold an extreme. One binary
    search of the current values in the reference finds them: the cost follows the
    current sample's size, not the reference's.
    """
    n1, n2 = len(reference), len(current)
    # at_most[j]: reference values <= current[j]; below[j]: reference values < current[j].
    at_most = np.searchsorted(reference, current, "right")
    below = at_most
    last = np.maximum(at_most - 1, 0)
    if bool(np.any((at_most > 0) & (reference[last] == current))):
        below = np.searchsorted(reference, current, "left")
    at_cur = at_most / n1 - _right_counts(current) / n2
    # Reference values strictly between current[j - 1] and current[j] (gap j, j = 0..n2)
    # have indices start[j] <= i < stop[j]; j current values lie below each of them.
    start = np.concatenate(([0], at_most))
    stop = np.concatenate((below, [n1]))
    gaps = np.flatnonzero(stop > start)
    below_gap = gaps / n2
    first = start[gaps] + 1
    if len(reference) > 1 and bool(np.any(reference[1:] == reference[:-1])):
        first = np.searchsorted(reference, reference[first - 1], "right")
    highs = stop[gaps] / n1 - below_gap
    lows = first / n1 - below_gap
    max_s = float(at_cur.max())
    min_s = float(at_cur.min())
    if len(highs):
        max_s = max(max_s, float(highs.max()))
        min_s = min(min_s, float(lows.min()))
    min_s = float(np.clip(-min_s, 0, 1))
    return min_s if min_s > max_s else max_s


def _right_counts(values: Floats) -> npt.NDArray[np.intp]:
    """For each value of a sorted array, how many values are at most it."""
    if len(values) > 1 and bool(np.any(values[1:] == values[:-1])):
        return np.searchsorted(values, values, "right")
    return np.arange(1, len(values) + 1)


def wasserstein(reference: Floats, current: Floats) -> float:
    """Wasserstein-1 distance of two sorted samples (``scipy.stats.wasserstein_distance``).

    With equal sizes, the mean absolute difference of the order statistics. Otherwise
    SciPy's sum over the merged values of ``|F_ref - F_cur| * gap``, with the merge
    done by one binary search of the current values in the reference instead of a
    sort of both.
    """
    n1, n2 = len(reference), len(current)
    if n1 == n2:
        return float(np.mean(np.abs(reference - current)))
    at_most = np.searchsorted(reference, current, "right")  # reference values <= current[j]
    # current[j] < reference[i] exactly when at_most[j] <= i
    current_below = np.cumsum(np.bincount(at_most, minlength=n1 + 1)[:n1])
    merged = np.empty(n1 + n2, dtype=np.float64)
    from_reference = np.zeros(n1 + n2, dtype=bool)
    positions = np.arange(n1) + current_below  # ties: reference values first
    merged[positions] = reference
    merged[np.arange(n2) + at_most] = current
    from_reference[positions] = True
    ref_counts = np.cumsum(from_reference[:-1])
    cur_counts = np.arange(1, n1 + n2) - ref_counts
    return float(np.sum(np.abs(ref_counts / n1 - cur_counts / n2) * np.diff(merged)))


def anderson_darling(reference: Floats, current: Floats) -> tuple[float, float]:
    """``scipy.stats.anderson_ksamp([reference, current])`` (midrank): statistic, p-value.

    SciPy floors the p-value at 0.001 and caps it at 0.25; its warning about that is
    silenced (the floor and cap are documented).
    """
    from scipy import stats

    has_variant = _ad_has_variant()
    with _AD_LOCK, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="p-value (capped|floored)")
        if has_variant:
            result = stats.anderson_ksamp([reference, current], variant="midrank")
        else:  # pragma: no cover - SciPy < 1.17
            result = stats.anderson_ksamp([reference, current])
    return float(result.statistic), float(result.pvalue)


def cramer_von_mises(reference: Floats, current: Floats) -> tuple[float, float]:
    """``scipy.stats.cramervonmises_2samp(reference, current)``: statistic, p-value."""
    from scipy import stats

    result = stats.cramervonmises_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)


def quantiles(values: Floats, probabilities: npt.ArrayLike) -> Floats:
    """Quantiles of a sorted sample, linearly interpolated (NumPy's default method).

    >>> quantiles(np.array([1.0, 2.0, 3.0, 4.0]), [0.0, 0.5, 1.0])
    array([1. , 2.5, 4. ])
    """
    q = np.asarray(probabilities, dtype=np.float64)
    position = q * (len(values) - 1)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, len(values) - 1)
    result: Floats = values[low] + (values[high] - values[low]) * (position - low)
    return result


def quantile_edges(values: Floats, bins: int) -> Floats:
    """Inner edges of ``bins`` equal-count bins of a sorted sample (duplicates dropped).

    >>> quantile_edges(np.arange(10.0), 4)
    array([2.25, 4.5 , 6.75])
    """
    return np.unique(quantiles(values, np.arange(1, bins) / bins))


def bin_counts(values: Floats, edges: Floats) -> Counts:
    """Counts of a sorted sample in the bins cut at ``edges`` (open at both ends).

    A value equal to an edge belongs to the bin above it.

    >>> bin_counts(np.array([1.0, 2.0, 2.0, 5.0]), np.array([2.0, 4.0]))
    array([1, 2, 1])
    """
    cuts = np.searchsorted(values, edges, "left")
    return np.diff(np.concatenate(([0], cuts, [len(values)]))).astype(np.int64)


def plot_edges(reference: Floats, current: Floats, bins: int = PLOT_BINS) -> Floats:
    """Equal-width edges spanning the 0.5% to 99.5% quantiles of both sorted samples.

    Values beyond count in the outer bins, so one far outlier does not flatten the
    plot.
    """
    tails = np.array([0.005, 0.995])
    low_r, high_r = quantiles(reference, tails)
    low_c, high_c = quantiles(current, tails)
    low, high = min(low_r, low_c), max(high_r, high_c)
    if not high > low:
        high = low + 1.0
    return np.linspace(low, high, bins + 1)


@dataclass(eq=False)
class NumericPair:
    """Sorted reference and current values of one column, with the reference's bins.

    ``edges`` are the inner edges of the PSI and Jensen-Shannon bins (quantiles of
    the reference) and ``reference_bins`` the reference counts in them; a reference
    profile supplies both exactly, even when its values are approximate.
    """

    reference: Floats
    current: Floats
    reference_std: float
    edges: Floats
    reference_bins: Counts
    _current_bins: Counts | None = field(default=None, repr=False)

    @classmethod
    def of(cls, reference: Floats, current: Floats, bins: int = 10) -> NumericPair:
        """A pair whose bins and standard deviation come from ``reference`` itself."""
        edges = quantile_edges(reference, bins)
        std = float(np.std(reference, ddof=1)) if len(reference) > 1 else 0.0
        return cls(reference, current, std, edges, bin_counts(reference, edges))

    @property
    def current_bins(self) -> Counts:
        if self._current_bins is None:
            self._current_bins = bin_counts(self.current, self.edges)
        return self._current_bins


def _ks(pair: NumericPair) -> tuple[float, float | None]:
    return ks(pair.reference, pair.current)


def _wasserstein(pair: NumericPair) -> tuple[float, float | None]:
    return wasserstein(pair.reference, pair.current) / pair.reference_std, None


def _psi(pair: NumericPair) -> tuple[float, float | None]:
    return psi_from_counts(pair.reference_bins, pair.current_bins), None


def _jensen_shannon(pair: NumericPair) -> tuple[float, float | None]:
    return jensen_shannon_from_counts(pair.reference_bins, pair.current_bins), None


def _anderson_darling(pair: NumericPair) -> tuple[float, float | None]:
    return anderson_darling(pair.reference, pair.current)


def _cramer_von_mises(pair: NumericPair) -> tuple[float, float | None]:
    return cramer_von_mises(pair.reference, pair.current)


NUMERIC_METHODS: Final[Mapping[Method, Callable[[NumericPair], tuple[float, float | None]]]] = (
    MappingProxyType({
        Method.KS: _ks,
        Method.WASSERSTEIN: _wasserstein,
        Method.PSI: _psi,
        Method.JENSEN_SHANNON: _jensen_shannon,
        Method.ANDERSON_DARLING: _anderson_darling,
        Method.CRAMER_VON_MISES: _cramer_von_mises,
    })
)
"""Numeric methods: each maps a :class:`NumericPair` to (statistic, p-value or None)."""
