"""Labels and predictions coded 1 for the favourable outcome, 0 for the other one.

Fairness rates only make sense on the outcome that favours the person: on a credit
model whose label is 1 for a default, the four-fifths rule compares approval rates,
that is the rates of predicted 0. :func:`code_outcomes` turns the user's labels and
predictions (any two values: 0/1, booleans, ``"approved"``/``"rejected"``) into 0/1
arrays where 1 means the declared favourable value. With no declaration the labels
must already be coded 0/1 and 1 is taken as favourable; the report says so.

Errors name the user's columns: a labelled ``pandas.Series`` (``frame["default"]``) is
called "target column 'default'", a bare array by its argument name (``y_true``).

>>> import numpy as np
>>> y, pred, outcome = code_outcomes(np.array([1, 0, 0]), np.array([0, 0, 1]), 0)
>>> y.tolist(), pred.tolist(), outcome.favorable, outcome.unfavorable
([0, 1, 1], [1, 1, 0], 0, 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rasad.errors import InputError
from rasad.governance.fairness.report import Outcome
from rasad.governance.fairness.terms import Label

BACKWARDS_AUC = 0.25
"""Scores whose ROC AUC against the predictions is below this rank the other outcome."""

_SHOWN = 5
_AUC_BINS = 1024


def describe(values: Any, role: str, argument: str) -> str:
    """How an error calls a column: ``"target column 'default'"`` or ``"y_true"``."""
    name = getattr(values, "name", None)
    if isinstance(values, pd.Series) and name is not None:
        return f"{role} column {str(name)!r}"
    return argument


def _error(message: str) -> InputError:
    """An InputError whose message starts as a sentence ("Target column ..."), while an
    argument name keeps its spelling ("y_true ...")."""
    if not message.startswith("y_"):
        message = message[0].upper() + message[1:]
    return InputError(message)


def _array(values: Any, what: str) -> npt.NDArray[Any]:
    array = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if array.ndim != 1:
        raise _error(f"{what} must be one column; got shape {array.shape}.")
    missing = pd.isna(array)
    if missing.any():
        raise _error(f"{what} has {int(missing.sum())} missing values; drop those rows "
                         f"or fill them before assessing fairness.")
    return array


def _numeric(array: npt.NDArray[Any]) -> bool:
    return bool(pd.api.types.is_bool_dtype(array.dtype)
                or pd.api.types.is_numeric_dtype(array.dtype))


def _keys(array: npt.NDArray[Any], as_text: bool) -> npt.NDArray[Any]:
    """Comparable keys: floats for a numeric column, text otherwise."""
    return array.astype(str).astype(object) if as_text else array.astype(float)


def _text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return f"{float(value):g}"
    return str(value)


def _key(favorable: Label, as_text: bool) -> float | str | None:
    """The favourable value as a key of the columns' kind; None when it cannot be one."""
    if as_text:
        return _text(favorable)
    if isinstance(favorable, bool | int | float):
        return float(favorable)
    text = str(favorable).strip()
    if text.lower() in ("true", "false"):
        return float(text.lower() == "true")
    try:
        return float(text)
    except ValueError:
        return None


def _value(key: Any) -> Label:
    """A key as the plain value reports show: 0 rather than 0.0."""
    if isinstance(key, float) and key.is_integer():
        return int(key)
    return key  # type: ignore[no-any-return]


def _listed(keys: Any) -> str:
    shown = [repr(k) if isinstance(k, str) else f"{k:g}" for k in list(keys)[:_SHOWN]]
    return ", ".join(shown) + (", ..." if len(keys) > _SHOWN else "")


def _distinct(keys: npt.NDArray[Any]) -> list[Any]:
    return sorted(pd.unique(keys).tolist(), key=lambda k: (isinstance(k, str), k))


def binned_auc(positive: npt.NDArray[np.int64], scores: npt.NDArray[np.float64]) -> float:
    """ROC AUC of ``scores`` for ``positive`` on 1,024 equal-width score bins (ties within a
    bin count half): linear time, within a bin's share of the exact figure.

    >>> import numpy as np
    >>> binned_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    low, high = float(scores.min()), float(scores.max())
    span = high - low if high > low else 1.0
    index = np.minimum(((scores - low) / span * _AUC_BINS).astype(np.intp), _AUC_BINS - 1)
    pos = np.bincount(index, weights=positive, minlength=_AUC_BINS)
    neg = np.bincount(index, minlength=_AUC_BINS) - pos
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (pos.sum() * neg.sum()))


def code_outcomes(y_true: Any, y_pred: Any, favorable: Label | None
                  ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Outcome]:
    """Labels and predictions as 1 (favourable) / 0 (the other outcome), and the outcome.

    Raises
    ------
    InputError
        A missing value; a column with more than two values (predictions that are
        scores); predictions with values the labels do not have; no declaration while
        the labels are not 0/1; a favourable value that occurs in neither column.
    """
    target = describe(y_true, "target", "y_true")
    prediction = describe(y_pred, "prediction", "y_pred")
    labels, predictions = _array(y_true, target), _array(y_pred, prediction)
    if len(labels) != len(predictions):
        raise _error(f"{target} has {len(labels)} rows but {prediction} has "
                         f"{len(predictions)}; pass labels and predictions for the same rows.")
    if len(labels) == 0:
        raise InputError("No rows to assess; pass at least one labelled prediction.")
    if _numeric(labels) != _numeric(predictions):
        numbers, text = ((target, prediction) if _numeric(labels) else (prediction, target))
        shown = predictions if numbers == target else labels
        raise _error(f"{text} holds text ({_listed(_distinct(shown.astype(str)))}) while "
                         f"{numbers} holds numbers; code labels and predictions the same way. "
                         f"Pass class predictions (threshold scores first, e.g. score >= 0.5).")
    as_text = not _numeric(labels)
    true_keys, pred_keys = _keys(labels, as_text), _keys(predictions, as_text)
    true_values = _distinct(true_keys)
    declare = ("declare which value is the favourable outcome (CLI: --favorable VALUE or "
               "governance.fairness.favorable_outcomes in rasad.yaml; Python: favorable=)")
    if len(true_values) > 2:
        raise _error(f"{target} must hold two outcomes; found {len(true_values)} values "
                         f"({_listed(true_values)}). Pass a binary label.")
    extra = [k for k in _distinct(pred_keys) if k not in true_values]
    if len(true_values) + len(extra) > 2:
        raise _error(
            f"{prediction} must hold the same two outcomes as {target} "
            f"({_listed(true_values)}); found other values ({_listed(extra)}). Pass class "
            f"predictions (threshold scores first, e.g. score >= 0.5), not scores.")
    values = true_values + extra
    if favorable is None:
        if as_text or not set(values) <= {0.0, 1.0}:
            raise _error(f"{target} holds {_listed(values)}, not 0/1, and no favourable "
                             f"outcome was declared; {declare}.")
        key: float | str | None = 1.0
    else:
        key = _key(favorable, as_text)
    if key not in values:
        if favorable is None:
            raise _error(f"The positive label 1 (assumed: no favourable outcome declared) "
                             f"never occurs in {target} or {prediction}; they hold "
                             f"{_listed(values)}. {declare[0].upper()}{declare[1:]}.")
        raise _error(f"The favourable outcome {favorable!r} never occurs in {target} or "
                         f"{prediction}; they hold {_listed(values)}. Set the favourable "
                         f"outcome to one of those values.")
    others = [v for v in values if v != key]
    outcome = Outcome(favorable=_value(key),
                      unfavorable=_value(others[0]) if others else None,
                      target=None if target == "y_true" else str(y_true.name),
                      declared=favorable is not None)
    return ((true_keys == key).astype(np.int64), (pred_keys == key).astype(np.int64),
            outcome)


def code_scores(y_score: Any, predictions: npt.NDArray[np.int64],
                outcome: Outcome) -> npt.NDArray[np.float64]:
    """Scores of the favourable outcome, checked against the (coded) predictions.

    Scores that rank the rows predicted unfavourable clearly above those predicted
    favourable (ROC AUC below :data:`BACKWARDS_AUC`) are the other outcome's scores,
    which would turn every group's roc_auc into one minus itself: refused.
    """
    what = describe(y_score, "score", "y_score")
    try:
        scores = (y_score.to_numpy(dtype=float) if isinstance(y_score, pd.Series)
                  else np.asarray(y_score, dtype=float))
    except (TypeError, ValueError):
        raise _error(f"{what} must be numeric scores (the probability of the favourable "
                         f"outcome {outcome.favorable!s}).") from None
    if scores.ndim != 1 or len(scores) != len(predictions):
        raise _error(f"{what} must be one column of {len(predictions)} scores, like the "
                         f"labels; got shape {scores.shape}.")
    if not np.isfinite(scores).all():
        raise _error(f"{what} has {int((~np.isfinite(scores)).sum())} missing or "
                         f"infinite values; fill or drop those rows.")
    if 0 < predictions.sum() < len(predictions):
        auc = binned_auc(predictions, scores)
        if auc < BACKWARDS_AUC:
            raise _error(
                f"{what} is high where the prediction is {outcome.unfavorable!s} and low where "
                f"it is {outcome.favorable!s} (ROC AUC {auc:.2f} against the predictions): it "
                f"is the score of the other outcome. Pass the probability of the favourable "
                f"outcome {outcome.favorable!s} (for 0/1 labels with 0 favourable: 1 - the "
                f"probability of 1, such as the proba_0 column of `rasad predict`).")
    return scores
