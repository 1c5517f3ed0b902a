"""``rasad card``: Markdown, HTML and JSON of the same card, the format from -o's suffix, and
a missing version refused with exit 2 and no file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rasad import Project

from ._helpers import Cli, Trained, add_and_train, assert_user_error, only_json, write_csv


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, project.root)


@pytest.fixture
def trained(rasad: Cli, tmp_path: Path) -> Trained:
    return add_and_train(rasad, write_csv(tmp_path / "loans.csv"))


def test_json_matches_the_python_api(rasad: Cli, trained: Trained) -> None:
    card = only_json(rasad.ok("card", "credit@1", "--json"))
    expected = Project.open(trained.root).card("credit", 1).to_dict()
    assert card["model"] == "credit@1" and card["complete"] is False
    assert card["model_details"] == expected["model_details"]
    assert card["missing"] == expected["missing"]
    assert card["model_details"]["run"]["id"] == trained.run_id


@pytest.mark.parametrize(("name", "form", "marker"), [
    ("card.md", None, "# Model card: credit@1"),
    ("card.html", None, "<!DOCTYPE html>"),
    ("card.json", None, '"model": "credit@1"'),
    ("card.txt", "html", "<!DOCTYPE html>"),
])
def test_the_file_format_follows_the_suffix_or_the_option(
        rasad: Cli, trained: Trained, tmp_path: Path, name: str, form: str | None,
        marker: str) -> None:
    out = tmp_path / name
    result = rasad.ok("card", "credit@1", "-o", out, *(["--format", form] if form else []))
    said = " ".join(result.out.split())  # the console may wrap the line
    assert "written to" in said and "incomplete, missing governance.models.credit.owner" in said
    text = out.read_text(encoding="utf-8")
    assert marker in text
    if name.endswith(".json"):
        assert json.loads(text)["model_details"]["ref"] == "credit@1"


def test_markdown_on_stdout_and_errors(rasad: Cli, trained: Trained, tmp_path: Path) -> None:
    result = rasad.ok("card", "credit")
    assert result.out.startswith("# Model card: credit@1")
    assert "## Missing declarations" in result.out and "**Incomplete**" in result.out
    out = tmp_path / "card.html"
    assert_user_error(rasad("card", "credit@3", "-o", out), "no version 3")
    assert not out.exists()
    assert_user_error(rasad("card", "nope@1"), "No model named 'nope'")
