"""`rasad performance track` (labels) and `rasad performance estimate` (no labels needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from rasad import Project
from rasad.monitoring import EstimationReport, PerformanceReport
from rasad.monitoring.results import list_results, load_payload

from ._helpers import Cli, assert_user_error, snapshot

CLASSIFICATION = ("--target", "default", "--prediction", "decision", "--score", "score",
                  "--chunk-size", "500")
REGRESSION = ("--task", "regression", "--target", "amount", "--prediction", "predicted",
              "--chunk-size", "500")


def _applications(rng: np.random.Generator, rows: int, shift: float) -> pd.DataFrame:
    """A calibrated logistic score, a decision at 0.5, the outcome; ``shift`` moves x only
    (covariate shift: P(default | x) is unchanged)."""
    x = rng.normal(shift, 1.0, rows)
    score = 1 / (1 + np.exp(-2 * x))
    return pd.DataFrame({"x": x, "default": (rng.random(rows) < score).astype(int),
                         "score": score, "decision": (score >= 0.5).astype(int)})


def _claims(rng: np.random.Generator, rows: int, shift: float) -> pd.DataFrame:
    """A regression whose error grows with |x|; ``shift`` moves x."""
    x = rng.normal(shift, 1.0, rows)
    amount = 100 + 20 * x + rng.normal(0, 5 + 5 * np.abs(x), rows)
    return pd.DataFrame({"x": x, "amount": amount, "predicted": 100 + 20 * x})


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("performance")
    rng = np.random.default_rng(7)
    frames = {
        "reference": _applications(rng, 3000, 0.0),
        "current": _applications(rng, 1500, 1.2),
        "claims_reference": _claims(rng, 2000, 0.0),
        "claims_current": _claims(rng, 1500, 1.0),
    }
    frames["unlabelled"] = frames["current"].drop(columns="default")
    frames["claims_unlabelled"] = frames["claims_current"].drop(columns="amount")
    paths = {}
    for name, frame in frames.items():
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


@pytest.fixture
def rasad(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
          tmp_path: Path) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli(capsys)


def _chunks(frame: pd.DataFrame, size: int = 500) -> list[pd.DataFrame]:
    return [frame.iloc[start:start + size] for start in range(0, len(frame), size)]


def _classification(chunk: pd.DataFrame) -> dict[str, float]:
    y, p = chunk["default"], chunk["decision"]
    return {"accuracy": skm.accuracy_score(y, p), "precision": skm.precision_score(y, p),
            "recall": skm.recall_score(y, p), "f1": skm.f1_score(y, p),
            "roc_auc": skm.roc_auc_score(y, chunk["score"])}


def _regression(chunk: pd.DataFrame) -> dict[str, float]:
    y, p = chunk["amount"], chunk["predicted"]
    return {"rmse": float(np.sqrt(skm.mean_squared_error(y, p))),
            "mae": skm.mean_absolute_error(y, p),
            "mape": skm.mean_absolute_percentage_error(y, p), "r2": skm.r2_score(y, p)}


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# --- track ----------------------------------------------------------------------------------


def test_track_classification_equals_sklearn(rasad: Cli, data: dict[str, Path],
                                             tmp_path: Path) -> None:
    target = tmp_path / "track.json"
    result = rasad.ok("performance", "track", data["reference"], data["current"],
                      *CLASSIFICATION, "-o", target)
    report = _read(target)
    assert report["kind"] == "performance_tracking"
    assert report["metrics"] == ["accuracy", "precision", "recall", "f1", "roc_auc"]
    reference, current = pd.read_csv(data["reference"]), pd.read_csv(data["current"])
    for side, frame in (("reference", reference), ("current", current)):
        chunks = report[side]
        assert [(c["key"], c["rows"], c["status"]) for c in chunks] == [
            (f"[{i}:{i + 500}]", 500, "ok") for i in range(0, len(frame), 500)]
        for chunk, part in zip(chunks, _chunks(frame), strict=True):
            for metric, expected in _classification(part).items():
                assert chunk["metrics"][metric]["value"] == pytest.approx(expected, abs=1e-12), (
                    side, chunk["key"], metric)

    # Thresholds: mean +- 3 population standard deviations of the reference chunks,
    # clipped to [0, 1]; an alert is a value strictly outside them.
    for metric in report["metrics"]:
        values = np.array([c["metrics"][metric]["value"] for c in report["reference"]])
        bounds = report["thresholds"][metric]
        assert bounds["lower"] == pytest.approx(max(0.0, values.mean() - 3 * values.std()))
        assert bounds["upper"] == pytest.approx(min(1.0, values.mean() + 3 * values.std()))
    alerts = []
    for chunk in report["current"]:
        for metric in report["metrics"]:
            bounds = report["thresholds"][metric]
            value = chunk["metrics"][metric]["value"]
            outside = not bounds["lower"] <= value <= bounds["upper"]
            assert chunk["metrics"][metric]["alert"] is outside, (chunk["key"], metric)
            if outside:
                alerts.append({"chunk": chunk["key"], "metric": metric})
    assert alerts and report["alerts"] == alerts
    assert report["summary"]["alerts"] == len(alerts)
    assert f"{len(alerts)} alert(s) in" in result.out
    first = report["current"][0]["metrics"]["accuracy"]
    mark = "!" if first["alert"] else ""
    assert f"{first['value']:.4f}{mark}" in result.out


def test_track_regression_equals_sklearn(rasad: Cli, data: dict[str, Path],
                                         tmp_path: Path) -> None:
    target = tmp_path / "track.json"
    rasad.ok("performance", "track", data["claims_reference"], data["claims_current"],
             *REGRESSION, "-o", target)
    report = _read(target)
    assert report["metrics"] == ["rmse", "mae", "mape", "r2"]
    current = pd.read_csv(data["claims_current"])
    assert len(report["current"]) == 3
    for chunk, part in zip(report["current"], _chunks(current), strict=True):
        for metric, expected in _regression(part).items():
            assert chunk["metrics"][metric]["value"] == pytest.approx(expected, rel=1e-12), (
                chunk["key"], metric)


def test_fail_on_alert(rasad: Cli, data: dict[str, Path]) -> None:
    shifted = rasad("performance", "track", data["reference"], data["current"],
                    *CLASSIFICATION, "--fail-on-alert")
    assert shifted.code == 1, str(shifted)
    assert "Traceback" not in shifted.out + shifted.err
    # The reference chunks against themselves: six values can lie at most sqrt(5) population
    # standard deviations from their mean, so no chunk can alert.
    calm = rasad("performance", "track", data["reference"], data["reference"],
                 *CLASSIFICATION, "--fail-on-alert")
    assert calm.code == 0, str(calm)
    assert "0 alert(s) in 0 of 6 chunks" in calm.out
    estimated = rasad("performance", "estimate", data["reference"], data["unlabelled"],
                      *CLASSIFICATION, "--fail-on-alert")
    assert estimated.code == 1, str(estimated)


# --- estimate -------------------------------------------------------------------------------


def test_estimate_against_realized(rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "estimate.json"
    rasad.ok("performance", "estimate", data["reference"], data["current"], *CLASSIFICATION,
             "-o", target)
    report = _read(target)
    assert report["kind"] == "performance_estimation"
    assert report["metrics"] == ["accuracy", "precision", "recall", "f1", "roc_auc"]
    assert len(report["reference"]) == 6
    current = pd.read_csv(data["current"])
    errors: dict[str, list[float]] = {metric: [] for metric in report["metrics"]}
    for chunk, part in zip(report["current"], _chunks(current), strict=True):
        assert chunk["rows"] == 500
        realized = _classification(part)
        for metric, entry in chunk["metrics"].items():
            assert entry["realized"] == pytest.approx(realized[metric], abs=1e-12)
            assert entry["band_lower"] <= entry["estimate"] <= entry["band_upper"]
            assert entry["std"] > 0
            errors[metric].append(abs(entry["estimate"] - entry["realized"]))
    for metric, values in errors.items():
        assert report["estimation_error"][metric] == pytest.approx(np.mean(values), abs=1e-12)
    # Covariate shift with a calibrated score: CBPE's home ground.
    assert report["estimation_error"]["roc_auc"] < 0.05
    assert report["estimation_error"]["accuracy"] < 0.03


def test_estimate_without_labels(rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "estimate.json"
    labelled = tmp_path / "labelled.json"
    rasad.ok("performance", "estimate", data["reference"], data["unlabelled"], *CLASSIFICATION,
             "-o", target)
    rasad.ok("performance", "estimate", data["reference"], data["current"], *CLASSIFICATION,
             "-o", labelled)
    blind, seen = _read(target), _read(labelled)
    assert len(blind["current"]) == 3
    for chunk, other in zip(blind["current"], seen["current"], strict=True):
        for metric, entry in chunk["metrics"].items():
            assert entry["realized"] is None
            # The labels play no part in the estimate itself.
            assert entry["estimate"] == pytest.approx(other["metrics"][metric]["estimate"],
                                                      abs=1e-12)


def test_estimate_regression(rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "estimate.json"
    rasad.ok("performance", "estimate", data["claims_reference"], data["claims_current"],
             *REGRESSION, "--features", "x", "-o", target)
    report = _read(target)
    assert report["metrics"] == ["mae", "rmse"]
    current = pd.read_csv(data["claims_current"])
    assert len(report["current"]) == 3
    for chunk, part in zip(report["current"], _chunks(current), strict=True):
        realized = _regression(part)
        for metric in ("mae", "rmse"):
            entry = chunk["metrics"][metric]
            assert entry["realized"] == pytest.approx(realized[metric], rel=1e-12)
            assert entry["estimate"] == pytest.approx(realized[metric], rel=0.25)


# --- bad input ------------------------------------------------------------------------------


def test_estimate_needs_score(rasad: Cli, data: dict[str, Path], tmp_path: Path) -> None:
    result = rasad("performance", "estimate", data["reference"], data["unlabelled"],
                   "--target", "default", "--prediction", "decision", "-o",
                   tmp_path / "e.json")
    assert_user_error(result, "needs a score column (--score)")
    assert not (tmp_path / "e.json").exists()


def test_regression_estimate_needs_features(rasad: Cli, data: dict[str, Path],
                                            tmp_path: Path) -> None:
    result = rasad("performance", "estimate", data["claims_reference"],
                   data["claims_unlabelled"], *REGRESSION, "-o", tmp_path / "e.json")
    assert_user_error(result, "input columns (--features)")
    assert not (tmp_path / "e.json").exists()


@pytest.mark.parametrize(("args", "fragment"), [
    (("track", "{reference}", "{missing}", "--target", "default", "--prediction", "decision"),
     "no such file"),
    (("track", "{reference}", "{current}", "--target", "outcome", "--prediction", "decision"),
     "'outcome'"),
    (("track", "{reference}", "{current}", "--target", "default", "--prediction", "decision",
      "--task", "ranking"), "'ranking'"),
    (("estimate", "{reference}", "{current}", "--target", "default", "--prediction",
      "decision", "--score", "score", "--task", "ranking"), "'ranking'"),
    (("track", "{reference}", "{current}", "--target", "default", "--prediction", "decision",
      "--chunk-size", "100", "--chunk-number", "3"), "not size and number"),
    (("track", "{reference}", "{current}", "--target", "default", "--prediction", "decision",
      "--chunk-period", "week"), "needs a time column"),
])
def test_bad_input_exits_2(args: tuple[str, ...], fragment: str, rasad: Cli,
                           data: dict[str, Path], tmp_path: Path) -> None:
    values = {"reference": data["reference"], "current": data["current"],
              "missing": tmp_path / "nowhere.csv"}
    argv = [arg.format(**values) for arg in args]
    result = rasad("performance", *argv, "-o", tmp_path / "p.json")
    assert_user_error(result, fragment)
    assert not (tmp_path / "p.json").exists()


# --- JSON on stdout -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["track", "estimate"])
def test_json_flag_prints_the_report_and_nothing_else(command: str, rasad: Cli,
                                                      data: dict[str, Path],
                                                      tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = rasad.ok("performance", command, data["reference"], data["current"],
                      *CLASSIFICATION, "--json", "-o", target)
    printed = result.json()  # stdout is one JSON document
    assert printed == _read(target)
    assert printed["kind"] == ("performance_tracking" if command == "track"
                               else "performance_estimation")
    assert "alert(s) in" not in result.out


# --- project datasets -----------------------------------------------------------------------


@pytest.fixture
def in_project(project: Project, data: dict[str, Path],
               capsys: pytest.CaptureFixture[str]) -> Cli:
    """A project with apps@1 (the labelled reference) and apps@2 (shifted, labelled)."""
    project.add_dataset(data["reference"], "apps")
    project.add_dataset(data["current"], "apps")
    return Cli(capsys, project.root)


def test_track_datasets_and_save(in_project: Cli, project: Project, data: dict[str, Path],
                                 tmp_path: Path) -> None:
    target = tmp_path / "track.json"
    result = in_project.ok("performance", "track", "apps@1", "apps@2", *CLASSIFICATION,
                           "--save", "--monitor", "credit", "-o", target)
    assert "Saved as result 1 of monitor credit." in result.out
    written = _read(target)
    # The same report as on the files the datasets were added from.
    files = tmp_path / "files.json"
    in_project.ok("performance", "track", data["reference"], data["current"], *CLASSIFICATION,
                  "-o", files)
    assert written == _read(files)

    [saved] = list_results(project.context, kind="performance")
    assert (saved.monitor, saved.reference, saved.current) == ("credit", "apps@1", "apps@2")
    assert saved.alert is bool(written["alerts"])
    assert saved.summary["alerts"] == written["summary"]["alerts"]
    assert load_payload(project.context, saved) == written
    assert PerformanceReport.from_dict(load_payload(project.context, saved)).to_dict() == written
    [event] = project.audit_log(action="monitor.result")
    assert event.subject == "monitor:credit" and event.details["result_sha256"] == saved.blob


def test_estimate_datasets_and_save_under_the_default_monitor(in_project: Cli,
                                                              project: Project) -> None:
    result = in_project.ok("performance", "estimate", "apps@1", "apps@2", *CLASSIFICATION,
                           "--save", "--json")
    printed = result.json()
    [saved] = list_results(project.context, kind="estimation")
    assert saved.monitor == "estimation"
    assert load_payload(project.context, saved) == printed
    assert EstimationReport.from_dict(printed).method == "cbpe"


def test_without_save_a_dataset_check_stores_nothing(in_project: Cli, project: Project) -> None:
    before = snapshot(project)
    in_project.ok("performance", "track", "apps@1", "apps@2", *CLASSIFICATION)
    assert list_results(project.context) == [] and snapshot(project) == before


@pytest.mark.parametrize(("args", "fragment"), [
    (("track", "apps@1", "apps@9", *CLASSIFICATION, "--save"),
     "Dataset 'apps' has no version 9; versions are 1, 2"),
    (("estimate", "apps@1", "loans", *CLASSIFICATION, "--save"), "No dataset named 'loans'"),
    (("track", "apps@1", "apps@2", "--target", "outcome", "--prediction", "decision",
      "--save"), "'outcome'"),
    (("estimate", "apps@1", "apps@2", "--target", "outcome", "--prediction", "decision",
      "--score", "score", "--save"), "'outcome'"),
    (("track", "apps@1", "apps@2", *CLASSIFICATION, "--save", "--monitor", "no good"),
     "Monitor name 'no good' is not allowed"),
    (("track", "apps@1", "apps@2", *CLASSIFICATION, "--monitor", "credit"),
     "--monitor names where --save keeps the report; add --save"),
    (("track", "{reference}", "{current}", *CLASSIFICATION, "--save"),
     "--save keeps results of a project's datasets"),
    (("estimate", "apps@1", "{current}", *CLASSIFICATION), "Give both sides as files, or both"),
])
def test_bad_input_on_a_project_stores_nothing(args: tuple[str, ...], fragment: str,
                                               in_project: Cli, project: Project,
                                               data: dict[str, Path], tmp_path: Path) -> None:
    before = snapshot(project)
    argv = [arg.format(reference=data["reference"], current=data["current"]) for arg in args]
    result = in_project("performance", *argv, "-o", tmp_path / "p.json")
    assert_user_error(result, fragment)
    assert not (tmp_path / "p.json").exists()
    assert list_results(project.context) == []
    assert snapshot(project) == before


def test_track_and_estimate_over_the_server(project: Project, data: dict[str, Path],
                                            rasad: Cli, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """With RASAD_URL set, both commands on datasets run on the server: the same reports
    as on the project folder; --save files the result under the token's principal."""
    from tests.api._server import cli_over_server

    project.add_dataset(data["reference"], "apps")
    project.add_dataset(data["current"], "apps")
    here = Cli(rasad.capsys, project.root)
    tracked = here.ok("performance", "track", "apps@1", "apps@2", *CLASSIFICATION,
                      "--json").json()
    estimated = here.ok("performance", "estimate", "apps@1", "apps@2", *CLASSIFICATION,
                        "--json").json()
    with cli_over_server(project, monkeypatch) as tokens:
        assert rasad.ok("performance", "track", "apps@1", "apps@2", *CLASSIFICATION,
                        "--json").json() == tracked
        assert rasad.ok("performance", "estimate", "apps@1", "apps@2", *CLASSIFICATION,
                        "--save", "--json").json() == estimated
        [saved] = list_results(project.context, kind="estimation")
        assert (saved.monitor, saved.created_by) == ("estimation", "ada")
        assert load_payload(project.context, saved) == estimated
        monkeypatch.setenv("RASAD_TOKEN", tokens.viewer)
        assert_user_error(rasad("performance", "track", "apps@1", "apps@2", *CLASSIFICATION,
                                "--save"), "monitor.write")
        assert_user_error(rasad("performance", "track", data["reference"], "apps@2",
                                *CLASSIFICATION), "Give both sides as files")
    assert project.monitor_results() == [saved]
