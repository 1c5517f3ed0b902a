"""The example in docs/fairness.md runs and prints what its comment says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "fairness.md"


def test_docs_example(capsys: pytest.CaptureFixture[str]) -> None:
    (block,) = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    namespace: dict[str, object] = {}
    exec(compile(block, str(DOCS), "exec"), namespace)
    assert capsys.readouterr().out.strip() == "fail"  # printed as its string value
    assert namespace["data"]["verdict"] == "fail"  # type: ignore[index]
