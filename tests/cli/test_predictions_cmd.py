"""`rasad predictions compare|purge`, `rasad gc` purging the prediction log too, and the
prediction server purging it when it starts (the third door to the same purge)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from rasad import Project
from rasad.config import PredictionLogConfig
from rasad.identity import Role, add_principal, local_principal
from rasad.registry import promotion
from rasad.serving.online import create_app
from rasad.serving.predlog import PredictionLog, read_log
from rasad.serving.records import Scored
from tests.registry._helpers import registered
from tests.serving.test_compare import ENV, write

from ._helpers import Cli, assert_user_error, only_json

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
DAY = 86_400.0


@pytest.fixture
def cli(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, project.root)


@SQLITE
def test_compare_prints_the_report(cli: Cli, project: Project, tmp_path: Path) -> None:
    registered(project, versions=3)
    write(project, "credit")
    expected = project.compare_serving("credit", ENV).to_dict()
    assert only_json(cli.ok("predictions", "compare", "credit", "--env", ENV,
                            "--json")) == expected
    report = tmp_path / "compare.json"
    shown = cli.ok("predictions", "compare", "credit", "--env", ENV, "-o", report)
    assert json.loads(report.read_text()) == expected
    assert "Model credit in production: 400 answered request(s)." in shown.out
    for word in ("primary", "canary", "shadow", "Shadow agreement", "accuracy",
                 "written to"):
        assert word in shown.out, word
    windowed = cli.ok("predictions", "compare", "credit", "--env", ENV, "--since",
                      "2026-05-04T00:05:00Z", "--until", "2026-05-04T00:06:00Z", "--json")
    assert windowed.json()["requests"] == 60


@SQLITE
def test_compare_refuses_clearly(cli: Cli, project: Project, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert_user_error(cli("predictions", "compare", "credit", "--env", "prod"),
                      "No environment 'prod'")
    assert_user_error(cli("predictions", "compare", "credit", "--env", ENV),
                      "no predictions of model 'credit'")
    assert_user_error(cli("predictions", "compare", "credit", "--env", ENV, "--since",
                          "soon"), "--since 'soon' is not understood")
    assert_user_error(cli("predictions", "compare", "credit", "--env", ENV, "-o", tmp_path),
                      "is a folder")
    monkeypatch.setenv("RASAD_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RASAD_TOKEN", "rsd_anything")
    remote = Cli(capsys)
    assert_user_error(remote("predictions", "compare", "credit", "--env", ENV),
                      "`compare_serving` is not available over the server")
    assert_user_error(remote("predictions", "purge", "--dry-run"),
                      "`purge_predictions` is not available over the server")


def _old_and_new(project: Project) -> None:
    """Two requests logged 200 days ago and one today (retention: 90 days)."""
    log = PredictionLog.open(project.context, ENV, PredictionLogConfig(flush_rows=1))
    frame = pd.DataFrame({"income": [1.0]})
    now = time.time()
    for request_id, at in (("old-1", now - 200 * DAY), ("old-2", now - 200 * DAY + 1),
                           ("new-1", now)):
        assert log.submit(Scored(request_id, at, "credit", 1, "primary", frame,
                                 np.array([0]), None, 0.3))
    log.close()


def test_purge_deletes_only_what_is_past_the_retention(cli: Cli, project: Project) -> None:
    _old_and_new(project)
    dry = only_json(cli.ok("predictions", "purge", "--dry-run", "--json"))
    assert dry["removed"] is False and dry["segments"] >= 1
    assert dry["older_than_days"] == 90.0
    assert set(read_log(project.context, "credit")["request_id"]) == {"old-1", "old-2",
                                                                      "new-1"}
    shown = cli.ok("predictions", "purge")
    assert f"Removed {dry['segments']} prediction log segment(s)" in shown.out
    assert f"predictions/{ENV}/credit" in shown.out
    assert set(read_log(project.context, "credit")["request_id"]) == {"new-1"}
    events = only_json(cli.ok("audit", "log", "--json", "--action", "prediction_log.purge"))
    assert len(events) == 1 and events[0]["details"]["segments"] == dry["segments"]
    # Nothing left to purge; a shorter retention reaches the newer rows.
    assert only_json(cli.ok("predictions", "purge", "--json"))["segments"] == 0
    assert only_json(cli.ok("predictions", "purge", "--older-than-days", "0", "--dry-run",
                            "--json"))["segments"] == 1
    assert_user_error(cli("predictions", "purge", "--older-than-days", "-1"),
                      "older_than_days must be 0 or more days")


def test_gc_purges_the_prediction_log_too(cli: Cli, project: Project) -> None:
    _old_and_new(project)
    dry = only_json(cli.ok("gc", "--dry-run", "--json"))
    assert dry["prediction_log"]["removed"] is False
    assert dry["prediction_log"]["segments"] >= 1
    assert "Would remove" in cli.ok("gc", "--dry-run").out.splitlines()[-1]
    assert len(read_log(project.context, "credit")) == 3
    done = only_json(cli.ok("gc", "--json"))
    assert done["prediction_log"]["removed"] is True
    assert done["prediction_log"]["segments"] == dry["prediction_log"]["segments"]
    assert set(read_log(project.context, "credit")["request_id"]) == {"new-1"}
    # Nothing past the retention: gc says nothing of the log, and null under --json.
    assert only_json(cli.ok("gc", "--json"))["prediction_log"] is None
    assert "prediction log" not in cli.ok("gc").out


# -- the prediction server purges too: when it starts, then daily -------------------------


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@SQLITE
def test_the_server_purges_when_it_starts(project: Project,
                                          caplog: pytest.LogCaptureFixture) -> None:
    registered(project)
    promotion.promote(project.context, "credit", 1, ENV)
    _old_and_new(project)
    with caplog.at_level("INFO", logger="rasad.serve"), \
            TestClient(create_app(project.root, poll_seconds=60.0)):
        assert _wait_for(lambda: "log.purged" in caplog.text)
    assert set(read_log(project.context, "credit")["request_id"]) == {"new-1"}
    [purged] = [r for r in caplog.records if r.getMessage() == "log.purged"]
    assert purged.fields["segments"] >= 1  # type: ignore[attr-defined]


@SQLITE
def test_a_server_that_may_not_purge_says_so_once(
        project: Project, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    registered(project)
    promotion.promote(project.context, "credit", 1, ENV)
    _old_and_new(project)
    ctx = project.context
    add_principal(ctx, "vic", roles=[Role.VIEWER], by=local_principal(ctx))
    monkeypatch.setenv("RASAD_USER", "vic")  # reads the registry, may not maintain
    with caplog.at_level("INFO", logger="rasad.serve"):
        app = create_app(project.root, poll_seconds=60.0, purge_seconds=0.05)
        with TestClient(app):
            assert _wait_for(lambda: app.state.purger.refused)
            time.sleep(0.3)  # several more tries
    refused = [r for r in caplog.records if r.getMessage() == "log.purge_refused"]
    assert len(refused) == 1
    assert "project.maintain" in refused[0].fields["error"]  # type: ignore[attr-defined]
    assert len(read_log(project.context, "credit")) == 3  # nothing deleted
