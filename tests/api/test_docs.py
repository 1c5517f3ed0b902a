"""docs/api.md: its Python example runs and prints what the page shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[2] / "docs" / "api.md"


def test_the_documented_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = DOCS.read_text(encoding="utf-8")
    (block,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    shown = re.search(r"```python\n.*?```\n\n```\n(.*?)```", text, flags=re.S)
    assert shown is not None
    exec(compile(block, str(DOCS), "exec"), {})
    assert capsys.readouterr().out == shown.group(1)
