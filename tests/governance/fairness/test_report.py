"""Fairness reports are typed results: one JSON form, and stored reports read back.

``OLD_PAYLOAD`` is a report as the dataclass version of rasad wrote it with its
hand-written ``to_dict()`` (trimmed to a few metrics and measures, with a null figure
and a measure without threshold): the pydantic models read it and write it back key
for key.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rasad.errors import InputError
from rasad.governance.fairness import (
    AttributeResult,
    DisparityResult,
    Estimate,
    FairnessAssessment,
    FairnessPolicy,
    FairnessReport,
    GroupMetric,
    GroupResult,
    Measure,
    MitigationResult,
    Outcome,
    Verdict,
    assess,
)
from rasad.results import Result

OLD_PAYLOAD: dict[str, Any] = {
    "rows": 60,
    "verdict": "not judged",
    "reason": "no measure could be judged: too few groups of the minimum size",
    "n_boot": 100,
    "confidence": 0.95,
    "seed": 1,
    "has_scores": False,
    "outcome": {"target": "default", "favorable": 0, "unfavorable": 1, "declared": True,
                "description": "default = 0 is the favourable outcome; rates count "
                               "predictions of 0"},
    "policy": {"thresholds": {"demographic_parity_difference": 0.1,
                              "demographic_parity_ratio": None,
                              "equalized_odds_difference": 0.1,
                              "equalized_odds_ratio": None,
                              "equal_opportunity_difference": 0.1,
                              "disparate_impact_ratio": 0.8,
                              "predictive_parity_difference": 0.1},
               "min_group_size": 30, "min_class_count": 10},
    "attributes": [{
        "name": "sex", "kind": "categorical", "bins": None, "bins_source": None,
        "verdict": "not judged",
        "groups": [
            {"group": "a", "count": 50, "positives": 28, "negatives": 22,
             "predicted_positives": 21, "judged": True, "reason": "50 rows: judged",
             "metrics": {
                 "selection_rate": {"value": 0.42, "lower": 0.28, "upper": 0.5304999999999999},
                 "true_positive_rate": {"value": 0.35714285714285715,
                                        "lower": 0.18915770609318996,
                                        "upper": 0.5190743338008414}}},
            {"group": "b", "count": 10, "positives": 10, "negatives": 0,
             "predicted_positives": 5, "judged": False,
             "reason": "10 rows, fewer than the minimum of 30: reported, not judged",
             "metrics": {
                 "selection_rate": {"value": 0.5, "lower": 0.2, "upper": 0.8},
                 "false_positive_rate": {"value": None, "lower": None, "upper": None}}}],
        "disparities": [
            {"measure": "equal_opportunity_difference", "value": 0.0, "lower": 0.0,
             "upper": 0.0, "value_all_groups": 0.14285714285714285, "threshold": 0.1,
             "higher_is_better": False, "verdict": "not judged",
             "reason": "fewer than two groups are large enough to compare; group(s) 'b' "
                       "too small to judge",
             "groups": ["a"], "excluded": ["b"]},
            {"measure": "demographic_parity_ratio", "value": None, "lower": None,
             "upper": None, "value_all_groups": 0.84, "threshold": None,
             "higher_is_better": True, "verdict": None,
             "reason": "no threshold in the policy: reported, not judged",
             "groups": [], "excluded": ["a", "b"]}]}],
}


def test_a_payload_in_the_old_format_loads_and_round_trips() -> None:
    report = FairnessReport.from_dict(copy.deepcopy(OLD_PAYLOAD))
    assert report.to_dict() == OLD_PAYLOAD
    assert list(report.to_dict()) == list(OLD_PAYLOAD)  # the same keys in the same order
    assert FairnessReport.from_json(json.dumps(OLD_PAYLOAD)).to_dict() == OLD_PAYLOAD

    # Typed all the way down: enums, NaN for figures that do not exist, the policy.
    assert report.verdict is Verdict.NOT_JUDGED and not report.failed
    assert report.outcome == Outcome(favorable=0, unfavorable=1, target="default")
    sex = report.attribute("sex")
    assert math.isnan(sex.group("b").metric(GroupMetric.FALSE_POSITIVE_RATE).value)
    ratio = sex.disparity(Measure.DEMOGRAPHIC_PARITY_RATIO)
    assert ratio.verdict is None and math.isnan(ratio.value) and ratio.interval is None
    assert sex.disparity("equal_opportunity_difference").interval == (0.0, 0.0)
    assert report.policy.threshold(Measure.DISPARATE_IMPACT_RATIO) == 0.8
    assert report.policy.threshold(Measure.EQUALIZED_ODDS_RATIO) is None


def test_a_fresh_report_round_trips_through_json() -> None:
    rng = np.random.default_rng(7)
    n = 2000
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "age": rng.integers(18, 80, n)})
    y = pd.Series(rng.integers(0, 2, n), name="default")
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    report = assess(y, pred, frame, rng.random(n), favorable=1, intersections=True,
                    bins={"age": [18, 40, 80]}, n_boot=100, seed=2,
                    policy=FairnessPolicy(thresholds={"equalized_odds_ratio": 0.7},
                                          min_group_size=20))
    data = report.to_dict()
    assert data["attributes"][1]["bins"] == [18, 40, 80]
    assert data["policy"]["thresholds"]["equalized_odds_ratio"] == 0.7
    assert data["policy"]["min_group_size"] == 20
    again = FairnessReport.from_dict(data)
    assert again.to_dict() == data
    assert again.policy.threshold("equalized_odds_ratio") == 0.7
    assert again.attribute("age").bins == (18.0, 40.0, 80.0)
    json.dumps(data, allow_nan=False)  # no NaN reaches the JSON


def test_every_fairness_result_is_a_result_without_its_own_to_dict() -> None:
    for cls in (Outcome, Estimate, GroupResult, DisparityResult, AttributeResult,
                FairnessReport, FairnessPolicy, FairnessAssessment, MitigationResult):
        assert issubclass(cls, Result), cls
        assert "to_dict" not in vars(cls), cls


def test_models_are_immutable_and_keyword_only() -> None:
    estimate = Estimate(value=0.5, lower=0.4, upper=0.6)
    with pytest.raises(ValueError, match="frozen"):
        estimate.value = 0.1  # type: ignore[misc]
    with pytest.raises(TypeError):
        Estimate(0.5)  # type: ignore[misc]
    assert Estimate(value=float("nan")).to_dict() == {"value": None, "lower": None,
                                                       "upper": None}


def test_policy_json_lists_every_threshold_and_reads_back() -> None:
    policy = FairnessPolicy(thresholds={Measure.DISPARATE_IMPACT_RATIO: 0.9,
                                        "demographic_parity_difference": None})
    data = policy.to_dict()
    assert data["thresholds"] == {
        "demographic_parity_difference": None, "demographic_parity_ratio": None,
        "equalized_odds_difference": 0.1, "equalized_odds_ratio": None,
        "equal_opportunity_difference": 0.1, "disparate_impact_ratio": 0.9,
        "predictive_parity_difference": 0.1}
    again = FairnessPolicy.from_dict(data)
    assert {m: again.threshold(m) for m in Measure} == {m: policy.threshold(m) for m in Measure}
    with pytest.raises(InputError, match="min_class_count must be an integer >= 1; got True"):
        FairnessPolicy(min_class_count=True)


def test_an_assessment_nests_its_report() -> None:
    report = FairnessReport.from_dict(OLD_PAYLOAD)
    assessment = FairnessAssessment(data="loans@1 scored by credit@1", model="credit@1",
                                    dataset="loans@1", declared_in="rasad.yaml",
                                    result_id=4, report=report)
    data = assessment.to_dict()
    assert list(data) == ["data", "model", "dataset", "declared_in", "result_id", "report"]
    assert data["report"] == OLD_PAYLOAD
    assert FairnessAssessment.from_dict(data).report.to_dict() == OLD_PAYLOAD
    assert assessment.failed is False
