"""``rasad test``: exit codes, the table, JSON, JUnit XML for CI, and refusals (exit 2)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from rasad import Project

from ._helpers import Cli, Trained, add_and_train, assert_user_error, only_json, write_csv

GENDER = {"name": "gender plays no part", "kind": "invariance", "column": "gender"}
ROBUST = {"name": "robust", "kind": "robustness"}
WRONG_WAY = {"name": "more debt, less risk", "kind": "directional",
             "column": "debt_to_income", "change": 0.2, "direction": "decrease"}


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, project.root)


@pytest.fixture
def trained(rasad: Cli, tmp_path: Path) -> Trained:
    return add_and_train(rasad, write_csv(tmp_path / "loans.csv"))


def _declare(root: Path, tests: list[dict[str, Any]], **promotion: Any) -> None:
    """Write ``promotion:`` into the project's rasad.yaml (evaluation data: loans)."""
    path = root / "rasad.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["promotion"] = {"evaluation_data": "loans", "tests": tests, **promotion}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


def test_a_failing_test_exits_1_and_the_junit_file_counts_it(
        rasad: Cli, trained: Trained, tmp_path: Path) -> None:
    _declare(trained.root, [GENDER, ROBUST, WRONG_WAY])
    result = rasad("test", "credit@1", "--junit", tmp_path / "tests.xml")
    assert result.code == 1, str(result)
    assert "Model tests of credit@1 on loans@1" in result.out
    assert "2 of 3 tests pass on 600 rows; failed: more debt, less risk." in result.out
    assert result.out.count("FAIL") == 1 and "Traceback" not in result.err
    suite = ET.parse(tmp_path / "tests.xml").getroot()
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == (
        "rasad test credit@1", "3", "1")
    failed = [case.get("name") for case in suite.iter("testcase")
              if case.find("failure") is not None]
    assert failed == ["more debt, less risk"]


def test_passing_tests_exit_0_and_json_is_the_report(rasad: Cli, trained: Trained) -> None:
    _declare(trained.root, [GENDER, ROBUST])
    report = only_json(rasad.ok("test", "credit@1", "--json"))
    assert (report["model"], report["data"], report["passed"]) == ("credit@1", "loans@1", True)
    assert [test["name"] for test in report["tests"]] == ["gender plays no part", "robust"]
    _declare(trained.root, [GENDER, WRONG_WAY])
    failing = rasad("test", "credit", "--json")
    assert failing.code == 1 and only_json(failing)["failed"] == ["more debt, less risk"]


def test_data_named_on_the_command_line_win(rasad: Cli, trained: Trained) -> None:
    _declare(trained.root, [GENDER], evaluation_data=None)
    rasad.ok("data", "add", trained.csv, "--name", "holdout")
    assert only_json(rasad.ok("test", "credit@1", "--data", "holdout@1", "--json"))[
        "data"] == "holdout@1"


@pytest.mark.parametrize(("tests", "extra", "fragments"), [
    ([], [], ["No model tests are declared", "promotion.tests"]),
    ([GENDER], ["--data", "loans@9"], ["has no version 9"]),
    ([{**WRONG_WAY, "column": "region"}],
     [], ["Test 'more debt, less risk' (directional)", "not numeric"]),
    ([GENDER], ["--data", "loans@x"], ["positive whole number"]),
])
def test_bad_input_exits_2_and_writes_no_junit(rasad: Cli, trained: Trained, tmp_path: Path,
                                               tests: list[dict[str, Any]], extra: list[str],
                                               fragments: list[str]) -> None:
    _declare(trained.root, tests)
    result = rasad("test", "credit@1", "--junit", tmp_path / "tests.xml", *extra)
    assert_user_error(result, *fragments)
    assert not (tmp_path / "tests.xml").exists()


def test_without_data_or_a_model_it_says_what_to_give(rasad: Cli, trained: Trained) -> None:
    _declare(trained.root, [GENDER], evaluation_data=None)
    assert_user_error(rasad("test", "credit@1"), "--data NAME@VERSION",
                      "promotion.evaluation_data")
    assert_user_error(rasad("test", "nosuch@1"), "No model named 'nosuch'")


def test_the_junit_file_may_not_overwrite_the_projects_own(rasad: Cli,
                                                           trained: Trained) -> None:
    _declare(trained.root, [GENDER])
    config = trained.root / "rasad.yaml"
    before = config.read_text(encoding="utf-8")
    assert_user_error(rasad("test", "credit@1", "--junit", config), "destroy the input")
    assert config.read_text(encoding="utf-8") == before


def test_over_the_server_it_prints_what_it_prints_locally(
        rasad: Cli, trained: Trained, project: Project, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.api._server import cli_over_server

    _declare(trained.root, [GENDER, ROBUST, WRONG_WAY])
    local = rasad("test", "credit@1", "--json")
    local_xml = tmp_path / "local.xml"
    rasad("test", "credit@1", "--junit", local_xml)
    with cli_over_server(project, monkeypatch):
        remote = Cli(capsys)("test", "credit@1", "--json")
        remote_xml = tmp_path / "remote.xml"
        Cli(capsys)("test", "credit@1", "--junit", remote_xml)
        missing = Cli(capsys)("test", "credit@9")
    assert (remote.code, remote.out) == (local.code, local.out) == (1, local.out)
    assert remote_xml.read_text(encoding="utf-8") == local_xml.read_text(encoding="utf-8")
    assert_user_error(missing, "credit", "9")
