"""Numeric drift methods, computed on sorted samples.

Each column is sorted once per side; every numeric method then works on the two
sorted arrays: the Kolmogorov-Smirnov statistic and the Wasserstein distance by
binary search, PSI and Jensen-Shannon on bins whose counts are read off the sorted
arrays. Where SciPy has the test, rasad's figures are SciPy's:

- KS: for samples of at most :data:`KS_EXACT_MAX` values SciPy's ``ks_2samp`` is
  called as is (it uses the exact distribution there); above, the statistic is
  computed here with the same arithmetic and the p-value is the same
  ``scipy.stats.kstwo`` survival function (:func:`kstwo_sf`), so both equal
  ``ks_2samp``'s bit for bit.
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
import math
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

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

_UFUNC_GIL_FREE: Final[int] = 512
"""Values in a ufunc call long enough for NumPy to release the GIL (above 500)."""

_KS_MIN_STEP: Final[int] = 16
"""Fewest current values between two searched ones in :func:`_largest`."""

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
    p = float(np.clip(kstwo_sf(d, int(np.round(en))), 0, 1))
    return d, p


def kstwo_sf(d: float, n: int) -> float:
    """``scipy.stats.kstwo.sf(d, n)``: the two-sided one-sample KS survival function.

    For ``n > 140`` and ``2.2 <= n d^2 < 370`` SciPy computes it as twice the exact
    one-sided Smirnov sum, ``2 * scipy.special.smirnov(n, d)``, whose cost grows with
    ``n`` (0.7 s at n = 500,000); called on one value, that ufunc holds the GIL
    throughout and stalls the threads comparing the other columns. NumPy releases
    the GIL around ufunc loops of more than 500 values, so the same ufunc is called
    here on the value followed by trivial ones (``smirnov(n, 1) = 0``). Everywhere
    else SciPy's ``kstwo.sf`` is called as is; the tests hold both to SciPy's figure.

    >>> from scipy import stats
    >>> p = kstwo_sf(0.02, 10_000)  # n d^2 = 4: the Smirnov sum
    >>> round(p, 4), p == float(stats.kstwo.sf(0.02, 10_000))
    (0.0007, True)
    """
    from scipy import special, stats

    t = n * d
    if n > 140 and 1.0 < t < n - 1 and d < 0.5 and 2.2 <= t * d < 370.0:
        sizes = np.full(_UFUNC_GIL_FREE, n, dtype=np.int64)  # SciPy's int n: the same loop
        values = np.ones(_UFUNC_GIL_FREE)
        values[0] = d
        return float(np.clip(2 * special.smirnov(sizes, values)[0], 0.0, 1.0))
    return float(stats.kstwo.sf(d, n))


def ks_statistic(reference: Floats, current: Floats) -> float:
    """The two-sided KS statistic of two sorted samples, computed as SciPy does.

    SciPy evaluates both empirical CDFs at every value of both samples, as integer
    counts divided by the sizes, and takes the extremes of their difference
    ``cdf_ref - cdf_cur``. Rounding is monotone, so a count that is larger (or a
    divisor's count that is smaller) never gives a smaller float: the same argument
    that holds for the exact values holds for SciPy's floats, and the extremes below
    are SciPy's, bit for bit.

    - The largest difference is at a reference value. Where ``j`` current values lie
      at or below it, the reference CDF is at most ``below[j] / n1`` (``below[j]``
      counting the reference values smaller than ``current[j]``) and reaches it at
      the largest of those; so the largest difference is
      ``max_j(below[j] / n1 - j / n2)``, or 0 above both samples.
    - The smallest is at a current value: ``min_j(at_most[j] / n1 - (j + 1) / n2)``,
      ``at_most[j]`` counting the reference values at most ``current[j]``.

    Both counts are binary searches of current values in the reference (ties within
    or across the samples need no other treatment); :func:`_largest` does them only
    where the extreme can be.
    """
    max_s = max(_largest(reference, current, "left"), 0.0)
    # -min(d) is max(-d), and negating a difference is exact.
    min_s = float(np.clip(_largest(reference, current, "right"), 0, 1))
    return min_s if min_s > max_s else max_s


def _largest(reference: Floats, current: Floats, side: Literal["left", "right"],
             step: int | None = None) -> float:
    """``max_j(below[j] / n1 - j / n2)`` (side ``"left"``) or, side ``"right"``,
    ``max_j((j + 1) / n2 - at_most[j] / n1)``, over ``j`` = 0 .. n2 - 1.

    A binary search of every current value costs more than the rest of the KS test.
    The counts are monotone in ``j``, so searching every ``step``-th value bounds the
    difference over each block in between; only blocks whose bound beats the best
    value found at the searched ones are searched in full. The result is the exact
    maximum: a skipped block holds no larger value. Samples from one distribution
    leave a few percent of the blocks open, drifted ones fewer.
    """
    n1, n2 = len(reference), len(current)
    if step is None:
        # The difference wanders by about 1 / sqrt(n2); blocks of sqrt(n2) / 8 values
        # move their bound by a fraction of that, so few stay open.
        step = max(_KS_MIN_STEP, math.isqrt(n2) // 8)
    grid = np.append(np.arange(0, n2 - 1, step), n2 - 1)
    counts = np.searchsorted(reference, current[grid], side)
    best = float(_differences(counts, grid, n1, n2, side).max())
    # Within block k, j runs over grid[k] + 1 .. grid[k + 1] - 1 and the count over
    # counts[k] .. counts[k + 1]; the bound takes each at its most favourable end.
    if side == "left":
        bound = counts[1:] / n1 - (grid[:-1] + 1) / n2
    else:
        bound = grid[1:] / n2 - counts[:-1] / n1
    open_blocks = np.flatnonzero((bound > best) & (np.diff(grid) > 1))
    if len(open_blocks):
        starts = grid[open_blocks] + 1
        lengths = grid[open_blocks + 1] - starts
        offsets = np.cumsum(lengths) - lengths
        inside = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
        found = np.searchsorted(reference, current[inside], side)
        best = max(best, float(_differences(found, inside, n1, n2, side).max()))
    return best


def _differences(counts: npt.NDArray[np.intp], j: npt.NDArray[np.intp], n1: int, n2: int,
                 side: Literal["left", "right"]) -> Floats:
    """The differences :func:`_largest` maximises, with SciPy's arithmetic (count / size)."""
    if side == "left":
        result: Floats = counts / n1 - j / n2
    else:
        result = (j + 1) / n2 - counts / n1
    return result


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
