"""The compiled default pipeline gives bit for bit what the pipeline gives, and anything it
cannot prove that of is left to the pipeline itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from rasad.serving.online._compiled import compile_pipeline, probe_frame
from rasad.tables.kinds import ColumnKind
from rasad.tables.signature import Signature
from rasad.training.pipeline import build_pipeline

KINDS = {"income": ColumnKind.NUMERIC, "age": ColumnKind.NUMERIC,
         "city": ColumnKind.CATEGORICAL, "grade": ColumnKind.CATEGORICAL,
         "owner": ColumnKind.BOOLEAN}


def training(rows: int = 300, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "income": rng.normal(5000, 1500, rows),
        "age": rng.integers(18, 80, rows).astype(float),
        "city": rng.choice(["Riyadh", "Jeddah", "Dammam", None], rows),
        "grade": rng.choice([1.0, 2.0, 3.0], rows),  # numbers as categories: "1", "2", "3"
        "owner": rng.choice([True, False], rows),
    })
    frame.loc[rng.random(rows) < 0.1, "income"] = np.nan
    target = (frame["income"].fillna(5000) / 1000 + frame["age"] / 20
              + rng.normal(0, 1, rows) > 8).to_numpy().astype(int)
    return frame, target


def fitted(estimator: object) -> tuple[Pipeline, Signature]:
    frame, target = training()
    pipeline = build_pipeline(["income", "age"], ["city", "grade"], ["owner"], estimator)
    pipeline.fit(frame, target)
    return pipeline, Signature.from_frame(frame, KINDS)


@pytest.mark.parametrize("estimator", [LogisticRegression(max_iter=500),
                                       GradientBoostingClassifier(n_estimators=20,
                                                                  random_state=0)])
def test_the_compiled_pipeline_equals_the_pipeline_on_many_frames(estimator: object) -> None:
    pipeline, signature = fitted(estimator)
    compiled = compile_pipeline(pipeline, signature)
    assert compiled is not None
    for seed in range(5):
        frame = signature.coerce(probe_frame(signature, rows=1 + seed * 37, seed=seed + 10))
        assert np.array_equal(compiled.transform(frame), pipeline[:-1].transform(frame))
        assert np.array_equal(compiled.predict(frame), pipeline.predict(frame))
        assert np.array_equal(compiled.predict_proba(frame), pipeline.predict_proba(frame))
    # One row, as a server mostly scores: unseen city, missing income, a boolean.
    one = signature.coerce(pd.DataFrame({"income": [None], "age": [44.0], "city": ["Abha"],
                                         "grade": [2], "owner": [True]}))
    assert np.array_equal(compiled.predict_proba(one), pipeline.predict_proba(one))


def test_a_matrix_that_is_not_finite_is_still_checked_by_scikit_learn() -> None:
    pipeline, signature = fitted(LogisticRegression(max_iter=500))
    compiled = compile_pipeline(pipeline, signature)
    assert compiled is not None
    finite = compiled.transform(signature.coerce(probe_frame(signature, rows=1)))
    assert compiled._call(compiled.estimator.predict, finite).shape == (1,)
    overflowed = finite.copy()
    overflowed[0, 0] = np.inf  # what scaling a huge number by a tiny spread could give
    with pytest.raises(ValueError, match="infinity"):
        compiled._call(compiled.estimator.predict, overflowed)


def test_what_is_not_the_default_pipeline_is_not_compiled() -> None:
    frame, target = training()
    signature = Signature.from_frame(frame, KINDS)
    # A bare estimator of a column that is not a number is not fed a matrix.
    coded = frame[["income", "grade"]].fillna(0)
    bare = LogisticRegression().fit(coded, target)
    assert compile_pipeline(bare, Signature.from_frame(coded, {
        "income": ColumnKind.NUMERIC, "grade": ColumnKind.CATEGORICAL})) is None
    mean = build_pipeline(["income", "age"], ["city"], [], LogisticRegression())
    mean.named_steps["preprocess"].transformers[0][1].steps[0] = (
        "impute", SimpleImputer(strategy="mean"))
    assert compile_pipeline(mean.fit(frame, target), signature) is None
    # A training column that was all missing is dropped by the imputer: not compiled.
    empty = frame.assign(age=np.nan)
    pipeline = build_pipeline(["income", "age"], [], [], LogisticRegression())
    with pytest.warns(UserWarning, match="without any observed values"):
        pipeline.fit(empty, target)
    assert compile_pipeline(pipeline, signature) is None
    regressor = build_pipeline(["income", "age"], ["city"], ["owner"],
                               RandomForestRegressor(n_estimators=5, random_state=0))
    compiled = compile_pipeline(regressor.fit(frame, target.astype(float)), signature)
    assert compiled is not None  # any estimator at the end: it is used as it is


def test_a_compiled_form_that_disagrees_on_the_probe_is_refused() -> None:
    pipeline, signature = fitted(LogisticRegression(max_iter=500))
    assert compile_pipeline(pipeline, signature) is not None
    # Transformer weights scale a block's output at transform time. The compiled form
    # does not know them, has the same shape otherwise, and so disagrees on the probe.
    pipeline.named_steps["preprocess"].transformer_weights = {"numeric": 2.0}
    assert compile_pipeline(pipeline, signature) is None


NUMBERS = {"income": ColumnKind.NUMERIC, "age": ColumnKind.NUMERIC}


def bare_model(estimator: object) -> tuple[object, pd.DataFrame, Signature]:
    frame, target = training()
    numbers = frame[["income", "age"]].fillna(4000.0)
    return estimator.fit(numbers, target), numbers, Signature.from_frame(numbers, NUMBERS)


@pytest.mark.parametrize("estimator", [
    GradientBoostingClassifier(n_estimators=20, random_state=0),
    LogisticRegression(max_iter=500),
])
def test_a_bare_estimator_of_numbers_is_fed_the_matrix_and_answers_the_same(
        estimator: object) -> None:
    model, numbers, signature = bare_model(estimator)
    fast = compile_pipeline(model, signature)
    assert fast is not None and type(fast).__name__ == "Bare"
    # The twin shares the fitted state; the model itself keeps its column names.
    assert list(model.feature_names_in_) == ["income", "age"]  # type: ignore[attr-defined]
    rng = np.random.default_rng(3)
    for _ in range(20):
        rows = numbers.sample(int(rng.integers(1, 40)), random_state=int(rng.integers(1e6)))
        assert np.array_equal(fast.predict(rows), model.predict(rows))  # type: ignore[attr-defined]
        assert np.array_equal(fast.predict_proba(rows),
                              model.predict_proba(rows))  # type: ignore[attr-defined]
        # Columns in another order are put back in the fitted order, not scored as sent.
        swapped = rows[["age", "income"]]
        assert np.array_equal(fast.predict_proba(swapped), model.predict_proba(rows))  # type: ignore[attr-defined]


def test_a_bare_estimators_missing_values_are_left_to_scikit_learn() -> None:
    model, numbers, signature = bare_model(GradientBoostingClassifier(n_estimators=5))
    fast = compile_pipeline(model, signature)
    assert fast is not None
    gap = numbers.head(3).assign(income=[1.0, np.nan, 2.0])
    # The estimator's own refusal, not a matrix scored with a NaN in it.
    with pytest.raises(ValueError, match="NaN"):
        fast.predict(gap)
    with pytest.raises(ValueError, match="infinity"):
        fast.predict_proba(numbers.head(2).assign(age=[np.inf, 1.0]))
    # A missing column is the estimator's own error too.
    with pytest.raises(ValueError, match="age"):
        fast.predict(numbers.head(2)[["income"]])


def test_a_bare_twin_that_answers_differently_is_refused() -> None:
    model, _, signature = bare_model(LogisticRegression(max_iter=500))

    class Named(LogisticRegression):  # answers depend on the recorded column names
        def predict_proba(self, X):  # type: ignore[no-untyped-def, override]
            shift = 0.0 if hasattr(self, "feature_names_in_") else 0.01
            return super().predict_proba(X) + shift

    named = Named(max_iter=500)
    named.__dict__.update(model.__dict__)  # type: ignore[attr-defined]
    assert compile_pipeline(named, signature) is None
