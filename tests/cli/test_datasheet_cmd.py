"""``rasad datasheet``: Markdown, HTML and JSON from the same records, the format from -o's
suffix, no planted value printed, and a missing version refused with exit 2 and no file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rasad import Project

from ._helpers import (
    Cli,
    Trained,
    add_and_train,
    assert_user_error,
    only_json,
    portfolio,
    write_csv,
)

EMAIL = "fatimah.alharbi@example.com"


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, project.root)


@pytest.fixture
def trained(rasad: Cli, tmp_path: Path) -> Trained:
    frame = portfolio()
    frame["memo"] = [f"note {i % 5}" for i in range(len(frame))]
    frame.loc[7, "memo"] = EMAIL
    return add_and_train(rasad, write_csv(tmp_path / "loans.csv", frame))


def test_json_matches_the_python_api(rasad: Cli, trained: Trained, project: Project) -> None:
    sheet = only_json(rasad.ok("datasheet", "loans@1", "--json"))
    expected = Project.open(trained.root).datasheet("loans", 1).to_dict()
    assert {k: v for k, v in sheet.items() if k != "generated_at"} == {
        k: v for k, v in expected.items() if k != "generated_at"}
    assert [m["model"] for m in sheet["models"]] == ["credit@1"]
    assert sheet["models"][0]["run_id"] == trained.run_id
    assert sheet["open_questions"] == ["motivation", "composition", "collection",
                                       "preprocessing", "uses", "distribution", "maintenance",
                                       "owner"]


@pytest.mark.parametrize(("name", "form", "marker"), [
    ("sheet.md", None, "# Datasheet: loans@1"),
    ("sheet.html", None, "<!DOCTYPE html>"),
    ("sheet.json", None, '"dataset": "loans@1"'),
    ("sheet.txt", "html", "<!DOCTYPE html>"),
])
def test_the_file_format_follows_the_suffix_or_the_option(
        rasad: Cli, trained: Trained, tmp_path: Path, name: str, form: str | None,
        marker: str) -> None:
    out = tmp_path / name
    args = ["datasheet", "loans@1", "-o", out] + (["--format", form] if form else [])
    result = rasad.ok(*args)
    assert "written to" in result.out and "open questions: motivation" in result.out
    text = out.read_text(encoding="utf-8")
    assert marker in text and EMAIL not in text and "fatimah" not in text
    if name.endswith(".json"):
        assert json.loads(text)["rows"] == 600


def test_markdown_on_stdout_holds_no_planted_value(rasad: Cli, trained: Trained) -> None:
    result = rasad.ok("datasheet", "loans")
    assert result.out.startswith("# Datasheet: loans@1")
    assert "## Lineage" in result.out and "credit@1" in result.out
    assert "Open question" in result.out and EMAIL not in result.out


def test_a_missing_version_exits_2_and_writes_nothing(rasad: Cli, trained: Trained,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "sheet.html"
    assert_user_error(rasad("datasheet", "loans@3", "-o", out), "no version 3",
                      "rasad data list loans")
    assert not out.exists()
    assert_user_error(rasad("datasheet", "loans@0"), "positive whole number")
    result = rasad("datasheet", "loans@1", "--format", "pdf")
    assert result.code == 2 and not list(tmp_path.glob("sheet*"))
