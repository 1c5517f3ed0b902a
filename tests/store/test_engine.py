"""Database failures become one clean line: unreachable servers, missing databases, held locks.

Every case runs the real CLI against a real database (a closed port, a database name
that does not exist on the test server, a write lock held by another connection) and
checks the exit code, the single stderr line, that no password is printed, and that
nothing was written.
"""

from __future__ import annotations

import socket
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.errors import ConfigError
from rasad.store import Database, DatabaseUnavailable
from rasad.store._engine import lock_timeout
from tests.cli._helpers import Cli, assert_user_error, write_csv
from tests.conftest import PG_BASE

SECRET = "Sup3rS3cretPw"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_url(database: str, port: int = 5432) -> str:
    return f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:{port}/{database}"


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Iterator[Project]:
    with Project.init(tmp_path / "proj", name="p") as project:
        yield project


@pytest.mark.parametrize("url", [
    pytest.param(_pg_url("test", _closed_port()), id="closed-port"),
    pytest.param(_pg_url(f"no_such_db_{uuid.uuid4().hex[:8]}"), id="missing-database"),
])
@pytest.mark.parametrize("args", [["data", "list"], ["db", "status"], ["db", "upgrade"],
                                  ["audit", "verify"], ["train"]])
def test_an_unreachable_database_is_one_line_without_the_password(
        sqlite_project: Project, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, url: str, args: list[str]) -> None:
    monkeypatch.setenv("RASAD_DATABASE_URL", url)
    result = Cli(capsys, sqlite_project.root)(*args)
    assert_user_error(result, "Cannot connect to the metadata database",
                      "postgresql+psycopg://postgres:***@127.0.0.1")
    assert SECRET not in result.err
    if "no_such_db" in url:
        assert "Create the database" in result.err
    else:
        assert "Check that the server is running" in result.err


def test_debug_shows_the_traceback_but_not_the_password(
        sqlite_project: Project, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASAD_DATABASE_URL", _pg_url("test", _closed_port()))
    result = Cli(capsys, sqlite_project.root)("--debug", "data", "list")
    assert result.code == 2
    assert "Traceback (most recent call last)" in result.err
    assert "DatabaseUnavailable" in result.err
    assert SECRET not in result.out + result.err


def test_a_malformed_url_is_named_without_its_password() -> None:
    with pytest.raises(ConfigError) as info:
        _ = Database(f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:notaport/db").read_engine
    assert SECRET not in str(info.value)
    assert "postgres:***@127.0.0.1" in str(info.value)


def test_the_api_raises_database_unavailable(tmp_path: Path) -> None:
    db = Database(_pg_url("test", _closed_port()))
    with pytest.raises(DatabaseUnavailable) as info, db.read() as session:
        session.execute(sa.text("SELECT 1"))
    assert SECRET not in str(info.value)
    assert SECRET not in repr(db) and "postgres:***@" in repr(db)


@contextmanager
def write_lock_held(project: Project) -> Iterator[None]:
    """Another client holds the database write lock (SQLite) or the ledger head (PostgreSQL)."""
    if project.db.backend == "sqlite":
        path = sa.make_url(project.db.url).database
        assert path is not None
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = sa.create_engine(project.db.url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT id FROM ledger_head FOR UPDATE"))
            yield
            conn.rollback()
    finally:
        engine.dispose()


def _rows(project: Project) -> tuple[int, int]:
    with project.db.read_engine.connect() as conn:
        return (conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one(),
                conn.execute(sa.text("SELECT count(*) FROM dataset_versions")).scalar_one())


def test_a_held_write_lock_times_out_with_one_line(
        project: Project, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "loans.csv")
    rasad = Cli(capsys, project.root)
    before = _rows(project)
    monkeypatch.setenv("RASAD_LOCK_TIMEOUT", "0.5")  # under the notice delay: no notice
    with write_lock_held(project):
        result = rasad("data", "add", csv, "--name", "loans")
    assert_user_error(result, "stayed locked for 0.5s", "another rasad process",
                      "Wait for it to finish and retry", "RASAD_LOCK_TIMEOUT")
    assert _rows(project) == before
    rasad.ok("data", "add", csv, "--name", "loans")  # the lock is gone: it works again
    assert _rows(project) == (before[0] + 1, before[1] + 1)


def test_a_blocked_writer_says_it_is_waiting(
        project: Project, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "loans.csv")
    monkeypatch.setenv("RASAD_LOCK_TIMEOUT", "1.5")
    with write_lock_held(project):
        result = Cli(capsys, project.root)("data", "add", csv, "--name", "loans")
    assert result.code == 2, str(result)
    lines = result.err.strip().splitlines()
    assert len(lines) == 2, str(result)
    assert lines[0].startswith("warning: Waiting for the database write lock")
    assert "another rasad process is writing" in lines[0]
    assert lines[1].startswith("error: The metadata database") and "1.5s" in lines[1]
    assert "Traceback" not in result.err


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1e9"])
def test_a_bad_lock_timeout_is_a_config_error(
        sqlite_project: Project, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("RASAD_LOCK_TIMEOUT", value)
    with pytest.raises(ConfigError):
        lock_timeout()
    result = Cli(capsys, sqlite_project.root)("data", "list")
    assert_user_error(result, f"RASAD_LOCK_TIMEOUT={value!r} is not allowed")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_password_is_never_printed_or_recorded(
        backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    url = os.environ["RASAD_DATABASE_URL"]
    assert url.startswith(PG_BASE.split("@")[0])
    secret_url = url.replace("://postgres@", f"://postgres:{SECRET}@")  # trust auth ignores it
    monkeypatch.delenv("RASAD_DATABASE_URL")
    config = (f"name: p\nstorage:\n  database_url: '{secret_url}'\n"
              "training:\n  estimator:\n    class: sklearn.linear_model.LogisticRegression\n"
              "    params: {max_iter: 200}\n")
    with Project.init(tmp_path / "p", config_text=config) as project:
        rasad = Cli(capsys, project.root)
        csv = write_csv(tmp_path / "loans.csv")
        outputs = [
            rasad.ok("db", "status"), rasad.ok("db", "status", "--json"),
            rasad.ok("data", "add", csv, "--name", "loans"),
            rasad.ok("train", "--dataset", "loans", "--target", "default",
                     "--features", "income,age", "--json"),
            rasad.ok("runs", "list"), rasad.ok("audit", "log", "--json"), rasad.ok("audit", "log"),
            rasad("--debug", "train", "--dataset", "loans", "--target", "nosuch"),
        ]
        assert rasad.ok("db", "status", "--json").json()["url"].startswith(
            "postgresql+psycopg://postgres:***@127.0.0.1")
        for result in outputs:
            assert SECRET not in result.out + result.err, str(result)
        run_id = outputs[3].json()["run"]["id"]
        assert SECRET not in str(project.run(run_id).to_dict())
        with project.db.read_engine.connect() as conn:
            stored = [str(v) for table in ("audit_events", "runs", "dataset_versions")
                      for row in conn.execute(sa.text(f"SELECT * FROM {table}")) for v in row]
        assert stored and not [v for v in stored if SECRET in v]
        init_event = project.audit_log(action="project.init")[0]
        assert init_event.details["config"]["storage"]["database_url"] == secret_url.replace(
            SECRET, "***")
