"""The drift policy: rules by kind and size, overrides, thresholds, validation."""

from __future__ import annotations

import json

import pytest

from rasad.drift.methods import Method, ValueKind
from rasad.drift.policy import (
    MIN_VALUES,
    Combine,
    Correction,
    DriftPolicy,
    MethodSpec,
    Rule,
)
from rasad.errors import InputError


def test_default_rules_pair_a_test_with_an_effect_size() -> None:
    policy = DriftPolicy()
    expected = {
        ValueKind.NUMERIC: [Method.KS, Method.WASSERSTEIN],
        ValueKind.CATEGORICAL: [Method.CHI_SQUARE, Method.JENSEN_SHANNON],
        ValueKind.BINARY: [Method.Z_TEST, Method.JENSEN_SHANNON],
    }
    for kind, methods in expected.items():
        (rule,) = policy.rules(kind)
        assert [spec.method for spec in rule.methods] == methods
        assert rule.combine is Combine.ALL
        assert rule.min_values == MIN_VALUES
    assert policy.correction is Correction.BENJAMINI_HOCHBERG
    assert policy.drift_share == 0.0 and policy.alpha == 0.05


def test_thresholds_default_to_alpha_for_tests_and_the_table_for_distances() -> None:
    policy = DriftPolicy(alpha=0.01)
    assert policy.threshold(MethodSpec("ks")) == 0.01
    assert policy.threshold(MethodSpec("wasserstein")) == 0.1
    assert policy.threshold(MethodSpec("psi", threshold=0.25)) == 0.25


def test_the_rule_with_the_largest_reached_size_applies() -> None:
    policy = DriftPolicy.evidently_like()
    small, why = policy.rule_for("x", ValueKind.NUMERIC, 1000)
    large, why_large = policy.rule_for("x", ValueKind.NUMERIC, 1001)
    assert small is not None and [s.method for s in small.methods] == [Method.KS]
    assert large is not None and [s.method for s in large.methods] == [Method.WASSERSTEIN]
    assert "1,001 values on the smaller side (rule from 1,001 values)" in why_large
    assert policy.drift_share == 0.5 and policy.correction is Correction.NONE


def test_below_every_rule_no_rule_applies() -> None:
    rule, why = DriftPolicy().rule_for("x", ValueKind.CATEGORICAL, MIN_VALUES - 1)
    assert rule is None
    assert f"no rule applies below {MIN_VALUES} values" in why


def test_an_override_replaces_the_kind_rule_for_its_column_only() -> None:
    policy = DriftPolicy(overrides={"income": MethodSpec("ks", threshold=0.01)})
    rule, why = policy.rule_for("income", ValueKind.NUMERIC, 50)
    assert rule is not None and rule.methods == (MethodSpec(Method.KS, 0.01),)
    assert why == "override for column 'income'"
    other, _ = policy.rule_for("age", ValueKind.NUMERIC, 50)
    assert other == policy.rules(ValueKind.NUMERIC)[0]
    ignored, _ = policy.rule_for("income", ValueKind.BINARY, 50, override=False)
    assert ignored == policy.rules(ValueKind.BINARY)[0]


def test_an_override_that_does_not_fit_the_column_kind_is_an_input_error() -> None:
    policy = DriftPolicy(overrides={"region": "ks"})
    with pytest.raises(InputError, match="'ks' does not apply to categorical columns .*"
                                         "override for column 'region'.*chi_square"):
        policy.rule_for("region", ValueKind.CATEGORICAL, 100)


def test_kind_rules_are_checked_when_the_policy_is_built() -> None:
    with pytest.raises(InputError, match="'chi_square' does not apply to numeric"):
        DriftPolicy(numeric="chi_square")


def test_global_override_with_a_name_or_a_rule() -> None:
    policy = DriftPolicy(numeric="psi", categorical=Rule(["psi", "chi_square"], combine="any"))
    assert policy.rules(ValueKind.NUMERIC)[0].describe() == "psi >= 0.1"
    assert policy.rules(ValueKind.CATEGORICAL)[0].describe() == "psi >= 0.1 or chi_square < alpha"


def test_report_methods_never_repeat_deciding_ones() -> None:
    rule = Rule(["ks"], report=["ks", "psi"])
    assert [s.method for s in rule.report] == [Method.PSI]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"alpha": 0.0}, "alpha=0.0 is not a p-value cut-off"),
    ({"drift_share": -0.1}, "drift_share=-0.1 is not a share"),
    ({"bins": 1}, "bins=1"),
    ({"correction": "holm"}, "Unknown correction 'holm'"),
    ({"numeric": []}, "at least one drift rule"),
])
def test_invalid_policies_name_the_bad_value(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        DriftPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("spec", "message"), [
    (lambda: MethodSpec("kolmogorov"), "Unknown drift method 'kolmogorov'; methods are ks"),
    (lambda: MethodSpec("ks", threshold=5), "p-value cut-off"),
    (lambda: MethodSpec("psi", threshold=0), "must be above 0"),
    (lambda: Rule(["ks"], min_values=-1), "min_values"),
    (lambda: Rule(["ks"], combine="most"), "'all' or 'any'"),
])
def test_invalid_specs_and_rules(spec: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        spec()  # type: ignore[operator]


def test_policy_round_trips_through_json() -> None:
    policy = DriftPolicy(
        numeric=(Rule(["ks"], why="small"), Rule([MethodSpec("wasserstein", 0.2)], min_values=500)),
        overrides={"x": MethodSpec("psi", 0.3)}, correction="bonferroni", drift_share=0.25,
        missing_min_change=0.05, bins=20)
    again = DriftPolicy.from_dict(json.loads(json.dumps(policy.to_dict())))
    assert again == policy
    assert DriftPolicy.from_dict({}) == DriftPolicy()
    with pytest.raises(InputError, match="malformed"):
        DriftPolicy.from_dict({"numeric": [{"combine": "all"}]})
