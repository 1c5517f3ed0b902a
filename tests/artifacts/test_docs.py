"""docs/artifacts.md's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rasad.examples import generate_portfolio

DOC = Path(__file__).resolve().parents[2] / "docs" / "artifacts.md"


def test_docs_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    generate_portfolio(months=1, rows_per_month=100, seed=1).to_csv("loans.csv", index=False)
    (block,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    exec(compile(block, str(DOC), "exec"), {})
    assert Path("artifacts-demo/rasad.yaml").is_file()
