"""Shared fixtures: every project-level test runs on SQLite and on PostgreSQL, and the
modules marked ``over_http`` also through the management API.

PostgreSQL isolation is one fresh schema per test (``search_path`` in the URL),
so tests run in parallel against the one server at ``RASAD_TEST_PG``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).

The ``http`` backend is a PostgreSQL project served by the real API app in-process
(:mod:`tests._http`): the test's ``project`` is a :class:`~rasad.remote.RemoteProject`
acting as the project's creator with an API token, so the same assertions check that
remote mode gives what the local verbs give. A module opts in with
``pytestmark = pytest.mark.over_http`` (or one test with the marker); a test in it that
reaches the project's internals (its context, database, files) is marked ``local_only``,
unless it reaches them through ``tests._http.local`` (the project behind the API, to set
up or inspect what the server stored). A test that acts as another principal opens the
project as that name with ``tests._http.acting_as`` (locally, the project opened with that
actor; over the API, a token of theirs), or as a whole team with ``tests.release._requests_seed``.
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
HTTP = "http"
"""The backend of ``over_http`` tests: PostgreSQL behind the management API."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "over_http: also run the test's `project` through the "
                                       "management API (the 'http' backend, on PostgreSQL)")
    config.addinivalue_line("markers", "local_only: keep this test of an over_http module "
                                       "local (it reaches the project's internals)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``backend``: SQLite and PostgreSQL, plus ``http`` for a test of an
    ``over_http`` module that uses the ``project`` fixture (unless ``local_only``)."""
    if "backend" not in metafunc.fixturenames:
        return
    if any("backend" in str(marker.args[0])
           for marker in metafunc.definition.iter_markers("parametrize")):
        return  # the test chose its backends itself
    backends = list(BACKENDS)
    node = metafunc.definition
    if "project" in metafunc.fixturenames and node.get_closest_marker("over_http") \
            and not node.get_closest_marker("local_only"):
        backends.append(HTTP)
    metafunc.parametrize("backend", backends, indirect=True)


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


@pytest.fixture
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
            tmp_path: Path) -> Iterator[str]:
    """Sets RASAD_DATABASE_URL for the backend under test (``http`` is served from
    PostgreSQL); yields the backend name."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    engine = request.getfixturevalue("pg_engine")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    monkeypatch.setenv("RASAD_DATABASE_URL", pg_schema_url(schema))
    try:
        yield request.param
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def project(backend: str, tmp_path: Path) -> Iterator[Project]:
    """A fresh project on the backend under test; on ``http``, that project as its creator
    sees it through the API: a :class:`tests._http.ServedProject` (it has the Project
    verbs; ``tests._http.local`` is the project behind it)."""
    with Project.init(tmp_path / "proj", name="test") as proj:
        if backend != HTTP:
            yield proj
            return
        from tests._http import Server

        with Server(proj) as server:
            yield server.connect()  # type: ignore[misc]


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

