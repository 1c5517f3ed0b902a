"""Mitigation: Fairlearn's post-processing and reductions as storable rasad estimators.

:func:`mitigate` fits a mitigated classifier and assesses it before and after:

- :attr:`Method.THRESHOLD_OPTIMIZER` wraps Fairlearn's ``ThresholdOptimizer``
  (post-processing): the base estimator is kept and each group gets its own
  (randomised) threshold on the base estimator's score, chosen so that the
  constraint holds on the training data while the objective is as good as it can be.
- :attr:`Method.EXPONENTIATED_GRADIENT` wraps Fairlearn's ``ExponentiatedGradient``
  (reduction): the base estimator is refitted on reweighted data several times
  and the result is a randomised mixture of the refitted estimators.

Both results are scikit-learn classifiers (:class:`ThresholdOptimizedClassifier`,
:class:`ExponentiatedGradientClassifier`) that rasad stores with skops like any
other model. They do not hold Fairlearn objects: a fitted ``ThresholdOptimizer``
keeps its trade-off curves as pandas DataFrames and a fitted
``ExponentiatedGradient`` keeps lambdas and pandas objects, and skops can save
neither (pandas' ``BlockManager`` has no ``__reduce__`` skops accepts; lambdas are
code). The wrappers keep only the fitted scikit-learn estimators and NumPy arrays
(thresholds, mixing weights), and predict with Fairlearn's own formula, so a
wrapper predicts exactly what the Fairlearn object would with the same
``random_state``.

**Sensitive features are columns of X.** ``sensitive_features`` names columns of
the training DataFrame; the wrapper remembers the names in ``sensitive_columns``
and reads those columns from the DataFrame given to ``predict``, which therefore
works with a plain ``predict(X)`` (as rasad's batch scoring calls it). X reaches
the base estimator unchanged, sensitive columns included: whether the model itself
uses them is decided by the estimator (a rasad pipeline uses only its named
feature columns). With several columns, the groups are their combinations,
labelled ``"female | saudi"``. Each distinct value is a group, so band a numeric
attribute (age) into a column of bands first.

**Randomised predictions.** Both methods predict 1 with a probability
(:meth:`~ThresholdOptimizedClassifier.selection_probability`) and draw the 0/1
answer with ``random_state`` (by default the wrapper's own, set from ``seed``), so
the same rows in the same order always get the same predictions. The wrappers have
no ``predict_proba``: the selection probability is not a calibrated probability of
the target.

**Before and after.** Both are :class:`~rasad.governance.fairness.FairnessReport`
objects from :func:`~rasad.governance.fairness.assess` (per-group metrics,
disparities with bootstrap intervals, verdicts; the intersection of several
sensitive columns too), computed on ``X_test``/``y_test`` when given
(recommended: a held-out set shows whether the mitigation generalises), else on
the training data, where post-processing looks better than it will on new rows.
"Before" is the unmitigated estimator fitted on the same data (or the given
estimator itself when ``prefit=True``); both use class predictions, no scores.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import (
    DemographicParity,
    EqualizedOdds,
    ExponentiatedGradient,
    FalsePositiveRateParity,
    Moment,
    TruePositiveRateParity,
)
from pydantic import AliasChoices, Field
from pydantic.json_schema import SkipJsonSchema
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from rasad.errors import InputError, NotFoundError
from rasad.governance.fairness.assess import assess
from rasad.governance.fairness.groups import MISSING_LABEL
from rasad.governance.fairness.report import FairnessReport, Measure
from rasad.governance.fairness.verdict import FairnessPolicy
from rasad.results import Result

GROUP_SEPARATOR: Final = " | "
"""Joins the values of several sensitive columns into one group label."""


class Method(enum.StrEnum):
    """A Fairlearn mitigation method."""

    THRESHOLD_OPTIMIZER = "threshold_optimizer"
    EXPONENTIATED_GRADIENT = "exponentiated_gradient"


class Constraint(enum.StrEnum):
    """The fairness constraint a mitigation enforces (both methods support each)."""

    DEMOGRAPHIC_PARITY = "demographic_parity"
    EQUALIZED_ODDS = "equalized_odds"
    TRUE_POSITIVE_RATE_PARITY = "true_positive_rate_parity"
    FALSE_POSITIVE_RATE_PARITY = "false_positive_rate_parity"


class Objective(enum.StrEnum):
    """What the threshold optimizer maximises subject to the constraint.

    ``ACCURACY`` is Fairlearn's default; on imbalanced data (a 10% default rate) it
    can settle on predicting almost nobody positive, which is "fair" and useless, so
    ``BALANCED_ACCURACY`` is usually the better choice there. The exponentiated
    gradient always minimises the error rate (``ACCURACY``).
    """

    ACCURACY = "accuracy_score"
    BALANCED_ACCURACY = "balanced_accuracy_score"


class EvaluatedOn(enum.StrEnum):
    """Which data the before-and-after assessment used."""

    TEST = "test"
    TRAINING = "training"


_MOMENTS: Final[dict[Constraint, type[Moment]]] = {
    Constraint.DEMOGRAPHIC_PARITY: DemographicParity,
    Constraint.EQUALIZED_ODDS: EqualizedOdds,
    Constraint.TRUE_POSITIVE_RATE_PARITY: TruePositiveRateParity,
    Constraint.FALSE_POSITIVE_RATE_PARITY: FalsePositiveRateParity,
}
"""Fairlearn's reductions moment for each constraint; the threshold optimizer takes
the constraint's value as its ``constraints`` string."""


def _parse(enum_type: type[enum.StrEnum], value: Any, what: str) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum_type)
        raise InputError(f"Unknown {what} {value!r}; choose one of {allowed}.") from None


def _columns(sensitive: str | Sequence[str]) -> tuple[str, ...]:
    columns = (sensitive,) if isinstance(sensitive, str) else tuple(sensitive)
    if not columns or not all(isinstance(c, str) for c in columns):
        raise InputError(
            f"sensitive_features must name one or more columns of X, not {sensitive!r}."
        )
    return columns


def group_labels(X: pd.DataFrame, columns: str | Sequence[str]) -> npt.NDArray[np.object_]:
    """Return each row's group: its sensitive values as text, joined by ``" | "``.

    Parameters
    ----------
    X : pandas.DataFrame
        Holds the sensitive columns.
    columns : str or sequence of str
        The sensitive columns.

    Returns
    -------
    numpy.ndarray of str

    Raises
    ------
    InputError
        If X is not a DataFrame or lacks a column.

    Examples
    --------
    >>> frame = pd.DataFrame({"gender": ["female", "male"], "nationality": ["saudi", None]})
    >>> group_labels(frame, ["gender", "nationality"]).tolist()
    ['female | saudi', 'male | (missing)']
    """
    names = _columns(columns)
    if not isinstance(X, pd.DataFrame):
        raise InputError(
            f"X must be a pandas DataFrame holding the sensitive columns {list(names)}, "
            f"not {type(X).__name__}."
        )
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise InputError(
            f"X has no sensitive column {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(map(str, X.columns))}."
        )
    parts = [X[c].astype(object).where(X[c].notna(), MISSING_LABEL).astype(str).to_numpy()
             for c in names]
    return np.array([GROUP_SEPARATOR.join(row) for row in zip(*parts, strict=True)]
                    if len(parts) > 1 else parts[0], dtype=object)


def _binary_target(y: Any, rows: int) -> npt.NDArray[np.int64]:
    values = np.asarray(y)
    if values.ndim != 1 or len(values) != rows:
        raise InputError(
            f"y has {len(values)} values but X has {rows} rows; give one label per row."
        )
    distinct = pd.unique(pd.Series(values).dropna())
    if len(values) and pd.isna(values).any():
        raise InputError("y has missing labels; drop those rows or fill the labels.")
    if not set(distinct.tolist()) <= {0, 1} or len(distinct) != 2:
        raise InputError(
            f"Mitigation needs a binary target with labels 0 and 1 (both present); y holds "
            f"{sorted(map(str, distinct))[:10]}. Encode the positive class as 1."
        )
    return values.astype(np.int64)


def _check_groups(labels: npt.NDArray[np.object_], columns: tuple[str, ...]) -> None:
    if len(pd.unique(labels)) < 2:
        raise InputError(
            f"The sensitive column(s) {list(columns)} hold one group only "
            f"({labels[0]!r}); mitigation needs at least two groups."
        )


def _draw(probability: npt.NDArray[np.float64], random_state: Any) -> npt.NDArray[np.int64]:
    # Fairlearn's own draw, so that a wrapper matches Fairlearn for the same random_state.
    rng = check_random_state(random_state)
    return (probability >= rng.rand(len(probability))).astype(np.int64)


def _score_method(estimator: Any) -> str:
    for name in ("predict_proba", "decision_function"):
        if hasattr(estimator, name):
            return name
    return "predict"


def _scores(estimator: Any, method: str, X: Any) -> npt.NDArray[np.float64]:
    scores = np.asarray(getattr(estimator, method)(X), dtype=np.float64)
    return scores[:, 1] if scores.ndim == 2 else scores


class ThresholdOptimizedClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier post-processed with Fairlearn's ``ThresholdOptimizer``.

    Each group (combination of the sensitive columns' values) gets two thresholds on
    the base estimator's score and a probability of using each; a row is predicted 1
    with the resulting probability. The score is ``predict_proba``'s positive column
    when the estimator has it, else ``decision_function``, else ``predict``.

    Parameters
    ----------
    estimator : estimator
        The base classifier; it receives X unchanged.
    sensitive_columns : str or sequence of str
        Columns of X that define the groups, at fit and at predict time.
    constraint : Constraint
        Default demographic parity.
    objective : Objective
        Default accuracy (Fairlearn's default).
    prefit : bool
        Use ``estimator`` as already fitted instead of fitting a clone.
    grid_size : int
        Fairlearn's grid of constraint values searched (1000, its default).
    random_state : int or None
        Draws the randomised predictions when ``predict`` is given none.

    Attributes
    ----------
    estimator_ : estimator
        The fitted base classifier.
    groups_ : numpy.ndarray of str
        The groups seen in training.
    p0_, p1_, threshold0_, threshold1_ : numpy.ndarray of float
        Per group, the probability of each of the two threshold rules and its threshold.
    greater0_, greater1_ : numpy.ndarray of bool
        Per group, whether each rule is ``score > threshold`` (else ``<``).
    """

    def __init__(self, estimator: Any, sensitive_columns: str | Sequence[str], *,
                 constraint: Constraint = Constraint.DEMOGRAPHIC_PARITY,
                 objective: Objective = Objective.ACCURACY, prefit: bool = False,
                 grid_size: int = 1000, random_state: int | None = 0) -> None:
        self.estimator = estimator
        self.sensitive_columns = sensitive_columns
        self.constraint = constraint
        self.objective = objective
        self.prefit = prefit
        self.grid_size = grid_size
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Any) -> ThresholdOptimizedClassifier:
        """Fit the base estimator (unless prefit) and the per-group thresholds."""
        columns = _columns(self.sensitive_columns)
        labels = group_labels(X, columns)
        target = _binary_target(y, len(X))
        _check_groups(labels, columns)
        constraint = _parse(Constraint, self.constraint, "constraint")
        objective = _parse(Objective, self.objective, "objective")
        method = _score_method(self.estimator)
        optimizer = ThresholdOptimizer(
            estimator=self.estimator, constraints=constraint.value, objective=objective.value,
            grid_size=self.grid_size, prefit=self.prefit, predict_method=method)
        optimizer.fit(X, target, sensitive_features=labels)
        rules = optimizer.interpolated_thresholder_.interpolation_dict
        groups = sorted(rules)
        self.estimator_ = optimizer.estimator_
        self.score_method_ = method
        self.groups_ = np.array(groups, dtype=object)
        self.p0_ = np.array([rules[g].p0 for g in groups], dtype=np.float64)
        self.p1_ = np.array([rules[g].p1 for g in groups], dtype=np.float64)
        self.threshold0_ = np.array([rules[g].operation0.threshold for g in groups], dtype=float)
        self.threshold1_ = np.array([rules[g].operation1.threshold for g in groups], dtype=float)
        self.greater0_ = np.array([rules[g].operation0.operator == ">" for g in groups])
        self.greater1_ = np.array([rules[g].operation1.operator == ">" for g in groups])
        self.classes_ = np.array([0, 1])
        return self

    def selection_probability(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Return the probability that each row is predicted 1.

        Raises
        ------
        InputError
            If a row belongs to a group not seen in training.
        """
        check_is_fitted(self, "groups_")
        labels = group_labels(X, self.sensitive_columns)
        index = np.searchsorted(self.groups_, labels)
        index = np.minimum(index, len(self.groups_) - 1)
        unseen = labels != self.groups_[index]
        if unseen.any():
            columns = list(_columns(self.sensitive_columns))
            raise InputError(
                f"Group(s) {sorted(set(labels[unseen]))} of {columns}"
                f" were not in the training data, so they have no thresholds; the groups are "
                f"{self.groups_.tolist()}. Refit with data that holds every group."
            )
        scores = _scores(self.estimator_, self.score_method_, X)

        def rule(greater: npt.NDArray[np.bool_], threshold: npt.NDArray[np.float64]) -> Any:
            t = threshold[index]
            return np.where(greater[index], scores > t, scores < t)

        return np.asarray(self.p0_[index] * rule(self.greater0_, self.threshold0_)
                          + self.p1_[index] * rule(self.greater1_, self.threshold1_),
                          dtype=np.float64)

    def predict(self, X: pd.DataFrame, *, random_state: Any = None) -> npt.NDArray[np.int64]:
        """Predict 0 or 1, drawn with ``random_state`` (default: the wrapper's own)."""
        state = self.random_state if random_state is None else random_state
        return _draw(self.selection_probability(X), state)


class ExponentiatedGradientClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier trained with Fairlearn's ``ExponentiatedGradient`` reduction.

    The result is a randomised mixture of copies of the estimator refitted on
    reweighted data. When ``estimator`` is a :class:`~sklearn.pipeline.Pipeline`, its
    preprocessing steps are fitted once and only the last step is reweighted
    (a pipeline's ``fit`` does not take ``sample_weight``); the last step must accept
    ``sample_weight``. Sensitive columns are needed only to fit.

    Parameters
    ----------
    estimator : estimator
        The classifier (or pipeline) to refit; it receives X unchanged.
    sensitive_columns : str or sequence of str
        Columns of X that define the groups while fitting.
    constraint : Constraint
        Default demographic parity.
    eps : float
        Allowed constraint violation (0.01, Fairlearn's default).
    max_iter : int
        Most iterations of the algorithm (50, Fairlearn's default).
    random_state : int or None
        Draws the randomised predictions when ``predict`` is given none.

    Attributes
    ----------
    preprocess_ : Pipeline or None
        The fitted preprocessing steps of a pipeline estimator.
    predictors_ : list of estimator
        The mixture's fitted estimators with non-zero weight.
    weights_ : numpy.ndarray of float
        Their mixing weights (summing to 1).
    """

    def __init__(self, estimator: Any, sensitive_columns: str | Sequence[str], *,
                 constraint: Constraint = Constraint.DEMOGRAPHIC_PARITY, eps: float = 0.01,
                 max_iter: int = 50, random_state: int | None = 0) -> None:
        self.estimator = estimator
        self.sensitive_columns = sensitive_columns
        self.constraint = constraint
        self.eps = eps
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Any) -> ExponentiatedGradientClassifier:
        """Fit the preprocessing once, then the reweighted mixture of the last step."""
        columns = _columns(self.sensitive_columns)
        labels = group_labels(X, columns)
        target = _binary_target(y, len(X))
        _check_groups(labels, columns)
        constraint = _parse(Constraint, self.constraint, "constraint")
        final = self.estimator
        inputs: Any = X
        self.preprocess_: Pipeline | None = None
        if isinstance(self.estimator, Pipeline) and len(self.estimator) > 1:
            self.preprocess_ = clone(self.estimator[:-1]).fit(X, target)
            inputs = self.preprocess_.transform(X)
            final = self.estimator[-1]
        reduction = ExponentiatedGradient(clone(final), constraints=_MOMENTS[constraint](),
                                          eps=self.eps, max_iter=self.max_iter)
        with warnings.catch_warnings():
            # Fairlearn 0.15's own Series updates warn under pandas 3; nothing for a user to do.
            warnings.simplefilter("ignore", DeprecationWarning)
            reduction.fit(inputs, target, sensitive_features=labels)
        weights = np.asarray(reduction.weights_, dtype=np.float64)
        kept = np.flatnonzero(weights > 0)
        self.predictors_ = [reduction.predictors_.iloc[i] for i in kept]
        self.weights_ = weights[kept]
        self.classes_ = np.array([0, 1])
        return self

    def selection_probability(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Return the probability that each row is predicted 1 (the weighted vote)."""
        check_is_fitted(self, "weights_")
        inputs = X if self.preprocess_ is None else self.preprocess_.transform(X)
        votes = np.column_stack([np.asarray(p.predict(inputs), dtype=np.float64)
                                 for p in self.predictors_])
        return np.asarray(votes @ self.weights_, dtype=np.float64)

    def predict(self, X: pd.DataFrame, *, random_state: Any = None) -> npt.NDArray[np.int64]:
        """Predict 0 or 1, drawn with ``random_state`` (default: the wrapper's own)."""
        state = self.random_state if random_state is None else random_state
        return _draw(self.selection_probability(X), state)


MitigatedClassifier = ThresholdOptimizedClassifier | ExponentiatedGradientClassifier

TRUSTED_TYPES: Final[tuple[str, ...]] = (
    f"{__name__}.ThresholdOptimizedClassifier",
    f"{__name__}.ExponentiatedGradientClassifier",
)
"""The type names a stored mitigated model adds to the trust policy."""


class MitigationResult(Result):
    """A fitted mitigated estimator with its assessment before and after.

    The JSON form names the estimator's class under ``"estimator"``; the fitted
    estimator itself is not part of it (store it as a model: log it on a run and
    register it). A result read back from JSON therefore has no :attr:`estimator`.
    """

    method: Method
    constraint: Constraint
    sensitive_columns: tuple[str, ...]
    estimator_type: str = Field(serialization_alias="estimator",
                                validation_alias=AliasChoices("estimator", "estimator_type"))
    evaluated_on: EvaluatedOn
    before: FairnessReport
    after: FairnessReport
    fitted_estimator: SkipJsonSchema[Any] = Field(default=None, exclude=True, repr=False)

    @property
    def estimator(self) -> MitigatedClassifier:
        """The fitted mitigated classifier.

        Raises
        ------
        NotFoundError
            When the result was read back from JSON, which holds only its class name.
        """
        if self.fitted_estimator is None:
            raise NotFoundError(
                f"This mitigation result was read from JSON, which keeps only the estimator's "
                f"class name ({self.estimator_type}); load the registered model instead.")
        fitted: MitigatedClassifier = self.fitted_estimator
        return fitted

    def compare(self, attribute: str,
                measure: Measure | str = Measure.DEMOGRAPHIC_PARITY_DIFFERENCE,
                ) -> tuple[float, float]:
        """Return a measure's value over all groups (Fairlearn's figure), before and after."""
        return (self.before.attribute(attribute).disparity(measure).value_all_groups,
                self.after.attribute(attribute).disparity(measure).value_all_groups)


def mitigate(estimator: Any, X: pd.DataFrame, y: Any, sensitive_features: str | Sequence[str],
             *, method: Method | str = Method.THRESHOLD_OPTIMIZER,
             constraint: Constraint | str = Constraint.DEMOGRAPHIC_PARITY,
             objective: Objective | str = Objective.ACCURACY, prefit: bool = False,
             seed: int = 0, X_test: pd.DataFrame | None = None, y_test: Any = None,
             policy: FairnessPolicy | None = None, n_boot: int = 1000,
             favorable: int | None = None) -> MitigationResult:
    """Fit a mitigated classifier and assess it before and after.

    Parameters
    ----------
    estimator : estimator
        A binary classifier, usually a pipeline that selects its feature columns
        from X. It is cloned and fitted unless ``prefit``.
    X : pandas.DataFrame
        Training features, holding the sensitive columns.
    y : array-like
        Binary 0/1 labels.
    sensitive_features : str or sequence of str
        Names of the sensitive columns of X (see the module docstring).
    method : Method or str
        Default :attr:`Method.THRESHOLD_OPTIMIZER`.
    constraint : Constraint or str
        Default :attr:`Constraint.DEMOGRAPHIC_PARITY`.
    objective : Objective or str
        The threshold optimizer's objective; the exponentiated gradient accepts
        only ``ACCURACY``.
    prefit : bool
        The threshold optimizer uses ``estimator`` as already fitted.
    seed : int
        The mitigated estimator's ``random_state`` for its randomised predictions,
        and the seed of the assessments' bootstrap.
    X_test, y_test : pandas.DataFrame and array-like, optional
        Held-out data for the assessment; without them it uses the training data.
    policy : FairnessPolicy, optional
        Thresholds of the assessments' verdicts; the default policy when omitted.
    n_boot : int
        Bootstrap resamples of the assessments.
    favorable : 0 or 1, optional
        The label that favours the person (0 when 1 means a default): the before and
        after assessments count it (see :func:`~rasad.governance.fairness.assess`).
        The constraint itself is Fairlearn's, on label 1: demographic parity is the
        same either way, but true positive rate parity on label 0 is
        ``false_positive_rate_parity`` on label 1.

    Returns
    -------
    MitigationResult

    Raises
    ------
    InputError
        For an unknown method, constraint or objective, a target that is not
        binary 0/1, lengths that differ, or missing sensitive columns.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from rasad.examples import generate_portfolio
    >>> from rasad.training.pipeline import build_pipeline
    >>> train = generate_portfolio(months=1, rows_per_month=1000, seed=1)
    >>> test = generate_portfolio(months=1, rows_per_month=1000, seed=2)
    >>> model = build_pipeline(["income", "debt_to_income"], [], [],
    ...                        LogisticRegression(class_weight="balanced"))
    >>> result = mitigate(model, train, train["default"], "nationality",
    ...                   objective="balanced_accuracy_score", X_test=test, y_test=test["default"])
    >>> before, after = result.compare("nationality", "demographic_parity_difference")
    >>> result.evaluated_on.value, round(before, 3), round(after, 3)
    ('test', 0.203, 0.02)
    >>> [str(r.attribute("nationality").disparity("demographic_parity_difference").verdict)
    ...  for r in (result.before, result.after)]
    ['fail', 'pass']
    """
    chosen = _parse(Method, method, "method")
    rule = _parse(Constraint, constraint, "constraint")
    goal = _parse(Objective, objective, "objective")
    columns = _columns(sensitive_features)
    group_labels(X, columns)
    target = _binary_target(y, len(X))
    if (X_test is None) != (y_test is None):
        raise InputError("Give both X_test and y_test for a held-out assessment, or neither.")
    if X_test is not None:
        test_target = _binary_target(y_test, len(X_test))
        group_labels(X_test, columns)
    mitigated: MitigatedClassifier
    if chosen is Method.THRESHOLD_OPTIMIZER:
        mitigated = ThresholdOptimizedClassifier(
            estimator, columns, constraint=rule, objective=goal, prefit=prefit,
            random_state=seed).fit(X, target)
        base = mitigated.estimator_
    else:
        if prefit:
            raise InputError("The exponentiated gradient refits the estimator, so prefit=True "
                             "is not possible; use method='threshold_optimizer'.")
        if goal is not Objective.ACCURACY:
            raise InputError("The exponentiated gradient minimises the error rate; "
                             "leave objective at 'accuracy_score'.")
        mitigated = ExponentiatedGradientClassifier(
            estimator, columns, constraint=rule, random_state=seed).fit(X, target)
        base = clone(estimator).fit(X, target)
    if X_test is None:
        frame, truth, where = X, target, EvaluatedOn.TRAINING
    else:
        frame, truth, where = X_test, test_target, EvaluatedOn.TEST
    def report(predicted: Any) -> FairnessReport:
        return assess(truth, np.asarray(predicted), frame[list(columns)], favorable=favorable,
                      intersections=len(columns) > 1, policy=policy, n_boot=n_boot, seed=seed)

    before, after = report(base.predict(frame)), report(mitigated.predict(frame))
    return MitigationResult(method=chosen, constraint=rule, sensitive_columns=columns,
                            estimator_type=type(mitigated).__name__,
                            fitted_estimator=mitigated, evaluated_on=where, before=before,
                            after=after)


__all__ = [
    "GROUP_SEPARATOR",
    "TRUSTED_TYPES",
    "Constraint",
    "EvaluatedOn",
    "ExponentiatedGradientClassifier",
    "Method",
    "MitigatedClassifier",
    "MitigationResult",
    "Objective",
    "ThresholdOptimizedClassifier",
    "group_labels",
    "mitigate",
]
