"""Tests for the shared drift tables in ``rasad.examples.drift_tables``."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rasad.errors import InputError
from rasad.examples import (
    CATEGORICAL_COLUMNS,
    DRIFTED_COLUMNS,
    NUMERIC_COLUMNS,
    generate_drift_pair,
    generate_drift_table,
)
from rasad.examples.drift_tables import (
    CATEGORY_SHIFT_COLUMNS,
    MEAN_SHIFT_COLUMNS,
    SCALE_CHANGE_COLUMNS,
    Distribution,
)

# sha256 of the 1,000-row tables, computed from ../shared/peers/common.py's make_pair
# when this module was copied from it: the peer tools must see these exact values.
KNOWN = (
    "30dc98f6234059a42761ee07a507069c61ebb757b08eb1b40d6099c06d48be87",
    "7af5a2872b1c0f2ec90a1d779b370e17940c635d3e591ebf528439149c0d2794",
)


def digest(table: pd.DataFrame) -> str:
    h = hashlib.sha256(table[[c.name for c in NUMERIC_COLUMNS]].to_numpy().tobytes())
    for column in CATEGORICAL_COLUMNS:
        h.update(",".join(table[column.name]).encode())
    return h.hexdigest()


def test_tables_equal_the_peer_folders_value_for_value() -> None:
    assert tuple(digest(t) for t in generate_drift_pair(1000)) == KNOWN


def test_layout_and_dtypes() -> None:
    table = generate_drift_table(7)
    assert list(table.columns) == [f"n{i:02d}" for i in range(40)] + [
        f"c{i:02d}" for i in range(10)]
    assert (table.dtypes.iloc[:40] == np.float64).all()
    assert all(pd.api.types.is_string_dtype(t) for t in table.dtypes.iloc[40:])
    assert [len(c.weights) for c in CATEGORICAL_COLUMNS] == list(range(5, 55, 5))
    assert [c.distribution for c in NUMERIC_COLUMNS[:3]] == list(Distribution)
    assert DRIFTED_COLUMNS == tuple(sorted(
        MEAN_SHIFT_COLUMNS + SCALE_CHANGE_COLUMNS + CATEGORY_SHIFT_COLUMNS))
    assert len(DRIFTED_COLUMNS) == 10


def test_each_size_and_side_is_its_own_sample() -> None:
    pd.testing.assert_frame_equal(generate_drift_table(500), generate_drift_table(500))
    assert not generate_drift_table(500).equals(generate_drift_table(501).head(500))
    reference, current = generate_drift_pair(500)
    untouched = [c for c in reference.columns if c not in DRIFTED_COLUMNS]
    assert not reference[untouched].equals(current[untouched])


def test_drift_is_injected_where_declared_and_nowhere_else() -> None:
    reference, current = generate_drift_pair(50_000)
    for column in NUMERIC_COLUMNS:
        x, y = reference[column.name], current[column.name]
        assert x.mean() == pytest.approx(column.mean, abs=0.03 * column.std)
        assert x.std() == pytest.approx(column.std, rel=0.03)
        shift = (y.mean() - x.mean()) / column.std
        ratio = y.std() / x.std()
        if column.name in MEAN_SHIFT_COLUMNS:
            assert shift == pytest.approx(0.5, abs=0.03)
            assert ratio == pytest.approx(1.0, abs=0.03)
        elif column.name in SCALE_CHANGE_COLUMNS:
            assert shift == pytest.approx(0.0, abs=0.03)
            assert ratio == pytest.approx(1.5, abs=0.05)
        else:
            assert stats.ks_2samp(x, y).pvalue > 1e-4, column.name
    for cat in CATEGORICAL_COLUMNS:
        labels = cat.labels
        observed = current[cat.name].value_counts(normalize=True).reindex(labels, fill_value=0)
        expected = (cat.shifted_weights(0.4) if cat.name in CATEGORY_SHIFT_COLUMNS
                    else np.asarray(cat.weights))
        assert np.abs(observed.to_numpy() - expected).max() < 0.01, cat.name


def test_shifted_weights_move_the_share_onto_the_reversed_profile() -> None:
    cat = CATEGORICAL_COLUMNS[0]
    w = np.asarray(cat.weights)
    assert w.sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(cat.shifted_weights(0.0), w)
    np.testing.assert_allclose(cat.shifted_weights(1.0), w[::-1])
    assert cat.shifted_weights(0.4).sum() == pytest.approx(1.0)


@pytest.mark.parametrize("rows", [0, -3, 2.5, True, "10"])
def test_bad_row_counts_are_refused(rows: object) -> None:
    with pytest.raises(InputError, match="rows must be an integer >= 1"):
        generate_drift_table(rows)  # type: ignore[arg-type]
