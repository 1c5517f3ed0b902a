"""Tests for rasad.training.estimator: import paths, parameter checks, task inference."""

from __future__ import annotations

import pytest
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.cluster import KMeans
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier, XGBRegressor

from rasad.errors import InputError
from rasad.evaluation import Task
from rasad.training.estimator import Estimator, infer_task, load_estimator


def test_loads_class_with_params_unchanged() -> None:
    model = load_estimator(
        "sklearn.ensemble.RandomForestClassifier", {"n_estimators": 7, "max_depth": 3}
    )
    assert isinstance(model, RandomForestClassifier)
    assert isinstance(model, Estimator)
    assert (model.n_estimators, model.max_depth) == (7, 3)
    assert not hasattr(model, "estimators_")


def test_params_default_to_none() -> None:
    assert isinstance(load_estimator("sklearn.linear_model.LinearRegression"), LinearRegression)


def test_boosting_libraries_take_their_own_keyword_params() -> None:
    lgbm = load_estimator("lightgbm.LGBMClassifier", {"n_estimators": 5, "verbose": -1})
    xgb = load_estimator("xgboost.XGBRegressor", {"n_estimators": 5, "verbosity": 0})
    assert isinstance(lgbm, LGBMClassifier) and lgbm.get_params()["verbose"] == -1
    assert isinstance(xgb, XGBRegressor) and xgb.get_params()["verbosity"] == 0


def test_missing_module_is_named() -> None:
    with pytest.raises(InputError, match="Cannot import module 'sklearn.nonexistent'") as info:
        load_estimator("sklearn.nonexistent.Model", {})
    assert "install the package" in str(info.value)


def test_missing_class_suggests_close_names() -> None:
    with pytest.raises(
        InputError,
        match="has no class 'RandomForestClasifier'; did you mean 'RandomForestClassifier'",
    ):
        load_estimator("sklearn.ensemble.RandomForestClasifier", {})


def test_unknown_param_lists_valid_names() -> None:
    with pytest.raises(InputError) as info:
        load_estimator("sklearn.linear_model.LogisticRegression", {"c": 1.0})
    message = str(info.value)
    assert "does not accept 'c'" in message
    assert "C, class_weight" in message and "max_iter" in message


def test_bad_param_value_fails_before_fitting() -> None:
    with pytest.raises(InputError, match="'n_estimators' parameter of RandomForestClassifier"):
        load_estimator("sklearn.ensemble.RandomForestClassifier", {"n_estimators": -1})


def test_missing_required_param_is_reported() -> None:
    with pytest.raises(InputError, match="could not be created.*estimators"):
        load_estimator("sklearn.ensemble.StackingClassifier", {})


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("sklearn.preprocessing.StandardScaler", "has no predict"),
        ("collections.OrderedDict", "has no fit, predict, get_params"),
        ("sklearn.metrics.accuracy_score", "is a function, not a class"),
        ("RandomForestClassifier", "must be 'package.module.ClassName'"),
    ],
)
def test_non_estimators_are_refused(path: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        load_estimator(path, {})
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("estimator", "task"),
    [
        (RandomForestClassifier(), Task.CLASSIFICATION),
        (LinearRegression(), Task.REGRESSION),
        (LGBMClassifier(), Task.CLASSIFICATION),
        (LGBMRegressor(), Task.REGRESSION),
        (XGBClassifier(), Task.CLASSIFICATION),
        (XGBRegressor(), Task.REGRESSION),
        (make_pipeline(StandardScaler(), XGBClassifier()), Task.CLASSIFICATION),
    ],
)
def test_infer_task(estimator: object, task: Task) -> None:
    assert infer_task(estimator) is task


def test_infer_task_refuses_unsupervised() -> None:
    with pytest.raises(InputError, match="KMeans is neither a classifier nor a regressor"):
        infer_task(KMeans())


@pytest.mark.parametrize(("params", "fragment"), [
    ({"C": object()}, "C = <object object"),
    ({"C": float("nan")}, "C = nan is not a finite number"),
    ({"C": [[[[[1.0]]]]]}, "C nests lists or mappings 5 deep"),
    ({"C": list(range(2000))}, "hold more than 1,000 values"),
    ({"C": "x" * 20_000}, "C is 20,000 characters long"),
    ({"C": {("a",): 1}}, "C has a key of type tuple"),
])
def test_parameters_must_be_plain_bounded_data(params: dict[str, object], fragment: str) -> None:
    # Refused before the class is even imported: the path does not exist.
    with pytest.raises(InputError, match="Estimator parameter") as info:
        load_estimator("nosuchpackage.Model", params)
    assert fragment in str(info.value)


def test_plain_parameters_of_every_shape_pass() -> None:
    import numpy as np

    model = load_estimator("sklearn.linear_model.LogisticRegression",
                           {"C": np.float64(0.5), "max_iter": np.int64(50),
                            "class_weight": {0: 1.0, 1: 5.0}, "penalty": None})
    assert model.get_params()["class_weight"] == {0: 1.0, 1: 5.0}
    mlp = load_estimator("sklearn.neural_network.MLPClassifier", {"hidden_layer_sizes": (8, 4)})
    assert mlp.get_params()["hidden_layer_sizes"] == (8, 4)
