"""Permutation importance: known drivers rank first, the repeats' spread is kept, the same
seed gives the same figures, and bad input is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression

from rasad.errors import InputError
from rasad.evaluation.importance import permutation_importances, scoring_for


def drivers(rows: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"noise_a": rng.normal(size=rows), "strong": rng.normal(size=rows),
                      "noise_b": rng.normal(size=rows), "weak": rng.normal(size=rows)})
    logit = 3.0 * x["strong"] + 0.8 * x["weak"]
    y = np.asarray(rng.random(rows) < 1 / (1 + np.exp(-logit)), dtype=int)
    return x, y


def test_known_drivers_rank_first() -> None:
    x, y = drivers()
    model = LogisticRegression().fit(x, y)
    found = permutation_importances(model, x, y, scoring="roc_auc", n_repeats=5, seed=1)
    assert [f.feature for f in found.features][:2] == ["strong", "weak"]
    strong, weak = found.features[0], found.features[1]
    assert strong.mean > weak.mean > 0.01
    for noise in found.features[2:]:
        assert abs(noise.mean) < 0.01
        assert noise.spread[0] <= noise.mean <= noise.spread[1]
    assert found.baseline > 0.8 and found.rows == 600 and found.scoring == "roc_auc"
    assert all(len(f.values) == 5 and f.std == pytest.approx(np.std(f.values))
               for f in found.features)


def test_regression_and_the_seed() -> None:
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = 5 * x["b"].to_numpy() + rng.normal(scale=0.1, size=300)
    model = RandomForestRegressor(n_estimators=20, random_state=0).fit(x, y)
    first = permutation_importances(model, x, y, scoring="r2", n_repeats=3, seed=7)
    again = permutation_importances(model, x, y, scoring="r2", n_repeats=3, seed=7)
    other = permutation_importances(model, x, y, scoring="r2", n_repeats=3, seed=8)
    assert first == again and first.features[0].feature == "b"
    assert first.features[0].values != other.features[0].values


def test_scoring_choice_and_bad_input() -> None:
    assert scoring_for("classification", [0, 1], True) == "roc_auc"
    assert scoring_for("classification", [0, 1], False) == "accuracy"
    assert scoring_for("classification", ["a", "b", "c"], True) == "accuracy"
    x, y = drivers(rows=50)
    model = LogisticRegression().fit(x, y)
    with pytest.raises(InputError, match="Unknown scoring 'auc'"):
        permutation_importances(model, x, y, scoring="auc")
    with pytest.raises(InputError, match="n_repeats must be at least 1"):
        permutation_importances(model, x, y, scoring="accuracy", n_repeats=0)
    with pytest.raises(InputError, match="one label per row"):
        permutation_importances(model, x, y[:10], scoring="accuracy")
