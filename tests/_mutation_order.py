"""A pytest plugin for ``make mutation`` only: run each mutant's likeliest killers first.

mutmut stops a mutant's run at its first failing test (``-x``). Unit tests and doctests
take milliseconds; a test that builds a project (the ``project`` fixture: a database,
migrations, often a trained model) takes seconds to set up. So the tests run in this order:

1. those that need no project, before those that build one (most mutants die here);
2. within each, the tests written about the mutated module (its name in the test file's
   name: ``test_replay*.py`` for ``rasad.ledger.replay``), then the rest of its package's
   tests (``tests/ledger/``), then the others;
3. within each of those, the tests whose name holds a word of the mutated function's name
   (``test_an_inserted_token_is_named`` for ``GovernanceReplay._tokens``): the tests that
   tamper with what that function compares.

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
>>> function_words("rasad.ledger._governance.xǁGovernanceReplayǁ_tokens__mutmut_12")
('token',)
>>> function_words("rasad.ledger._erasures.xǁErasureReplayǁ_indexes__mutmut_3")
('index',)
>>> function_words("rasad.ledger._governance.x_compare_rows__mutmut_1")
('compa', 'row')
>>> function_words("stats")
()
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


def function_words(mutant: str) -> tuple[str, ...]:
    """The words of the mutated function's name, as test names spell them: each cut to its
    first five letters after a plural ``s`` (``indexes`` -> ``index``); words under three
    letters are dropped."""
    _, marker, rest = mutant.partition(".x")
    if not marker:
        return ()
    function = rest.rsplit("\u01c1", 1)[-1].partition("__mutmut_")[0]
    words = (word.rstrip("s")[:5] for word in function.split("_"))
    return tuple(word for word in words if len(word) >= 3)


def _kinship(path: Path, package: str, stem: str) -> int:
    if not stem:
        return 0
    if path.name.startswith("test_") and stem in path.stem:
        return 0
    return 1 if package in path.parts else 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    package, stem = module_of(mutant)
    words = function_words(mutant)
    items.sort(key=lambda item: (
        bool(PROJECT_FIXTURES & set(getattr(item, "fixturenames", ()))),
        _kinship(Path(str(item.path)), package, stem),
        not any(word in item.name for word in words)))
