"""The examples in docs/fairness.md run and print what their comments say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "fairness.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)


def _run(block: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(block, str(DOCS), "exec"), namespace)
    return namespace


def test_docs_example(capsys: pytest.CaptureFixture[str]) -> None:
    namespace = _run(_blocks()[0])
    assert capsys.readouterr().out.strip() == "fail"  # printed as its string value
    assert namespace["data"]["verdict"] == "fail"  # type: ignore[index]


def test_docs_favourable_outcome_example(capsys: pytest.CaptureFixture[str]) -> None:
    block = _blocks()[1]
    _run(block)
    expected = [line.removeprefix("# ").split("<-")[0].strip()
                for line in block.splitlines() if re.match(r"# [01] ", line)]
    assert capsys.readouterr().out.strip().splitlines() == expected == [
        "1 0.08 fail", "0 0.9 pass"]


def test_docs_service_example(capsys: pytest.CaptureFixture[str]) -> None:
    block = _blocks()[2]
    namespace = _run(block)
    namespace["project"].close()  # type: ignore[attr-defined]
    expected = [line.removeprefix("# ") for line in block.splitlines()
                if line.startswith("# ")]
    assert capsys.readouterr().out.strip().splitlines() == expected == [
        "credit-risk@1 loans@1 True", "True"]
