"""Verdicts on constructed cases where the truth is known; the policy; judge and combine."""

from __future__ import annotations

import numpy as np
import pytest

from rasad.errors import InputError
from rasad.governance.fairness import (
    DEFAULT_THRESHOLDS,
    FairnessPolicy,
    Measure,
    Verdict,
    assess,
    judge,
)
from rasad.governance.fairness.verdict import combine

JUDGED = (Measure.DISPARATE_IMPACT_RATIO, Measure.DEMOGRAPHIC_PARITY_DIFFERENCE,
          Measure.EQUALIZED_ODDS_DIFFERENCE, Measure.EQUAL_OPPORTUNITY_DIFFERENCE,
          Measure.PREDICTIVE_PARITY_DIFFERENCE)


def _model(sizes: dict[str, int], rates: dict[str, tuple[float, float, float]],
           seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows per group with base rate, true positive rate and false positive rate given."""
    rng = np.random.default_rng(seed)
    group = np.concatenate([np.full(n, name) for name, n in sizes.items()])
    base, tpr, fpr = (np.concatenate([np.full(n, rates[name][i]) for name, n in sizes.items()])
                      for i in range(3))
    y = (rng.random(len(group)) < base).astype(int)
    pred = (rng.random(len(group)) < np.where(y == 1, tpr, fpr)).astype(int)
    return y, pred, group


FAIR = (0.3, 0.8, 0.1)


@pytest.mark.parametrize("seed", range(8))
def test_fair_model_with_a_tiny_group_is_never_failed(seed: int) -> None:
    y, pred, group = _model({"A": 4000, "B": 4000, "tiny": 12},
                            {"A": FAIR, "B": FAIR, "tiny": FAIR}, seed)
    report = assess(y, pred, {"nationality": group}, n_boot=200, seed=seed)
    assert report.verdict is Verdict.INCONCLUSIVE
    attribute = report.attribute("nationality")
    assert not attribute.group("tiny").judged
    assert "12 rows, fewer than the minimum of 30" in attribute.group("tiny").reason
    for measure in JUDGED:
        result = attribute.disparity(measure)
        assert result.verdict is Verdict.INCONCLUSIVE
        assert "tiny" in result.excluded and "'tiny' too small to judge" in result.reason


def test_fair_model_with_one_big_and_one_tiny_group_is_not_judged() -> None:
    y, pred, group = _model({"A": 4000, "tiny": 12}, {"A": FAIR, "tiny": FAIR}, 0)
    report = assess(y, pred, {"gender": group}, n_boot=200)
    assert report.verdict is Verdict.NOT_JUDGED
    result = report.attribute("gender").disparity(Measure.DEMOGRAPHIC_PARITY_DIFFERENCE)
    assert result.verdict is Verdict.NOT_JUDGED
    assert result.reason.startswith("fewer than two groups are large enough to compare")


def test_without_minimum_sizes_the_tiny_group_is_judged_on_its_interval() -> None:
    y, pred, group = _model({"A": 4000, "B": 4000, "tiny": 12},
                            {"A": FAIR, "B": FAIR, "tiny": FAIR}, 1)
    policy = FairnessPolicy(min_group_size=1, min_class_count=1)
    report = assess(y, pred, {"g": group}, policy=policy, n_boot=200)
    result = report.attribute("g").disparity(Measure.DEMOGRAPHIC_PARITY_DIFFERENCE)
    assert result.excluded == ()
    assert result.upper is not None and result.upper - result.lower > 0.2


@pytest.mark.parametrize("seed", range(3))
def test_fair_model_with_big_groups_passes(seed: int) -> None:
    y, pred, group = _model({"A": 6000, "B": 5000, "C": 4000},
                            {"A": FAIR, "B": FAIR, "C": FAIR}, seed)
    report = assess(y, pred, {"region": group}, n_boot=300, seed=seed)
    assert report.verdict is Verdict.PASS, report.reason
    for measure in JUDGED:
        assert report.attribute("region").disparity(measure).verdict is Verdict.PASS


def test_unfair_model_with_big_groups_fails() -> None:
    y, pred, group = _model({"F": 5000, "M": 5000}, {"F": (0.3, 0.5, 0.05),
                                                    "M": FAIR}, 0)
    report = assess(y, pred, {"gender": group}, n_boot=300)
    assert report.verdict is Verdict.FAIL and report.failed
    attribute = report.attribute("gender")
    for measure in (Measure.DISPARATE_IMPACT_RATIO, Measure.DEMOGRAPHIC_PARITY_DIFFERENCE,
                    Measure.EQUALIZED_ODDS_DIFFERENCE, Measure.EQUAL_OPPORTUNITY_DIFFERENCE):
        assert attribute.disparity(measure).verdict is Verdict.FAIL, measure
    assert "disparate_impact_ratio of 'gender'" in report.reason


def test_unfair_but_noisy_model_is_inconclusive_not_failed() -> None:
    # True demographic parity difference 0.12 > 0.1, but 60 rows per group cannot show it.
    y, pred, group = _model({"F": 60, "M": 60}, {"F": (0.3, 0.8, 0.15), "M": FAIR}, 4)
    report = assess(y, pred, {"gender": group}, n_boot=300)
    result = report.attribute("gender").disparity(Measure.DEMOGRAPHIC_PARITY_DIFFERENCE)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "straddles" in result.reason


def test_judge_at_the_edges() -> None:
    dp, di = Measure.DEMOGRAPHIC_PARITY_DIFFERENCE, Measure.DISPARATE_IMPACT_RATIO
    assert judge(dp, 0.05, 0.02, 0.1, 0.1, ())[0] is Verdict.PASS
    assert judge(dp, 0.1, 0.05, 0.15, 0.1, ())[0] is Verdict.INCONCLUSIVE
    assert judge(dp, 0.2, 0.1000001, 0.3, 0.1, ())[0] is Verdict.FAIL
    assert judge(di, 0.9, 0.8, 0.95, 0.8, ())[0] is Verdict.PASS
    assert judge(di, 0.5, 0.4, 0.79, 0.8, ())[0] is Verdict.FAIL
    assert judge(di, 0.5, 0.4, 0.79, 0.8, ("x",))[0] is Verdict.FAIL
    assert judge(di, 0.9, 0.85, 0.95, 0.8, ("x",))[0] is Verdict.INCONCLUSIVE
    assert judge(di, 0.9, None, None, 0.8, ())[0] is Verdict.NOT_JUDGED
    assert judge(di, 0.9, 0.85, 0.95, None, ()) == (
        None, "no threshold in the policy: reported, not judged")


def test_combine() -> None:
    assert combine([Verdict.PASS, Verdict.FAIL, Verdict.NOT_JUDGED]) is Verdict.FAIL
    assert combine([Verdict.PASS, None]) is Verdict.PASS
    assert combine([Verdict.NOT_JUDGED, None]) is Verdict.NOT_JUDGED
    assert combine([Verdict.PASS, Verdict.NOT_JUDGED]) is Verdict.INCONCLUSIVE


def test_policy_defaults_and_overrides() -> None:
    policy = FairnessPolicy()
    assert {str(m): policy.threshold(m) for m in Measure} == {
        "demographic_parity_difference": 0.1, "demographic_parity_ratio": None,
        "equalized_odds_difference": 0.1, "equalized_odds_ratio": None,
        "equal_opportunity_difference": 0.1, "disparate_impact_ratio": 0.8,
        "predictive_parity_difference": 0.1}
    assert dict(DEFAULT_THRESHOLDS) == {m: policy.threshold(m) for m in Measure}
    custom = FairnessPolicy(thresholds={Measure.EQUALIZED_ODDS_RATIO: 0.7})
    assert custom.threshold("equalized_odds_ratio") == 0.7
    assert custom.to_dict()["min_group_size"] == 30


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"thresholds": {"parity": 0.1}}, "Unknown fairness measure 'parity'; use one of"),
    ({"thresholds": {"disparate_impact_ratio": "high"}}, "must be a number or None"),
    ({"min_group_size": 0}, "min_group_size must be an integer >= 1"),
])
def test_policy_rejects_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        FairnessPolicy(**kwargs)  # type: ignore[arg-type]
