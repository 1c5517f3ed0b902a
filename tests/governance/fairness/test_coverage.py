"""By simulation: the 95% bootstrap intervals cover the true value about 95% of the time.

200 datasets are drawn from known group rates (group A: 500 rows, base rate 0.3, true
positive rate 0.8, false positive rate 0.2; group B: 400 rows, 0.3, 0.6, 0.1). The true
selection rates are 0.38 and 0.25, so the true demographic parity difference is 0.13;
A's true positive rate is 0.8. Each dataset gets the same stratified bootstrap as
:func:`rasad.governance.fairness.assess` (1,000 resamples, percentile intervals). With 200
datasets the coverage of a true 95% interval has a standard error of 0.015, so the
tolerance 0.90 to 0.99 is about three standard errors.
"""

from __future__ import annotations

import numpy as np

from rasad.governance.fairness import GroupMetric, Measure
from rasad.governance.fairness import bootstrap as boot
from rasad.governance.fairness._measures import disparity

SIZES = np.array([500, 400])
BASE, TPR, FPR = np.array([0.3, 0.3]), np.array([0.8, 0.6]), np.array([0.2, 0.1])
CELLS = np.stack([(1 - BASE) * (1 - FPR), (1 - BASE) * FPR, BASE * (1 - TPR), BASE * TPR],
                 axis=1)  # TN, FP, FN, TP per group
TRUE_DP = float(np.ptp(BASE * TPR + (1 - BASE) * FPR))


def _coverage(datasets: int = 200, n_boot: int = 1000) -> tuple[float, float]:
    rng = np.random.default_rng(2024)
    mask = np.ones(2, dtype=bool)
    covered_dp = covered_tpr = 0
    for _ in range(datasets):
        cells = rng.multinomial(SIZES, CELLS)  # one dataset: rows drawn from the true rates
        rates = boot.group_rates(boot.resample_cells(cells, n_boot, rng))
        dp = disparity(Measure.DEMOGRAPHIC_PARITY_DIFFERENCE, rates, mask)
        (low,), (high,) = boot.percentile_interval(dp[:, None], 0.95)
        covered_dp += low <= TRUE_DP <= high
        low_t, high_t = boot.percentile_interval(rates[GroupMetric.TRUE_POSITIVE_RATE], 0.95)
        covered_tpr += low_t[0] <= TPR[0] <= high_t[0]
    return covered_dp / datasets, covered_tpr / datasets


def test_95_percent_intervals_cover_the_truth_about_95_percent_of_the_time() -> None:
    dp, tpr = _coverage()
    assert 0.90 <= dp <= 0.99, dp
    assert 0.90 <= tpr <= 0.99, tpr
