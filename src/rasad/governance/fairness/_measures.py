"""Disparity measures from group rates, for point estimates and resamples alike."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from rasad.governance.fairness.terms import GroupMetric, Measure

FloatArray = npt.NDArray[np.float64]


def _spread(rates: FloatArray, mask: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    chosen = rates[..., mask]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmin(chosen, axis=-1), np.nanmax(chosen, axis=-1)


def _difference(rates: FloatArray, mask: npt.NDArray[np.bool_]) -> FloatArray:
    low, high = _spread(rates, mask)
    return high - low


def _ratio(rates: FloatArray, mask: npt.NDArray[np.bool_]) -> FloatArray:
    low, high = _spread(rates, mask)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(high > 0, low / np.where(high > 0, high, 1.0), np.nan)


def disparity(measure: Measure, rates: Mapping[GroupMetric, FloatArray],
              mask: npt.NDArray[np.bool_]) -> FloatArray:
    """``measure`` over the groups in ``mask``; rates have shape ``(..., n_groups)``.

    Differences are max - min over the groups and ratios min / max, as Fairlearn's
    ``method="between_groups"``; equalized odds takes the worse of the true and false
    positive rates (Fairlearn's ``agg="worst_case"``).
    """
    tpr, fpr = rates[GroupMetric.TRUE_POSITIVE_RATE], rates[GroupMetric.FALSE_POSITIVE_RATE]
    selection = rates[GroupMetric.SELECTION_RATE]
    if measure in (Measure.DEMOGRAPHIC_PARITY_DIFFERENCE,):
        return _difference(selection, mask)
    if measure in (Measure.DEMOGRAPHIC_PARITY_RATIO, Measure.DISPARATE_IMPACT_RATIO):
        return _ratio(selection, mask)
    if measure is Measure.EQUALIZED_ODDS_DIFFERENCE:
        return np.maximum(_difference(tpr, mask), _difference(fpr, mask))
    if measure is Measure.EQUALIZED_ODDS_RATIO:
        return np.minimum(_ratio(tpr, mask), _ratio(fpr, mask))
    if measure is Measure.EQUAL_OPPORTUNITY_DIFFERENCE:
        return _difference(tpr, mask)
    return _difference(rates[GroupMetric.PRECISION], mask)
