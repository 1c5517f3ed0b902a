"""``--from-log MODEL`` on `rasad performance track` and `rasad drift`: the prediction log
(joined with its feedback) as the current data, and clean refusals around it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rasad import Project
from rasad.config import PredictionLogConfig
from rasad.serving.predlog import PredictionLog, read_log
from rasad.serving.records import Scored
from tests.monitoring.test_from_log import START, applications, by_hand, log_applications
from tests.registry._helpers import FEATURES, portfolio, registered

from ._helpers import Cli, assert_user_error

TRACK = ("--target", "default", "--prediction", "decision", "--score", "score",
         "--chunk-size", "500")


@pytest.fixture
def cli(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, project.root)


@pytest.fixture
def logged(project: Project) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    project.add_dataset(applications(rng, 3000, 0.0), "apps")
    log_applications(project, applications(rng, 1200, 1.0))
    return read_log(project.context, "credit")


def test_performance_track_from_log(cli: Cli, project: Project, logged: pd.DataFrame) -> None:
    result = cli.ok("performance", "track", "apps", "--from-log", "credit", "--env",
                    "production", "--since", "2026-05-04T00:05:00Z", *TRACK, "--json",
                    "--save")
    report = result.json()
    window = logged.iloc[300:]  # a request a second from midnight: five minutes left out
    assert [c["rows"] for c in report["current"]] == [500, 400]
    for chunk, start in zip(report["current"], (0, 500), strict=True):
        part = window.iloc[start:start + 500]
        known = part[part["label"].notna()]
        for metric, expected in by_hand(known).items():
            assert chunk["metrics"][metric]["value"] == pytest.approx(expected, abs=1e-12)
    [saved] = project.monitor_results()
    assert saved.current == "log:credit@production[2026-05-04T00:05:00Z..]"


def test_drift_from_log_against_the_training_data(cli: Cli, project: Project) -> None:
    registered(project)
    rows = portfolio(seed=12)[FEATURES].head(300)
    log = PredictionLog.open(project.context, "staging", PredictionLogConfig())
    log.submit(Scored("q0", START, "credit", 1, "primary", rows, np.zeros(300), None, 1.0))
    log.close()
    result = cli.ok("drift", "--from-log", "credit", "--json")
    answer = result.json()
    assert (answer["reference"], answer["current"]) == ("loans@1", "log:credit[..]")
    assert {c["name"] for c in answer["drift"]["columns"]} == set(FEATURES)
    table = cli.ok("drift", "loans@1", "--from-log", "credit", "--env", "staging")
    assert "log:credit@staging[..] against loans@1" in table.out


@pytest.mark.parametrize(("args", "fragment"), [
    (("performance", "track", "apps", "apps", "--since", "1d", *TRACK), "add --from-log"),
    (("performance", "track", "apps", "apps", "--from-log", "credit", *TRACK),
     "not both"),
    (("performance", "track", "apps", *TRACK), "or --from-log MODEL"),
    (("performance", "track", "apps", "--from-log", "credit", "--since", "soon", *TRACK),
     "--since 'soon' is not understood"),
    (("performance", "track", "apps", "--from-log", "fraud", *TRACK),
     "no predictions of model 'fraud'"),
    (("drift", "--env", "dev"), "add --from-log"),
    (("drift", "apps"), "or --from-log MODEL"),
    (("drift", "--from-log", "credit", "--until", "2026-05-01", "--since", "2026-05-02"),
     "before it starts"),
])
def test_refusals(args: tuple[str, ...], fragment: str, cli: Cli,
                  logged: pd.DataFrame) -> None:
    assert_user_error(cli(*args), fragment)


def test_a_file_reference_is_refused_for_tracking(cli: Cli, logged: pd.DataFrame,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "ref.csv"
    applications(np.random.default_rng(1), 100, 0.0).to_csv(path, index=False)
    assert_user_error(cli("performance", "track", path, "--from-log", "credit", *TRACK),
                      "the reference is a project dataset")


def test_not_over_the_server(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASAD_URL", "http://127.0.0.1:9")
    for args in (("drift", "--from-log", "credit"),
                 ("performance", "track", "apps", "--from-log", "credit", *TRACK)):
        assert_user_error(cli(*args), "not available over the server")
