"""assess on real credit data: rasad's point estimates equal Fairlearn's; bad input."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, precision_score, roc_auc_score

import rasad.governance
import rasad.governance.fairness as fairness
from rasad.errors import InputError
from rasad.examples import generate_portfolio
from rasad.governance.fairness import (
    AttributeKind,
    FairnessPolicy,
    GroupMetric,
    Measure,
    Verdict,
    assess,
)

AGE_BINS = [18, 25, 35, 50, 65, 120]


@pytest.fixture(scope="module")
def credit() -> dict[str, Any]:
    train = generate_portfolio(months=6, rows_per_month=2000, seed=11)
    test = generate_portfolio(months=6, rows_per_month=2000, seed=12)
    features = ["income", "debt_to_income", "credit_history_years", "age"]
    model = LogisticRegression(max_iter=1000).fit(train[features], train["default"])
    score = model.predict_proba(test[features])[:, 1]
    pred = (score >= 0.2).astype(int)
    sensitive = test[["gender", "nationality", "age"]].reset_index(drop=True)
    report = assess(test["default"], pred, sensitive, score, bins={"age": AGE_BINS},
                    n_boot=300, seed=3)
    age_band = pd.cut(test["age"], AGE_BINS, right=False).astype(str).to_numpy()
    age_band[age_band == "[65, 120)"] = "[65, 120]"  # rasad closes the last bin
    return {"y": test["default"].to_numpy(), "pred": pred, "score": score,
            "sensitive": sensitive, "report": report, "age_band": age_band}


def _fairlearn_features(credit: dict[str, Any], name: str) -> Any:
    return credit["age_band"] if name == "age" else credit["sensitive"][name]


@pytest.mark.parametrize("name", ["gender", "nationality", "age"])
def test_disparities_equal_fairlearns(credit: dict[str, Any], name: str) -> None:
    y, pred, sf = credit["y"], credit["pred"], _fairlearn_features(credit, name)
    attribute = credit["report"].attribute(name)
    expected = {
        Measure.DEMOGRAPHIC_PARITY_DIFFERENCE: demographic_parity_difference(
            y, pred, sensitive_features=sf),
        Measure.DEMOGRAPHIC_PARITY_RATIO: demographic_parity_ratio(
            y, pred, sensitive_features=sf),
        Measure.DISPARATE_IMPACT_RATIO: demographic_parity_ratio(
            y, pred, sensitive_features=sf),
        Measure.EQUALIZED_ODDS_DIFFERENCE: equalized_odds_difference(
            y, pred, sensitive_features=sf),
        Measure.EQUALIZED_ODDS_RATIO: equalized_odds_ratio(y, pred, sensitive_features=sf),
        Measure.EQUAL_OPPORTUNITY_DIFFERENCE: equal_opportunity_difference(
            y, pred, sensitive_features=sf),
        Measure.PREDICTIVE_PARITY_DIFFERENCE: MetricFrame(
            metrics=precision_score, y_true=y, y_pred=pred,
            sensitive_features=sf).difference(),
    }
    for measure, value in expected.items():
        assert attribute.disparity(measure).value_all_groups == pytest.approx(value, abs=1e-12)
        result = attribute.disparity(measure)
        if not result.excluded:
            assert result.value == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("name", ["gender", "nationality", "age"])
def test_group_metrics_equal_metricframe_by_group(credit: dict[str, Any], name: str) -> None:
    y, pred, sf = credit["y"], credit["pred"], _fairlearn_features(credit, name)
    frame = MetricFrame(
        metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
                 "false_positive_rate": false_positive_rate, "precision": precision_score,
                 "accuracy": accuracy_score, "count": lambda t, p: len(t)},
        y_true=y, y_pred=pred, sensitive_features=sf).by_group
    auc = MetricFrame(metrics=roc_auc_score, y_true=y, y_pred=credit["score"],
                      sensitive_features=sf).by_group
    attribute = credit["report"].attribute(name)
    assert sorted(g.group for g in attribute.groups) == sorted(map(str, frame.index))
    for group in attribute.groups:
        row = frame.loc[group.group]
        assert group.count == row["count"]
        denominators = {"selection_rate": group.count, "accuracy": group.count,
                        "true_positive_rate": group.positives,
                        "false_positive_rate": group.negatives,
                        "precision": group.predicted_positives}
        for metric, denominator in denominators.items():
            if denominator == 0:  # Fairlearn says 0; rasad says undefined
                assert np.isnan(group.metric(metric).value)
            else:
                assert group.metric(metric).value == pytest.approx(row[metric], abs=1e-12)
        assert group.metric("roc_auc").value == pytest.approx(auc.loc[group.group], abs=1e-12)
        assert group.metric("base_rate").value == pytest.approx(
            y[np.asarray(sf) == group.group].mean())


def test_every_figure_has_an_interval_around_it(credit: dict[str, Any]) -> None:
    for attribute in credit["report"].attributes:
        for group in attribute.groups:
            for estimate in group.metrics.values():
                if not np.isnan(estimate.value) and group.count >= 30:
                    assert estimate.lower is not None and estimate.upper is not None
                    assert estimate.lower <= estimate.value + 0.05
                    assert estimate.upper >= estimate.value - 0.05
                    assert estimate.lower <= estimate.upper
        for result in attribute.disparities:
            if result.groups:
                assert result.lower is not None and result.lower <= result.upper


def test_age_is_binned_and_the_bins_are_reported(credit: dict[str, Any]) -> None:
    age = credit["report"].attribute("age")
    assert age.kind is AttributeKind.BINNED
    assert age.bins == tuple(float(b) for b in AGE_BINS)
    assert age.bins_source == "user"
    assert [g.group for g in age.groups][0] == "[18, 25)"


def test_report_renders_to_json_without_nan(credit: dict[str, Any]) -> None:
    data = credit["report"].to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["attributes"][0]["name"] == "gender"
    first = data["attributes"][0]
    assert set(first) == {"name", "kind", "bins", "bins_source", "verdict", "groups",
                          "disparities"}
    assert set(first["disparities"][0]) == {
        "measure", "value", "lower", "upper", "value_all_groups", "threshold",
        "higher_is_better", "verdict", "reason", "groups", "excluded"}
    assert data["policy"]["thresholds"]["disparate_impact_ratio"] == 0.8
    assert data["verdict"] in {v.value for v in Verdict}


def test_same_seed_same_report_and_other_seed_other_intervals() -> None:
    rng = np.random.default_rng(0)
    y, pred = rng.integers(0, 2, 600), rng.integers(0, 2, 600)
    group = rng.choice(["a", "b"], 600)
    one = assess(y, pred, group, n_boot=200, seed=5).to_dict()
    assert one == assess(y, pred, group, n_boot=200, seed=5).to_dict()
    assert one != assess(y, pred, group, n_boot=200, seed=6).to_dict()


def test_intersections_are_assessed() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"g": rng.choice(["F", "M"], 2000),
                          "n": rng.choice(["EG", "SA"], 2000)})
    y, pred = rng.integers(0, 2, 2000), rng.integers(0, 2, 2000)
    report = assess(y, pred, frame, intersections=True, n_boot=100)
    both = report.attribute("g & n")
    assert both.kind is AttributeKind.INTERSECTION
    assert [g.group for g in both.groups] == ["F | EG", "F | SA", "M | EG", "M | SA"]
    assert sum(g.count for g in both.groups) == 2000


def test_exports_match_all() -> None:
    for package in (fairness, rasad.governance):
        public = {n for n in vars(package) if not n.startswith("_")}
        modules = {n for n, v in vars(package).items() if type(v).__name__ == "module"}
        assert set(package.__all__) == public - modules
        assert len(package.__all__) == len(set(package.__all__))


# --- bad input --------------------------------------------------------------------------

Y = np.array([0, 1] * 50)
G = np.array(["a", "b"] * 25 + ["b", "a"] * 25)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"y_pred": np.array([0, 1, 2] * 33 + [0])}, "y_pred must hold the same two outcomes "
     "as y_true (0, 1); found other values (2). Pass class predictions (threshold scores "
     "first"),
    ({"y_pred": np.linspace(0, 1, 100)}, "y_pred must hold the same two outcomes as y_true "
     "(0, 1); found other values (0.010101, 0.020202, 0.030303, 0.040404, 0.0505051, ...)"),
    ({"y_pred": np.array(["yes", "no"] * 50)}, "y_pred holds text ('no', 'yes') while y_true "
     "holds numbers"),
    ({"y_true": np.array([0, 1, 2] * 33 + [0])}, "y_true must hold two outcomes; found 3 "
     "values (0, 1, 2)"),
    ({"y_true": np.array(["no", "yes"] * 50), "y_pred": np.array(["no", "yes"] * 50)},
     "y_true holds 'no', 'yes', not 0/1, and no favourable outcome was declared; declare"),
    ({"favorable": "2"}, "The favourable outcome '2' never occurs in y_true or y_pred; they "
     "hold 0, 1. Set the favourable outcome to one of those values."),
    ({"y_true": np.zeros(100), "y_pred": np.zeros(100)}, "The positive label 1 (assumed: no "
     "favourable outcome declared) never occurs in y_true or y_pred; they hold 0."),
    ({"y_score": np.r_[np.ones(50), np.zeros(50)], "y_pred": np.r_[np.zeros(50), np.ones(50)],
      "favorable": 1}, "y_score is high where the prediction is 0 and low where it is 1"),
    ({"y_pred": Y[:90]}, "y_true has 100 rows but y_pred has 90"),
    ({"sensitive_features": np.array(["a"] * 100)},
     "Sensitive column 'sensitive' has a single group ('a') in all 100 rows"),
    ({"sensitive_features": G[:80]}, "sensitive_features has 80 rows but the labels have 100"),
    ({"sensitive_features": pd.DataFrame()}, "sensitive_features has no columns"),
    ({"bins": {"age": [18, 30]}}, "Bins were given for 'age', which is not among the "
     "sensitive columns ('sensitive')"),
    ({"y_true": np.r_[Y[:99], np.nan]}, "y_true has 1 missing values"),
    ({"y_score": np.r_[np.zeros(99), np.inf]}, "y_score has 1 missing or infinite values"),
    ({"n_boot": 10}, "n_boot must be an integer >= 100"),
    ({"confidence": 95}, "confidence must be between 0 and 1"),
])
def test_bad_input_names_the_problem(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"y_true": Y, "y_pred": Y, "sensitive_features": G,
                                 "n_boot": 100}
    arguments.update(kwargs)
    with pytest.raises(InputError) as caught:
        assess(**arguments)
    assert message in str(caught.value)


def test_a_group_without_positives_is_left_out_of_rates_that_need_them() -> None:
    rng = np.random.default_rng(2)
    group = np.repeat(["a", "b", "c"], 2000)
    y = np.where(group == "c", 0, rng.integers(0, 2, 6000))
    pred = rng.integers(0, 2, 6000)
    attribute = assess(y, pred, group, n_boot=100).attribute("sensitive")
    c = attribute.group("c")
    assert np.isnan(c.metric(GroupMetric.TRUE_POSITIVE_RATE).value)
    assert c.to_dict()["metrics"]["true_positive_rate"] == {
        "value": None, "lower": None, "upper": None}
    assert "0 positives" in c.reason
    opportunity = attribute.disparity(Measure.EQUAL_OPPORTUNITY_DIFFERENCE)
    assert opportunity.excluded == ("c",)
    assert opportunity.verdict is not Verdict.PASS
    assert "'c' too small to judge" in opportunity.reason
    parity = attribute.disparity(Measure.DEMOGRAPHIC_PARITY_DIFFERENCE)
    assert parity.excluded == () and parity.verdict is Verdict.PASS


def test_bool_predictions_and_a_custom_policy() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 1000).astype(bool)
    group = rng.choice(["a", "b"], 1000)
    policy = FairnessPolicy(thresholds={"demographic_parity_difference": None})
    report = assess(y, y, group, policy=policy, n_boot=100)
    result = report.attribute("sensitive").disparity("demographic_parity_difference")
    assert result.verdict is None and result.threshold is None
