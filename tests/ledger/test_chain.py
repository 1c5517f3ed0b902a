"""The audit chain detects every kind of tampering, on both backends."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.ledger import GENESIS_HASH, LedgerDamaged, ProblemKind, canonical_json, event_hash
from rasad.ledger.chain import HEAD_MISSING

WRITERS = 8
EVENTS_PER_WRITER = 15


def _append_events(root: str, url: str | None, writer: int) -> None:
    if url:
        os.environ["RASAD_DATABASE_URL"] = url
    os.environ["RASAD_USER"] = f"writer-{writer}"
    with Project.open(root) as project:
        for i in range(EVENTS_PER_WRITER):
            with project.transaction() as tx:
                tx.record("test.write", f"writer:{writer}", {"i": i})


def _seed(project: Project, n: int = 5) -> None:
    for i in range(n):
        with project.transaction() as tx:
            tx.record("test.event", f"thing:{i}", {"i": i, "note": "é"})


def _exec(project: Project, sql: str, **params: object) -> None:
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def test_events_link_and_verify(project: Project) -> None:
    _seed(project)
    events = project.audit_log()
    assert [e.seq for e in events] == list(range(1, 7))  # project.init + 5
    assert events[0].prev_hash == GENESIS_HASH
    for earlier, later in zip(events, events[1:], strict=False):
        assert later.prev_hash == earlier.hash
    last = events[-1]
    assert last.hash == event_hash(last.seq, last.occurred_at, last.actor, last.action,
                                   last.subject, canonical_json(dict(last.details)),
                                   last.prev_hash)
    assert last.actor == "tester"
    assert project.verify_audit().ok


def test_edited_event_is_named(project: Project) -> None:
    _seed(project)
    _exec(project, "UPDATE audit_events SET details = :d WHERE seq = 3",
          d=canonical_json({"i": 99, "note": "é"}))
    result = project.verify_audit()
    assert not result.ok and result.first_bad_seq == 3
    assert "edited" in (result.reason or "")


def test_edited_actor_is_named(project: Project) -> None:
    _seed(project)
    _exec(project, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 4")
    assert project.verify_audit().first_bad_seq == 4


def test_deleted_event_is_named(project: Project) -> None:
    _seed(project)
    _exec(project, "DELETE FROM audit_events WHERE seq = 2")
    result = project.verify_audit()
    assert not result.ok and result.first_bad_seq == 2


def test_deleted_newest_event_is_caught_by_the_head(project: Project) -> None:
    _seed(project)
    _exec(project, "DELETE FROM audit_events WHERE seq = 6")
    result = project.verify_audit()
    assert not result.ok and result.first_bad_seq == 6


def test_reordered_events_are_caught(project: Project) -> None:
    _seed(project)
    # Swap the contents of events 3 and 4, keeping their sequence numbers.
    with project.db.write_engine.begin() as conn:
        rows = {r.seq: r for r in conn.execute(sa.text(
            "SELECT seq, occurred_at, actor, action, subject, details, prev_hash, hash "
            "FROM audit_events WHERE seq IN (3, 4)"))}
        for seq, other in ((3, 4), (4, 3)):
            src = rows[other]
            conn.execute(sa.text(
                "UPDATE audit_events SET occurred_at=:t, actor=:a, action=:ac, subject=:s, "
                "details=:d, prev_hash=:p, hash=:h WHERE seq=:seq"),
                {"t": src.occurred_at, "a": src.actor, "ac": src.action, "s": src.subject,
                 "d": src.details, "p": src.prev_hash, "h": src.hash, "seq": seq})
    result = project.verify_audit()
    assert not result.ok and result.first_bad_seq == 3


def test_inserted_event_is_caught(project: Project) -> None:
    _seed(project)
    # Shift events 4.. up by one and insert a forged, self-consistent event at 4.
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 4"))
        conn.execute(sa.text("UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000"))
        prev = conn.execute(sa.text("SELECT hash FROM audit_events WHERE seq = 3")).scalar_one()
        details = canonical_json({"forged": True})
        t = "2026-01-01T00:00:00.000000Z"
        h = event_hash(4, t, "mallory", "model.promotion", "model:x", details, prev)
        conn.execute(sa.text(
            "INSERT INTO audit_events (seq, occurred_at, actor, action, subject, details, "
            "prev_hash, hash) VALUES (4, :t, 'mallory', 'model.promotion', 'model:x', :d, :p, "
            ":h)"), {"t": t, "d": details, "p": prev, "h": h})
    result = project.verify_audit()
    assert not result.ok and result.first_bad_seq == 5


def test_failed_change_writes_no_event(project: Project) -> None:
    before = len(project.audit_log())
    with pytest.raises(RuntimeError), project.transaction() as tx:
        tx.record("test.event", "thing:x", {})
        raise RuntimeError("boom")
    assert len(project.audit_log()) == before
    assert project.verify_audit().ok


def test_concurrent_writers_never_fork_the_chain(project: Project, tmp_path: Path) -> None:
    url = os.environ.get("RASAD_DATABASE_URL")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_append_events, args=(str(project.root), url, w))
             for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    result = project.verify_audit()
    assert result.ok, result.reason
    assert result.events == 1 + WRITERS * EVENTS_PER_WRITER
    events = project.audit_log(action="test.write")
    per_writer = {}
    for e in events:
        per_writer.setdefault(e.subject, []).append(e.details["i"])
    assert all(v == list(range(EVENTS_PER_WRITER)) for v in per_writer.values())
    assert len(per_writer) == WRITERS


def test_subject_filter(project: Project) -> None:
    _seed(project, 3)
    assert [e.subject for e in project.audit_log(subject="thing:1")] == ["thing:1"]
    assert len(project.audit_log(subject="thing:*")) == 3
    assert json.loads(canonical_json(project.audit_log(subject="thing:2")[0].details)) == {
        "i": 2, "note": "é", "auth": "os-user"}


def test_missing_head_row_refuses_writes_and_fails_verify(project: Project) -> None:
    _seed(project, 2)
    _exec(project, "DELETE FROM ledger_head")
    with pytest.raises(LedgerDamaged, match="ledger head row is missing") as caught:
        with project.transaction() as tx:
            tx.record("test.event", "thing:x", {})
    assert caught.value.exit_code == 2
    result = project.verify_audit()
    assert not result.ok and result.first_bad_seq == 4
    assert [(p.kind, p.seq, p.row, p.message) for p in result.problems] == [
        (ProblemKind.HEAD, 4, "ledger_head (id 1)", HEAD_MISSING)]
    assert len(project.audit_log()) == 3


def test_subject_without_version_matches_its_versions_only(project: Project) -> None:
    for subject in ("model:credit", "model:credit@1", "model:credit@2", "model:credit2@1",
                    "model:credit_x", "model:creditx@1"):
        with project.transaction() as tx:
            tx.record("test.event", subject, {})
    assert [e.subject for e in project.audit_log(subject="model:credit")] == [
        "model:credit", "model:credit@1", "model:credit@2"]
    assert [e.subject for e in project.audit_log(subject="model:credit@2")] == [
        "model:credit@2"]
    # '_' is a LIKE wildcard: a prefix must match it literally.
    assert [e.subject for e in project.audit_log(subject="model:credit_*")] == [
        "model:credit_x"]
