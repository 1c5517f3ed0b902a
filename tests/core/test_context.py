"""The context: what services receive, and who it records as acting."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rasad.core import Context
from rasad.project import Project
from rasad.store._tables import AuditEventRow


def test_the_actor_is_read_once_when_the_context_is_built(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = Context.build(project.root, project.config)
    monkeypatch.setenv("RASAD_USER", "someone-else")
    with ctx.transaction() as tx:
        tx.record("test.event", "test:1")
    with ctx.read() as session:
        actors = session.execute(select(AuditEventRow.actor)
                                 .where(AuditEventRow.action == "test.event")).scalars().all()
    assert actors == ["tester"]  # conftest's RASAD_USER at build time, not the later one
    ctx.close()


def test_an_explicit_actor_is_recorded(project: Project) -> None:
    ctx = Context.build(project.root, project.config, actor="cro@bank.example")
    with ctx.transaction() as tx:
        event = tx.record("test.event", "test:2")
    assert event.actor == "cro@bank.example"
    ctx.close()


def test_a_failed_transaction_writes_neither_change_nor_event(project: Project) -> None:
    ctx = project.context
    before = len(project.audit_log())
    with pytest.raises(RuntimeError), ctx.transaction() as tx:
        tx.record("test.event", "test:3")
        raise RuntimeError("boom")
    assert len(project.audit_log()) == before


def test_the_facade_shares_its_context(project: Project) -> None:
    assert project.db is project.context.db
    assert project.artifacts is project.context.artifacts
    assert project.actor == project.context.actor == "tester"
