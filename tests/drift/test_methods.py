"""The method table and the typed result."""

from __future__ import annotations

import json
import math

import pytest

from rasad.drift.methods import (
    METHODS,
    Direction,
    Method,
    MethodKind,
    MethodResult,
    ValueKind,
    finite,
    flags,
)


def test_every_method_is_in_the_table_with_a_consistent_direction() -> None:
    assert set(METHODS) == set(Method)
    for method, info in METHODS.items():
        assert info.method is method
        assert info.value_kinds
        if info.kind is MethodKind.P_VALUE:
            assert info.default_threshold is None  # p-value tests take the policy's alpha
            assert info.direction is Direction.BELOW
        else:
            assert info.default_threshold is not None and info.default_threshold > 0
            assert info.direction is Direction.AT_LEAST


def test_numeric_and_categorical_methods_are_kept_apart() -> None:
    numeric_only = {m for m, i in METHODS.items() if i.value_kinds == {ValueKind.NUMERIC}}
    assert numeric_only == {Method.KS, Method.WASSERSTEIN, Method.ANDERSON_DARLING,
                            Method.CRAMER_VON_MISES}
    assert METHODS[Method.Z_TEST].value_kinds == {ValueKind.BINARY}


def test_flags_follows_the_direction_and_never_flags_nan() -> None:
    assert flags(MethodKind.P_VALUE, 0.049, 0.05)
    assert not flags(MethodKind.P_VALUE, 0.05, 0.05)
    assert flags(MethodKind.DISTANCE, 0.1, 0.1)
    assert not flags(MethodKind.DISTANCE, 0.099, 0.1)
    assert not flags(MethodKind.P_VALUE, math.nan, 0.05)
    assert not flags(MethodKind.DISTANCE, math.nan, 0.1)


def test_result_compares_the_adjusted_p_value_and_renders_json() -> None:
    result = MethodResult(method=Method.KS, kind=MethodKind.P_VALUE, statistic=0.2,
                          p_value=0.01, threshold=0.05, drifted=False, adjusted_p_value=0.08)
    assert result.value == 0.08
    assert result.describe() == "ks adjusted p=0.08 >= 0.05"
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["p_value"] == 0.01 and data["adjusted_p_value"] == 0.08
    assert MethodResult.from_dict(data) == result
    distance = MethodResult(method=Method.PSI, kind=MethodKind.DISTANCE, statistic=math.inf,
                            p_value=None, threshold=0.1, drifted=True)
    assert distance.to_dict()["statistic"] is None  # JSON has no infinity
    assert distance.describe() == "psi inf >= 0.1"


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf])
def test_finite_maps_missing_figures_to_none(value: float | None) -> None:
    assert finite(value) is None
