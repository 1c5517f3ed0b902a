"""`rasad data add | list | show`, as tables and as JSON."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rasad import Project

from ._helpers import Cli, assert_user_error, portfolio, write_csv

SHA256 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, project.root)


def test_add_stores_a_version_once(rasad: Cli, project: Project, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "loans.csv")
    first = rasad.ok("data", "add", csv, "--name", "loans")
    assert first.out.startswith("Added loans@1: 600 rows x 15 columns, sha256 ")

    again = rasad.ok("data", "add", csv, "--name", "loans")
    assert "already stored as loans@1" in again.out
    assert "nothing was added" in again.out
    as_json = rasad.ok("data", "add", csv, "--name", "loans", "--json").json()
    assert as_json["created"] is False and as_json["version"] == 1

    assert [v.version for v in project.datasets("loans")] == [1]
    assert len(project.audit_log(action="dataset.add")) == 1


def test_add_json_and_a_second_version(rasad: Cli, tmp_path: Path) -> None:
    rasad.ok("data", "add", write_csv(tmp_path / "a.csv"), "--name", "loans")
    smaller = portfolio().head(250)
    added = rasad.ok("data", "add", write_csv(tmp_path / "b.csv", smaller), "--name", "loans",
                     "--description", "first 250 rows", "--json").json()
    assert added["created"] is True
    assert (added["name"], added["version"], added["rows"], added["columns"]) == (
        "loans", 2, 250, 15)
    assert added["source"] == str((tmp_path / "b.csv").resolve())
    assert "profile" not in added


def test_list_as_table_and_json(rasad: Cli, tmp_path: Path) -> None:
    rasad.ok("data", "add", write_csv(tmp_path / "a.csv"), "--name", "loans")
    rasad.ok("data", "add", write_csv(tmp_path / "b.csv", portfolio().head(10)), "--name",
             "loans")
    rasad.ok("data", "add", write_csv(tmp_path / "c.csv", portfolio().head(20)), "--name",
             "applications")

    table = rasad.ok("data", "list").out
    for ref in ("loans@1", "loans@2", "applications@1"):
        assert ref in table
    assert "600" in table and "tester" in table

    listed = rasad.ok("data", "list", "--json").json()
    assert [(d["name"], d["version"], d["rows"]) for d in listed] == [
        ("applications", 1, 20), ("loans", 1, 600), ("loans", 2, 10)]
    for item in listed:
        assert SHA256.match(item["content_hash"])
        assert item["columns"] == 15 and item["created_by"] == "tester"
        assert item["kinds"]["application_id"] == "identifier"
        assert "profile" not in item

    only = rasad.ok("data", "list", "loans", "--json").json()
    assert [d["version"] for d in only] == [1, 2]


def test_show_latest_and_a_version(rasad: Cli, tmp_path: Path) -> None:
    rasad.ok("data", "add", write_csv(tmp_path / "a.csv"), "--name", "loans")
    rasad.ok("data", "add", write_csv(tmp_path / "b.csv", portfolio().head(100)), "--name",
             "loans")

    text = rasad.ok("data", "show", "loans@1").out
    assert text.startswith("loans@1  600 rows x 15 columns  sha256 ")
    assert "added by tester" in text
    for column in ("income", "employment_type", "application_date", "default"):
        assert column in text

    latest = rasad.ok("data", "show", "loans", "--json").json()
    assert (latest["name"], latest["version"], latest["rows"]) == ("loans", 2, 100)
    first = rasad.ok("data", "show", "loans@1", "--json").json()
    assert (first["version"], first["rows"]) == (1, 600)
    assert first["content_hash"] != latest["content_hash"]
    assert first["kinds"]["income"] == "numeric"
    assert first["kinds"]["employment_type"] == "categorical"
    profiled = {c["name"]: c for c in first["profile"]["columns"]}
    assert set(profiled) == set(first["kinds"])
    assert profiled["age"]["kind"] == "numeric"


def test_show_an_unknown_version_lists_the_versions(rasad: Cli, tmp_path: Path) -> None:
    rasad.ok("data", "add", write_csv(tmp_path / "a.csv"), "--name", "loans")
    rasad.ok("data", "add", write_csv(tmp_path / "b.csv", portfolio().head(5)), "--name",
             "loans")
    assert_user_error(rasad("data", "show", "loans@99"), "'loans' has no version 99",
                      "versions are 1, 2", "rasad data list loans")
    assert_user_error(rasad("data", "show", "loans@0"), "positive whole number")
    assert_user_error(rasad("data", "show", "nosuch"), "No dataset named 'nosuch'",
                      "Known datasets: loans")
    assert_user_error(rasad("data", "list", "nosuch"), "No dataset named 'nosuch'")
