"""Mitigation: reduced disparity on held-out credit data, Fairlearn parity, skops storage."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, demographic_parity_difference, true_positive_rate
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import DemographicParity, ExponentiatedGradient
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from rasad.artifacts.skops import dump_model, load_model
from rasad.errors import InputError, NotFoundError
from rasad.examples import generate_portfolio
from rasad.governance.fairness.mitigation import (
    Constraint,
    EvaluatedOn,
    ExponentiatedGradientClassifier,
    Method,
    MitigationResult,
    Objective,
    ThresholdOptimizedClassifier,
    group_labels,
    mitigate,
)
from rasad.governance.fairness.report import Measure, Verdict
from rasad.training.pipeline import build_pipeline

NUMERIC = ["income", "age", "employment_years", "loan_amount", "loan_term_months",
           "debt_to_income", "credit_history_years"]
DOCS = Path(__file__).resolve().parents[3] / "docs" / "fairness-mitigation.md"


def pipeline() -> Pipeline:
    # Gender and nationality are not features; the disparity comes through income.
    return build_pipeline(NUMERIC, ["employment_type", "region"], [],
                          LogisticRegression(class_weight="balanced"))


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return generate_portfolio(months=3, rows_per_month=1000, seed=0)


@pytest.fixture(scope="module")
def test() -> pd.DataFrame:
    return generate_portfolio(months=3, rows_per_month=1000, seed=1)


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return generate_portfolio(months=1, rows_per_month=800, seed=2)


def round_trip(model: Any) -> Any:
    data, untrusted = dump_model(model)
    assert not [t for t in untrusted if t.startswith(("fairlearn.", "pandas."))]
    return load_model(data, trusted=untrusted)


def test_threshold_optimizer_reduces_demographic_parity_on_held_out_data(
        train: pd.DataFrame, test: pd.DataFrame) -> None:
    result = mitigate(pipeline(), train, train["default"], "nationality",
                      method=Method.THRESHOLD_OPTIMIZER,
                      constraint=Constraint.DEMOGRAPHIC_PARITY,
                      objective=Objective.BALANCED_ACCURACY, X_test=test, y_test=test["default"],
                      n_boot=200)
    before, after = result.compare("nationality")
    assert result.evaluated_on is EvaluatedOn.TEST and result.after.rows == len(test)
    assert before > 0.2 and after < 0.05 and after < before / 4
    dp = result.after.attribute("nationality").disparity(Measure.DEMOGRAPHIC_PARITY_DIFFERENCE)
    assert dp.upper is not None and dp.upper < 0.1
    assert result.before.verdict is Verdict.FAIL and dp.verdict is Verdict.PASS
    # The figures are Fairlearn's, on the test rows.
    predicted = result.estimator.predict(test)
    assert after == demographic_parity_difference(test["default"], predicted,
                                                  sensitive_features=test["nationality"])
    # The JSON form names the estimator's class; read back, it holds the reports only.
    data = json.loads(result.to_json())
    assert list(data) == ["method", "constraint", "sensitive_columns", "estimator",
                          "evaluated_on", "before", "after"]
    assert data["estimator"] == "ThresholdOptimizedClassifier"
    assert data["method"] == "threshold_optimizer" and data["evaluated_on"] == "test"
    loaded = MitigationResult.from_dict(data)
    assert loaded.to_dict() == data and loaded.compare("nationality") == (before, after)
    with pytest.raises(NotFoundError, match="keeps only the estimator's class name"):
        loaded.estimator  # noqa: B018 - the property raises


def test_threshold_wrapper_predicts_what_fairlearn_predicts(train: pd.DataFrame,
                                                            test: pd.DataFrame) -> None:
    wrapper = ThresholdOptimizedClassifier(pipeline(), "nationality",
                                           objective=Objective.BALANCED_ACCURACY).fit(
        train, train["default"])
    fairlearn = ThresholdOptimizer(estimator=pipeline(), objective="balanced_accuracy_score",
                                   predict_method="predict_proba").fit(
        train, train["default"], sensitive_features=train["nationality"].to_numpy())
    groups = test["nationality"].to_numpy()
    np.testing.assert_allclose(wrapper.selection_probability(test),
                               fairlearn._pmf_predict(test, sensitive_features=groups)[:, 1])
    np.testing.assert_array_equal(
        wrapper.predict(test, random_state=5),
        fairlearn.predict(test, sensitive_features=groups, random_state=5))


def test_fairlearn_objects_cannot_be_stored_with_skops_as_is(small: pd.DataFrame) -> None:
    fitted = ThresholdOptimizer(estimator=pipeline(), predict_method="predict_proba").fit(
        small, small["default"], sensitive_features=small["gender"].to_numpy())
    with pytest.raises(InputError, match="skops cannot save this ThresholdOptimizer"):
        dump_model(fitted)  # its trade-off curves are pandas DataFrames


def test_threshold_wrapper_round_trips_through_skops(train: pd.DataFrame,
                                                     test: pd.DataFrame) -> None:
    wrapper = ThresholdOptimizedClassifier(pipeline(), ["gender", "nationality"],
                                           random_state=3).fit(train, train["default"])
    loaded = round_trip(wrapper)
    assert isinstance(loaded, ThresholdOptimizedClassifier)
    np.testing.assert_array_equal(loaded.predict(test), wrapper.predict(test))
    np.testing.assert_array_equal(loaded.predict(test, random_state=11),
                                  wrapper.predict(test, random_state=11))
    np.testing.assert_array_equal(loaded.selection_probability(test),
                                  wrapper.selection_probability(test))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Fairlearn's own, under pandas 3
def test_exponentiated_gradient_matches_fairlearn_and_round_trips(
        small: pd.DataFrame, test: pd.DataFrame) -> None:
    result = mitigate(pipeline(), small, small["default"], "nationality",
                      method="exponentiated_gradient", seed=4, n_boot=100)
    model = result.estimator
    assert isinstance(model, ExponentiatedGradientClassifier)
    assert result.evaluated_on is EvaluatedOn.TRAINING and result.after.rows == len(small)
    before, after = result.compare("nationality")
    assert after < before / 2
    assert model.weights_.sum() == pytest.approx(1.0)
    # Fairlearn on the same preprocessed inputs gives the same mixture.
    inputs = clone(pipeline()[:-1]).fit(small, small["default"]).transform(small)
    fairlearn = ExponentiatedGradient(LogisticRegression(class_weight="balanced"),
                                      constraints=DemographicParity()).fit(
        inputs, small["default"], sensitive_features=small["nationality"].to_numpy())
    assert model.preprocess_ is not None
    held_out = model.preprocess_.transform(test)
    np.testing.assert_allclose(model.selection_probability(test),
                               fairlearn._pmf_predict(held_out)[:, 1])
    loaded = round_trip(model)
    np.testing.assert_array_equal(loaded.predict(test, random_state=8),
                                  model.predict(test, random_state=8))
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))


def test_batch_scoring_needs_only_a_dataframe_with_the_sensitive_column(
        small: pd.DataFrame) -> None:
    model = mitigate(pipeline(), small, small["default"], "gender", n_boot=100).estimator
    assert set(model.predict(small.drop(columns=["default"]))) <= {0, 1}
    assert not hasattr(model, "predict_proba")
    with pytest.raises(InputError, match="no sensitive column 'gender'"):
        model.predict(small.drop(columns=["gender"]))
    unseen = small.assign(gender="unknown")
    with pytest.raises(InputError, match=r"\['unknown'\].*not in the training data"):
        model.predict(unseen)


def test_several_columns_are_grouped_together_and_assessed_combined(
        train: pd.DataFrame) -> None:
    result = mitigate(pipeline(), train, train["default"], ["gender", "nationality"],
                      constraint="equalized_odds", objective="balanced_accuracy_score",
                      n_boot=100)
    model = result.estimator
    assert isinstance(model, ThresholdOptimizedClassifier)
    assert model.groups_.tolist() == ["female | non_saudi", "female | saudi",
                                      "male | non_saudi", "male | saudi"]
    assert [a.name for a in result.after.attributes] == [
        "gender", "nationality", "gender & nationality"]
    before, after = result.compare("gender & nationality", "equalized_odds_difference")
    assert after < before


def test_assessments_count_the_favourable_outcome(train: pd.DataFrame,
                                                  test: pd.DataFrame) -> None:
    # Label 0 (repaid) is favourable: equal opportunity on approvals is false positive
    # rate parity on label 1, which is the constraint to ask Fairlearn for.
    result = mitigate(pipeline(), train, train["default"], "nationality",
                      constraint=Constraint.FALSE_POSITIVE_RATE_PARITY,
                      objective=Objective.BALANCED_ACCURACY, X_test=test, y_test=test["default"],
                      n_boot=100, favorable=0)
    assert result.before.outcome.favorable == result.after.outcome.favorable == 0
    predicted = result.estimator.predict(test)
    frame = MetricFrame(metrics=true_positive_rate, y_true=test["default"] == 0,
                        y_pred=predicted == 0, sensitive_features=test["nationality"])
    _, after = result.compare("nationality", Measure.EQUAL_OPPORTUNITY_DIFFERENCE)
    assert after == pytest.approx(frame.difference(method="between_groups"))
    before, _ = result.compare("nationality", Measure.EQUAL_OPPORTUNITY_DIFFERENCE)
    assert after < before


def test_prefit_estimator_is_used_as_it_is(small: pd.DataFrame) -> None:
    fitted = pipeline().fit(small, small["default"])
    result = mitigate(fitted, small, small["default"], "nationality", prefit=True, n_boot=100)
    assert isinstance(result.estimator, ThresholdOptimizedClassifier)
    assert result.estimator.estimator_ is fitted
    before, _ = result.compare("nationality")
    assert before == pytest.approx(demographic_parity_difference(
        small["default"], fitted.predict(small), sensitive_features=small["nationality"]))


def test_group_labels_mark_missing_values() -> None:
    frame = pd.DataFrame({"a": ["x", None], "b": [1, 2]})
    assert group_labels(frame, ["a", "b"]).tolist() == ["x | 1", "(missing) | 2"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "reweighing"},
     "Unknown method 'reweighing'; choose one of 'threshold_optimizer', "
     "'exponentiated_gradient'"),
    ({"constraint": "parity"}, "Unknown constraint 'parity'; choose one of 'demographic_parity'"),
    ({"objective": "f1"}, "Unknown objective 'f1'; choose one of 'accuracy_score'"),
    ({"method": "exponentiated_gradient", "prefit": True}, "prefit=True is not possible"),
    ({"method": "exponentiated_gradient", "objective": "balanced_accuracy_score"},
     "minimises the error rate"),
])
def test_bad_options_are_refused(small: pd.DataFrame, kwargs: dict[str, Any],
                                 message: str) -> None:
    with pytest.raises(InputError, match=message):
        mitigate(pipeline(), small, small["default"], "gender", **kwargs)


def test_bad_data_is_refused(small: pd.DataFrame) -> None:
    y = small["default"]
    with pytest.raises(InputError, match="binary target with labels 0 and 1"):
        mitigate(pipeline(), small, y.where(y == 0, 2), "gender")
    with pytest.raises(InputError, match="binary target"):
        mitigate(pipeline(), small, np.zeros(len(small), dtype=int), "gender")
    with pytest.raises(InputError, match=f"y has {len(small) - 1} values but X has {len(small)}"):
        mitigate(pipeline(), small, y.iloc[1:], "gender")
    with pytest.raises(InputError, match="y has 5 values"):
        mitigate(pipeline(), small, small["default"], "gender", X_test=small, y_test=y.iloc[:5])
    with pytest.raises(InputError, match="Give both X_test and y_test"):
        mitigate(pipeline(), small, y, "gender", X_test=small)
    with pytest.raises(InputError, match="no sensitive column 'sex'; its columns are"):
        mitigate(pipeline(), small, y, "sex")
    with pytest.raises(InputError, match="must be a pandas DataFrame"):
        mitigate(pipeline(), small.to_numpy(), y, "gender")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="hold one group only"):
        mitigate(pipeline(), small.assign(gender="female"), y, "gender")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Fairlearn's own, under pandas 3
def test_docs_examples_run_and_print_what_they_say(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), namespace)
    expected = [line.split("  # ", 1)[1] for block in blocks for line in block.splitlines()
                if line.startswith("print(")]
    assert capsys.readouterr().out.splitlines() == expected
