"""Fixtures of the monitor and agent tests: a project the agent watches, and the agent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rasad import Project
from rasad.core import Context
from tests.automation.test_monitors import as_agent, automation, make_project


@pytest.fixture
def loans(backend: str, tmp_path: Path) -> Iterator[Project]:
    """test_monitors.py's builders: loans@1, credit@1 serving in dev, the agent's account."""
    with make_project(tmp_path / "proj", automation()) as project:
        yield project


@pytest.fixture
def agent(loans: Project) -> Iterator[Context]:
    """A context acting as the agent's service account."""
    ctx = as_agent(loans)
    yield ctx
    ctx.close()
