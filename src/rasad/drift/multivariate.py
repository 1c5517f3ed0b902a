"""Multivariate drift: changes that no single column shows on its own.

Two methods compare a reference frame with a current frame over many columns at
once, so they see a change in how columns move *together* (a correlation that
appears or breaks) even when every marginal distribution stays the same:

- :func:`domain_classifier` trains a cross-validated classifier to tell current
  rows from reference rows. If it cannot (ROC AUC near 0.5), the two sides look
  alike; the more it can, the larger the drift. It also names the features it
  used most.
- :func:`pca_reconstruction` fits principal components on the reference and
  measures how badly they reconstruct the current rows, against a band drawn from
  the spread of the reference's own chunks (mean +- 3 standard deviations, as
  NannyML does).

Both are pure computation on pandas frames: numeric (and boolean) columns and
categorical (object, string or category) columns. Identifier, date and time, and
free-text columns are left out, by the same kinds as the univariate check
(:func:`rasad.drift.compare`): an identifier or a timestamp tells a later sample
from the reference perfectly and says nothing about drift. Each result lists the
columns it left out and why (:class:`ExcludedColumn`).

The defaults are module constants, documented where they are defined and in
``docs/drift-multivariate.md``.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> x, z = rng.normal(size=(2, 4000))
>>> reference = pd.DataFrame({"x": x, "y": 0.8 * x + 0.6 * z})    # correlated
>>> current = pd.DataFrame({"x": rng.normal(size=4000), "y": rng.normal(size=4000)})
>>> domain_classifier(reference, current).drifted
True
>>> pca_reconstruction(reference, current).drifted
True
"""

from __future__ import annotations

import itertools
import math
import os
import types
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from rasad.drift._model import Figure
from rasad.errors import InputError
from rasad.results import Result
from rasad.tables.column_kind import ColumnKind

if TYPE_CHECKING:
    # pandas, scikit-learn, SciPy and PyArrow load when a method runs, so that the
    # results (and a stored result read back) cost no more than pydantic to import.
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier

    from rasad.drift.chunking import Chunker

FloatArray = npt.NDArray[np.float64]

DEFAULT_AUC_THRESHOLD: Final[float] = 0.55
"""Cross-validated ROC AUC above which the domain classifier reports drift.

Evidently's classifier drift uses 0.55; NannyML's upper bound is 0.65. rasad takes
0.55: an AUC of 0.6 already means the sides differ enough for a model to tell them
apart 60% of the time, which a monitor should report. The extra significance rule
(:data:`DEFAULT_ALPHA`) keeps small samples, whose AUC is noisy, from flagging.
"""

DEFAULT_ALPHA: Final[float] = 0.05
"""Drift also needs the AUC to be above 0.5 beyond chance: p-value below this."""

DEFAULT_FOLDS: Final[int] = 5
"""Cross-validation folds of the domain classifier (NannyML uses 5 too)."""

DEFAULT_MAX_ROWS: Final[int] = 10_000
"""Rows per side the domain classifier uses; larger sides are subsampled (seeded).

At 10,000 rows per side the AUC's standard error is about 0.005, a tenth of the
distance between 0.5 and the 0.55 threshold, and the run takes a few seconds
however large the input (training on the subsample is most of the time).
"""

DEFAULT_IMPORTANCE_ROWS: Final[int] = 2_000
"""Held-out rows on which permutation importance is measured, shared among the folds
(at most half of each fold's share from each side)."""

DEFAULT_IMPORTANCE_REPEATS: Final[int] = 2
"""Permutations per feature and fold for permutation importance."""

TOP_FEATURES: Final[int] = 5
"""Most features :attr:`DomainClassifierResult.top_features` names."""

TOP_FEATURE_SHARE: Final[float] = 0.1
"""A top feature's importance is at least this share of the largest importance."""

MAX_CATEGORIES: Final[int] = 250
"""Most categories a column keeps as native categories; rarer ones share one code.

scikit-learn's histogram gradient boosting takes at most 255 categories per
feature; the most frequent 250 (over both sides) keep their own code. Every
category, however rare, also counts through the column's target encoding.
"""

TARGET_ENCODING_FOLDS: Final[int] = 5
"""Parts of the training rows for out-of-fold target encoding."""

TARGET_SMOOTHING: Final[float] = 10.0
"""Pseudo-rows at the overall share that a category's share of current rows is shrunk to."""

CLASSIFIER_PARAMS: Final[Mapping[str, Any]] = types.MappingProxyType({
    "max_iter": 100,
    "learning_rate": 0.1,
    "max_leaf_nodes": 31,
    "early_stopping": True,
})
"""The domain classifier: scikit-learn's HistGradientBoostingClassifier with these.

The same size as NannyML's LightGBM (100 trees of 31 leaves, learning rate 0.1).
Early stopping (10 rounds without improvement of the loss on a 10% validation
split, at every size) ends training soon when the two sides cannot be told apart,
which is the common, no-drift case.
"""

DEFAULT_N_COMPONENTS: Final[float] = 0.65
"""Share of the reference's variance the principal components keep (NannyML's)."""

DEFAULT_STD_MULTIPLIER: Final[float] = 3.0
"""The reconstruction-error band is mean +- this many standard deviations."""

DEFAULT_REFERENCE_CHUNKS: Final[int] = 10
"""Chunks the reference is cut into for the band when no chunker is given."""

MIN_REFERENCE_CHUNKS: Final[int] = 2
"""Fewest reference chunks a band can be drawn from (NannyML warns below 6)."""

_BLOCK_ROWS: Final[int] = 65_536
_CONSTANT_SCALE: Final[float] = 1e-12


class ExcludedColumn(Result):
    """A column multivariate drift left out, its kind, and why.

    Examples
    --------
    >>> ExcludedColumn(column="customer_id", kind=ColumnKind.IDENTIFIER,
    ...                reason="identifier columns are not compared").to_dict()["kind"]
    'identifier'
    """

    column: str
    kind: ColumnKind
    reason: str


TIME_COLUMN_REASON: Final[str] = "the chunks' time column is not compared"
"""Why the chunker's time column is left out of PCA reconstruction."""


class FeatureImportance(Result):
    """How much the domain classifier relies on one feature.

    ``importance`` is the mean drop in held-out ROC AUC when the feature's values
    are shuffled; ``std`` the standard deviation of that drop over the folds.
    """

    column: str
    importance: Figure
    std: Figure


class DomainClassifierResult(Result):
    """What :func:`domain_classifier` found.

    Attributes
    ----------
    columns : tuple of str
        The features the classifier used.
    roc_auc : float
        Mean held-out ROC AUC over the folds; 0.5 means the sides look alike.
    fold_roc_auc : tuple of float
        The held-out ROC AUC of each fold.
    p_value : float
        One-sided p-value of "an AUC this far above 0.5 by chance": each fold's AUC
        becomes a z-score by the Mann-Whitney normal approximation, and their mean is
        read as standard normal. Fold AUCs are positively correlated (the folds'
        models share most training rows), and the mean z-score has variance at most
        1 whatever the correlation, so the test is conservative.
    threshold, alpha : float
        Drift means ``roc_auc > threshold`` and ``p_value < alpha``.
    drifted : bool
    importances : tuple of FeatureImportance
        Every feature, most important first.
    top_features : tuple of str
        When drifted, up to :data:`TOP_FEATURES` features whose importance is
        positive by more than two standard errors (over the folds) and at least
        :data:`TOP_FEATURE_SHARE` of the largest: the ones that separate the sides
        most. Empty when not drifted: if the sides cannot be told apart, no feature
        separates them, and among many features one passes two standard errors by
        chance.
    reference_rows, current_rows : int
        Rows of each side given; ``sampled_reference_rows`` and
        ``sampled_current_rows`` are the rows used after subsampling.
    folds, seed : int
        The configuration used.
    excluded : tuple of ExcludedColumn
        Columns left out (identifiers, dates and times, free text), with the reason.
    """

    method: Literal["domain_classifier"] = "domain_classifier"
    columns: tuple[str, ...]
    roc_auc: Figure
    fold_roc_auc: tuple[Figure, ...]
    p_value: Figure
    threshold: float
    alpha: float
    drifted: bool
    importances: tuple[FeatureImportance, ...]
    top_features: tuple[str, ...]
    reference_rows: int
    current_rows: int
    sampled_reference_rows: int
    sampled_current_rows: int
    folds: int
    seed: int
    excluded: tuple[ExcludedColumn, ...] = ()


class ReconstructionChunk(Result):
    """The mean reconstruction error of one chunk of the current data, and its band."""

    key: str
    rows: int
    start: str | None
    end: str | None
    error: Figure
    lower_threshold: Figure
    upper_threshold: Figure
    drifted: bool


class PCAReconstructionResult(Result):
    """What :func:`pca_reconstruction` found.

    Attributes
    ----------
    columns : tuple of str
        The columns used.
    n_components : int
        Principal components kept.
    explained_variance : float
        Share of the (standardised) reference variance they hold.
    reference_error : float
        Mean out-of-sample reconstruction error of the reference rows.
    reference_chunks : int
        Reference chunks the band was drawn from.
    chunk_error_mean : float
        Mean of those chunks' errors.
    chunk_error_std : float
        The band's standard deviation: that of the chunks' errors, or, if larger,
        what row-to-row variation alone gives a chunk (the rows' standard deviation
        over the square root of the chunk's rows).
    std_multiplier : float
        Half-width of the band in standard deviations.
    current_error : float
        Mean reconstruction error of all current rows.
    lower_threshold, upper_threshold : float
        The band for ``current_error``: ``chunk_error_mean`` +- ``std_multiplier``
        standard deviations, widened when the current is smaller than a reference
        chunk; the lower end no less than 0.
    chunks : tuple of ReconstructionChunk
        Every chunk of the current with its own band, when a chunker was given.
    drifted : bool
        Whether ``current_error`` (with a chunker: any chunk's error) is outside its band.
    excluded : tuple of ExcludedColumn
        Columns left out (identifiers, dates and times, free text, the chunker's time
        column), with the reason.
    """

    method: Literal["pca_reconstruction"] = "pca_reconstruction"
    columns: tuple[str, ...]
    n_components: int
    explained_variance: Figure
    reference_error: Figure
    reference_chunks: int
    chunk_error_mean: Figure
    chunk_error_std: Figure
    std_multiplier: float
    current_error: Figure
    lower_threshold: Figure
    upper_threshold: Figure
    chunks: tuple[ReconstructionChunk, ...]
    drifted: bool
    excluded: tuple[ExcludedColumn, ...] = ()


MultivariateResult = Annotated[DomainClassifierResult | PCAReconstructionResult,
                               Field(discriminator="method")]
"""Either multivariate result, told apart in JSON by its ``method``."""


# --------------------------------------------------------------------- domain classifier


def domain_classifier(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, ColumnKind | str] | None = None,
    folds: int = DEFAULT_FOLDS,
    threshold: float = DEFAULT_AUC_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    seed: int = 0,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> DomainClassifierResult:
    """Drift as the ability of a classifier to tell current rows from reference rows.

    Each side is subsampled to at most ``max_rows`` rows (seeded), rows are labelled
    0 (reference) or 1 (current), and scikit-learn's HistGradientBoostingClassifier
    (:data:`CLASSIFIER_PARAMS`) is trained and scored on ``folds`` stratified folds.
    Missing values and infinities take a branch of their own. A categorical column
    enters as native categories and, target-encoded out of fold, as each category's
    share of current rows, so that many rare categories still count.

    Feature importance is permutation importance on the held-out folds: the drop in
    ROC AUC when one column is shuffled, so a column that matters only together
    with another (a correlation) still counts.

    Parameters
    ----------
    reference, current : pandas.DataFrame
        The two samples. Both need every column used.
    columns : sequence of str, optional
        Columns to use; by default every column both frames have. Either way,
        identifier, date and time, and free-text columns are left out (they separate
        the sides trivially) and listed in ``excluded``.
    kinds : mapping of str to ColumnKind, optional
        Kinds of some columns (as :func:`rasad.drift.compare` takes them); the others
        are inferred from the reference, as the univariate check infers them.
    folds : int
        Cross-validation folds, at least 2.
    threshold : float
        ROC AUC above which the sides count as drifted (:data:`DEFAULT_AUC_THRESHOLD`).
    alpha : float
        The AUC must also be above 0.5 with a p-value below ``alpha``.
    seed : int
        Seeds subsampling, fold assignment, the classifier and the permutations.
    max_rows : int
        Rows per side used at most (:data:`DEFAULT_MAX_ROWS`).

    Returns
    -------
    DomainClassifierResult

    Raises
    ------
    InputError
        If a side is empty or too small for ``folds``, a column is missing, no column
        is left to compare, a kind is unknown, or the arguments are out of range.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> reference = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000),
    ...                           "c": rng.choice(["x", "y"], size=2000)})
    >>> current = pd.DataFrame({"a": rng.normal(0.5, 1, size=2000), "b": rng.normal(size=2000),
    ...                         "c": rng.choice(["x", "y"], size=2000)})
    >>> result = domain_classifier(reference, current)
    >>> round(result.roc_auc, 3), result.drifted, result.top_features
    (0.624, True, ('a',))
    """
    _check_range("folds", folds, 2, None)
    _check_range("max_rows", max_rows, 2 * folds, None)
    _check_range("threshold", threshold, 0.0, 1.0)
    _check_range("alpha", alpha, 0.0, 1.0)
    numeric, categorical, excluded = _select_columns(reference, current, columns, kinds)
    used = numeric + categorical
    rng = np.random.default_rng(seed)
    ref = _subsample(reference[used], max_rows, rng)
    cur = _subsample(current[used], max_rows, rng)
    for side, frame in (("reference", ref), ("current", cur)):
        if len(frame) < folds:
            raise InputError(f"The {side} has {len(frame)} rows; the domain classifier needs "
                             f"at least one per fold ({folds}). Use fewer folds or more rows.")
    x, codes = _classifier_matrix(ref, cur, numeric, categorical)
    y = np.r_[np.zeros(len(ref), dtype=np.int8), np.ones(len(cur), dtype=np.int8)]

    from scipy import stats
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    importance_rows = -(-DEFAULT_IMPORTANCE_ROWS // folds)

    # One OpenMP thread, folds one after another: the result then does not depend on
    # the number of cores, and a busy machine does not stall the fits on every
    # OpenMP barrier (two threads were 8 times slower than one under load). Folds in
    # Python threads would race on scikit-learn's handling of warning filters.
    with threadpool_limits(limits=1, user_api="openmp"):
        outcomes = [_fit_fold(x, codes, y, train, test, len(numeric), importance_rows, seed + k)
                    for k, (train, test) in enumerate(splitter.split(x, y))]
    fold_auc = [outcome.auc for outcome in outcomes]
    z_scores = [outcome.z for outcome in outcomes]
    drops = [outcome.drops for outcome in outcomes]

    roc_auc = float(np.mean(fold_auc))
    # Fold AUCs are positively correlated under no drift (their models share most
    # training rows), so the mean z-score, whose variance is at most 1 whatever the
    # correlation, is read as standard normal: a conservative test.
    p_value = float(stats.norm.sf(np.mean(z_scores)))
    importances, top = _rank_features(used, np.array([fold.mean(axis=0) for fold in drops]))
    drifted = roc_auc > threshold and p_value < alpha
    return DomainClassifierResult(
        columns=tuple(used),
        roc_auc=roc_auc,
        fold_roc_auc=tuple(fold_auc),
        p_value=p_value,
        threshold=threshold,
        alpha=alpha,
        drifted=drifted,
        importances=importances,
        top_features=top if drifted else (),
        reference_rows=len(reference),
        current_rows=len(current),
        sampled_reference_rows=len(ref),
        sampled_current_rows=len(cur),
        folds=folds,
        seed=seed,
        excluded=excluded,
    )


@dataclass(frozen=True)
class _Fold:
    auc: float
    z: float
    drops: FloatArray


def _fit_fold(x: FloatArray, codes: npt.NDArray[np.intp], y: npt.NDArray[np.int8],
              train: npt.NDArray[np.intp], test: npt.NDArray[np.intp], n_numeric: int,
              importance_rows: int, seed: int) -> _Fold:
    """Train on one fold's training rows; score and measure importance on its test rows.

    A categorical column enters twice: as native categories (the tree can split on a
    category's identity, so a change in how a category relates to a number shows),
    and target-encoded (each category's share of current rows among the training
    rows, out of fold), so that many rare categories, which trees cannot split on
    one by one, still count.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    n_categorical = codes.shape[1]
    encoded_train, encoded_test = _target_encode(codes[train], y[train], codes[test], seed)
    x_train, x_test = np.hstack([x[train], encoded_train]), np.hstack([x[test], encoded_test])
    is_categorical = np.r_[np.zeros(n_numeric, bool), np.ones(n_categorical, bool),
                           np.zeros(n_categorical, bool)]
    groups = [[j] for j in range(n_numeric)] + [
        [n_numeric + j, n_numeric + n_categorical + j] for j in range(n_categorical)]
    model = HistGradientBoostingClassifier(
        **CLASSIFIER_PARAMS, categorical_features=is_categorical, random_state=seed)
    model.fit(x_train, y[train])
    auc = float(roc_auc_score(y[test], model.predict_proba(x_test)[:, 1]))
    drops = _importance(model, x_test, y[test], groups, importance_rows, seed)
    n1 = int(y[test].sum())
    n0 = len(test) - n1
    # Mann-Whitney: under no drift the held-out AUC is ~ N(0.5, (n0 + n1 + 1) / (12 n0 n1))
    z = (auc - 0.5) / math.sqrt((n0 + n1 + 1) / (12.0 * n0 * n1))
    return _Fold(auc, z, drops)


def _target_encode(train: npt.NDArray[np.intp], y: npt.NDArray[np.int8],
                   test: npt.NDArray[np.intp], seed: int) -> tuple[FloatArray, FloatArray]:
    """Each category's smoothed share of current rows (missing values as a category).

    Training rows are encoded from the other :data:`TARGET_ENCODING_FOLDS` - 1 parts of
    the training rows, test rows from all of them, so that no row sees its own label.
    """
    prior = float(y.mean())
    part = np.random.default_rng(seed).integers(0, TARGET_ENCODING_FOLDS, len(y))
    encoded_train = np.empty(train.shape)
    encoded_test = np.empty(test.shape)
    for j in range(train.shape[1]):
        known, asked = train[:, j] + 1, test[:, j] + 1  # code -1 (missing) becomes 0
        size = int(max(known.max(initial=0), asked.max(initial=0))) + 1

        def shares(rows: npt.NDArray[np.bool_], known: npt.NDArray[np.intp] = known,
                   size: int = size) -> FloatArray:
            counts = np.bincount(known[rows], minlength=size)
            hits = np.bincount(known[rows], weights=y[rows], minlength=size)
            return (hits + TARGET_SMOOTHING * prior) / (counts + TARGET_SMOOTHING)

        for k in range(TARGET_ENCODING_FOLDS):
            inside = part == k
            encoded_train[inside, j] = shares(~inside)[known[inside]]
        encoded_test[:, j] = shares(np.ones(len(y), bool))[asked]
    return encoded_train, encoded_test


def _subsample(frame: pd.DataFrame, max_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= max_rows:
        return frame
    rows = np.sort(rng.choice(len(frame), size=max_rows, replace=False))
    return frame.iloc[rows]


def _classifier_matrix(ref: pd.DataFrame, cur: pd.DataFrame, numeric: list[str],
                       categorical: list[str]) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Both sides stacked: numbers and native category codes, and every category's code.

    In the first array, numbers are floats and categories the codes the classifier
    splits on (the :data:`MAX_CATEGORIES` most frequent have their own, the rarer
    ones share one), missing values NaN. The second holds each categorical column's
    full codes (-1 for missing) for target encoding.
    """
    x = np.empty((len(ref) + len(cur), len(numeric) + len(categorical)))
    codes = np.empty((len(ref) + len(cur), len(categorical)), dtype=np.intp)
    for j, name in enumerate(numeric):
        x[: len(ref), j] = _numbers(ref[name])
        x[len(ref):, j] = _numbers(cur[name])
    for j, name in enumerate(categorical):
        codes[:, j], categories = _factorize(ref[name], cur[name])
        counts = np.bincount(codes[:, j][codes[:, j] >= 0], minlength=categories)
        rank = np.empty(categories, dtype=np.float64)
        rank[np.argsort(-counts, kind="stable")] = np.minimum(
            np.arange(categories), MAX_CATEGORIES)
        x[:, len(numeric) + j] = np.where(codes[:, j] >= 0, rank[codes[:, j]], np.nan)
    return x, codes


def _importance(model: HistGradientBoostingClassifier, x: FloatArray,
                y: npt.NDArray[np.int8], groups: list[list[int]], rows: int,
                seed: int) -> FloatArray:
    """AUC drops of each group of columns on ``rows`` held-out rows: (repeats, groups).

    A group is the columns made from one input column; they are shuffled together.

    The same measure as scikit-learn's ``permutation_importance`` with ROC AUC, but
    every permuted copy goes through one prediction call and the AUCs are computed
    together from ranks, which is many times faster for a small boosted ensemble.
    """
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    if len(y) > rows:  # up to half the rows from each side, so both are always there
        keep = np.sort(np.concatenate([
            rng.choice(side, size=min(len(side), rows // 2), replace=False)
            for side in (np.flatnonzero(y == 0), np.flatnonzero(y == 1))]))
        x, y = x[keep], y[keep]
    n, features = len(y), len(groups)
    repeats = DEFAULT_IMPORTANCE_REPEATS
    copies = np.tile(x, (repeats * features + 1, 1))
    for r in range(repeats):
        for j, group in enumerate(groups):
            start = (1 + r * features + j) * n
            copies[start:start + n, group] = x[rng.permutation(n)][:, group]
    # Prediction releases the GIL: two halves on two threads (one OpenMP thread each,
    # as the limit is per thread) use both cores.
    def predict(half: FloatArray) -> FloatArray:
        with threadpool_limits(limits=1, user_api="openmp"):
            return np.asarray(model.predict_proba(half)[:, 1], dtype=np.float64)

    with ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(predict, np.array_split(copies, 2)))
    scores = np.concatenate(parts).reshape(repeats * features + 1, n)
    auc = _roc_auc_rows(y, scores)
    return (auc[0] - auc[1:]).reshape(repeats, features)


def _roc_auc_rows(y: npt.NDArray[np.int8], scores: FloatArray) -> FloatArray:
    """ROC AUC of each row of ``scores`` against the labels ``y`` (Mann-Whitney, ties halved)."""
    from scipy import stats

    positive = y == 1
    n1 = int(positive.sum())
    n0 = len(y) - n1
    ranks = stats.rankdata(scores, axis=1)
    return (ranks[:, positive].sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def _rank_features(names: list[str], fold_drops: FloatArray
                   ) -> tuple[tuple[FeatureImportance, ...], tuple[str, ...]]:
    """Features by mean AUC drop (``fold_drops``: one row per fold), and the clear leaders."""
    mean = fold_drops.mean(axis=0)
    std = fold_drops.std(axis=0, ddof=1) if len(fold_drops) > 1 else np.zeros_like(mean)
    order = sorted(range(len(names)), key=lambda j: (-mean[j], names[j]))
    ranked = tuple(FeatureImportance(column=names[j], importance=float(mean[j]),
                                     std=float(std[j])) for j in order)
    standard_error = std / math.sqrt(len(fold_drops))
    floor = TOP_FEATURE_SHARE * max(float(mean.max()), 0.0)
    top = tuple(names[j] for j in order
                if mean[j] > 2 * standard_error[j] and mean[j] >= floor and mean[j] > 0)
    return ranked, top[:TOP_FEATURES]


# --------------------------------------------------------------------- PCA reconstruction


def pca_reconstruction(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, ColumnKind | str] | None = None,
    n_components: float | int = DEFAULT_N_COMPONENTS,
    chunker: Chunker | None = None,
    std_multiplier: float = DEFAULT_STD_MULTIPLIER,
) -> PCAReconstructionResult:
    """Drift as a change in how well the reference's principal components fit.

    Every column becomes a number, standardised by the reference's mean and
    standard deviation: a numeric column as it is (missing values and infinities
    take the reference mean; a column constant in the reference is only centred), a
    categorical column by the share its category has in the reference rows
    (missing values count as a category, one the reference lacks has share 0), as
    NannyML does. The principal components holding ``n_components`` of the
    reference's variance are fitted on the whole reference; a row's error is the
    Euclidean distance between it and its projection onto them.

    The band comes from chunks of the reference: mean +- ``std_multiplier``
    standard deviations of the chunks' mean errors (NannyML's rule; the sample
    standard deviation, divided by n - 1 where NannyML divides by n). Estimated
    from ten chunks, that deviation is itself noisy, so it is never taken below
    what row-to-row variation alone gives a chunk. Unlike
    NannyML, a reference row's error is measured out of sample, by components
    fitted on the other nine tenths of the reference: measured in sample, the
    reference fits its own components better than any new data does (most of all
    for columns with little correlation, where the components follow sampling
    noise), and the current looks drifted when it is not.

    A sample smaller than a reference chunk is noisier than the band assumes, so
    its band is widened by ``sqrt(chunk rows / its rows)``; a larger one is held to
    the chunk-sized band, so that a trivial difference does not flag because the
    sample is big.

    PCA sees what the reference's components leave out: a correlation that breaks,
    a column that moves off its usual relation to the others, a variance that
    grows. A new correlation between columns that were independent in the
    reference may not show (the components of independent columns are arbitrary
    directions, and with two columns both are kept and nothing is left out). The
    domain classifier catches both.

    Parameters
    ----------
    reference, current : pandas.DataFrame
        The two samples.
    columns : sequence of str, optional
        Columns to use; by default every column both frames have. Either way,
        identifier, date and time, and free-text columns and the chunker's time
        column are left out and listed in ``excluded``.
    kinds : mapping of str to ColumnKind, optional
        Kinds of some columns; the others are inferred from the reference.
    n_components : float or int
        A share of variance in (0, 1) (the fewest components holding more than it,
        as scikit-learn's PCA chooses), or a number of components.
    chunker : Chunker, optional
        Splits both sides the same way: the band comes from the reference's chunks,
        and every chunk of the current is reported and compared with it. Without
        one, the reference is cut into :data:`DEFAULT_REFERENCE_CHUNKS` equal chunks
        and the current is compared as a whole. Reference chunks with fewer than
        half the rows of the largest (a short last chunk or month) are left out of
        the band.
    std_multiplier : float
        Half-width of the band in standard deviations.

    Returns
    -------
    PCAReconstructionResult

    Raises
    ------
    InputError
        If a side is empty, a column is missing or its kinds differ between the
        sides, no column is left to compare, the reference yields fewer than
        :data:`MIN_REFERENCE_CHUNKS` chunks, or an argument is out of range.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> x, z = rng.normal(size=(2, 5000))
    >>> reference = pd.DataFrame({"x": x, "y": x + 0.3 * z})
    >>> x, z = rng.normal(size=(2, 5000))
    >>> current = pd.DataFrame({"x": x, "y": -x + 0.3 * z})
    >>> from rasad.drift import Chunker
    >>> result = pca_reconstruction(reference, current, chunker=Chunker(number=5))
    >>> result.n_components, round(result.lower_threshold, 3), round(result.upper_threshold, 3)
    (1, 0.15, 0.179)
    >>> [(chunk.key, round(chunk.error, 2)) for chunk in result.chunks[:2]], result.drifted
    ([('[0:1000]', 1.12), ('[1000:2000]', 1.09)], True)
    """
    if isinstance(n_components, bool) or not isinstance(n_components, int | float):
        raise InputError(f"n_components must be a share of variance in (0, 1) or a whole "
                         f"number of components; got {n_components!r}.")
    if isinstance(n_components, float):
        _check_range("n_components", n_components, 0.0, 1.0, open_interval=True)
    _check_range("std_multiplier", std_multiplier, 0.0, None)
    exclude = (chunker.time_column,) if chunker is not None and chunker.time_column else ()
    numeric, categorical, excluded = _select_columns(reference, current, columns, kinds,
                                                     exclude=exclude)
    used = numeric + categorical
    if isinstance(n_components, int) and not 1 <= n_components <= len(used):
        raise InputError(f"n_components={n_components} components from {len(used)} columns; "
                         f"use 1 to {len(used)}, or a share of variance such as 0.65.")
    from rasad.drift.chunking import Chunker

    band_chunks = (chunker or Chunker(number=DEFAULT_REFERENCE_CHUNKS)).split(reference)
    largest = max(chunk.rows for chunk in band_chunks)
    band_chunks = [chunk for chunk in band_chunks if 2 * chunk.rows >= largest]
    if len(band_chunks) < MIN_REFERENCE_CHUNKS:
        raise InputError(f"The reference makes {len(band_chunks)} chunk(s) of similar size; the "
                         f"band needs at least {MIN_REFERENCE_CHUNKS}. Use smaller chunks or a "
                         "longer reference.")

    ref_raw = [_numbers(reference[name]) for name in numeric]
    cur_raw = [_numbers(current[name]) for name in numeric]
    for name in categorical:
        ref_codes, cur_codes = _category_shares(reference[name], current[name])
        ref_raw.append(ref_codes)
        cur_raw.append(cur_codes)
    centre = np.array([np.nanmean(col) if not np.isnan(col).all() else 0.0 for col in ref_raw])
    scale = np.array([np.nanstd(col) if not np.isnan(col).all() else 0.0 for col in ref_raw])
    # A constant column's standard deviation can come out as rounding noise (1e-17,
    # not 0); dividing by it would blow its errors up to 1e15.
    scale[~(scale > _CONSTANT_SCALE * np.maximum(1.0, np.abs(centre)))] = 1.0
    blocks = _Standardised(ref_raw, centre, scale)

    # Ten contiguous folds of the reference: each fold's rows are scored by the
    # components of the other nine (its Gram matrix subtracted from the total).
    edges = np.linspace(0, len(reference), min(10, len(reference)) + 1).astype(int)
    folds = list(itertools.pairwise(edges.tolist()))
    grams = [blocks.gram(start, stop) for start, stop in folds]
    total = np.sum(grams, axis=0)
    k, explained, full = _components(total / len(reference), n_components)
    ref_errors = np.concatenate([
        blocks.errors(start, stop, _components(
            (total - gram) / max(1, len(reference) - (stop - start)), k)[2])
        for (start, stop), gram in zip(folds, grams, strict=True)
    ])
    cur_errors = _Standardised(cur_raw, centre, scale).errors(0, len(current), full)

    chunk_errors = np.array([ref_errors[chunk.index].mean() for chunk in band_chunks])
    chunk_rows = float(np.mean([chunk.rows for chunk in band_chunks]))
    # A spread estimated from ten chunks can come out far too small by chance (one
    # time in seventy below half the truth); row-to-row variation alone sets a floor.
    mean = float(chunk_errors.mean())
    spread = max(float(chunk_errors.std(ddof=1)),
                 float(ref_errors.std(ddof=1)) / math.sqrt(chunk_rows))

    def band(rows: int) -> tuple[float, float]:
        width = std_multiplier * spread * math.sqrt(max(1.0, chunk_rows / rows))
        return max(0.0, mean - width), mean + width

    current_error = float(cur_errors.mean())
    lower, upper = band(len(current))
    chunks: tuple[ReconstructionChunk, ...] = ()
    if chunker is not None:
        chunks = tuple(
            ReconstructionChunk(key=c.key, rows=c.rows, start=c.start, end=c.end, error=error,
                                lower_threshold=low, upper_threshold=high,
                                drifted=not low <= error <= high)
            for c in chunker.split(current)
            for error, (low, high) in ((float(cur_errors[c.index].mean()), band(c.rows)),)
        )
        drifted = any(chunk.drifted for chunk in chunks)
    else:
        drifted = not lower <= current_error <= upper
    return PCAReconstructionResult(
        columns=tuple(used),
        n_components=k,
        explained_variance=explained,
        reference_error=float(ref_errors.mean()),
        reference_chunks=len(band_chunks),
        chunk_error_mean=mean,
        chunk_error_std=spread,
        std_multiplier=std_multiplier,
        current_error=current_error,
        lower_threshold=lower,
        upper_threshold=upper,
        chunks=chunks,
        drifted=drifted,
        excluded=excluded,
    )


def _components(covariance: FloatArray, n_components: float | int
                ) -> tuple[int, float, FloatArray]:
    """Components kept, their share of variance, and the matrix giving each row's residual."""
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    eigenvalues, eigenvectors = eigenvalues[::-1].clip(min=0.0), eigenvectors[:, ::-1]
    total = float(eigenvalues.sum())
    shares = eigenvalues / total if total > 0 else np.zeros_like(eigenvalues)
    d = len(eigenvalues)
    if isinstance(n_components, int):
        k = n_components
    else:  # scikit-learn's rule: the fewest components whose share exceeds n_components
        k = min(int(np.searchsorted(np.cumsum(shares), n_components, side="right")) + 1, d)
    kept = eigenvectors[:, :k]
    # all components kept: every row is its own reconstruction, error exactly 0
    residual = np.zeros((d, d)) if k == d else np.eye(d) - kept @ kept.T
    return k, float(shares[:k].sum()), residual


def _category_shares(reference: pd.Series, current: pd.Series) -> tuple[FloatArray, FloatArray]:
    """Each value replaced by its category's share of the reference rows.

    Missing values count as one more category; a category the reference lacks has
    share 0.
    """
    codes, categories = _factorize(reference, current)
    ref_codes = codes[: len(reference)]
    shares = np.bincount(ref_codes[ref_codes >= 0], minlength=categories) / len(reference)
    lookup = np.r_[shares, np.mean(ref_codes < 0)]  # code -1 (missing) is the last entry
    encoded = lookup[codes]
    return encoded[: len(reference)], encoded[len(reference):]


def _factorize(reference: pd.Series, current: pd.Series) -> tuple[npt.NDArray[np.intp], int]:
    """Category codes of both sides stacked (-1 for missing), and how many categories."""
    import pandas as pd

    codes, uniques = pd.factorize(pd.concat([reference, current], ignore_index=True))
    return np.asarray(codes, dtype=np.intp), len(uniques)


class _Standardised:
    """Columns standardised block by block (missing values at 0), never all at once.

    Blocks bound the memory to a few of them at a time; two blocks run side by side
    on one BLAS thread each, which keeps both cores busy without BLAS's own threads
    contending on matrices this narrow.
    """

    def __init__(self, columns: list[FloatArray], centre: FloatArray, scale: FloatArray):
        self._columns, self._centre, self._scale = columns, centre, scale

    def gram(self, start: int, stop: int) -> FloatArray:
        """Sum of the outer products of rows ``start`` to ``stop``."""
        parts = self._map(lambda block: block.T @ block, start, stop)
        return np.sum(parts, axis=0) if parts else np.zeros((len(self._centre),) * 2)

    def errors(self, start: int, stop: int, residual: FloatArray) -> FloatArray:
        """Euclidean distance of each row from its projection (``residual`` applied)."""

        def distances(block: FloatArray) -> FloatArray:
            off = block @ residual
            return np.sqrt(np.einsum("ij,ij->i", off, off))

        parts = self._map(distances, start, stop)
        return np.concatenate(parts) if parts else np.zeros(0)

    def _map(self, fn: Callable[[FloatArray], FloatArray], start: int, stop: int
             ) -> list[FloatArray]:
        def run(first: int) -> FloatArray:
            last = min(first + _BLOCK_ROWS, stop)
            block = np.column_stack([col[first:last] for col in self._columns])
            block -= self._centre
            block /= self._scale
            np.nan_to_num(block, copy=False, nan=0.0)
            return fn(block)

        from threadpoolctl import threadpool_limits

        workers = max(1, min(2, os.cpu_count() or 1))
        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            return list(pool.map(run, range(start, stop, _BLOCK_ROWS)))


# --------------------------------------------------------------------- shared input checks


def _select_columns(reference: pd.DataFrame, current: pd.DataFrame,
                    columns: Sequence[str] | None,
                    kinds: Mapping[str, ColumnKind | str] | None = None,
                    exclude: Sequence[str] = (),
                    ) -> tuple[list[str], list[str], tuple[ExcludedColumn, ...]]:
    """The numeric and the categorical columns to use, in reference order, and those
    left out with the reason."""
    import pandas as pd

    from rasad.drift.reference import NOT_COMPARED, TESTED_KINDS

    for side, frame in (("reference", reference), ("current", current)):
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"The {side} must be a pandas DataFrame; got "
                             f"{type(frame).__name__}.")
        if len(frame) == 0:
            raise InputError(f"The {side} has no rows; multivariate drift needs rows on "
                             "both sides.")
    if columns is not None:
        names = list(dict.fromkeys(columns))
        for side, frame in (("reference", reference), ("current", current)):
            missing = [name for name in names if name not in frame.columns]
            if missing:
                raise InputError(f"Column(s) {', '.join(map(repr, missing))} not in the "
                                 f"{side}; its columns are "
                                 f"{', '.join(map(str, frame.columns))}.")
    else:
        names = [name for name in reference.columns if name in current.columns]
    if not names:
        raise InputError("The reference and the current have no column in common to compare; "
                         "pass columns= or check the data.")
    resolved = _column_kinds(reference, names, kinds)
    excluded: list[ExcludedColumn] = []
    numeric: list[str] = []
    categorical: list[str] = []
    for name in names:
        kind = resolved[name]
        if name in exclude:
            excluded.append(ExcludedColumn(column=name, kind=kind, reason=TIME_COLUMN_REASON))
            continue
        if kind not in TESTED_KINDS:
            excluded.append(ExcludedColumn(column=name, kind=kind, reason=NOT_COMPARED[kind]))
            continue
        storage = {_kind(reference[name]), _kind(current[name])}
        if "time" in storage:
            raise InputError(f"Column {name!r} holds dates or times but is given as "
                             f"{kind.value}; multivariate drift takes numbers and categories.")
        if storage == {"numeric"}:
            numeric.append(name)
        elif storage == {"categorical"}:
            categorical.append(name)
        else:
            raise InputError(f"Column {name!r} is numeric on one side and text on the other; "
                             "fix the data or leave the column out of columns.")
    if not numeric and not categorical:
        left_out = "; ".join(f"{item.column!r}: {item.reason}" for item in excluded)
        raise InputError(f"No column is left for multivariate drift ({left_out}). Name "
                         "numeric or categorical columns, or give a column's kind with kinds=.")
    return numeric, categorical, tuple(excluded)


def _column_kinds(reference: pd.DataFrame, names: list[str],
                  kinds: Mapping[str, ColumnKind | str] | None) -> dict[str, ColumnKind]:
    """Each column's kind: as given, or inferred from the reference as
    :func:`rasad.drift.compare` infers it (dates and times by their type)."""
    import pyarrow as pa

    from rasad.drift.reference import resolve_kinds

    given = {name: kind for name, kind in (kinds or {}).items() if name in names}
    arrays: dict[str, pa.Array] = {}  # by str(name): Arrow names are text
    fallback: dict[str, ColumnKind] = {}
    for name in names:
        if name in given:
            continue
        if _is_time(reference[name]):
            fallback[name] = ColumnKind.DATETIME
            continue
        try:
            arrays[str(name)] = pa.array(reference[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            # Mixed Python objects: categories, as they are encoded below.
            fallback[name] = ColumnKind.CATEGORICAL
    resolved: dict[str, ColumnKind] = {}
    for name, kind in given.items():
        try:
            resolved[name] = ColumnKind(kind)
        except ValueError:
            raise InputError(f"Kind {kind!r} for column {name!r} is not one of "
                             f"{', '.join(k.value for k in ColumnKind)}.") from None
    inferred = resolve_kinds(pa.table(arrays), None) if arrays else {}
    return {name: resolved.get(name) or fallback.get(name) or inferred[str(name)]
            for name in names}


def _is_time(series: pd.Series) -> bool:
    return _kind(series) == "time"


def _kind(series: pd.Series) -> str:
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype) \
            or isinstance(dtype, pd.PeriodDtype):
        return "time"
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    return "categorical"


def _numbers(series: pd.Series) -> FloatArray:
    """A numeric or boolean column as floats; missing values and infinities as NaN.

    Infinities count as missing, as in the univariate tests: no distance can use them.
    """
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        values = np.where(infinite, np.nan, values)
    return values


def _check_range(name: str, value: float, low: float | None, high: float | None,
                 open_interval: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)
    if ok and low is not None:
        ok = value > low if open_interval else value >= low
    if ok and high is not None:
        ok = value < high if open_interval else value <= high
    if not ok:
        bounds = "(" if open_interval else "["
        bounds += f"{low if low is not None else '-inf'}, {high if high is not None else 'inf'}"
        bounds += ")" if open_interval else "]"
        raise InputError(f"{name}={value!r} is out of range; use a value in {bounds}.")


__all__ = [
    "CLASSIFIER_PARAMS",
    "DEFAULT_ALPHA",
    "DEFAULT_AUC_THRESHOLD",
    "DEFAULT_FOLDS",
    "DEFAULT_IMPORTANCE_REPEATS",
    "DEFAULT_IMPORTANCE_ROWS",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_N_COMPONENTS",
    "DEFAULT_REFERENCE_CHUNKS",
    "DEFAULT_STD_MULTIPLIER",
    "MAX_CATEGORIES",
    "MIN_REFERENCE_CHUNKS",
    "TARGET_ENCODING_FOLDS",
    "TARGET_SMOOTHING",
    "TIME_COLUMN_REASON",
    "TOP_FEATURES",
    "TOP_FEATURE_SHARE",
    "DomainClassifierResult",
    "ExcludedColumn",
    "FeatureImportance",
    "MultivariateResult",
    "PCAReconstructionResult",
    "ReconstructionChunk",
    "domain_classifier",
    "pca_reconstruction",
]
