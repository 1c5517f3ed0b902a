"""docs/prediction-log.md: its Python examples run and print what the page shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "prediction-log.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def _expected(block: str) -> list[str]:
    """The ``# `` lines that follow a ``print(...)``: what the page says it prints."""
    shown, after_print = [], False
    for line in block.splitlines():
        if line.startswith("print("):
            after_print = True
        elif after_print and line.startswith("# "):
            shown.append(line[2:])
        else:
            after_print = False
    return shown


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_the_example_prints_what_the_page_shows(index: int, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    block = _blocks()[index]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block, str(DOC), "exec"), {})
    assert printed.getvalue().splitlines() == _expected(block)
