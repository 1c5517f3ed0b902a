"""The default preprocessing pipeline, and which columns it uses as features.

:func:`build_pipeline` wraps any estimator in a scikit-learn
:class:`~sklearn.pipeline.Pipeline` that takes a raw pandas DataFrame, missing
values, text categories and all, so the stored model predicts from the same
columns a user sees.

The functions :func:`categories_as_text` and :func:`booleans_as_float` run
inside fitted pipelines. A saved model refers to them by their import path
(``rasad.training.pipeline.categories_as_text``), which is why the registry
trusts exactly these two names; renaming or moving them breaks every saved model.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from rasad.errors import InputError


class _Kind(enum.StrEnum):
    # Mirrors rasad.datasets.ColumnKind by value; kinds arrive as plain strings
    # so that this module does not depend on the datasets package.
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"
    IDENTIFIER = "identifier"


_FEATURE_KINDS = frozenset({_Kind.NUMERIC, _Kind.CATEGORICAL, _Kind.BOOLEAN})

_TRUE = frozenset({"true", "1", "1.0"})
_FALSE = frozenset({"false", "0", "0.0"})


def default_features(
    columns_kinds: Mapping[str, str],
    target: str,
    id_columns: Sequence[str] = (),
    time_columns: Sequence[str] = (),
) -> list[str]:
    """Choose the feature columns when the user names none.

    A column is a feature unless it is the target, is listed in ``id_columns``
    or ``time_columns``, or its kind is ``"identifier"``, ``"datetime"`` or
    ``"text"``: identifiers and timestamps let a model memorise rows instead of
    learning, and free text needs its own preprocessing. What remains is
    numeric, categorical and boolean columns, which :func:`build_pipeline` takes.

    Parameters
    ----------
    columns_kinds : mapping of str to str
        Every column of the table and its kind: ``"numeric"``, ``"categorical"``,
        ``"boolean"``, ``"datetime"``, ``"text"`` or ``"identifier"``
        (``rasad.datasets.ColumnKind`` members work as they are).
    target : str
        The target column.
    id_columns, time_columns : sequence of str, optional
        Columns never used as features. These are project-wide lists, so names
        that are not columns of this table are ignored.

    Returns
    -------
    list of str
        Feature columns in table order.

    Raises
    ------
    InputError
        If ``target`` is not a column or a kind is unknown.

    Examples
    --------
    >>> default_features(
    ...     {"id": "identifier", "age": "numeric", "city": "categorical",
    ...      "opened": "datetime", "note": "text", "owner": "boolean",
    ...      "month": "numeric", "default": "boolean"},
    ...     target="default",
    ...     time_columns=["month"],
    ... )
    ['age', 'city', 'owner']
    """
    if target not in columns_kinds:
        raise InputError(
            f"Target {target!r} is not a column; columns are {', '.join(columns_kinds)}."
        )
    excluded = {target, *id_columns, *time_columns}
    features = []
    for column, kind in columns_kinds.items():
        if _parse_kind(column, kind) in _FEATURE_KINDS and column not in excluded:
            features.append(column)
    return features


def build_pipeline(
    numeric: Sequence[str],
    categorical: Sequence[str],
    boolean: Sequence[str],
    estimator: Any,
) -> Pipeline:
    """Wrap an estimator in the default preprocessing for a DataFrame.

    The pipeline has two steps, ``"preprocess"`` and ``"model"``. Preprocessing:

    - numeric columns: missing values get the training median, then each column
      is standardised;
    - categorical columns: values become text (missing stays missing, ``3.0``
      becomes ``"3"``), missing values get the most frequent category, then one
      0/1 column per category; a category unseen in training encodes as all zeros;
    - boolean columns: values become 1.0 and 0.0 (booleans, 0/1 and the texts
      ``"true"``/``"false"`` in any case), then missing values get the most
      frequent one.

    Parameters
    ----------
    numeric, categorical, boolean : sequence of str
        Feature columns of each kind; a column may appear in one list only.
    estimator : estimator
        The model to fit on the preprocessed features, used as it is (not cloned).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Unfitted. Fit and predict it with DataFrames holding those columns.

    Raises
    ------
    InputError
        If there are no columns, or a column is listed twice.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> frame = pd.DataFrame({
    ...     "age": [25.0, None, 47.0, 52.0, 33.0, 61.0],
    ...     "city": ["Riyadh", "Jeddah", None, "Riyadh", "Dammam", "Jeddah"],
    ...     "owner": [True, False, None, True, False, True],
    ... })
    >>> model = build_pipeline(["age"], ["city"], ["owner"], LogisticRegression())
    >>> model = model.fit(frame, [0, 0, 1, 1, 0, 1])
    >>> model.predict(pd.DataFrame({"age": [58.0], "city": ["Mecca"], "owner": [None]}))
    array([1])
    >>> list(model[:-1].get_feature_names_out())  # doctest: +NORMALIZE_WHITESPACE
    ['numeric__age', 'categorical__city_Dammam', 'categorical__city_Jeddah',
     'categorical__city_Riyadh', 'boolean__owner']
    """
    _check_columns({"numeric": numeric, "categorical": categorical, "boolean": boolean})
    parts: list[tuple[str, Pipeline, list[str]]] = []
    if numeric:
        steps = [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        parts.append(("numeric", Pipeline(steps), list(numeric)))
    if categorical:
        steps = [
            ("text", _function(categories_as_text)),
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
        parts.append(("categorical", Pipeline(steps), list(categorical)))
    if boolean:
        steps = [
            ("number", _function(booleans_as_float)),
            ("impute", SimpleImputer(strategy="most_frequent")),
        ]
        parts.append(("boolean", Pipeline(steps), list(boolean)))
    preprocess = ColumnTransformer(parts, remainder="drop")
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


def categories_as_text(values: Any) -> NDArray[np.object_]:
    """Return category values as an object array of text, missing as NaN.

    pandas marks missing text as ``None``, ``NaN`` or ``pd.NA`` depending on the
    dtype; scikit-learn's imputer recognises only NaN. Numbers become text so
    that ``3`` and ``3.0`` are the same category.

    Parameters
    ----------
    values : DataFrame or array-like of shape (n, k)

    Returns
    -------
    numpy.ndarray of object, shape (n, k)

    Examples
    --------
    >>> categories_as_text(pd.DataFrame({"c": pd.array(["a", None], dtype="string"),
    ...                                  "n": [3.0, 4.5]}))
    array([['a', '3'],
           [nan, '4.5']], dtype=object)
    """
    frame = pd.DataFrame(values)
    result = np.empty(frame.shape, dtype=object)
    for position, (_, column) in enumerate(frame.items()):
        result[:, position] = _per_distinct(column, _text, np.nan)
    return result


def booleans_as_float(values: Any) -> NDArray[np.float64]:
    """Return boolean values as 1.0 and 0.0, missing as NaN.

    Accepts ``bool`` and pandas ``boolean`` columns, numbers (kept as they are)
    and the texts ``"true"``, ``"false"``, ``"1"`` and ``"0"`` in any case.

    Parameters
    ----------
    values : DataFrame or array-like of shape (n, k)

    Returns
    -------
    numpy.ndarray of float64, shape (n, k)

    Raises
    ------
    InputError
        If a value is none of these; the message names the column and the value.

    Examples
    --------
    >>> booleans_as_float(pd.DataFrame({"b": pd.array([True, None], dtype="boolean"),
    ...                                 "s": ["FALSE", "true"]}))
    array([[ 1.,  0.],
           [nan,  1.]])
    """
    frame = pd.DataFrame(values)
    result = np.empty(frame.shape, dtype=np.float64)
    for position, (name, column) in enumerate(frame.items()):
        result[:, position] = _per_distinct(column, functools.partial(_truth, name), np.nan)
    return result


def _function(func: Any) -> FunctionTransformer:
    return FunctionTransformer(func, feature_names_out="one-to-one")


def _per_distinct(column: pd.Series, convert: Callable[[Any], Any], missing: Any) -> NDArray[Any]:
    # Categories repeat: convert each distinct value once, then index, which keeps
    # this fast on millions of rows. Hashing equates True, 1 and 1.0, so a column
    # mixing booleans with other types is converted value by value instead.
    if pd.api.types.infer_dtype(column, skipna=True) in {"mixed", "mixed-integer"}:
        missing_mask = column.isna().to_numpy()
        each = [
            missing if gone else convert(value)
            for value, gone in zip(column, missing_mask, strict=True)
        ]
        return np.array(each, dtype=object)
    codes, distinct = pd.factorize(column, use_na_sentinel=True)
    converted = np.array([*(convert(value) for value in distinct), missing], dtype=object)
    return converted[codes]


def _text(value: Any) -> Any:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _truth(column: Any, value: Any) -> float:
    if isinstance(value, bool | np.bool_ | int | float | np.integer | np.floating):
        return float(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return 1.0
    if text in _FALSE:
        return 0.0
    raise InputError(
        f"Boolean column {column!r} holds {value!r}; use true/false, 1/0 or leave it empty, "
        "or declare the column categorical."
    )


def _parse_kind(column: str, kind: str) -> _Kind:
    try:
        return _Kind(str(kind))
    except ValueError:
        allowed = ", ".join(item.value for item in _Kind)
        raise InputError(
            f"Column {column!r} has unknown kind {kind!r}; kinds are {allowed}."
        ) from None


def _check_columns(groups: Mapping[str, Sequence[str]]) -> None:
    seen: dict[str, str] = {}
    for kind, columns in groups.items():
        if isinstance(columns, str):
            raise InputError(
                f"The {kind} columns must be a list of names, not the string {columns!r}; "
                f"pass [{columns!r}]."
            )
        for column in columns:
            if column in seen:
                raise InputError(
                    f"Column {column!r} is listed as {seen[column]} and as {kind}; "
                    "give each feature one kind."
                )
            seen[column] = kind
    if not seen:
        raise InputError(
            "The pipeline has no feature columns; pass at least one numeric, categorical "
            "or boolean column."
        )


__all__ = ["booleans_as_float", "build_pipeline", "categories_as_text", "default_features"]
