"""Groups: categorical columns, binning of numeric ones, missing values, intersections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rasad.errors import InputError
from rasad.governance.fairness import MISSING_LABEL, AttributeKind, assess, encode


def test_user_bins_are_left_closed_with_the_last_closed() -> None:
    frame = pd.DataFrame({"age": [18, 24.9, 25, 64, 65, 120]})
    [age] = encode(frame, bins={"age": [18, 25, 35, 50, 65, 120]})
    assert age.kind is AttributeKind.BINNED and age.bins_source == "user"
    assert age.labels == ("[18, 25)", "[25, 35)", "[50, 65)", "[65, 120]")  # [35, 50) empty
    assert [age.labels[c] for c in age.codes] == [
        "[18, 25)", "[18, 25)", "[25, 35)", "[50, 65)", "[65, 120]", "[65, 120]"]
    assert age.bins == (18.0, 25.0, 35.0, 50.0, 65.0, 120.0)


def test_numeric_columns_with_many_values_default_to_quartiles() -> None:
    ages = pd.Series(np.arange(20, 100), name="age")
    [age] = encode(ages)
    assert age.bins_source == "quartiles"
    assert age.bins == (20.0, 39.75, 59.5, 79.25, 99.0)
    assert np.bincount(age.codes).tolist() == [20, 20, 20, 20]
    assert age.labels[-1] == "[79.25, 99]"


def test_numeric_columns_with_few_values_are_categories() -> None:
    [flag] = encode(pd.DataFrame({"flag": [0, 1, 1, 0, 1]}))
    assert flag.kind is AttributeKind.CATEGORICAL and flag.labels == ("0", "1")


def test_missing_values_form_their_own_group() -> None:
    frame = pd.DataFrame({"g": ["F", None, "M", "F"],
                          "age": [20.0, np.nan, 40.0, 60.0]})
    g, age = encode(frame, bins={"age": [18, 30, 70]})
    assert g.labels == (MISSING_LABEL, "F", "M")
    assert age.labels == ("[18, 30)", "[30, 70]", MISSING_LABEL)
    assert age.codes.tolist() == [0, 2, 1, 1]


def test_binned_attribute_in_a_report_lists_its_bins() -> None:
    rng = np.random.default_rng(0)
    age = rng.integers(18, 80, 3000)
    y, pred = rng.integers(0, 2, 3000), rng.integers(0, 2, 3000)
    attribute = assess(y, pred, pd.DataFrame({"age": age}), n_boot=100).attribute("age")
    assert attribute.to_dict()["bins_source"] == "quartiles"
    assert len(attribute.to_dict()["bins"]) == 5
    assert sum(g.count for g in attribute.groups) == 3000


@pytest.mark.parametrize(("frame", "bins", "message"), [
    (pd.DataFrame({"age": [17, 30]}), {"age": [18, 65]},
     "1 values of sensitive column 'age' fall outside the bins [18, 65] (for example 17); "
     "widen the first or last edge."),
    (pd.DataFrame({"age": [20, 30]}), {"age": [18, 18, 65]}, "strictly increasing"),
    (pd.DataFrame({"age": [20, 30]}), {"age": [18]}, "at least two finite"),
    (pd.DataFrame({"age": [20, 30]}), {"age": ["a", "b"]}, "must be a list of numbers"),
    (pd.DataFrame({"g": ["F", "M"]}), {"g": [0, 1]}, "bins were given for sensitive column "
     "'g', but it is not numeric"),
    (pd.DataFrame({"g": ["F", "F"]}), None, "Sensitive column 'g' has a single group ('F')"),
    (pd.DataFrame({"g": [None, None]}), None, "single group ('(missing)')"),
])
def test_bad_groups_raise(frame: pd.DataFrame, bins: dict[str, list[object]] | None,
                          message: str) -> None:
    with pytest.raises(InputError) as caught:
        encode(frame, bins=bins)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_intersection_keeps_only_combinations_that_occur() -> None:
    frame = pd.DataFrame({"g": ["F", "M", "M", "F"], "n": ["SA", "SA", "EG", "SA"]})
    *_, both = encode(frame, intersections=True)
    assert both.name == "g & n" and both.kind is AttributeKind.INTERSECTION
    assert both.labels == ("F | SA", "M | EG", "M | SA")
    assert both.codes.tolist() == [0, 2, 1, 0]


def test_a_single_attribute_has_no_intersection() -> None:
    assert len(encode(pd.Series(["a", "b"], name="x"), intersections=True)) == 1


def test_two_dimensional_arrays_name_their_columns() -> None:
    names = [a.name for a in encode(np.array([["a", "x"], ["b", "y"]]))]
    assert names == ["sensitive_0", "sensitive_1"]
