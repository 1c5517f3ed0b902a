"""Build an estimator from its import path and parameters, and tell its task.

A training run names its model as data (``"sklearn.linear_model.LogisticRegression"``
and a dict of parameters) so that the run record can rebuild it exactly. This
module turns that record into an estimator object and checks it on the way, so a
typo fails before any data is read, with a message that says what would work.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from sklearn.base import is_classifier, is_regressor

from rasad.errors import InputError
from rasad.evaluation.metrics import Task
from rasad.limits import check_plain

_REQUIRED_METHODS = ("fit", "predict", "get_params")


@runtime_checkable
class Estimator(Protocol):
    """What rasad needs from a model: the scikit-learn estimator interface."""

    def fit(self, X: Any, y: Any, /) -> Any: ...

    def predict(self, X: Any, /) -> Any: ...

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...


def load_estimator(import_path: str, params: Mapping[str, Any] | None = None) -> Estimator:
    """Import an estimator class and instantiate it with keyword parameters.

    Parameters
    ----------
    import_path : str
        ``"package.module.ClassName"``, for example
        ``"sklearn.ensemble.RandomForestClassifier"`` or ``"lightgbm.LGBMClassifier"``.
    params : mapping of str to object, optional
        Keyword arguments for the class: plain data only (numbers, text, booleans,
        null, and lists and mappings of those, bounded in depth and size; see
        :func:`rasad.limits.check_plain`). Names are checked against the
        constructor's parameters (the names ``get_params`` reports). A class whose
        constructor takes ``**kwargs`` (LightGBM, XGBoost) accepts any name here,
        because those libraries take aliases through it; they report unknown
        names themselves when fitting.

    Returns
    -------
    Estimator
        A new, unfitted instance.

    Raises
    ------
    InputError
        If a parameter is not plain bounded data, the path is malformed, the module
        cannot be imported, the class does
        not exist (close names are suggested), a parameter is not accepted (the
        valid names are listed), or the class is not a scikit-learn compatible
        estimator (it needs ``fit``, ``predict`` and ``get_params``).

    Examples
    --------
    >>> model = load_estimator("sklearn.linear_model.LogisticRegression", {"C": 0.5})
    >>> model.get_params()["C"]
    0.5
    >>> load_estimator("sklearn.linear_model.LogisticRegresion", {})
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Module 'sklearn.linear_model' has no class 'LogisticRegresion'; \
did you mean 'LogisticRegression', 'LogisticRegressionCV' or 'LinearRegression'?
    """
    given = dict(params or {})
    check_plain(given, "Estimator parameter")
    cls = _import_class(import_path)
    missing = [name for name in _REQUIRED_METHODS if not callable(getattr(cls, name, None))]
    if missing:
        raise InputError(
            f"{import_path!r} is not a scikit-learn compatible estimator: it has no "
            f"{', '.join(missing)}. Name a class with fit, predict and get_params."
        )
    names, open_ended = _parameter_names(cls)
    unknown = sorted(set(given) - set(names))
    if unknown and not open_ended:
        raise InputError(
            f"{import_path} does not accept {_quoted(unknown)}; valid parameters are "
            f"{', '.join(sorted(names)) or '(none)'}."
        )
    try:
        estimator = cls(**given)
    except TypeError as error:
        raise InputError(
            f"{import_path} could not be created with {given!r}: {error}. "
            f"Valid parameters are {', '.join(sorted(names)) or '(none)'}."
        ) from error
    _check_values(estimator, import_path)
    return estimator  # type: ignore[no-any-return]


def infer_task(estimator: object) -> Task:
    """Return whether an estimator is a classifier or a regressor.

    Parameters
    ----------
    estimator : object
        An estimator or a :class:`~sklearn.pipeline.Pipeline` ending in one;
        scikit-learn's, LightGBM's and XGBoost's all declare their type.

    Returns
    -------
    Task

    Raises
    ------
    InputError
        If the estimator declares neither (a clusterer or a transformer).

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> infer_task(RandomForestRegressor(random_state=0))
    <Task.REGRESSION: 'regression'>
    """
    if is_classifier(estimator):
        return Task.CLASSIFICATION
    if is_regressor(estimator):
        return Task.REGRESSION
    raise InputError(
        f"{type(estimator).__name__} is neither a classifier nor a regressor; "
        "rasad trains supervised models only: pick a classifier or a regressor."
    )


def _check_values(estimator: Any, import_path: str) -> None:
    # scikit-learn checks parameter values only when fitting; its declared
    # constraints let a bad value fail here, before any data is read.
    if not hasattr(estimator, "_parameter_constraints"):
        return
    validate = getattr(estimator, "_validate_params", None)
    if validate is None:
        return
    try:
        validate()
    except (TypeError, ValueError) as error:  # scikit-learn's InvalidParameterError
        raise InputError(
            f"{import_path}: {error} Fix the value in the estimator parameters."
        ) from None


def _import_class(import_path: str) -> type:
    module_name, _, class_name = import_path.strip().rpartition(".")
    if not module_name or not class_name:
        raise InputError(
            f"Estimator path {import_path!r} must be 'package.module.ClassName', "
            "for example 'sklearn.linear_model.LogisticRegression'."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(
            f"Cannot import module {module_name!r} for estimator {import_path!r} ({error}); "
            "check the spelling or install the package that provides it."
        ) from error
    found = getattr(module, class_name, None)
    if found is None:
        public = [name for name in dir(module) if not name.startswith("_")]
        close = difflib.get_close_matches(class_name, public, n=3)
        hint = f"did you mean {_quoted(close, 'or')}?" if close else "check the name and its case."
        raise InputError(f"Module {module_name!r} has no class {class_name!r}; {hint}")
    if not isinstance(found, type):
        raise InputError(
            f"{import_path!r} is a {type(found).__name__}, not a class; "
            "name a scikit-learn compatible estimator class."
        )
    return found


def _parameter_names(cls: type) -> tuple[list[str], bool]:
    """Constructor parameter names, and whether ``**kwargs`` takes any other."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return [], True
    names: list[str] = []
    open_ended = False
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            open_ended = True
        elif parameter.kind is not inspect.Parameter.VAR_POSITIONAL:
            names.append(parameter.name)
    if open_ended:
        names = sorted(set(names) | set(_default_params(cls)))
    return names, open_ended


def _default_params(cls: type) -> list[str]:
    # XGBoost declares most parameters only through **kwargs; a default instance
    # still reports them, which makes the error message useful.
    try:
        return list(cls().get_params(deep=False))
    except Exception:  # noqa: BLE001 - a class that needs arguments simply lists none
        return []


def _quoted(names: list[str], conjunction: str = "and") -> str:
    quoted = [repr(name) for name in names]
    if len(quoted) < 2:
        return "".join(quoted)
    return f"{', '.join(quoted[:-1])} {conjunction} {quoted[-1]}"


__all__ = ["Estimator", "infer_task", "load_estimator"]
