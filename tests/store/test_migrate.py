from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from rasad import Project
from rasad.cli import run
from rasad.errors import SchemaVersionError
from rasad.store import migrate


def _frame():  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})


def _downgrade(project: Project, revision: str) -> None:
    config = migrate._config()
    with project.db.read_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_new_project_is_at_head(project: Project) -> None:
    assert migrate.current_revision(project.db) == migrate.head_revision()


@pytest.mark.parametrize("revision", ["base", "0001", "0004"])
def test_database_behind_the_code_is_refused_until_upgraded(project: Project,
                                                            revision: str) -> None:
    root = project.root
    if revision != "base":
        project.add_dataset(_frame(), "kept")
    _downgrade(project, revision)
    project.close()
    with pytest.raises(SchemaVersionError, match="rasad db upgrade"):
        Project.open(root)
    assert run(["--project", str(root), "data", "list"]) == 2
    assert run(["--project", str(root), "db", "upgrade"]) == 0
    with Project.open(root) as reopened:
        assert migrate.current_revision(reopened.db) == migrate.head_revision()
        names = [d.name for d in reopened.datasets()]
        assert names == ([] if revision == "base" else ["kept"])  # data survives migration


def test_identity_tables_arrive_with_0005_and_an_upgraded_project_is_unclaimed(
        project: Project) -> None:
    from rasad.identity import Role, add_principal, list_principals, local_principal

    root = project.root
    me = local_principal(project.context)
    add_principal(project.context, "bob", roles=[Role.VIEWER], by=me)
    _downgrade(project, "0004")
    with project.db.read_engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert not {"principals", "role_grants", "api_tokens"} & tables
    project.close()
    assert run(["--project", str(root), "db", "upgrade"]) == 0
    with Project.open(root) as upgraded:
        assert migrate.current_revision(upgraded.db) == migrate.head_revision()
        with upgraded.db.read_engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
        assert {"principals", "role_grants", "api_tokens"} <= tables
        assert list_principals(upgraded.context) == []  # unclaimed: its local user is admin
        assert local_principal(upgraded.context).roles == (Role.ADMIN,)


def test_database_from_a_newer_rasad_is_refused(project: Project) -> None:
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    with pytest.raises(SchemaVersionError, match="newer rasad"):
        Project.open(project.root)


def test_sqlite_pragmas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Project.init(tmp_path / "p") as project, project.db.read_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
