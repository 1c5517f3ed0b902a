"""``rasad fairness``: exit codes, numbers against Fairlearn, the project path, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference

from rasad import Project

from ._helpers import Cli, assert_user_error


def _scored(n: int, rates: dict[str, float], seed: int = 0, tiny: int = 0) -> pd.DataFrame:
    """Labels, predictions and scores with a known selection rate per group."""
    rng = np.random.default_rng(seed)
    groups = np.array(list(rates))
    group = rng.choice(groups, n)
    if tiny:
        group[:tiny] = "tiny"
    rate = np.array([rates.get(g, np.mean(list(rates.values()))) for g in group])
    y = (rng.random(n) < 0.3).astype(int)
    pred = (rng.random(n) < rate).astype(int)
    return pd.DataFrame({"y": y, "pred": pred, "score": np.clip(pred * 0.6 + rng.random(n)
                                                                 * 0.4, 0, 1),
                         "group": group, "age": rng.integers(18, 80, n)})


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli(capsys)


def test_fair_data_passes_and_numbers_equal_fairlearn(cli: Cli, tmp_path: Path) -> None:
    frame = _scored(6000, {"a": 0.3, "b": 0.3})
    frame.to_csv(tmp_path / "fair.csv", index=False)
    result = cli("fairness", tmp_path / "fair.csv", "--target", "y", "--prediction", "pred",
                 "--score", "score", "--sensitive", "group", "--n-boot", "200",
                 "--json", tmp_path / "f.json", "--html", tmp_path / "f.html")
    assert result.code == 0, str(result)
    report = json.loads((tmp_path / "f.json").read_text())
    (attribute,) = report["attributes"]
    dpd = next(d for d in attribute["disparities"]
               if d["measure"] == "demographic_parity_difference")
    assert dpd["value"] == pytest.approx(demographic_parity_difference(
        frame["y"], frame["pred"], sensitive_features=frame["group"]))
    assert dpd["verdict"] == "pass"
    assert "interval" in (tmp_path / "f.html").read_text()


def test_unfair_data_fails_with_exit_1(cli: Cli, tmp_path: Path) -> None:
    _scored(6000, {"a": 0.1, "b": 0.5}).to_csv(tmp_path / "unfair.csv", index=False)
    result = cli("fairness", tmp_path / "unfair.csv", "--target", "y", "--prediction", "pred",
                 "--sensitive", "group", "--n-boot", "200")
    assert result.code == 1, str(result)
    assert "Overall: fail" in result.out


def test_a_tiny_group_is_not_failed(cli: Cli, tmp_path: Path) -> None:
    # Fair in truth, with a group of 12 rows: never "fail".
    frame = _scored(4000, {"a": 0.3, "b": 0.3}, tiny=12)
    frame.to_csv(tmp_path / "tiny.csv", index=False)
    result = cli("fairness", tmp_path / "tiny.csv", "--target", "y", "--prediction", "pred",
                 "--sensitive", "group", "--n-boot", "200", "--json", tmp_path / "t.json")
    assert result.code == 0, str(result)
    report = json.loads((tmp_path / "t.json").read_text())
    verdicts = {d["verdict"] for d in report["attributes"][0]["disparities"]}
    assert "fail" not in verdicts


def test_numeric_attribute_with_bins(cli: Cli, tmp_path: Path) -> None:
    _scored(3000, {"a": 0.3}).to_csv(tmp_path / "ages.csv", index=False)
    result = cli("fairness", tmp_path / "ages.csv", "--target", "y", "--prediction", "pred",
                 "--sensitive", "age", "--bins", "age=18,30,50,80", "--n-boot", "100",
                 "--json", tmp_path / "a.json")
    assert result.code in (0, 1), str(result)
    (attribute,) = json.loads((tmp_path / "a.json").read_text())["attributes"]
    assert attribute["bins"] == [18, 30, 50, 80]
    assert len(attribute["groups"]) == 3


@pytest.mark.parametrize(("args", "fragment"), [
    (["--prediction", "pred", "--sensitive", "nope"], "'nope'"),
    (["--prediction", "pred"], "--sensitive"),
    (["--prediction", "pred", "--sensitive", "group", "--bins", "age"], "COLUMN=EDGE"),
    (["--sensitive", "group"], "--prediction"),
    (["--prediction", "y3", "--sensitive", "group"], ""),
])
def test_bad_input_exits_2(cli: Cli, tmp_path: Path, args: list[str], fragment: str) -> None:
    frame = _scored(500, {"a": 0.3, "b": 0.3})
    frame["y3"] = np.arange(len(frame)) % 3  # not binary
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = cli("fairness", tmp_path / "d.csv", "--target", "y", *args,
                 "--json", tmp_path / "out.json")
    assert_user_error(result, *([fragment] if fragment else []))
    assert not (tmp_path / "out.json").exists()


def test_model_scores_a_project_dataset(project: Project, capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    from rasad.examples import generate_portfolio

    project.add_dataset(generate_portfolio(months=2, rows_per_month=400, seed=2), "loans")
    project.train(dataset="loans", target="default",
                  features=["income", "debt_to_income", "age", "employment_type"],
                  estimator="sklearn.linear_model.LogisticRegression",
                  params={"max_iter": 300}, register_as="credit")
    cli = Cli(capsys, project.root)
    result = cli("fairness", "--model", "credit@1", "--data", "loans@1", "--target", "default",
                 "--sensitive", "gender,nationality", "--n-boot", "100",
                 "--json", tmp_path / "m.json")
    assert result.code in (0, 1), str(result)
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["data"] == "loans@1 scored by credit@1"
    assert [a["name"] for a in report["attributes"]] == ["gender", "nationality"]
    assert report["has_scores"] is True
    assert_user_error(cli("fairness", "--model", "credit@1", "--target", "default",
                          "--sensitive", "gender"), "go together")
