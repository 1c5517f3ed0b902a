"""docs/identity.md: its role table is the code's, and its Python example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rasad.identity import ROLE_PERMISSIONS, Permission, Role, roles_granting

DOCS = Path(__file__).parents[2] / "docs" / "identity.md"


def test_the_docs_show_the_same_table() -> None:
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \|$", DOCS.read_text(), flags=re.M)
    documented = {Role(role): frozenset(Permission(p) for p in re.findall(r"`([\w.]+)`", cell))
                  for role, cell in rows if role in Role._value2member_map_}
    assert documented == dict(ROLE_PERMISSIONS)


def test_the_documented_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    (block,) = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    exec(compile(block, str(DOCS), "exec"), {})
    assert capsys.readouterr().out.startswith("'ci-bot' (token:")


def test_the_enforcement_table_names_the_roles_that_grant_each_permission() -> None:
    rows = re.findall(r"^\| (.+?) \| `([\w.]+)` \| ([\w, ]+) \|$", DOCS.read_text(), flags=re.M)
    assert {Permission(p) for _, p, _ in rows} == set(Permission) - {Permission.MODEL_APPROVE}
    for _, permission, roles in rows:
        assert roles.split(", ") == roles_granting(Permission(permission)), permission
