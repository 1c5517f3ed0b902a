"""`rasad monitor results` and `rasad monitor show ID`: saved results, listed and shown."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rasad import Project
from rasad.monitoring.results import MonitorResult, load_payload, save_result

from ._helpers import Cli, assert_user_error


@pytest.fixture
def saved(project: Project) -> list[MonitorResult]:
    """Two drift results of `credit` (one from `rasad drift --save`) and a fairness result."""
    rng = np.random.default_rng(9)
    project.add_dataset(pd.DataFrame({"income": rng.normal(50, 10, 300)}), "loans")
    project.add_dataset(pd.DataFrame({"income": rng.normal(58, 10, 300)}), "loans")
    return [
        save_result(project, monitor="credit", kind="drift", reference="loans@1",
                    current="loans@1", alert=False, summary={"drifted": False},
                    payload={"drift": {"drifted": False}}),
        save_result(project, monitor="fair-lending", kind="fairness", reference="model@1",
                    current="loans@2", alert=True, summary={"verdict": "unfair"},
                    payload={"fairness": {"groups": ["a", "b"], "gap": 0.21}}),
    ]


@pytest.fixture
def cli(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, project.root)


def _rows(out: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines()
            if line.startswith("│")]


def test_results_as_a_table_and_as_json(cli: Cli, project: Project,
                                        saved: list[MonitorResult]) -> None:
    cli.ok("drift", "loans@1", "loans@2", "--save", "--monitor", "credit")
    everything = [r.to_dict() for r in project.monitor_results()]
    assert len(everything) == 3
    listed = cli.ok("monitor", "results", "--json")
    assert listed.json() == everything and listed.err == ""
    table = cli.ok("monitor", "results").out
    assert table.splitlines()[1].split() == ["┃", "id", "┃", "monitor", "┃", "kind", "┃",
                                             "reference", "┃", "current", "┃", "alert", "┃",
                                             "created", "by", "┃", "created", "at", "┃"]
    assert [row[:6] for row in _rows(table)] == [
        [str(saved[0].id), "credit", "drift", "loans@1", "loans@1", "no"],
        [str(saved[1].id), "fair-lending", "fairness", "model@1", "loans@2", "yes"],
        [str(everything[2]["id"]), "credit", "drift", "loans@1", "loans@2", "yes"]]
    credit = cli.ok("monitor", "results", "--monitor", "credit", "--json").json()
    assert [r["id"] for r in credit] == [saved[0].id, everything[2]["id"]]
    fairness = cli.ok("monitor", "results", "--kind", "fairness", "--json").json()
    assert fairness == [saved[1].to_dict()]
    assert cli.ok("monitor", "results", "--monitor", "credit", "--kind", "fairness",
                  "--json").json() == []
    none = cli.ok("monitor", "results", "--monitor", "nobody")
    assert "No saved results of monitor nobody" in none.out


def test_show_prints_the_saved_report(cli: Cli, project: Project, saved: list[MonitorResult],
                                      tmp_path: Path) -> None:
    cli.ok("drift", "loans@1", "loans@2", "--save", "-o", tmp_path / "drift.json")
    [drift] = project.monitor_results("drift")
    shown = cli.ok("monitor", "show", str(drift.id), "--json")
    assert shown.json() == json.loads((tmp_path / "drift.json").read_text(encoding="utf-8"))
    assert shown.json() == load_payload(project, drift)
    text = cli.ok("monitor", "show", str(saved[1].id)).out
    header, _, body = text.partition("\n")
    assert header == (f"Result {saved[1].id} of fair-lending (fairness): loans@2 against "
                      f"model@1, alert, by tester at {saved[1].created_at}")
    assert json.loads(body) == {"fairness": {"groups": ["a", "b"], "gap": 0.21}}
    target = tmp_path / "out" / "fairness.json"
    written = cli.ok("monitor", "show", str(saved[1].id), "-o", target)
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(body)
    assert f"written to {target}" in " ".join(written.out.split())
    both = cli.ok("monitor", "show", str(saved[1].id), "-o", tmp_path / "again.json", "--json")
    assert both.json() == json.loads(body)


def test_bad_requests_exit_2_or_name_the_problem(cli: Cli, saved: list[MonitorResult],
                                                 tmp_path: Path) -> None:
    assert_user_error(cli("monitor", "results", "--kind", "accuracy"),
                      "kind 'accuracy' is not one of drift, performance, estimation, fairness")
    missing = cli("monitor", "show", "999")
    assert missing.code != 0 and "No monitor result with id 999" in missing.err
    assert "rasad monitor results" in missing.err
    assert_user_error(cli("monitor", "show", str(saved[0].id), "-o", tmp_path),
                      "is a folder; give a file name")


def test_a_corrupt_blob_is_refused(cli: Cli, project: Project,
                                   saved: list[MonitorResult]) -> None:
    digest = saved[1].blob
    path = Path(project.artifacts.root) / "blobs" / digest[:2] / digest
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    path.write_bytes(path.read_bytes().replace(b"0.21", b"0.01"))
    refused = cli("monitor", "show", str(saved[1].id), "--json")
    assert refused.code != 0 and "corrupt" in refused.err
    assert "0.01" not in refused.out


def test_results_and_show_over_the_server(cli: Cli, project: Project,
                                          saved: list[MonitorResult],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """With RASAD_URL set, `monitor results` and `monitor show` print what they print on
    the project folder, read from the server (a viewer may read them)."""
    from tests.api._server import cli_over_server

    listed = cli.ok("monitor", "results", "--json").json()
    table = cli.ok("monitor", "results", "--kind", "fairness").out
    shown = cli.ok("monitor", "show", str(saved[1].id)).out
    far = Cli(cli.capsys)
    with cli_over_server(project, monkeypatch) as tokens:
        monkeypatch.setenv("RASAD_TOKEN", tokens.viewer)
        assert far.ok("monitor", "results", "--json").json() == listed
        assert far.ok("monitor", "results", "--kind", "fairness").out == table
        assert far.ok("monitor", "show", str(saved[1].id)).out == shown
        assert far.ok("monitor", "show", str(saved[0].id), "--json").json() == \
            load_payload(project, saved[0])
        missing = far("monitor", "show", "999")
        assert missing.code == 2 and "No monitor result with id 999" in missing.err
