"""Text longer than its column is refused the same way on SQLite and PostgreSQL, writing nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.core import Context
from rasad.errors import InputError
from rasad.store._tables import Base
from rasad.store.lengths import LENGTHS, check_length, max_length


def _counts(project: Project) -> tuple[int, int]:
    with project.db.read_engine.connect() as conn:
        return (conn.execute(sa.text("SELECT count(*) FROM runs")).scalar_one(),
                conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one())


def test_lengths_are_read_from_every_bounded_text_column() -> None:
    declared = {f"{t.name}.{c.name}": c.type.length for t in Base.metadata.sorted_tables
                for c in t.columns if isinstance(c.type, sa.String) and c.type.length}
    assert LENGTHS == declared
    assert max_length("runs.name") == 200 and max_length("audit_events.actor") == 200
    assert "runs.params" not in LENGTHS  # Text columns are unbounded


def test_check_length_accepts_the_limit_and_refuses_one_more() -> None:
    check_length("x" * 200, "runs.name", "Run name")
    check_length(None, "runs.name", "Run name")
    with pytest.raises(InputError, match="Run name 'x+\\.\\.\\.' is 201 characters long; "
                                         "at most 200 fit"):
        check_length("x" * 201, "runs.name", "Run name")


def test_a_run_name_too_long_is_refused_before_anything_is_written(project: Project) -> None:
    before = _counts(project)
    with pytest.raises(InputError, match="Run name .* is 201 characters long; at most 200"):
        project.start_run("r" * 201)
    assert _counts(project) == before
    with project.start_run("r" * 200) as run:  # the limit itself fits on both databases
        run.log_metric("loss", 1.0)
    assert project.run(run.id).name == "r" * 200
    assert _counts(project)[0] == before[0] + 1


def test_an_actor_too_long_is_refused_on_both_databases(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    # The actor is read once, when the context is built (a project opened), never later.
    before = _counts(project)
    monkeypatch.setenv("RASAD_USER", "u" * 201)
    with pytest.raises(InputError, match=r"Actor name \(RASAD_USER\) .* 201 characters"):
        Project.open(project.root)
    with pytest.raises(InputError, match=r"Actor name .* 201 characters"):
        Context.build(project.root, project.config, actor="u" * 201)
    assert _counts(project) == before
    from rasad.identity import Role
    project.add_principal("u" * 200, roles=[Role.DATA_SCIENTIST])  # starting a run: run.write
    monkeypatch.setenv("RASAD_USER", "u" * 200)
    with Project.open(project.root) as opened, opened.start_run("ok"):
        pass
    assert project.audit_log(action="run.start")[-1].actor == "u" * 200
