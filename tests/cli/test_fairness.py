"""``rasad fairness``: exit codes, numbers against Fairlearn, the project path, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, demographic_parity_ratio

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


def _report(path: Path) -> dict[str, Any]:
    """The report inside an assessment written with ``-o``."""
    report: dict[str, Any] = json.loads(path.read_text())["report"]
    return report


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
                 "-o", tmp_path / "f.json", "--html", tmp_path / "f.html")
    assert result.code == 0, str(result)
    report = _report(tmp_path / "f.json")
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
                 "--sensitive", "group", "--n-boot", "200", "-o", tmp_path / "t.json")
    assert result.code == 0, str(result)
    report = _report(tmp_path / "t.json")
    verdicts = {d["verdict"] for d in report["attributes"][0]["disparities"]}
    assert "fail" not in verdicts


def test_numeric_attribute_with_bins(cli: Cli, tmp_path: Path) -> None:
    _scored(3000, {"a": 0.3}).to_csv(tmp_path / "ages.csv", index=False)
    result = cli("fairness", tmp_path / "ages.csv", "--target", "y", "--prediction", "pred",
                 "--sensitive", "age", "--bins", "age=18,30,50,80", "--n-boot", "100",
                 "-o", tmp_path / "a.json")
    assert result.code in (0, 1), str(result)
    (attribute,) = _report(tmp_path / "a.json")["attributes"]
    assert attribute["bins"] == [18, 30, 50, 80]
    assert len(attribute["groups"]) == 3


def test_favorable_flips_every_rate_and_every_report_says_so(cli: Cli, tmp_path: Path) -> None:
    # Label 1 = refused (adverse); approvals run 90% for "a" and 99% for "b".
    rng = np.random.default_rng(4)
    group = rng.choice(["a", "b"], 8000)
    refused = (rng.random(8000) > np.where(group == "a", 0.90, 0.99)).astype(int)
    y = np.where(refused == 1, rng.random(8000) < 0.6, rng.random(8000) < 0.03).astype(int)
    frame = pd.DataFrame({"refused": y, "pred": refused, "group": group})
    frame.to_csv(tmp_path / "credit.csv", index=False)
    args = ["fairness", tmp_path / "credit.csv", "--target", "refused", "--prediction", "pred",
            "--sensitive", "group", "--n-boot", "200"]

    adverse = cli(*args, "-o", tmp_path / "adverse.json")
    assert adverse.code == 1, str(adverse)  # 1% against 10% refusals: ratio about 0.1
    assert next(d for d in _report(tmp_path / "adverse.json")["attributes"][0]
                ["disparities"] if d["measure"] == "disparate_impact_ratio")["value"] < 0.2
    assert "refused = 1 is the favourable outcome (assumed: none declared)" in adverse.out
    assert "pass --favorable 0" in adverse.out

    result = cli(*args, "--favorable", "0", "-o", tmp_path / "f.json",
                 "--html", tmp_path / "f.html")
    # Refusals were drawn regardless of the truth, so equalized odds fails; the four-fifths
    # rule, on approvals, passes.
    assert result.code == 1, str(result)
    assert "rates of" in result.out and "refused = 0" in result.out
    assert "Outcome measured: refused = 0 is the favourable outcome; rates count predictions " \
           "of 0; declared in the --favorable option." in result.out
    assessment = json.loads((tmp_path / "f.json").read_text())
    assert assessment["declared_in"] == "the --favorable option"
    assert assessment["result_id"] is None  # a file: nothing is stored
    report = assessment["report"]
    assert report["outcome"] == {
        "target": "refused", "favorable": 0, "unfavorable": 1, "declared": True,
        "description": "refused = 0 is the favourable outcome; rates count predictions of 0"}
    ratio = next(d for d in report["attributes"][0]["disparities"]
                 if d["measure"] == "disparate_impact_ratio")
    assert ratio["value_all_groups"] == pytest.approx(demographic_parity_ratio(
        frame["refused"] == 0, frame["pred"] == 0, sensitive_features=frame["group"]))
    assert ratio["value"] == pytest.approx(0.91, abs=0.015) and ratio["verdict"] == "pass"
    html = (tmp_path / "f.html").read_text()
    assert "refused = 0" in html and "declared in the --favorable option" in html


@pytest.mark.parametrize(("columns", "args", "fragments"), [
    ({}, ["--target", "nope", "--prediction", "pred", "--sensitive", "group"],
     ["--target 'nope': no such column"]),
    ({}, ["--target", "y", "--prediction", "pred", "--sensitive", "group,nope"],
     ["--sensitive 'nope': no such column"]),
    ({"const": "x"}, ["--target", "y", "--prediction", "pred", "--sensitive", "const"],
     ["Sensitive column 'const' has a single group"]),
    ({"ynan": "nan"}, ["--target", "ynan", "--prediction", "pred", "--sensitive", "group"],
     ["Target column 'ynan' has 1 missing values"]),
    ({}, ["--target", "y", "--prediction", "score", "--sensitive", "group"],
     ["Prediction column 'score' must hold the same two outcomes as target column 'y'",
      "Pass class predictions"]),
    ({}, ["--target", "y", "--prediction", "pred", "--sensitive", "group", "--favorable", "7"],
     ["The favourable outcome '7' never occurs in target column 'y' or prediction column "
      "'pred'; they hold 0, 1."]),
    ({}, ["--target", "y", "--prediction", "pred", "--sensitive", "group", "--favorable", "0",
          "--score", "score"], ["Score column 'score' is high where the prediction is 1",
                                "proba_0"]),
    ({"word": "text"}, ["--target", "word", "--prediction", "word", "--sensitive", "group"],
     ["Target column 'word' holds 'approved', 'refused', not 0/1", "--favorable VALUE"]),
    ({}, ["--target", "y", "--prediction", "pred", "--sensitive", "group", "--bins",
          "age=18,50,80"], ["Bins were given for 'age', which is not among the sensitive "
                            "columns ('group')"]),
    ({}, ["--target", "y", "--prediction", "pred", "--sensitive", "group", "--score", "group"],
     ["Score column 'group' must be numeric"]),
])
def test_errors_name_the_users_columns(cli: Cli, tmp_path: Path, columns: dict[str, str],
                                       args: list[str], fragments: list[str]) -> None:
    frame = _scored(500, {"a": 0.3, "b": 0.3})
    for name, kind in columns.items():
        frame[name] = {"x": "x", "text": np.where(frame["y"] == 1, "refused", "approved"),
                       "nan": frame["y"].where(frame.index != 7)}[kind]
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = cli("fairness", tmp_path / "d.csv", *args, "--n-boot", "100",
                 "-o", tmp_path / "out.json")
    assert_user_error(result, *fragments)
    for internal in ("y_true", "y_pred", "y_score", "sensitive_features", "bins name"):
        assert internal not in result.err, str(result)
    assert not (tmp_path / "out.json").exists()


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
                 "-o", tmp_path / "out.json")
    assert_user_error(result, *([fragment] if fragment else []))
    assert not (tmp_path / "out.json").exists()


def test_model_scores_a_project_dataset(project: Project, capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    from rasad.examples import generate_portfolio
    from rasad.monitoring.results import list_results

    project.add_dataset(generate_portfolio(months=2, rows_per_month=400, seed=2), "loans")
    project.train(dataset="loans", target="default",
                  features=["income", "debt_to_income", "age", "employment_type"],
                  estimator="sklearn.linear_model.LogisticRegression",
                  params={"max_iter": 300}, register_as="credit")
    cli = Cli(capsys, project.root)
    # --json: the assessment on stdout and nothing else; the target is the model's own.
    result = cli("fairness", "--model", "credit@1", "--data", "loans@1",
                 "--sensitive", "gender,nationality", "--n-boot", "100", "--json")
    assert result.code in (0, 1), str(result)
    assessment = result.json()
    assert (assessment["data"], assessment["model"], assessment["dataset"]) == (
        "loans@1 scored by credit@1", "credit@1", "loans@1")
    report = assessment["report"]
    assert [a["name"] for a in report["attributes"]] == ["gender", "nationality"]
    assert report["has_scores"] is True
    assert report["outcome"]["target"] == "default"
    assert report["outcome"]["favorable"] == 1 and report["outcome"]["declared"] is False
    (stored,) = list_results(project.context, kind="fairness")
    assert stored.id == assessment["result_id"] and stored.reference == "credit@1"
    assert stored.alert is (report["verdict"] == "fail")
    assert (result.code == 1) is stored.alert

    # Declared in rasad.yaml: the model's predictions of 0 (approvals) are counted.
    config = project.root / "rasad.yaml"
    config.write_text(config.read_text().replace("favorable_outcomes: {}",
                                                 "favorable_outcomes: {default: 0}"))
    result = cli("fairness", "--model", "credit@1", "--data", "loans@1", "--target", "default",
                 "--sensitive", "gender", "--n-boot", "100", "-o", tmp_path / "y.json",
                 "--html", tmp_path / "y.html")
    assert result.code in (0, 1), str(result)
    assert "declared in rasad.yaml (governance.fairness.favorable_outcomes)" in result.out
    assert "Stored as monitor result" in result.out
    report = _report(tmp_path / "y.json")
    assert report["outcome"]["favorable"] == 0 and report["outcome"]["declared"] is True
    assert "declared in rasad.yaml" in (tmp_path / "y.html").read_text()
    frame = project.load_dataset("loans", 1)
    predicted = project.predict("credit", frame).frame
    assert predicted is not None
    (gender,) = report["attributes"]
    assert next(d for d in gender["disparities"] if d["measure"] == "disparate_impact_ratio"
                )["value_all_groups"] == pytest.approx(demographic_parity_ratio(
                    frame["default"] == 0, predicted["prediction"] == 0,
                    sensitive_features=frame["gender"]))
    approvals = {g["group"]: g["metrics"]["selection_rate"]["value"] for g in gender["groups"]}
    for name, value in approvals.items():
        assert value == pytest.approx((predicted["prediction"][frame["gender"] == name] == 0)
                                      .mean())
    # The score is the favourable class's: roc_auc is the model's own (above chance).
    assert all(g["metrics"]["roc_auc"]["value"] > 0.5 for g in gender["groups"])

    # The protected attributes of rasad.yaml; --no-save stores nothing.
    config.write_text(config.read_text().replace("protected_attributes: []",
                                                 "protected_attributes: [nationality]"))
    overridden = cli("fairness", "--model", "credit@1", "--data", "loans@1", "--n-boot", "100",
                     "--favorable", "1", "--no-save", "-o", tmp_path / "o.json")
    saved = json.loads((tmp_path / "o.json").read_text())
    assert saved["result_id"] is None, str(overridden)
    assert saved["declared_in"] == "the --favorable option"
    assert saved["report"]["outcome"]["favorable"] == 1
    assert [a["name"] for a in saved["report"]["attributes"]] == ["nationality"]
    assert len(list_results(project.context, kind="fairness")) == 2

    assert_user_error(cli("fairness", "--model", "credit@1", "--data", "loans@1", "--target",
                          "default", "--sensitive", "gender", "--favorable", "approved"),
                      "The favourable outcome 'approved' is not a class of model credit@1 "
                      "(classes: 0, 1)")
    assert_user_error(cli("fairness", "--model", "credit@1", "--data", "loans@1",
                          "--sensitive", "gender,religion"),
                      "protected attribute 'religion': no such column in loans@1")
    config.write_text(config.read_text().replace("favorable_outcomes: {default: 0}",
                                                 "favorable_outcomes: {default: [0]}"))
    assert_user_error(cli("fairness", "--model", "credit@1", "--data", "loans@1", "--target",
                          "default", "--sensitive", "gender"),
                      "governance.fairness.favorable_outcomes", "must be one label value")
    assert_user_error(cli("fairness", "--model", "credit@1", "--target", "default",
                          "--sensitive", "gender"), "go together")
    assert len(list_results(project.context, kind="fairness")) == 2


def test_json_flag_prints_only_the_assessment(cli: Cli, tmp_path: Path) -> None:
    _scored(3000, {"a": 0.1, "b": 0.5}).to_csv(tmp_path / "unfair.csv", index=False)
    result = cli("fairness", tmp_path / "unfair.csv", "--target", "y", "--prediction", "pred",
                 "--sensitive", "group", "--n-boot", "100", "--json",
                 "-o", tmp_path / "same.json")
    assert result.code == 1, str(result)  # the exit code still says the check failed
    printed = result.json()
    assert printed == json.loads((tmp_path / "same.json").read_text())
    assert printed["data"] == str(tmp_path / "unfair.csv")
    assert printed["report"]["verdict"] == "fail" and printed["model"] is None


def test_model_assessment_over_the_server(project: Project, capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """With RASAD_URL set, --model/--data runs on the server: the same assessment as on the
    project folder (bins and --favorable included); stored under the token's principal; a
    viewer may assess with --no-save but not store."""
    from tests.api._server import cli_over_server
    from tests.registry._helpers import registered

    registered(project, "credit")
    args = ("fairness", "--model", "credit@1", "--data", "loans@1", "--sensitive",
            "gender,age", "--bins", "age=18,35,50,90", "--favorable", "0", "--n-boot", "100")
    here = Cli(capsys, project.root)(*args, "--no-save", "--json")
    assert here.code in (0, 1), str(here)
    far = Cli(capsys)
    monkeypatch.chdir(tmp_path)
    with cli_over_server(project, monkeypatch) as tokens:
        unsaved = far(*args, "--no-save", "--json")
        assert (unsaved.code, unsaved.json()) == (here.code, here.json())
        assert unsaved.json()["declared_in"] == "the --favorable option"
        stored = far(*args, "--json")
        assert stored.code == here.code, str(stored)
        assert stored.json() == {**here.json(), "result_id": stored.json()["result_id"]}
        [result] = project.fairness_assessments()
        assert (result.id, result.created_by) == (stored.json()["result_id"], "ada")
        monkeypatch.setenv("RASAD_TOKEN", tokens.viewer)
        assert far(*args, "--no-save", "--json").json() == here.json()
        assert_user_error(far(*args), "monitor.write")
    assert project.fairness_assessments() == [result]
