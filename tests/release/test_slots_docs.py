"""docs/promotion.md's "Canary and shadow" example runs as written and prints what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "promotion.md"


def test_the_documented_canary_flow_runs(capsys: pytest.CaptureFixture[str]) -> None:
    section = DOCS.read_text(encoding="utf-8").split("## Canary and shadow", 1)[1]
    example = re.search(r"```python\n(.*?)```\n\n```\n(.*?)```", section, flags=re.S)
    assert example is not None
    exec(compile(example.group(1), str(DOCS), "exec"), {})
    assert capsys.readouterr().out == example.group(2)
