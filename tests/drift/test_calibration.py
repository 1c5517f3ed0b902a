"""The default policy's calibration, at small scale (docs/drift.md has the full table).

benchmarks/drift_calibration.py measures the same at 1,000, 100,000 and 1,000,000 rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rasad.drift import compare
from rasad.examples import NUMERIC_COLUMNS, generate_drift_table

SPLITS = 20
ROWS = 1_000
INJECTED = [f"n{i:02d}" for i in range(10)]
MAX_FALSE_ALARM_RATE = 0.05
"""Documented bound on the dataset verdict's false alarms at 1,000 rows (docs/drift.md)."""


@pytest.fixture(scope="module")
def splits() -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Disjoint no-drift pairs: halves of one table drawn from the reference distribution."""
    big = generate_drift_table(2 * ROWS * SPLITS)
    order = np.random.default_rng(0).permutation(len(big))
    parts = [big.iloc[order[i * ROWS:(i + 1) * ROWS]].reset_index(drop=True)
             for i in range(2 * SPLITS)]
    return list(zip(parts[::2], parts[1::2], strict=True))


def shifted(frame: pd.DataFrame, size: float) -> pd.DataFrame:
    """``frame`` with the injected columns moved by ``size`` reference standard deviations."""
    frame = frame.copy()
    for column in NUMERIC_COLUMNS:
        if column.name in INJECTED:
            frame[column.name] = frame[column.name] + size * column.std
    return frame


def test_no_drift_splits_rarely_raise_a_dataset_alarm(
        splits: list[tuple[pd.DataFrame, pd.DataFrame]]) -> None:
    reports = [compare(reference, current) for reference, current in splits]
    alarms = sum(report.drifted for report in reports)
    assert alarms / SPLITS <= MAX_FALSE_ALARM_RATE
    false_columns = sum(report.n_drifted for report in reports)
    assert false_columns / (SPLITS * 50) <= 0.005


def test_half_a_standard_deviation_is_caught_at_1000_rows(
        splits: list[tuple[pd.DataFrame, pd.DataFrame]]) -> None:
    false_flags = 0
    for reference, current in splits:
        report = compare(reference, shifted(current, 0.5))
        assert report.drifted
        assert set(INJECTED) <= set(report.drifted_columns)
        false_flags += len(set(report.drifted_columns) - set(INJECTED))
    # Benjamini-Hochberg bounds the expected share of false discoveries among the
    # flagged columns at alpha (5%), not their number: with ten real drifts it lets a
    # few high-cardinality categorical columns through at this size.
    assert false_flags / (SPLITS * len(INJECTED) + false_flags) <= 0.05


def test_at_a_million_rows_a_trivial_shift_is_not_drift_but_a_small_one_is() -> None:
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"x": rng.normal(10, 2, 1_000_000)})
    current = rng.normal(10, 2, 1_000_000)
    trivial = compare(reference, pd.DataFrame({"x": current + 0.01 * 2}))
    assert trivial.column("x").result("ks").p_value < 1e-6  # a p-value alone would flag it
    assert not trivial.drifted
    small = compare(reference, pd.DataFrame({"x": current + 0.2 * 2}))
    assert small.drifted and small.column("x").result("wasserstein").statistic == \
        pytest.approx(0.2, abs=0.005)
