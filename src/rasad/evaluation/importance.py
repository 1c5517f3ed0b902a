"""Global importance: how much a model leans on each input, by permutation.

:func:`permutation_importances` shuffles one input column at a time on labelled rows and
measures how much the model's score drops (scikit-learn's
:func:`sklearn.inspection.permutation_importance`), ``n_repeats`` times per column. The
result keeps every repeat, their mean and their standard deviation, so a reader sees the
spread: an importance whose repeats straddle zero is noise, not a driver. Columns are
ranked by the mean drop, largest first.

It is model-agnostic (any fitted estimator or pipeline with ``predict``) and measures the
model, not the world: two correlated inputs share their importance, and each alone may
look unimportant. Pure computation: no project, same ``seed``, same figures.

>>> import numpy as np, pandas as pd
>>> from sklearn.linear_model import LogisticRegression
>>> rng = np.random.default_rng(0)
>>> x = pd.DataFrame({"driver": rng.normal(size=400), "noise": rng.normal(size=400)})
>>> y = (x["driver"] + 0.1 * rng.normal(size=400) > 0).astype(int)
>>> model = LogisticRegression().fit(x, y)
>>> found = permutation_importances(model, x, y, scoring="roc_auc", n_repeats=3, seed=0)
>>> [f.feature for f in found.features], found.features[0].mean > 0.3
(['driver', 'noise'], True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import computed_field

from rasad.errors import InputError
from rasad.results import Result

SCORINGS = ("roc_auc", "accuracy", "r2")
"""The scikit-learn scorers the card uses: roc_auc for a binary classifier that gives
probabilities, accuracy for any other classifier, r2 for a regressor (higher is better
for each, so a drop is a loss)."""


class FeatureImportance(Result):
    """One input column: the drop in score when it is shuffled, per repeat and summarised."""

    feature: str
    rank: int
    mean: float
    std: float
    values: tuple[float, ...]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def spread(self) -> tuple[float, float]:
        """The smallest and largest drop over the repeats."""
        return (min(self.values), max(self.values))


class GlobalImportance(Result):
    """Permutation importance of every input column on labelled rows, largest first."""

    method: str = "permutation"
    scoring: str
    baseline: float
    rows: int
    n_repeats: int
    seed: int
    features: tuple[FeatureImportance, ...]


def scoring_for(task: str, classes: list[Any] | None, has_proba: bool) -> str:
    """The scorer for a model: roc_auc (binary, with probabilities), accuracy, or r2.

    >>> scoring_for("classification", [0, 1], True), scoring_for("regression", None, False)
    ('roc_auc', 'r2')
    """
    if task == "regression":
        return "r2"
    return "roc_auc" if has_proba and classes is not None and len(classes) == 2 else "accuracy"


def permutation_importances(model: Any, x: pd.DataFrame, y: Any, *, scoring: str,
                            n_repeats: int = 5, seed: int = 0) -> GlobalImportance:
    """Permutation importance of each column of ``x`` for ``model``.

    Parameters
    ----------
    model : fitted estimator or pipeline
        Scored by scikit-learn's ``scoring`` scorer on ``x`` and ``y``.
    x : DataFrame
        The model's inputs, one column per feature (at least one row per repeat to shuffle).
    y : array-like
        The true labels or values of the rows.
    scoring : str
        One of :data:`SCORINGS`.
    n_repeats : int
        Shuffles per column (at least 1).
    seed : int
        Seed of the shuffles.

    Raises
    ------
    InputError
        An unknown scorer, fewer than two rows, or a row count that differs from ``y``.
    """
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import check_scoring

    if scoring not in SCORINGS:
        raise InputError(f"Unknown scoring {scoring!r}; choose one of {', '.join(SCORINGS)}.")
    if n_repeats < 1:
        raise InputError(f"n_repeats must be at least 1, not {n_repeats}.")
    truth = np.asarray(y)
    if len(x) < 2 or len(x) != len(truth):
        raise InputError(f"Permutation importance needs at least two rows and one label per "
                         f"row; got {len(x)} rows and {len(truth)} labels.")
    from threadpoolctl import threadpool_limits

    scorer = check_scoring(model, scoring=scoring)
    # One native thread: each of the (columns x repeats) scorings is a small batch, where
    # OpenMP's thread start-up (gradient boosting) costs more than it saves, and several
    # times more on a busy machine. The figures do not depend on it.
    with threadpool_limits(limits=1):
        baseline = float(scorer(model, x, truth))
        found = permutation_importance(model, x, truth, scoring=scoring,
                                       n_repeats=n_repeats, random_state=seed)
    rows = [(str(column), [float(v) for v in found.importances[i]])
            for i, column in enumerate(x.columns)]
    rows.sort(key=lambda item: (-float(np.mean(item[1])), item[0]))
    return GlobalImportance(
        scoring=scoring, baseline=baseline, rows=len(x), n_repeats=n_repeats, seed=seed,
        features=tuple(FeatureImportance(feature=name, rank=rank, mean=float(np.mean(values)),
                                         std=float(np.std(values)), values=tuple(values))
                       for rank, (name, values) in enumerate(rows, start=1)))


__all__ = ["SCORINGS", "FeatureImportance", "GlobalImportance", "permutation_importances",
           "scoring_for"]
