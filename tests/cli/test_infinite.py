"""Infinite values are named as infinite by ``data show``, ``train`` and ``predict``.

They used to be "non-numeric" (which sends a user looking for text in a column of
numbers), and one ``inf`` blanked a column's whole profile.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rasad import Project

from ._helpers import (
    Cli,
    add_and_train,
    assert_user_error,
    portfolio,
    snapshot,
    train_args,
    write_csv,
)


def infinite_portfolio() -> pd.DataFrame:
    frame = portfolio()
    frame.loc[[3, 7], "income"] = np.inf
    frame.loc[5, "debt_to_income"] = -np.inf
    return frame


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, project.root)


def test_data_show_counts_infinite_values_next_to_missing(rasad: Cli, tmp_path: Path) -> None:
    rasad.ok("data", "add", write_csv(tmp_path / "inf.csv", infinite_portfolio()), "--name", "bad")
    shown = rasad.ok("data", "show", "bad").out
    header = next(line for line in shown.splitlines() if "column" in line and "kind" in line)
    assert header.index("missing") < header.index("infinite") < header.index("distinct")
    income = next(line for line in shown.splitlines() if "│ income " in line)
    assert "2 (0.3%)" in income
    assert "min 883" in income  # the finite values still have a profile
    profile = {c["name"]: c for c in rasad.ok("data", "show", "bad", "--json").json()["profile"]
               ["columns"]}
    assert (profile["income"]["infinite"], profile["debt_to_income"]["infinite"]) == (2, 1)
    assert profile["income"]["infinite_share"] == pytest.approx(2 / 600)
    assert profile["income"]["missing"] == 0 and profile["income"]["min"] == 883.0
    assert profile["age"]["infinite"] == 0


def test_data_show_has_no_infinite_column_for_ordinary_data(rasad: Cli, tmp_path: Path) -> None:
    rasad.ok("data", "add", write_csv(tmp_path / "loans.csv"), "--name", "loans")
    shown = rasad.ok("data", "show", "loans").out
    header = next(line for line in shown.splitlines() if "column" in line and "kind" in line)
    assert "missing" in header and "infinite" not in header


def test_train_refuses_infinite_features_before_any_run(rasad: Cli, project: Project,
                                                        tmp_path: Path) -> None:
    rasad.ok("data", "add", write_csv(tmp_path / "inf.csv", infinite_portfolio()),
             "--name", "loans")
    before = snapshot(project)
    result = rasad(*train_args())
    assert_user_error(result, "'income' (2)", "'debt_to_income' (1)", "infinite values")
    assert "non-numeric" not in result.err
    assert snapshot(project) == before  # no run, no event, no blob


def test_predict_names_infinite_values(rasad: Cli, tmp_path: Path) -> None:
    add_and_train(rasad, write_csv(tmp_path / "loans.csv"))
    scoring = portfolio().drop(columns=["default"])
    scoring.loc[[1, 2], "income"] = [np.inf, -np.inf]
    out = tmp_path / "scored.csv"
    result = rasad("predict", "credit", write_csv(tmp_path / "in.csv", scoring), "--version", "1",
                   "-o", out)
    assert_user_error(result, "column 'income' has 2 infinite values (e.g. 'inf', '-inf')",
                      "Replace the infinite values")
    assert "non-numeric" not in result.err
    assert not out.exists()

    # Text and infinity in one column: each named for what it is.
    mixed = scoring.astype({"income": object})
    mixed.loc[4, "income"] = "lots"
    result = rasad("predict", "credit", write_csv(tmp_path / "mixed.csv", mixed), "--version",
                   "1", "-o", out)
    assert_user_error(result, "column 'income' has 1 non-numeric value (e.g. 'lots')",
                      "column 'income' has 2 infinite values")
