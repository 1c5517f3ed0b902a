"""A pytest plugin for ``make mutation`` only: run each mutant's likeliest killers first.

mutmut stops a mutant's run at its first failing test (``-x``). Unit tests and doctests
take milliseconds; a test that builds a project (the ``project`` fixture: a database,
migrations, often a trained model) takes seconds to set up. So the tests run in this order:

1. those that need no project, before those that build one (most mutants die here);
2. within each, the tests written about the mutated module (its name in the test file's
   name: ``test_replay*.py`` for ``rasad.ledger.replay``), then the rest of its package's
   tests (``tests/ledger/``), then the others.

The mutated module is read from ``MUTANT_UNDER_TEST``, which mutmut sets in the process
that runs a mutant's tests. A mutant in a state-replay comparison is killed only by a test
that tampers with that state; without step 2 it first ran every project test that merely
verifies a clean ledger. Loaded by ``-p`` from ``[tool.mutmut]`` in pyproject.toml; the
ordinary test run never loads it.

>>> module_of("rasad.ledger.replay.xǁStateReplayǁ_current__mutmut_5")
('ledger', 'replay')
>>> module_of("rasad.ledger._governance.x_compare_rows__mutmut_1")
('ledger', 'governance')
>>> module_of("stats")
('', '')
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_FIXTURES = frozenset({"project", "backend"})


def module_of(mutant: str) -> tuple[str, str]:
    """The package and module stem a mutant's name points into (empty when it names none)."""
    module, marker, _ = mutant.partition(".x")
    parts = module.split(".")
    if not marker or len(parts) < 3:
        return "", ""
    return parts[1], parts[-1].lstrip("_")


def _kinship(path: Path, package: str, stem: str) -> int:
    if not stem:
        return 0
    if path.name.startswith("test_") and stem in path.stem:
        return 0
    return 1 if package in path.parts else 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    package, stem = module_of(os.environ.get("MUTANT_UNDER_TEST", ""))
    items.sort(key=lambda item: (
        bool(PROJECT_FIXTURES & set(getattr(item, "fixturenames", ()))),
        _kinship(Path(str(item.path)), package, stem)))
