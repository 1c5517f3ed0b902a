"""Shared fixtures: every project-level test runs on SQLite and on PostgreSQL.

PostgreSQL isolation is one fresh schema per test (``search_path`` in the URL),
so tests run in parallel against the one server at ``RASAD_TEST_PG``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from rasad import Project

PG_BASE = os.environ.get("RASAD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RASAD_DATABASE_URL", "RASAD_ARTIFACTS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RASAD_USER", "tester")


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def pg_schema_url(schema: str) -> str:
    return f"{PG_BASE}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
            tmp_path: Path) -> Iterator[str]:
    """Sets RASAD_DATABASE_URL for the backend under test; yields the backend name."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    engine = request.getfixturevalue("pg_engine")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    monkeypatch.setenv("RASAD_DATABASE_URL", pg_schema_url(schema))
    try:
        yield "postgresql"
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def project(backend: str, tmp_path: Path) -> Iterator[Project]:
    """A fresh project on the backend under test."""
    with Project.init(tmp_path / "proj", name="test") as proj:
        yield proj


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (never a browser Playwright downloads)."""
    from playwright.sync_api import sync_playwright

    from tests._browser import MISSING, find_chromium

    path = find_chromium()
    if path is None:
        pytest.fail(MISSING)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()

