"""A pytest plugin for ``make mutation`` only: run each mutant's cheap tests first.

mutmut stops a mutant's run at its first failing test (``-x``). Unit tests and doctests
take milliseconds; a test that builds a project (the ``project`` fixture: a database,
migrations, often a trained model) takes seconds to set up. Running the cheap ones
first kills most mutants before any project is built. Loaded by ``-p`` from
``[tool.mutmut]`` in pyproject.toml; the ordinary test run never loads it.
"""

from __future__ import annotations

import pytest

PROJECT_FIXTURES = frozenset({"project", "backend"})


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: bool(PROJECT_FIXTURES & set(getattr(item, "fixturenames", ()))))
