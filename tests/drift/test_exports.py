"""The package exports exactly what __all__ lists, loading each name on first use."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import rasad.drift

HEAVY = ("sqlalchemy", "alembic", "rasad.ledger", "rasad.store", "pandas", "scipy", "sklearn")


def test_all_matches_the_public_names() -> None:
    assert len(rasad.drift.__all__) == len(set(rasad.drift.__all__))
    assert set(rasad.drift.__all__) == set(rasad.drift._HOMES)
    for name in rasad.drift.__all__:
        home = importlib.import_module(f"rasad.drift.{rasad.drift._HOMES[name]}")
        assert getattr(rasad.drift, name) is getattr(home, name), name
    assert set(rasad.drift.__all__) <= set(dir(rasad.drift))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'compair'"):
        rasad.drift.compair  # noqa: B018


def _loaded_after(statement: str) -> list[str]:
    code = (f"import sys\n{statement}\n"
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return out.split()


def test_importing_the_package_loads_no_database_and_no_numeric_stack() -> None:
    assert _loaded_after("import rasad.drift") == []


def test_reading_stored_results_loads_no_database_pandas_scipy_or_sklearn() -> None:
    """A stored report, profile or multivariate result reads back without the engines."""
    statement = ("from rasad.drift import DriftReport, ReferenceProfile, "
                 "DomainClassifierResult, PCAReconstructionResult, OnlineDriftResult")
    assert _loaded_after(statement) == []
