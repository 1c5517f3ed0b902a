"""quality(): the data quality report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rasad.errors import InputError, NotFoundError
from rasad.examples import generate_portfolio
from rasad.validation import QualityPolicy, quality


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 600
    y = (rng.random(n) < 0.05).astype(int)
    values = rng.normal(size=n)
    values[[10, 20, 30]] = [50.0, -40.0, 60.0]
    data = pd.DataFrame({
        "x": values,
        "noise": rng.normal(size=n),
        "status": np.where(y == 1, "written_off", "current"),
        "constant": "same",
        "city": [f"city{i}" for i in rng.integers(0, 80, n)],
        "gap": np.where(rng.random(n) < 0.25, np.nan, 1.0) * rng.normal(size=n),
        "y": y,
    })
    return pd.concat([data, data.iloc[:4]], ignore_index=True)


def test_findings(frame: pd.DataFrame) -> None:
    report = quality(frame, target="y")
    assert report.rows == 604
    assert report.duplicate_rows == 4
    assert report.constant_columns == ("constant",)
    assert report.high_cardinality == ("city",)
    assert report.outlier("x").count >= 3
    assert report.outlier("x").upper < 50
    assert "y" not in {o.column for o in report.outliers}
    assert [leak.column for leak in report.leakage] == ["status"]
    assert report.balance is not None and report.balance.imbalanced
    assert report.balance.counts[0][0] == "0"
    gap = next(c for c in report.columns if c.name == "gap")
    assert 0.15 < gap.missing_share < 0.35
    with pytest.raises(NotFoundError):
        report.outlier("city")


def test_json_and_rows(frame: pd.DataFrame) -> None:
    report = quality(frame, target="y")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["duplicate_rows"] == 4 and data["columns"][0]["kind"] == "numeric"
    assert any("leakage: status" in line for line in data["issues"])
    rows = report.to_rows()
    assert rows[0] == ("column", "kind", "missing", "distinct", "notes")
    notes = {row[0]: row[4] for row in rows[1:]}
    assert notes["constant"] == "constant" and "possible leakage" in notes["status"]
    assert notes["y"] == "target (imbalanced)"


def test_portfolio_has_no_leak() -> None:
    data = generate_portfolio(months=2, rows_per_month=500, seed=4)
    report = quality(data, target="default", id_columns=("application_id",))
    assert report.leakage == ()
    assert report.duplicate_rows == 0 and report.constant_columns == ()


def test_numeric_target_leak_and_policy() -> None:
    rng = np.random.default_rng(1)
    target = rng.normal(size=300)
    frame = pd.DataFrame({"copy": target * 3 + 1, "other": rng.normal(size=300),
                          "t": target})
    report = quality(frame, target="t")
    assert [(leak.column, leak.metric) for leak in report.leakage] == [("copy", "|Spearman|")]
    assert report.balance is None
    strict = quality(frame, policy=QualityPolicy(iqr_factor=0.1))
    assert strict.outlier("copy").count > report.outlier("copy").count


def test_bad_target(frame: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="Target 'nope' is not a column"):
        quality(frame, target="nope")


def test_a_zero_spread_column_has_no_outliers() -> None:
    import pandas as pd

    from rasad.validation import quality

    flags = pd.DataFrame({"flag": [0] * 90 + [1] * 10, "x": list(range(100))})
    report = quality(flags)
    assert report.outlier("flag").count == 0  # Tukey's rule says nothing with IQR 0
    assert report.outlier("x").count == 0
