"""The favourable outcome: every rate counts it, checked against Fairlearn on flipped labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_ratio,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import roc_auc_score

from rasad.errors import InputError
from rasad.governance.fairness import FairnessReport, Outcome, assess

APPROVAL = {"young": 0.90, "older": 0.99}


def _credit(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Label 1 = default (adverse). The model refuses (predicts 1) 10% of the young, 1% of
    the older: approval rates 90% against 99%, a ratio of about 0.91."""
    rng = np.random.default_rng(seed)
    age = rng.choice(list(APPROVAL), n)
    refused = rng.random(n) > np.vectorize(APPROVAL.get)(age)
    default = np.where(refused, rng.random(n) < 0.5, rng.random(n) < 0.03).astype(int)
    proba_1 = np.clip(np.where(refused, 0.6, 0.2) + rng.normal(0, 0.1, n), 0, 1)
    return pd.DataFrame({"default": default, "pred": refused.astype(int), "age": age,
                         "proba_1": proba_1, "proba_0": 1 - proba_1})


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return _credit()


@pytest.fixture(scope="module")
def approvals(credit: pd.DataFrame) -> FairnessReport:
    return assess(credit["default"], credit["pred"], credit[["age"]], credit["proba_0"],
                  favorable=0, n_boot=200)


def test_disparate_impact_is_on_approvals_and_equals_fairlearn_flipped(
        credit: pd.DataFrame, approvals: FairnessReport) -> None:
    favourable_true, favourable_pred = credit["default"] == 0, credit["pred"] == 0
    expected = demographic_parity_ratio(favourable_true, favourable_pred,
                                        sensitive_features=credit["age"])
    di = approvals.attribute("age").disparity("disparate_impact_ratio")
    assert di.value_all_groups == pytest.approx(expected)
    assert di.value == pytest.approx(0.91, abs=0.01)
    assert str(di.verdict) == "pass"
    # The same data measured on the adverse outcome (the old behaviour) fails badly.
    defaults = assess(credit["default"], credit["pred"], credit[["age"]], n_boot=200)
    assert defaults.attribute("age").disparity("disparate_impact_ratio").value < 0.2


def test_group_rates_equal_metricframe_on_the_favourable_label(
        credit: pd.DataFrame, approvals: FairnessReport) -> None:
    frame = MetricFrame(metrics={"selection_rate": selection_rate,
                                 "true_positive_rate": true_positive_rate},
                        y_true=credit["default"] == 0, y_pred=credit["pred"] == 0,
                        sensitive_features=credit["age"])
    attribute = approvals.attribute("age")
    for name in APPROVAL:
        group = attribute.group(name)
        for metric in ("selection_rate", "true_positive_rate"):
            assert group.metric(metric).value == pytest.approx(frame.by_group[metric][name])
        assert group.positives == int(((credit["default"] == 0) & (credit["age"] == name)).sum())
        rows = credit["age"] == name
        assert group.metric("roc_auc").value == pytest.approx(
            roc_auc_score(credit["default"][rows] == 0, credit["proba_0"][rows]))
    opportunity = attribute.disparity("equal_opportunity_difference")
    assert opportunity.value_all_groups == pytest.approx(
        frame.difference(method="between_groups")["true_positive_rate"])
    assert approvals.attribute("age").group("young").metric(
        "selection_rate").value == pytest.approx(APPROVAL["young"], abs=0.01)


def test_text_labels_give_the_same_numbers_as_their_codes(
        credit: pd.DataFrame, approvals: FairnessReport) -> None:
    words = {0: "approved", 1: "refused"}
    text = assess(credit["default"].map(words).rename("decision"), credit["pred"].map(words),
                  credit[["age"]], credit["proba_0"], favorable="approved", n_boot=200)
    assert text.to_dict()["attributes"] == approvals.to_dict()["attributes"]
    assert text.outcome == Outcome(favorable="approved", unfavorable="refused", target="decision")


def test_the_report_says_which_outcome_it_measured(approvals: FairnessReport) -> None:
    assert approvals.outcome == Outcome(favorable=0, unfavorable=1, target="default", declared=True)
    assert approvals.to_dict()["outcome"] == {
        "target": "default", "favorable": 0, "unfavorable": 1, "declared": True,
        "description": "default = 0 is the favourable outcome; rates count "
                       "predictions of 0"}
    assumed = assess(np.array([0, 1] * 50), np.array([0, 1] * 50),
                     np.array(["a"] * 50 + ["b"] * 50), n_boot=100)
    assert assumed.outcome == Outcome(favorable=1, unfavorable=0, target=None, declared=False)
    assert "assumed: none declared" in assumed.to_dict()["outcome"]["description"]


@pytest.mark.parametrize("favorable", [0, "0", 0.0, False, "false"])
def test_a_favourable_value_matches_a_numeric_column_however_it_is_written(
        credit: pd.DataFrame, favorable: object) -> None:
    report = assess(credit["default"][:2000], credit["pred"][:2000], credit["age"][:2000],
                    favorable=favorable, n_boot=100)  # type: ignore[arg-type]
    assert report.outcome.favorable == 0 and report.outcome.unfavorable == 1


def test_scores_of_the_other_outcome_are_refused(credit: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="Score column 'proba_1' is high where the prediction "
                                         "is 1 and low where it is 0.*proba_0"):
        assess(credit["default"], credit["pred"], credit["age"], credit["proba_1"],
               favorable=0, n_boot=100)


def test_errors_name_the_users_columns(credit: pd.DataFrame) -> None:
    frame = credit.head(200).copy()
    frame.loc[3, "default"] = np.nan
    with pytest.raises(InputError, match="^Target column 'default' has 1 missing values"):
        assess(frame["default"], frame["pred"], frame["age"], favorable=0, n_boot=100)
    with pytest.raises(InputError, match="Prediction column 'proba_1' must hold the same two "
                                         "outcomes as target column 'pred'"):
        assess(frame["pred"], frame["proba_1"], frame["age"], n_boot=100)
    with pytest.raises(InputError, match="favourable outcome 'yes' never occurs in target "
                                         "column 'pred' or prediction column 'pred'"):
        assess(frame["pred"], frame["pred"], frame["age"], favorable="yes", n_boot=100)


@pytest.mark.parametrize("seed", range(5))
def test_binned_auc_is_close_to_scikit_learns(seed: int) -> None:
    from rasad.governance.fairness._outcome import binned_auc

    rng = np.random.default_rng(seed)
    scores = rng.beta(2, 5, 5000)
    positive = (rng.random(5000) < scores).astype(np.int64)
    assert binned_auc(positive, scores) == pytest.approx(roc_auc_score(positive, scores),
                                                         abs=0.005)
