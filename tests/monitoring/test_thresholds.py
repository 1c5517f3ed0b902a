"""Tests for rasad.monitoring.thresholds: spread and fixed bounds, alerts, the extension point."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from rasad.drift.chunking import Chunker
from rasad.errors import InputError
from rasad.monitoring import Bounds, FixedThreshold, StdThreshold, Threshold, track


def test_std_threshold_is_mean_plus_minus_k_population_std() -> None:
    values = [0.81, 0.84, 0.79, 0.86, 0.80]
    bounds = StdThreshold(multiplier=2.5).bounds(values)
    mean, std = np.mean(values), np.std(values)  # ddof=0, as NannyML's nanstd
    assert bounds.lower == pytest.approx(mean - 2.5 * std)
    assert bounds.upper == pytest.approx(mean + 2.5 * std)
    assert bounds.method == "std" and bounds.reason is None


def test_std_threshold_default_multiplier_is_three() -> None:
    assert StdThreshold().multiplier == 3.0
    assert StdThreshold().to_dict() == {"method": "std", "multiplier": 3.0}


def test_std_threshold_skips_missing_values_and_needs_two() -> None:
    bounds = StdThreshold().bounds([0.5, None, math.nan, 0.7])
    assert bounds.lower == pytest.approx(0.6 - 3 * 0.1)
    empty = StdThreshold().bounds([None, 0.9])
    assert (empty.lower, empty.upper) == (None, None)
    assert "at least 2" in (empty.reason or "")
    assert not empty.breached(100.0)


@pytest.mark.parametrize("bad", [-1.0, math.inf, math.nan, True, "3"])
def test_std_threshold_rejects_bad_multiplier(bad: object) -> None:
    with pytest.raises(InputError, match="multiplier"):
        StdThreshold(multiplier=bad)  # type: ignore[arg-type]


def test_fixed_threshold_ignores_the_reference() -> None:
    bounds = FixedThreshold(lower=0.7).bounds([0.1, 0.2, 0.3])
    assert bounds == Bounds(lower=0.7, upper=None, method="fixed")
    assert bounds.alerts([0.69, 0.7, 5.0, None]) == (0,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs a lower or an upper"),
        ({"lower": 0.9, "upper": 0.1}, "above upper"),
        ({"lower": math.nan}, "finite number"),
        ({"upper": "high"}, "finite number"),
    ],
)
def test_fixed_threshold_rejects_bad_bounds(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        FixedThreshold(**kwargs)  # type: ignore[arg-type]


def test_breach_is_strict_and_ignores_missing_values() -> None:
    bounds = Bounds(lower=0.5, upper=0.9, method="fixed")
    assert [bounds.breached(v) for v in (0.5, 0.9, 0.49, 0.91, None, math.nan)] == [
        False, False, True, True, False, False]


def test_clip_limits_bounds_to_the_metric_range() -> None:
    clipped = Bounds(lower=-0.2, upper=1.3, method="std").clip(0.0, 1.0)
    assert (clipped.lower, clipped.upper) == (0.0, 1.0)
    upper_only = Bounds(lower=None, upper=2.0, method="std")
    assert upper_only.clip(0.0, None) == upper_only


def test_bounds_to_dict_is_json() -> None:
    text = json.dumps(StdThreshold().bounds([1.0]).to_dict(), allow_nan=False)
    assert json.loads(text)["lower"] is None


def test_bounds_load_from_their_json_and_round_trip() -> None:
    # As `Bounds.to_dict()` wrote them before bounds were pydantic models.
    old = {"lower": 0.61, "upper": None, "method": "std",
           "reason": "the metric has a value in only 1 reference chunk(s); a spread needs at "
                     "least 2"}
    bounds = Bounds.from_dict(old)
    assert (bounds.lower, bounds.upper, bounds.method) == (0.61, None, "std")
    assert bounds.to_dict() == old
    assert Bounds.from_json(bounds.to_json()) == bounds
    # A non-finite bound is written as null, never NaN.
    assert Bounds(lower=float("nan"), upper=1.0, method="std").to_dict()["lower"] is None


def test_threshold_is_abstract() -> None:
    class Incomplete(Threshold):
        pass

    with pytest.raises(TypeError):
        Incomplete()  # type: ignore[abstract]
    with pytest.raises(TypeError):
        Threshold()  # type: ignore[abstract]


class _Quantiles(Threshold):
    """A custom threshold: the reference's min and max."""

    def bounds(self, reference: Sequence[float | None]) -> Bounds:
        values = [v for v in reference if v is not None]
        return Bounds(lower=min(values), upper=max(values), method="range")


@pytest.mark.parametrize("threshold", [StdThreshold(), FixedThreshold(0.0, 1.0), _Quantiles()])
def test_every_threshold_plugs_into_tracking(threshold: Threshold) -> None:
    # Conformance: each implementation gives Bounds that track() can clip, check and render.
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"y": rng.integers(0, 2, 600)})
    frame["pred"] = np.where(rng.random(600) < 0.8, frame["y"], 1 - frame["y"])
    report = track(frame, frame, task="classification", target="y", prediction="pred",
                   chunker=Chunker(size=100), threshold=threshold)
    for bounds in report.thresholds.values():
        assert isinstance(bounds, Bounds)
        assert bounds.lower is None or 0.0 <= bounds.lower <= 1.0
    json.dumps(report.to_dict(), allow_nan=False)
    assert report.threshold["method"] in {"std", "fixed", "_Quantiles"}
