"""Tests for rasad.training.pipeline: raw DataFrames in, any estimator, default features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from xgboost import XGBClassifier

from rasad.errors import InputError
from rasad.training.pipeline import (
    booleans_as_float,
    build_pipeline,
    categories_as_text,
    default_features,
)

NUMERIC, CATEGORICAL, BOOLEAN = ["income", "age"], ["city", "plan"], ["owner"]


def _frame(rows: int, seed: int, text_dtype: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 10, rows),
            "age": pd.array(rng.integers(18, 70, rows), dtype="Int64"),
            "city": pd.Series(rng.choice(["Riyadh", "Jeddah", "Dammam"], rows), dtype=text_dtype),
            "plan": pd.Series(rng.choice(["basic", "gold"], rows), dtype=text_dtype),
            "owner": pd.array(rng.choice([True, False], rows), dtype="boolean"),
            "ignored": rng.normal(size=rows),
        }
    )
    holes = rng.random((rows, 5)) < 0.1
    for position, column in enumerate(["income", "age", "city", "plan", "owner"]):
        frame.loc[holes[:, position], column] = None
    return frame


def _target(frame: pd.DataFrame) -> np.ndarray:
    riyadh = (frame["city"] == "Riyadh").to_numpy(dtype=bool, na_value=False)
    return (frame["income"].fillna(50).to_numpy() + 15 * riyadh > 55).astype(int)


@pytest.fixture(params=["object", "str"])
def frame(request) -> pd.DataFrame:
    return _frame(120, seed=2, text_dtype=request.param)


@pytest.mark.parametrize(
    "estimator",
    [
        LogisticRegression(),
        LGBMClassifier(n_estimators=10, min_child_samples=5, n_jobs=1, verbose=-1),
        XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1, verbosity=0),
    ],
    ids=["logistic", "lightgbm", "xgboost"],
)
def test_fits_and_predicts_raw_frames_with_missing_values(frame, estimator) -> None:
    assert frame.isna().sum().loc[NUMERIC + CATEGORICAL + BOOLEAN].min() > 0
    pipeline = build_pipeline(NUMERIC, CATEGORICAL, BOOLEAN, estimator).fit(frame, _target(frame))
    proba = pipeline.predict_proba(frame)
    assert proba.shape == (120, 2) and np.all(np.isfinite(proba))
    assert np.mean(pipeline.predict(frame) == _target(frame)) > 0.8


def test_unseen_categories_and_all_missing_rows_predict(frame) -> None:
    pipeline = build_pipeline(NUMERIC, CATEGORICAL, BOOLEAN, LogisticRegression()).fit(
        frame, _target(frame)
    )
    new = pd.DataFrame(
        {
            "income": [None, 61.0],
            "age": pd.array([None, 30], dtype="Int64"),
            "city": ["Mecca", None],
            "plan": [None, "platinum"],
            "owner": [None, "TRUE"],
        }
    )
    assert pipeline.predict(new).shape == (2,)
    encoded = pipeline[:-1].transform(new)
    names = list(pipeline[:-1].get_feature_names_out())
    city = [i for i, name in enumerate(names) if name.startswith("categorical__city_")]
    assert encoded[0, city].tolist() == [0.0, 0.0, 0.0]  # unseen city: no category set
    assert encoded[1, city].sum() == 1.0  # missing city: imputed to the most frequent


def test_missing_values_get_training_median_and_most_frequent() -> None:
    train = pd.DataFrame({"n": [1.0, 2.0, 100.0], "c": ["a", "b", "b"], "b": [True, True, False]})
    pipeline = build_pipeline(["n"], ["c"], ["b"], LinearRegression()).fit(train, [1.0, 2.0, 3.0])
    row = pipeline[:-1].transform(pd.DataFrame({"n": [None], "c": [None], "b": [None]}))
    scaler = pipeline.named_steps["preprocess"].named_transformers_["numeric"].named_steps["scale"]
    assert row[0, 0] == pytest.approx((2.0 - scaler.mean_[0]) / scaler.scale_[0])
    assert row[0, 1:].tolist() == [0.0, 1.0, 1.0]  # c -> "b", b -> True


def test_step_names_and_only_listed_columns_are_used(frame) -> None:
    pipeline = build_pipeline(NUMERIC, [], BOOLEAN, LogisticRegression()).fit(frame, _target(frame))
    assert [name for name, _ in pipeline.steps] == ["preprocess", "model"]
    assert list(pipeline[:-1].get_feature_names_out()) == [
        "numeric__income",
        "numeric__age",
        "boolean__owner",
    ]
    assert pipeline.named_steps["model"].coef_.shape == (1, 3)


@pytest.mark.parametrize(
    ("numeric", "categorical", "boolean", "fragment"),
    [
        ([], [], [], "no feature columns"),
        (["a"], ["a"], [], "Column 'a' is listed as numeric and as categorical"),
        ("age", [], [], "not the string 'age'; pass ['age']"),
    ],
)
def test_bad_column_lists(numeric, categorical, boolean, fragment) -> None:
    with pytest.raises(InputError) as info:
        build_pipeline(numeric, categorical, boolean, LogisticRegression())
    assert fragment in str(info.value)


def test_categories_as_text_unifies_missing_markers_and_numbers() -> None:
    values = pd.DataFrame(
        {
            "s": pd.Series(["a", None, "b", "a"], dtype="str"),
            "o": pd.Series([None, pd.NA, np.nan, "x"], dtype=object),
            "n": [3.0, 3.0, np.nan, 2.5],
            "mixed": pd.Series([True, 1, None, "1"], dtype=object),
        }
    )
    result = categories_as_text(values)
    assert result.dtype == object
    missing = [[isinstance(v, float) and np.isnan(v) for v in row] for row in result.tolist()]
    assert missing == [
        [False, True, False, False],
        [True, True, False, False],
        [False, True, True, True],
        [False] * 4,
    ]
    present = [
        [v for v, gone in zip(row, holes, strict=True) if not gone]
        for row, holes in zip(result.tolist(), missing, strict=True)
    ]
    assert present == [["a", "3", "True"], ["3", "1"], ["b"], ["a", "x", "2.5", "1"]]


def test_booleans_as_float_accepts_common_encodings_and_names_bad_values() -> None:
    values = pd.DataFrame({"b": pd.Series([True, None, "False", " true ", 0, pd.NA], dtype=object)})
    np.testing.assert_array_equal(
        booleans_as_float(values).ravel(), [1.0, np.nan, 0.0, 1.0, 0.0, np.nan]
    )
    with pytest.raises(InputError, match="Boolean column 'flag' holds 'maybe'"):
        booleans_as_float(pd.DataFrame({"flag": ["true", "maybe"]}))


KINDS = {
    "customer_id": "identifier",
    "age": "numeric",
    "city": "categorical",
    "signup": "datetime",
    "comment": "text",
    "owner": "boolean",
    "month": "numeric",
    "branch_code": "categorical",
    "churned": "boolean",
}


def test_default_features_drop_target_ids_times_and_unusable_kinds() -> None:
    assert default_features(KINDS, "churned", ["branch_code"], ["month"]) == [
        "age",
        "city",
        "owner",
    ]
    assert default_features(KINDS, "age") == ["city", "owner", "month", "branch_code", "churned"]


def test_default_features_ignore_project_columns_absent_from_the_table() -> None:
    assert default_features(KINDS, "churned", ["account_no"], ["event_time"]) == [
        "age",
        "city",
        "owner",
        "month",
        "branch_code",
    ]


def test_default_features_accept_str_enum_kinds() -> None:
    import enum

    class Kind(enum.StrEnum):
        NUMERIC = "numeric"
        BOOLEAN = "boolean"

    assert default_features({"x": Kind.NUMERIC, "y": Kind.BOOLEAN}, "y") == ["x"]


def test_default_features_errors_name_the_problem() -> None:
    with pytest.raises(
        InputError, match="Target 'price' is not a column; columns are customer_id, age"
    ):
        default_features(KINDS, "price")
    with pytest.raises(
        InputError, match="Column 'x' has unknown kind 'float'; kinds are numeric, categorical"
    ):
        default_features({"x": "float", "y": "numeric"}, "y")
