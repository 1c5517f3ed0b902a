"""Tests for rasad.tables.signature: recording, checking and coercing model input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from rasad.errors import InputError
from rasad.tables.kinds import ColumnKind
from rasad.tables.signature import (
    ColumnSpec,
    Signature,
    SignatureReport,
    UnseenCategories,
    WrongType,
)

KINDS = {
    "age": ColumnKind.NUMERIC,
    "income": ColumnKind.NUMERIC,
    "region": ColumnKind.CATEGORICAL,
    "grade": ColumnKind.CATEGORICAL,
    "member": ColumnKind.BOOLEAN,
    "applied": ColumnKind.DATETIME,
    "target": ColumnKind.CATEGORICAL,
}


@pytest.fixture
def train() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [31, 45, 52, 28],
            "income": [4200.0, np.nan, 5100.5, 3900.0],
            "region": ["north", "south", None, "north"],
            "grade": [1, 2, 3, 1],
            "member": [True, False, False, True],
            "applied": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-03", "2024-03-09"]),
        }
    )


@pytest.fixture
def signature(train: pd.DataFrame) -> Signature:
    return Signature.from_frame(train, KINDS)


def test_from_frame_records_kinds_dtypes_and_categories(signature: Signature) -> None:
    assert signature.names == ("age", "income", "region", "grade", "member", "applied")
    specs = {spec.name: spec for spec in signature.columns}
    assert specs["age"] == ColumnSpec("age", ColumnKind.NUMERIC, "int64", None)
    assert specs["region"].categories == ("north", "south")  # sorted, no missing
    assert specs["grade"].categories == ("1", "2", "3")  # as text
    assert specs["member"].categories == ("False", "True")
    assert specs["applied"].categories is None
    assert specs["applied"].dtype.startswith("datetime64")


def test_json_round_trip(signature: Signature) -> None:
    text = json.dumps(signature.to_dict())
    assert Signature.from_dict(json.loads(text)) == signature


def test_clean_input_is_ok(signature: Signature, train: pd.DataFrame) -> None:
    report = signature.check(train)
    assert report.ok
    assert report == SignatureReport()
    report.raise_for_errors(strict_categories=True)


def test_check_finds_every_kind_of_problem(signature: Signature) -> None:
    frame = pd.DataFrame(
        {
            "age": ["40", "abc", None, "n/a", "abc", "x", "7"],
            "region": ["north", "Mars", "Mars", "Venus", None, "south", "north"],
            "grade": [1.0, 2.0, 4.0, np.nan, 1.0, 1.0, 1.0],  # floats: 1.0 is category "1"
            "member": ["true", "no", "maybe", None, "1", "0", "yes"],
            "applied": pd.Series(["2024-01-05", "yesterday", None, "2024-02-30",
                                  "2024-05-01T10:00", "2024-05-01", "2024-05-02"], dtype=object),
            "notes": ["x"] * 7,
        }
    )
    report = signature.check(frame, model="loans")
    assert not report.ok
    assert report.missing_columns == ("income",)
    assert report.extra_columns == ("notes",)
    assert report.wrong_types == (
        WrongType("age", ColumnKind.NUMERIC, 4, ("abc", "n/a", "x")),
        WrongType("member", ColumnKind.BOOLEAN, 1, ("maybe",)),
        WrongType("applied", ColumnKind.DATETIME, 2, ("yesterday", "2024-02-30")),
    )
    assert report.unseen_categories == (
        UnseenCategories("region", (("Mars", 2), ("Venus", 1))),
        UnseenCategories("grade", (("4", 1),)),
    )
    with pytest.raises(InputError) as caught:
        report.raise_for_errors()
    assert str(caught.value) == (
        "Input does not match model 'loans' signature: missing column 'income'; "
        "column 'age' has 4 non-numeric values (e.g. 'abc', 'n/a', 'x'); "
        "column 'member' has 1 non-boolean value (e.g. 'maybe'); "
        "column 'applied' has 2 unparseable date/time values (e.g. 'yesterday', '2024-02-30')."
    )
    with pytest.raises(InputError, match=r"unseen categories 'Mars' \(2 rows\), 'Venus' \(1 row\)"):
        report.raise_for_errors(strict_categories=True)
    assert report.warnings() == [
        "column 'region' has unseen categories 'Mars' (2 rows), 'Venus' (1 row)",
        "column 'grade' has unseen categories '4' (1 row)",
        "extra column 'notes' is not used by the model",
    ]
    assert SignatureReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_unseen_categories_are_errors_only_when_strict(signature: Signature,
                                                       train: pd.DataFrame) -> None:
    frame = train.assign(region=["north", "Mars", "Mars", "south"])
    report = signature.check(frame)
    assert report.ok
    report.raise_for_errors()
    unseen = r"column 'region' has unseen categories 'Mars' \(2 rows\)"
    with pytest.raises(InputError, match=unseen):
        report.raise_for_errors(strict_categories=True)


def test_many_unseen_categories_are_summarised() -> None:
    signature = Signature((ColumnSpec("c", ColumnKind.CATEGORICAL, "str", ("a",)),))
    report = signature.check(pd.DataFrame({"c": [f"x{n}" for n in range(8)]}))
    assert report.unseen_categories[0].describe().endswith("'x4' (1 row) and 3 more")


def test_coerce_produces_scoring_dtypes(signature: Signature) -> None:
    frame = pd.DataFrame(
        {
            "notes": ["dropped", "dropped"],
            "member": ["yes", None],
            "applied": ["2024-01-05", "2024-06-01 10:00"],
            "grade": [2.0, np.nan],
            "region": pd.array(["south", None], dtype="str"),
            "income": pd.array([4000, pd.NA], dtype="Int64"),
            "age": ["40", 38],
        },
        index=[7, 9],
    )
    inputs = signature.coerce(frame)
    assert list(inputs.columns) == list(signature.names)
    assert list(inputs.index) == [7, 9]
    assert inputs.dtypes.astype(str).to_dict() == {
        "age": "float64",
        "income": "float64",
        "region": "object",
        "grade": "object",
        "member": "object",
        "applied": "datetime64[us]",
    }
    assert inputs["age"].tolist() == [40.0, 38.0]
    assert inputs["grade"].iloc[0] == "2"
    assert inputs["region"].iloc[0] == "south" and np.isnan(inputs["region"].iloc[1])
    assert inputs["member"].iloc[0] is True and np.isnan(inputs["member"].iloc[1])
    assert np.isnan(inputs["income"].iloc[1])


def test_coerce_refuses_bad_input(signature: Signature, train: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="missing column 'age'"):
        signature.coerce(train.drop(columns="age"))
    with pytest.raises(InputError, match="column 'income' has 1 non-numeric value"):
        signature.coerce(train.assign(income=pd.Series(["1", "2", "lots", None], dtype=object)))


def test_coerced_frame_scores_with_a_fitted_pipeline(signature: Signature,
                                                     train: pd.DataFrame) -> None:
    features = ["age", "income", "region", "grade", "member"]
    narrow = Signature(tuple(s for s in signature.columns if s.name in features))
    rng = np.random.default_rng(0)
    big = train.sample(200, replace=True, random_state=0).reset_index(drop=True)
    y = rng.integers(0, 2, len(big))
    pipeline = make_pipeline(
        ColumnTransformer(
            [
                ("num", SimpleImputer(), ["age", "income"]),
                ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                      OneHotEncoder(handle_unknown="ignore")),
                 ["region", "grade", "member"]),
            ]
        ),
        LogisticRegression(),
    )
    pipeline.fit(narrow.coerce(big), y)
    scoring = pd.DataFrame(
        {"member": ["true", "false"], "grade": [1, 9], "region": ["Mars", None],
         "income": ["5000", None], "age": [30, 60]}
    )
    predictions = pipeline.predict(narrow.coerce(scoring))
    assert predictions.shape == (2,)


def test_duplicate_columns_and_missing_kinds_are_rejected(train: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="No kind given for column.*'age'"):
        Signature.from_frame(train, {})
    doubled = pd.concat([train, train[["age"]]], axis=1)
    with pytest.raises(InputError, match="duplicate column names 'age'"):
        Signature.from_frame(doubled, KINDS)
    with pytest.raises(InputError, match="duplicate column"):
        Signature((ColumnSpec("a", ColumnKind.TEXT, "str"),) * 2)


def test_from_frame_rejects_values_that_do_not_fit_their_kind() -> None:
    frame = pd.DataFrame({"age": ["31", "old"]})
    with pytest.raises(InputError, match="column 'age' has 1 non-numeric value"):
        Signature.from_frame(frame, {"age": ColumnKind.NUMERIC})


def test_malformed_stored_signature() -> None:
    with pytest.raises(InputError, match="register the model again"):
        Signature.from_dict({"columns": [{"name": "a", "kind": "weird", "dtype": "int64"}]})
    with pytest.raises(InputError, match="no 'columns'"):
        Signature.from_dict({})


# --- infinity is named as such, never "non-numeric" --------------------------------------


def test_infinite_numbers_are_reported_as_infinite(signature: Signature,
                                                   train: pd.DataFrame) -> None:
    frame = train.assign(income=[np.inf, 1.0, -np.inf, np.nan])
    (problem,) = signature.check(frame).wrong_types
    assert (problem.column, problem.count, problem.infinite) == ("income", 2, True)
    assert problem.describe() == "column 'income' has 2 infinite values (e.g. 'inf', '-inf')"
    with pytest.raises(InputError, match="column 'income' has 2 infinite values") as raised:
        signature.coerce(frame)
    assert "non-numeric" not in str(raised.value)


def test_text_infinity_and_text_are_told_apart(signature: Signature,
                                               train: pd.DataFrame) -> None:
    # A CSV read as text: "inf" and "-Infinity" parse as infinite numbers, "lots" does not.
    frame = train.assign(income=pd.Series(["inf", "-Infinity", "lots", "5"], dtype=object))
    report = signature.check(frame)
    assert [p.describe() for p in report.wrong_types] == [
        "column 'income' has 1 non-numeric value (e.g. 'lots')",
        "column 'income' has 2 infinite values (e.g. 'inf', '-Infinity')",
    ]
    assert SignatureReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_training_frame_with_infinity_is_refused_naming_it() -> None:
    frame = pd.DataFrame({"ratio": [0.5, np.inf, 1.5]})
    with pytest.raises(InputError, match="column 'ratio' has 1 infinite value \\(e.g. 'inf'\\)"):
        Signature.from_frame(frame, {"ratio": ColumnKind.NUMERIC})


def test_wrong_types_stored_before_the_infinite_flag_still_load() -> None:
    stored = {"column": "age", "kind": "numeric", "count": 1, "examples": ["abc"]}
    assert WrongType.from_dict(stored) == WrongType("age", ColumnKind.NUMERIC, 1, ("abc",))
    assert WrongType("x", ColumnKind.NUMERIC, 1, ("inf",), infinite=True).to_dict()["infinite"]
