"""docs/model-trust.md's Python example runs as written and prints what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "model-trust.md"


def test_docs_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (block,) = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    exec(compile(block, str(DOC), "exec"), {})
    assert capsys.readouterr().out.splitlines() == [
        "credit@1", "credit@1",
        "The model holds types that rasad does not trust: 'json.dumps' (a fun"]
    assert Path("trust-demo/rasad.yaml").is_file()
