"""One column's verdict and its reason: the reason names what decided."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rasad.drift import DriftPolicy, compare


def _pair(ref_missing: int, cur_missing: int, shift: float = 0.0,
          seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"amount": rng.normal(100, 15, 5000)})
    current = pd.DataFrame({"amount": rng.normal(100 + shift, 15, 5000)})
    reference.loc[:ref_missing - 1, "amount"] = np.nan
    current.loc[:cur_missing - 1, "amount"] = np.nan
    return reference, current


def test_a_missing_share_that_decided_comes_first_with_its_test() -> None:
    column = compare(*_pair(170, 15)).column("amount")  # 3.4% -> 0.3%
    missing = column.missing
    assert column.drifted and missing is not None and missing.drifted
    assert not any(r.drifted for r in column.results if r.deciding)
    assert column.reason == (
        "missing share drifted: 3.4% -> 0.3% (two-proportion z-test, adjusted p="
        f"{missing.adjusted_p_value:.3g} < 0.05); values did not drift: "
        + " and ".join(r.describe() for r in column.results if r.deciding))


def test_values_that_decided_come_first() -> None:
    column = compare(*_pair(170, 15, shift=10.0)).column("amount")
    missing = column.missing
    assert column.drifted and missing is not None
    assert column.reason.startswith("values drifted: ks adjusted p=")
    assert column.reason.endswith(
        f"(two-proportion z-test, adjusted p={missing.adjusted_p_value:.3g} < 0.05)")


def test_an_unchanged_missing_share_is_not_mentioned() -> None:
    column = compare(*_pair(170, 170)).column("amount")
    assert not column.drifted and "missing" not in column.reason


def test_without_correction_the_raw_p_value_is_named() -> None:
    from rasad.drift import Correction

    policy = DriftPolicy(correction=Correction.NONE)
    column = compare(*_pair(170, 15), policy=policy).column("amount")
    missing = column.missing
    assert missing is not None and missing.adjusted_p_value is None
    assert column.reason.startswith(
        f"missing share drifted: 3.4% -> 0.3% (two-proportion z-test, p={missing.p_value:.3g} "
        "< 0.05)")


def test_a_tiny_share_is_not_rounded_to_zero() -> None:
    rng = np.random.default_rng(4)
    reference = pd.DataFrame({"amount": rng.normal(size=50_000)})
    current = pd.DataFrame({"amount": rng.normal(size=50_000)})
    reference.loc[:19, "amount"] = np.nan  # 0.04%
    current.loc[:2999, "amount"] = np.nan  # 6%
    reason = compare(reference, current).column("amount").reason
    assert reason.startswith("missing share drifted: 0.04% -> 6.0% (")
