"""Report values: the verdict rule, lookups, JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rasad.drift import ColumnDrift, ColumnStatus, Method, compare
from rasad.drift.report import COUNTED, verdict
from rasad.errors import NotFoundError


def column(name: str, status: ColumnStatus, drifted: bool) -> ColumnDrift:
    return ColumnDrift(name=name, status=status, drifted=drifted, reason="")


def test_verdict_needs_one_drifted_column_and_the_share() -> None:
    columns = [column("a", ColumnStatus.TESTED, True), column("b", ColumnStatus.CONSTANT, False),
               column("c", ColumnStatus.TESTED, False), column("d", ColumnStatus.TESTED, False)]
    assert verdict(columns, 0.0)[:4] == (True, 1, 4, 0.25)
    assert verdict(columns, 0.25)[0] is True
    assert verdict(columns, 0.26)[0] is False
    calm = [column("a", ColumnStatus.TESTED, False)]
    assert verdict(calm, 0.0)[0] is False  # share 0 >= 0, but no column drifted


def test_only_columns_with_a_verdict_of_their_own_count() -> None:
    assert COUNTED == {ColumnStatus.TESTED, ColumnStatus.CONSTANT, ColumnStatus.TOO_FEW_VALUES,
                       ColumnStatus.ALL_MISSING}
    columns = [column("a", ColumnStatus.TESTED, True)] + [
        column(s.value, s, False) for s in ColumnStatus if s not in COUNTED]
    assert verdict(columns, 0.5)[:4] == (True, 1, 1, 1.0)


def test_report_renders_every_figure_as_strict_json() -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(size=500), "k": rng.choice(list("ab"), 500),
                              "c": 1.0})
    current = pd.DataFrame({"x": rng.normal(1, size=500), "k": rng.choice(list("abc"), 500),
                            "c": 1.0})
    report = compare(reference, current)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["drifted_columns"] == ["x", "k"]
    x = data["columns"][0]
    assert x["results"][0]["method"] == "ks" and x["results"][0]["p_value"] < 1e-20
    assert len(x["histogram"]["edges"]) == 21
    assert sum(x["histogram"]["reference"]) == pytest.approx(1.0)
    assert data["columns"][1]["new_categories"][0]["category"] == "c"
    assert data["policy"]["correction"] == "benjamini-hochberg"


def test_lookups_name_the_valid_options() -> None:
    report = compare(pd.DataFrame({"x": np.arange(30.0)}), pd.DataFrame({"x": np.arange(30.0)}))
    with pytest.raises(NotFoundError, match="Method 'chi_square' did not run on column 'x'; "
                                            "it ran ks, wasserstein, psi, jensen_shannon"):
        report.column("x").result(Method.CHI_SQUARE)
