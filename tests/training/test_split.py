"""Tests for rasad.training.split: sizes, disjointness, determinism, strata and time order."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rasad.errors import InputError
from rasad.training.split import Split, SplitMethod, SplitSpec, split_frame


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = 200
    return pd.DataFrame(
        {
            "x": rng.normal(size=rows),
            "label": rng.choice(["common", "rare"], size=rows, p=[0.85, 0.15]),
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.permutation(rows), unit="D"),
        }
    )


def _covers_all_once(split: Split, rows: int) -> None:
    everything = np.concatenate([split.train, split.validation, split.test])
    assert np.array_equal(np.sort(everything), np.arange(rows))


@pytest.mark.parametrize("method", [SplitMethod.RANDOM, SplitMethod.STRATIFIED, SplitMethod.TIME])
def test_parts_are_disjoint_cover_all_rows_and_have_expected_sizes(frame, method) -> None:
    spec = SplitSpec(method, validation=0.15, test=0.25, time_column="when")
    split = split_frame(frame, spec, target="label", seed=1)
    _covers_all_once(split, len(frame))
    assert split.to_dict() == {"train": 120, "validation": 30, "test": 50}
    json.dumps(split.to_dict())
    for part in (split.train, split.validation, split.test):
        assert np.all(np.diff(part) > 0)
        assert not part.flags.writeable


def test_sizes_round_held_out_parts_up() -> None:
    frame = pd.DataFrame({"y": range(11)})
    split = split_frame(frame, SplitSpec(SplitMethod.RANDOM, validation=0.1, test=0.1), "y", seed=0)
    assert split.to_dict() == {"train": 7, "validation": 2, "test": 2}


def test_zero_fractions_give_empty_parts(frame) -> None:
    split = split_frame(
        frame, SplitSpec(SplitMethod.STRATIFIED, validation=0.0, test=0.3), "label", seed=0
    )
    assert split.to_dict() == {"train": 140, "validation": 0, "test": 60}
    assert split.validation.dtype == np.intp


@pytest.mark.parametrize("method", [SplitMethod.RANDOM, SplitMethod.STRATIFIED])
def test_same_seed_same_split_other_seed_other_split(frame, method) -> None:
    spec = SplitSpec(method)
    first = split_frame(frame, spec, "label", seed=3)
    again = split_frame(frame.copy(), spec, "label", seed=3)
    other = split_frame(frame, spec, "label", seed=4)
    for name in ("train", "validation", "test"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.test, other.test)


def test_stratified_keeps_class_proportions(frame) -> None:
    labels = frame["label"].to_numpy()
    overall = np.mean(labels == "rare")
    for seed in range(5):
        split = split_frame(frame, SplitSpec(SplitMethod.STRATIFIED), "label", seed=seed)
        for part in (split.train, split.validation, split.test):
            assert np.mean(labels[part] == "rare") == pytest.approx(overall, abs=0.02)


def test_random_split_does_not_keep_proportions_exactly(frame) -> None:
    labels = frame["label"].to_numpy()
    overall = np.mean(labels == "rare")
    gaps = []
    for seed in range(5):
        split = split_frame(frame, SplitSpec(SplitMethod.RANDOM), "label", seed=seed)
        gaps.append(abs(np.mean(labels[split.test] == "rare") - overall))
    assert max(gaps) > 0.02  # the stratified test above is not passing by luck


def test_stratified_too_small_class_suggests_random() -> None:
    frame = pd.DataFrame({"y": ["a"] * 9 + ["b"]})
    with pytest.raises(InputError) as info:
        split_frame(frame, SplitSpec(SplitMethod.STRATIFIED), "y", seed=0)
    message = str(info.value)
    assert "class 'b' has only 1 row" in message and "'random'" in message


def test_stratified_parts_smaller_than_class_count_suggest_random() -> None:
    frame = pd.DataFrame({"y": list("abcde") * 2})
    with pytest.raises(InputError, match="Cannot stratify on 'y'.*split method 'random'"):
        split_frame(frame, SplitSpec(SplitMethod.STRATIFIED, validation=0.1, test=0.1), "y", seed=0)


def test_stratified_refuses_missing_target() -> None:
    frame = pd.DataFrame({"y": ["a", "b", None, "a", "b", "a", "b", "a"]})
    with pytest.raises(InputError, match="missing on 1 rows"):
        split_frame(frame, SplitSpec(SplitMethod.STRATIFIED), "y", seed=0)


def test_time_split_trains_on_oldest_and_tests_on_newest(frame) -> None:
    split = split_frame(frame, SplitSpec(SplitMethod.TIME, time_column="when"), "label", seed=0)
    when = frame["when"]
    assert when.iloc[split.train].max() < when.iloc[split.validation].min()
    assert when.iloc[split.validation].max() < when.iloc[split.test].min()
    assert np.array_equal(split.test, np.sort(np.argsort(when.to_numpy())[-40:]))


def test_time_split_ignores_seed_and_parses_text_times() -> None:
    frame = pd.DataFrame(
        {
            "day": ["2024-03-01", "2024-01-15", "2024-02-10", "2023-12-31", "2024-04-02"],
            "y": range(5),
        }
    )
    spec = SplitSpec("time", validation=0.2, test=0.2, time_column="day")
    first = split_frame(frame, spec, "y", seed=0)
    assert first.test.tolist() == [4] and first.validation.tolist() == [0]
    assert (
        split_frame(frame, spec, "y", seed=99).train.tolist() == first.train.tolist() == [1, 2, 3]
    )


def test_time_split_keeps_equal_times_in_row_order() -> None:
    frame = pd.DataFrame({"t": [1, 1, 1, 1, 1], "y": range(5)})
    split = split_frame(
        frame, SplitSpec("time", validation=0.2, test=0.2, time_column="t"), "y", seed=0
    )
    assert (split.train.tolist(), split.validation.tolist(), split.test.tolist()) == (
        [0, 1, 2],
        [3],
        [4],
    )


@pytest.mark.parametrize(
    ("column", "fragment"),
    [
        ([1.0, None, 3.0, 4.0, 5.0], "missing on 1 rows"),
        (["soon", "later", "now", "then", "never"], "not times"),
    ],
)
def test_time_split_refuses_bad_time_values(column, fragment) -> None:
    frame = pd.DataFrame({"t": column, "y": range(5)})
    with pytest.raises(InputError) as info:
        split_frame(frame, SplitSpec("time", time_column="t"), "y", seed=0)
    assert fragment in str(info.value)


def test_missing_columns_are_named(frame) -> None:
    with pytest.raises(
        InputError, match="Target 'price' is not a column of the frame; columns are x, label, when."
    ):
        split_frame(frame, SplitSpec("random"), "price", seed=0)
    with pytest.raises(InputError, match="Time column 'day' is not a column of the frame"):
        split_frame(frame, SplitSpec("time", time_column="day"), "label", seed=0)


def test_too_few_rows_for_the_fractions() -> None:
    with pytest.raises(InputError, match="has 2 rows"):
        split_frame(pd.DataFrame({"y": [0, 1]}), SplitSpec("random"), "y", seed=0)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (
            {"method": "shuffle"},
            "Unknown split method 'shuffle'; choose one of random, stratified, time",
        ),
        ({"method": "random", "test": 1.0}, "test=1.0 must be a number in [0, 1)"),
        ({"method": "random", "validation": -0.1}, "validation=-0.1"),
        ({"method": "random", "validation": True}, "validation=True"),
        ({"method": "random", "validation": 0.6, "test": 0.4}, "leave no rows for training"),
        ({"method": "time"}, "A time split needs a time column"),
    ],
)
def test_spec_validation(kwargs, fragment) -> None:
    with pytest.raises(InputError) as info:
        SplitSpec(**kwargs)
    assert fragment in str(info.value)


def test_spec_accepts_method_names_and_is_frozen() -> None:
    spec = SplitSpec("Stratified")
    assert spec.method is SplitMethod.STRATIFIED
    assert spec.to_dict() == {
        "method": "stratified",
        "validation": 0.2,
        "test": 0.2,
        "time_column": None,
    }
    with pytest.raises(AttributeError):
        spec.test = 0.5  # type: ignore[misc]
