"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rasad.examples import generate_portfolio

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    portfolio = generate_portfolio(months=2, rows_per_month=400, seed=5)
    portfolio.to_csv("loans.csv", index=False)
    portfolio.drop(columns=["default"]).head(50).to_csv("new.csv", index=False)
    (block,) = _python_blocks(README.read_text())
    namespace: dict[str, object] = {}
    exec(compile(block, str(README), "exec"), namespace)
    assert Path("scores.csv").read_text().count("\n") == 51
    assert Path("my-project/rasad.yaml").is_file()


def test_readme_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join(README.read_text().splitlines()[:20])
    commands = re.findall(r"^make (\w+)", first_screen, flags=re.M)
    assert commands == ["demo", "test"]
