from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from rasad import Project
from rasad.cli import run
from rasad.errors import SchemaVersionError
from rasad.store import migrate


def _downgrade_to_base(project: Project) -> None:
    config = migrate._config()
    with project.db.read_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")


def test_new_project_is_at_head(project: Project) -> None:
    assert migrate.current_revision(project.db) == migrate.head_revision()


def test_database_behind_the_code_is_refused_until_upgraded(project: Project) -> None:
    root = project.root
    _downgrade_to_base(project)
    project.close()
    with pytest.raises(SchemaVersionError, match="rasad db upgrade"):
        Project.open(root)
    assert run(["--project", str(root), "data", "list"]) == 2
    assert run(["--project", str(root), "db", "upgrade"]) == 0
    with Project.open(root) as reopened:
        assert migrate.current_revision(reopened.db) == migrate.head_revision()
        assert reopened.datasets() == []


def test_database_from_a_newer_rasad_is_refused(project: Project) -> None:
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    with pytest.raises(SchemaVersionError, match="newer rasad"):
        Project.open(project.root)


def test_sqlite_pragmas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Project.init(tmp_path / "p") as project, project.db.read_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
