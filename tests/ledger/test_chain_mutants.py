"""Pinned answers for the ledger chain: the exact bytes hashed, the stored time format, and
the head check, each of which a silent change would break old ledgers or hide tampering.

Written against the mutants mutation testing left alive (docs/testing.md).
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.ledger import (
    GENESIS_HASH,
    AuditEvent,
    ProblemKind,
    Verification,
    canonical_json,
    event_hash,
    utc_now,
    verify,
)
from rasad.ledger._canonical import sha256_hex

TIME = "2026-01-01T00:00:00.000000Z"
STORED_TIME = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")


def test_event_hash_is_sha256_of_this_exact_text() -> None:
    text = ('{"action":"dataset.add","actor":"amal","details":"{}",'
            f'"occurred_at":"{TIME}","prev_hash":"{GENESIS_HASH}","seq":1,'
            '"subject":"dataset:loans@1"}')
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert expected == "f4300b5459c068b68c32408891a9114a3d9593d7ac17494ffc8d3250ed86b242"
    assert event_hash(1, TIME, "amal", "dataset.add", "dataset:loans@1", "{}",
                      GENESIS_HASH) == expected


def test_event_hash_keeps_non_ascii_text_as_utf8() -> None:
    # ensure_ascii=False: "é" is hashed as its two UTF-8 bytes, not as "\u00e9".
    text = ('{"action":"model.promotion","actor":"ren\u00e9",'
            '"details":"{\\"environment\\":\\"prod\\"}",'
            '"occurred_at":"2026-02-03T04:05:06.789012Z","prev_hash":"' + "ab" * 32 + '",'
            '"seq":12,"subject":"model:credit"}')
    expected = "516545308b3a59ad9b69e2ae60a8a94adbc9d0a4e08971950a3471524d93c22c"
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == expected
    assert event_hash("12", "2026-02-03T04:05:06.789012Z", "ren\u00e9",  # type: ignore[arg-type]
                      "model.promotion", "model:credit", '{"environment":"prod"}',
                      "ab" * 32) == expected  # a seq read back as text hashes as the int


@pytest.mark.parametrize("field", range(7))
def test_every_field_is_hashed(field: int) -> None:
    args: list[object] = [1, TIME, "amal", "dataset.add", "dataset:loans@1", "{}", GENESIS_HASH]
    base = event_hash(*args)  # type: ignore[arg-type]
    args[field] = 2 if field == 0 else f"{args[field]}x"
    assert event_hash(*args) != base  # type: ignore[arg-type]


def test_sha256_hex_hashes_utf8() -> None:
    assert sha256_hex("\u00e9") == hashlib.sha256(b"\xc3\xa9").hexdigest()


def test_canonical_json_pins_its_text() -> None:
    value = {2: (1.5, float("nan"), -math.inf), "b": {"z": np.int64(3), "a": np.float64(0.25)},
             "a": ["\u00e9", None, True], "c": np.float64("inf")}
    assert canonical_json(value) == (
        '{"2":[1.5,null,null],"a":["\u00e9",null,true],"b":{"a":0.25,"z":3},"c":null}')
    assert canonical_json([]) == "[]" and canonical_json("x") == '"x"'


@pytest.fixture
def riyadh_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process runs three hours east of UTC, as a server in Riyadh does (a POSIX zone
    string, so no tz database is needed)."""
    monkeypatch.setenv("TZ", "AST-3")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("riyadh_time")
def test_utc_now_is_the_stored_utc_format() -> None:
    local_offset = datetime.now() - datetime.now(UTC).replace(tzinfo=None)
    assert round(local_offset.total_seconds() / 3600) == 3  # the zone took
    before = datetime.now(UTC)
    stamp = utc_now()
    after = datetime.now(UTC)
    assert STORED_TIME.match(stamp), stamp
    parsed = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    # In UTC, whatever the machine's zone (a clock check, not a timing one).
    assert before - timedelta(seconds=1) <= parsed <= after + timedelta(seconds=1)


def _seed(project: Project, n: int) -> None:
    for i in range(n):
        with project.transaction() as tx:
            tx.record("test.event", f"thing:{i}", {"i": i})


def _exec(project: Project, sql: str, **params: object) -> None:
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def _verify(project: Project) -> Verification:
    with project.db.read() as session:
        return verify(session)


def test_appended_events_carry_their_fields_and_advance_the_head(project: Project) -> None:
    with project.transaction() as tx:
        event = tx.record("test.event", "thing:a", {"n": 1.5, "s": "\u00e9"})
    assert isinstance(event, AuditEvent)
    assert (event.seq, event.actor, event.action, event.subject) == (
        2, "tester", "test.event", "thing:a")
    # The transaction adds how the actor authenticated; the chain covers it with the rest.
    assert dict(event.details) == {"n": 1.5, "s": "\u00e9", "auth": "os-user"}
    assert event.auth == "os-user"
    assert STORED_TIME.match(event.occurred_at)
    first = project.audit_log()[0]
    assert event.prev_hash == first.hash
    assert event.hash == event_hash(2, event.occurred_at, "tester", "test.event", "thing:a",
                                    '{"auth":"os-user","n":1.5,"s":"\u00e9"}', first.hash)
    with project.db.read() as session:
        head = session.execute(sa.text("SELECT seq, hash FROM ledger_head WHERE id = 1")).one()
    assert (head.seq, head.hash) == (2, event.hash)
    assert event.to_dict() == {
        "seq": 2, "occurred_at": event.occurred_at, "actor": "tester", "action": "test.event",
        "subject": "thing:a", "details": {"n": 1.5, "s": "\u00e9", "auth": "os-user"},
        "prev_hash": first.hash, "hash": event.hash}
    with project.transaction() as tx:
        empty = tx.record("test.event", "thing:b")
    assert dict(empty.details) == {"auth": "os-user"} and empty.seq == 3
    assert _verify(project) == Verification(True, 3)


@pytest.mark.parametrize("edit", ["seq = seq + 3", "seq = seq - 1",
                                  f"hash = '{'e' * 64}'", f"hash = '{GENESIS_HASH}'"])
def test_a_head_with_only_its_seq_or_only_its_hash_edited_fails(project: Project,
                                                                edit: str) -> None:
    _seed(project, 3)
    _exec(project, f"UPDATE ledger_head SET {edit} WHERE id = 1")
    for result in (_verify(project), project.verify_audit(replay=False)):
        assert result.ok is False and result.events == 4
        assert "the ledger head records event" in (result.reason or "")
    first_bad = {"seq = seq + 3": 5, "seq = seq - 1": 3}.get(edit, 4)
    assert _verify(project).first_bad_seq == first_bad
    assert project.verify_audit(replay=False).first_bad_seq == first_bad
    recorded = {"seq = seq + 3": 7, "seq = seq - 1": 3}.get(edit, 4)
    assert [(p.kind, p.seq, p.row, p.message) for p in project.verify_audit().problems] == [(
        ProblemKind.HEAD, first_bad, "ledger_head (id 1)",
        f"the ledger head records event {recorded} but the chain ends at event 4 (the newest "
        "events were deleted or the head edited)")]


def test_a_missing_head_fails_the_chain_check(project: Project) -> None:
    _seed(project, 1)
    _exec(project, "DELETE FROM ledger_head")
    result = _verify(project)
    assert (result.ok, result.first_bad_seq, result.events) == (False, 3, 2)
    assert "ledger head row is missing" in (result.reason or "")


@pytest.mark.parametrize(("sql", "reason", "first_bad"), [
    ("DELETE FROM audit_events WHERE seq = 2",
     "event 2 is missing (deleted or renumbered); next stored is 3", 2),
    ("UPDATE audit_events SET seq = 10 WHERE seq = 1",
     "event 1 is missing (deleted or renumbered); next stored is 2", 1),
])
def test_a_gap_in_the_sequence_is_named(project: Project, sql: str, reason: str,
                                        first_bad: int) -> None:
    _seed(project, 3)
    _exec(project, sql)
    result = _verify(project)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, first_bad, reason)
    assert result.events == first_bad  # counted up to the first bad event


def test_a_broken_link_and_an_edit_are_told_apart(project: Project) -> None:
    _seed(project, 3)
    _exec(project, f"UPDATE audit_events SET prev_hash = '{'f' * 64}' WHERE seq = 3")
    result = _verify(project)
    assert (result.ok, result.first_bad_seq, result.events) == (False, 3, 3)
    assert result.reason == ("event 3 does not link to event 2 (an event was deleted, "
                             "inserted or reordered before it)")
    _exec(project, "UPDATE audit_events SET prev_hash = hash WHERE seq = 2")
    _exec(project, "UPDATE audit_events SET prev_hash = (SELECT hash FROM audit_events "
                   "WHERE seq = 2) WHERE seq = 3")
    result = _verify(project)
    assert (result.ok, result.first_bad_seq, result.events) == (False, 2, 2)
    assert result.reason == ("event 2 does not link to event 1 (an event was deleted, "
                             "inserted or reordered before it)")


def test_an_edited_event_is_named_with_its_action_and_subject(project: Project) -> None:
    _seed(project, 3)
    _exec(project, "UPDATE audit_events SET subject = 'thing:x' WHERE seq = 3")
    result = _verify(project)
    assert (result.ok, result.first_bad_seq, result.events) == (False, 3, 3)
    assert result.reason == ("event 3 (test.event thing:x) was edited: its content does not "
                             "match its hash")


@pytest.mark.parametrize("batch", [1, 2, 5000])
def test_verify_walks_every_batch(project: Project, batch: int) -> None:
    _seed(project, 4)
    with project.db.read() as session:
        assert verify(session, batch=batch) == Verification(True, 5)
    _exec(project, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 5")
    with project.db.read() as session:
        assert verify(session, batch=batch).first_bad_seq == 5


def test_events_filter_by_action_and_limit(project: Project) -> None:
    _seed(project, 3)
    assert [e.seq for e in project.audit_log(action="test.event")] == [2, 3, 4]
    assert [e.seq for e in project.audit_log(limit=2)] == [1, 2]
    assert [e.seq for e in project.audit_log(action="test.event", limit=1)] == [2]
    assert [e.seq for e in project.audit_log(subject="thing:1", action="project.init")] == []


def test_verification_renders_to_json() -> None:
    result = Verification(False, 3, 2, "bad", checkpoints=1, latest_checkpoint=2,
                          trusted_keys=("k",), key_source="src", state={"runs": 1},
                          notes=("n",))
    assert result.to_dict() == {
        "ok": False, "events": 3, "first_bad_seq": 2, "reason": "bad", "problems": [],
        "checkpoints": {"verified": 1, "latest": 2, "trusted_keys": ["k"], "key_source": "src"},
        "state": {"runs": 1}, "notes": ["n"]}
    assert Verification(True, 0).to_dict()["state"] is None


def test_events_come_back_in_sequence_order_whatever_the_storage_order(
        project: Project) -> None:
    _seed(project, 3)  # events 1-4
    # Rows 2 and 3 trade sequence numbers (and so their place in the chain).
    _exec(project, "UPDATE audit_events SET seq = 100 WHERE seq = 2")
    _exec(project, "UPDATE audit_events SET seq = 2 WHERE seq = 3")
    _exec(project, "UPDATE audit_events SET seq = 3 WHERE seq = 100")
    assert [e.seq for e in project.audit_log()] == [1, 2, 3, 4]
    assert [e.subject for e in project.audit_log()][1:3] == ["thing:1", "thing:0"]


def test_a_subject_filter_takes_wildcard_characters_literally(project: Project) -> None:
    for subject in ("model:a_b", "model:a_b@1", "model:aXb@1", "model:a%b@2", "model:a_b@1@2"):
        with project.transaction() as tx:
            tx.record("test.event", subject, {})
    assert [e.subject for e in project.audit_log(subject="model:a_b")] == [
        "model:a_b", "model:a_b@1", "model:a_b@1@2"]
    assert [e.subject for e in project.audit_log(subject="model:a%b")] == ["model:a%b@2"]
    assert [e.subject for e in project.audit_log(subject="model:a_b@1")] == ["model:a_b@1"]
