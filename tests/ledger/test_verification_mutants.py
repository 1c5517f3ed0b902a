"""How full verification names a re-chained history, pinned problem by problem.

The aligner compares the per-event digests the checkpoints signed with the events stored
now; these tests feed it synthetic checkpoints (signatures play no part in aligning) and
pin every problem it reports: kind, event, checkpoint and message. Written against the
mutants mutation testing left alive (docs/testing.md).
"""

from __future__ import annotations

from base64 import b64encode
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rasad import Project
from rasad.errors import InputError
from rasad.ledger import verification
from rasad.ledger.checkpoint import (
    Checkpoint,
    CheckpointFileError,
    CheckpointStore,
    build,
    sign_checkpoint,
)
from rasad.ledger.keys import fingerprint, private_key_from_text
from rasad.ledger.problems import Problem, ProblemKind
from rasad.ledger.verification import (
    TrustedKeys,
    _align,
    _chain_problem,
    _Current,
    _signed_sequence,
    _Walk,
)

from . import _attacks as attack

SIGNED = [f"d{i}" for i in range(1, 7)]

Row = tuple[ProblemKind, int | None, int | None, str]


def checkpoint(seq: int, previous: int | None, digests: list[str],
               created_at: str = "2026-01-01T00:00:00.000000Z") -> Checkpoint:
    return Checkpoint(seq, "h" * 64, created_at, "p" * 64, "demo", "k", previous,
                      tuple(digests), "public", "signature")


TWO = [checkpoint(3, None, SIGNED[:3]), checkpoint(6, 3, SIGNED[3:])]


def current(digests: list[str]) -> list[_Current]:
    return [_Current(i + 1, d, "act", f"s:{d}") for i, d in enumerate(digests)]


def align(digests: list[str], good: list[Checkpoint] = TWO) -> list[Row]:
    return [(p.kind, p.seq, p.checkpoint, p.message) for p in _align(good, current(digests))]


def edited(seq: int, digest: str, cp: int, signed_as: int | None = None) -> Row:
    return (ProblemKind.EDITED, seq, cp, f"event {seq} (act s:{digest}) is not the event "
            f"checkpoint {cp} signed as event {signed_as or seq}: it was edited and the chain "
            "recomputed")


def deleted(seq: int, cp: int) -> Row:
    return (ProblemKind.DELETED, seq, cp, f"event {seq} signed in checkpoint {cp} was deleted "
            "and the events after it renumbered")


def inserted(seq: int, digest: str, cp: int) -> Row:
    return (ProblemKind.INSERTED, seq, cp, f"event {seq} (act s:{digest}) was inserted among "
            f"events that checkpoint {cp} signed")


def reordered(seq: int, now: int, digest: str, was: int, cp: int) -> Row:
    return (ProblemKind.REORDERED, seq, cp, f"event {now} (act s:{digest}) was event {was} when "
            f"checkpoint {cp} signed it: events were reordered")


CASES: dict[str, tuple[list[str], list[Row]]] = {
    "untouched": (SIGNED, []),
    "appended after the newest checkpoint": (SIGNED + ["X", "Y"], []),
    "edited": (["d1", "d2", "X", "d4", "d5", "d6"], [edited(3, "X", 3)]),
    "two edited": (["d1", "X", "Y", "d4", "d5", "d6"],
                   [edited(2, "X", 3), edited(3, "Y", 3)]),
    "edited in the second checkpoint": (["d1", "d2", "d3", "d4", "X", "d6"],
                                        [edited(5, "X", 6)]),
    "deleted": (["d1", "d2", "d4", "d5", "d6"], [deleted(3, 3)]),
    "first deleted": (SIGNED[1:], [deleted(1, 3)]),
    "deleted in the second checkpoint": (["d1", "d2", "d3", "d5", "d6"], [deleted(4, 6)]),
    "inserted": (["d1", "d2", "X", "d3", "d4", "d5", "d6"], [inserted(3, "X", 3)]),
    "inserted first": (["X"] + SIGNED, [inserted(1, "X", 3)]),
    "inserted before the last signed": (SIGNED[:5] + ["X", "d6"], [inserted(6, "X", 6)]),
    "inserted in the second checkpoint": (["d1", "d2", "d3", "d4", "X", "d5", "d6"],
                                          [inserted(5, "X", 6)]),
    "two swapped": (["d1", "d2", "d4", "d3", "d5", "d6"], [reordered(3, 3, "d4", 4, 6)]),
    "first two swapped": (["d2", "d1", "d3", "d4", "d5", "d6"],
                          [reordered(1, 1, "d2", 2, 3)]),
    "far swapped": (["d5", "d2", "d3", "d4", "d1", "d6"],
                    [reordered(1, 1, "d5", 5, 6), reordered(1, 5, "d1", 1, 3)]),
    "truncated": (["d1", "d2", "d3", "d4"], [(
        ProblemKind.TRUNCATED, 5, 6, "events 5-6, signed in checkpoint 6, were deleted from "
        "the end of the ledger and the head moved back to event 4")]),
    "truncated into the first checkpoint": (["d1", "d2"], [(
        ProblemKind.TRUNCATED, 3, 6, "events 3-6, signed in checkpoint 6, were deleted from "
        "the end of the ledger and the head moved back to event 2")]),
    "all deleted": ([], [(
        ProblemKind.TRUNCATED, 1, 6, "events 1-6, signed in checkpoint 6, were deleted from "
        "the end of the ledger and the head moved back to event 0")]),
    "truncated, then one forged": (["d1", "d2", "X"], [
        edited(3, "X", 3), deleted(4, 6), deleted(5, 6), deleted(6, 6)]),
    "last replaced by a forgery": (SIGNED[:5] + ["X"], [edited(6, "X", 6)]),
    "three replaced by two": (["d1", "X", "d5", "d6"],
                              [edited(2, "X", 3), deleted(3, 3), deleted(4, 6)]),
    "two replaced by three": (["d1", "X", "Y", "Z", "d4", "d5", "d6"],
                              [edited(2, "X", 3), edited(3, "Y", 3), inserted(4, "Z", 6)]),
    "deleted and swapped": (["d1", "d3", "d2", "d5", "d6"],
                            [reordered(2, 2, "d3", 3, 3), deleted(4, 6)]),
    "last one truncated": (SIGNED[:5], [(
        ProblemKind.TRUNCATED, 6, 6, "events 6-6, signed in checkpoint 6, were deleted from "
        "the end of the ledger and the head moved back to event 5")]),
    "three truncated": (SIGNED[:3], [(
        ProblemKind.TRUNCATED, 4, 6, "events 4-6, signed in checkpoint 6, were deleted from "
        "the end of the ledger and the head moved back to event 3")]),
    "swapped, then inserted": (["d2", "d1", "d3", "X", "d4", "d5", "d6"],
                               [reordered(1, 1, "d2", 2, 3), inserted(4, "X", 6)]),
    "moved past the signed events": (["d1", "d2", "d4", "d5", "d6", "d3"], [deleted(3, 3)]),
    # Named as a move only: the deletion of d4 is hidden behind it (verification still fails).
    "moved over a deletion": (["d2", "d3", "d1", "d5", "d6"], [reordered(1, 3, "d1", 1, 3)]),
    # Problems at one event are listed by kind.
    "inserted, then truncated": (["d1", "d2", "d3", "Z", "d4", "Z", "d5"], [
        inserted(4, "Z", 6), inserted(6, "Z", 6), (
            ProblemKind.TRUNCATED, 6, 6, "events 6-6, signed in checkpoint 6, were deleted "
            "from the end of the ledger and the head moved back to event 7")]),
    "two moves around a deletion": (["d2", "d1", "d5", "d4", "d6"], [
        reordered(1, 1, "d2", 2, 3), deleted(3, 3), reordered(3, 3, "d5", 5, 6)]),
}


@pytest.mark.parametrize("name", CASES)
def test_each_rewrite_is_named(name: str) -> None:
    digests, expected = CASES[name]
    assert align(digests) == expected


def test_one_checkpoint_covers_its_own_events_only() -> None:
    single = [checkpoint(6, None, SIGNED)]
    assert align(["d1", "d2", "X", "d4", "d5", "d6"], single) == [edited(3, "X", 6)]
    # previous_seq 0 counts as the start of the ledger, like None.
    assert align(["d1", "X", "d3"], [checkpoint(3, 0, SIGNED[:3])]) == [edited(2, "X", 3)]


def test_each_problem_names_the_first_checkpoint_that_signed_its_event() -> None:
    three = [checkpoint(3, None, SIGNED[:3]), checkpoint(4, 3, SIGNED[3:4]),
             checkpoint(6, 4, SIGNED[4:])]
    assert align(SIGNED[:3], three[:2]) == [(
        ProblemKind.TRUNCATED, 4, 4, "events 4-4, signed in checkpoint 4, were deleted from "
        "the end of the ledger and the head moved back to event 3")]
    # More events inserted before the signed ones than were signed: the last signed event's
    # checkpoint covers the rest.
    other = [checkpoint(3, None, SIGNED[:3]), checkpoint(5, 3, SIGNED[3:5]),
             checkpoint(6, 5, SIGNED[5:])]
    many = [f"X{i}" for i in range(7)]
    assert align(many + SIGNED, other) == [
        inserted(1, "X0", 3), inserted(2, "X1", 3), inserted(3, "X2", 3), inserted(4, "X3", 5),
        inserted(5, "X4", 5), inserted(6, "X5", 6), inserted(7, "X6", 6)]


def test_a_checkpoint_whose_digests_do_not_fit_its_range_is_not_used_to_align() -> None:
    short = [checkpoint(3, None, SIGNED[:2]), checkpoint(6, 3, SIGNED[3:])]
    assert _signed_sequence(short) == [None, None, None, "d4", "d5", "d6"]
    assert align(["d1", "d2", "X", "d4", "d5", "d6"], short) == []
    assert align(["d1", "d2", "d3", "X", "d5", "d6"], short) == [edited(4, "X", 6)]
    assert _signed_sequence(TWO) == SIGNED
    assert _signed_sequence([checkpoint(2, None, ["a", "b"])]) == ["a", "b"]


def test_many_events_with_repeated_content_still_align() -> None:
    signed = [f"d{i}" for i in range(1, 251)]
    now = signed[:20] + ["d10"] * 3 + signed[20:]
    assert align(now, [checkpoint(250, None, signed)]) == [
        inserted(21, "d10", 250), inserted(22, "d10", 250), inserted(23, "d10", 250)]


def test_matched_end_is_the_position_after_the_last_surviving_signed_event() -> None:
    import difflib

    def end(signed: list[str | None], now: list[str | None]) -> int:
        matcher = difflib.SequenceMatcher(None, signed, now, autojunk=False)
        return verification._matched_end(matcher, len(signed))

    assert end(["a", "b", "c"], ["a", "b", "c", "x"]) == 3
    assert end(["a", "b", "c"], ["x", "a", "b"]) == 3
    assert end(["a", "b", "c"], ["x", "y"]) == 0
    assert end(["a", "b"], ["b", "x", "y"]) == 1


def _walk_with_tail(tail: list[tuple[int, str, str, str]]) -> _Walk:
    return _Walk(count=tail[-1][0] if tail else 0, tail=tail)


def test_events_after_the_newest_checkpoint_dated_before_it_are_backdated() -> None:
    newest = checkpoint(6, 3, SIGNED[3:], created_at="2026-01-01T12:00:00.000000Z")
    walk = _walk_with_tail([
        (6, "2026-01-01T10:00:00.000000Z", "act", "s:6"),  # the signed event itself
        (7, "2026-01-01T11:59:00.000000Z", "act", "s:7"),  # exactly the clock tolerance
        (8, "2026-01-01T11:58:59.999999Z", "model.promotion", "model:x"),
        (9, "2026-01-01T12:30:00.000000Z", "act", "s:9"),
    ])
    problems = verification._backdated(walk, newest)
    assert [(p.kind, p.seq, p.checkpoint, p.message) for p in problems] == [(
        ProblemKind.APPENDED, 8, 6,
        "event 8 (model.promotion model:x) is dated 2026-01-01T11:58:59.999999Z, before "
        "checkpoint 6 was signed at 2026-01-01T12:00:00.000000Z, yet that checkpoint does not "
        "include it: it was appended later and backdated")]


def test_stored_times_parse_as_utc() -> None:
    assert verification._parse_time("2026-01-01T12:00:00.000000Z") == datetime(
        2026, 1, 1, 12, tzinfo=UTC)


# -- checkpoint files: signature, key, project, predecessor -----------------------------------

KEY_A = private_key_from_text(b64encode(bytes(32)).decode())
KEY_B = private_key_from_text(b64encode(bytes(range(32))).decode())


def signed(seq: int, previous: int | None = None, key: Ed25519PrivateKey = KEY_A,
           project: str = "demo") -> Checkpoint:
    return sign_checkpoint(key, seq=seq, head_hash="ab" * 32,
                           created_at="2026-01-01T00:00:00.000000Z", project_id="cd" * 32,
                           project_name=project, previous_seq=previous, event_digests=(),
                           location=f"store/{seq}")


def _seed(project: Project, n: int) -> None:
    for i in range(n):
        with project.transaction() as tx:
            tx.record("test.event", f"thing:{i}", {"i": i})


def trusting(*keys: Ed25519PrivateKey) -> TrustedKeys:
    return TrustedKeys(tuple(k.public_key() for k in keys), "test")


def test_each_bad_checkpoint_file_is_named_and_the_rest_are_still_checked() -> None:
    unreadable = CheckpointFileError("Checkpoint store/2 is not a rasad checkpoint (x).")
    forged = Checkpoint(**{**signed(3, 2).__dict__, "head_hash": "ef" * 32})
    stored: list[Checkpoint | CheckpointFileError] = [
        signed(1), unreadable, forged, signed(4, 3, key=KEY_B), signed(5, 4, project="x"),
        signed(6, 5), signed(7, 6)]
    problems, good = verification._check_files(stored, trusting(KEY_A), "demo")
    assert problems == [
        Problem(ProblemKind.CHECKPOINT, "Checkpoint store/2 is not a rasad checkpoint (x)."),
        Problem(ProblemKind.SIGNATURE, "checkpoint 3 (store/3) has a signature that does not "
                "verify: the file was altered", seq=3, checkpoint=3),
        Problem(ProblemKind.SIGNATURE, (
            f"checkpoint 4 (store/4) is signed by key {fingerprint(KEY_B.public_key())}, which "
            f"is not trusted (trusted: {fingerprint(KEY_A.public_key())}); pass --public-key "
            "or list it in audit.public_keys"), seq=4, checkpoint=4),
        Problem(ProblemKind.CHECKPOINT, "checkpoint 5 (store/5) was signed for project 'x', "
                "not 'demo': the store belongs to another project", checkpoint=5),
    ]
    assert [c.seq for c in good] == [1, 6, 7]  # 6 follows 5, which is present (if bad)


def test_a_checkpoint_whose_predecessor_is_gone_is_named_but_still_used() -> None:
    problems, good = verification._check_files([signed(1), signed(5, 3)], trusting(KEY_A), None)
    assert problems == [Problem(ProblemKind.CHECKPOINT, (
        "checkpoint 5 (store/5) follows checkpoint 3, which is no longer in the store: "
        "checkpoint files were deleted"), checkpoint=3)]
    assert [c.seq for c in good] == [1, 5]


def test_without_a_trusted_key_every_checkpoint_is_refused() -> None:
    problems, good = verification._check_files([signed(1, project="other")], None, None)
    assert good == [] and [p.message for p in problems] == [
        f"checkpoint 1 (store/1) is signed by key {fingerprint(KEY_A.public_key())}, which is "
        "not trusted (trusted: none); pass --public-key or list it in audit.public_keys"]
    two = trusting(KEY_B, KEY_A)
    problems, good = verification._check_files([signed(1)], two, "demo")
    assert (problems, [c.seq for c in good]) == ([], [1])
    key_c = private_key_from_text(b64encode(bytes(range(1, 33))).decode())
    problems, good = verification._check_files([signed(1, key=key_c)], two, None)
    listed = ", ".join(sorted(fingerprint(k.public_key()) for k in (KEY_A, KEY_B)))
    assert good == [] and [p.message for p in problems] == [
        f"checkpoint 1 (store/1) is signed by key {fingerprint(key_c.public_key())}, which is "
        f"not trusted (trusted: {listed}); pass --public-key or list it in audit.public_keys"]


def test_a_checkpoint_that_cannot_be_aligned_is_still_named(project: Project) -> None:
    _seed(project, 3)
    trust = trusting(KEY_A)
    with project.db.read() as session:
        result = verification.verify_all(session, checkpoints=[signed(2), signed(9, 2)],
                                         trusted=trust, replay=False)
    assert result.ok is False
    assert [(p.kind, p.seq, p.checkpoint, p.message) for p in result.problems] == [
        (ProblemKind.REWRITTEN, 2, 2, "checkpoint 2: the ledger no longer reproduces its head "
         "hash; events up to 2 were rewritten"),
        (ProblemKind.TRUNCATED, 5, 9, "checkpoint 9 signed event 9, but the ledger ends at "
         "event 4"),
    ]
    with project.db.read() as session:
        result = verification.verify_all(session, checkpoints=[signed(4)], trusted=trust,
                                         replay=False)
    assert [(p.kind, p.seq) for p in result.problems] == [(ProblemKind.REWRITTEN, 4)]


def test_verifying_a_database_replays_the_state_unless_told_not_to(project: Project) -> None:
    """``verify_database`` compares the state tables with the ledger by default: a caller
    that forgets ``replay`` gets the full check, not the chain alone."""
    full = verification.verify_database(project.db, store=None, trusted=None)
    assert full.ok and full.state is not None and "principals" in full.state
    chain_only = verification.verify_database(project.db, store=None, trusted=None,
                                              replay=False)
    assert chain_only.ok and chain_only.state is None
    with project.db.read() as session:
        assert verification.verify_all(session).state == full.state


def test_a_write_committed_during_verification_is_not_taken_for_tampering(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verification reads one snapshot: a principal added (event and row) by another
    writer after the walk read the events is invisible to the head and state checks too,
    instead of showing up as a head past the chain and a row the ledger never recorded."""
    original = verification._head

    def head_after_a_concurrent_write(session, walk):  # type: ignore[no-untyped-def]
        project.add_principal("late-comer")  # another connection; commits now
        return original(session, walk)

    monkeypatch.setattr(verification, "_head", head_after_a_concurrent_write)
    result = verification.verify_database(project.db, store=None, trusted=None)
    assert result.ok, result.problems
    monkeypatch.undo()
    after = verification.verify_database(project.db, store=None, trusted=None)
    assert after.ok and after.events == result.events + 1


def test_verifying_a_database_checks_whose_project_the_checkpoints_are(
        project: Project, tmp_path: Path) -> None:
    """``verify_database`` hands the project's name to the checkpoint checks: a store
    signed for another project is named, and the same store passes for that project."""
    store = CheckpointStore(str(tmp_path / "checkpoints"))
    with project.db.read() as session:
        store.write(build(session, KEY_A, store, "other")[0])

    def verify(name: str) -> list[str]:
        result = verification.verify_database(project.db, store=store,
                                              trusted=trusting(KEY_A), project_name=name)
        return [p.message for p in result.problems]

    assert verify("other") == []
    assert verify("test") == [f"checkpoint 1 ({store.location(1)}) was signed for project "
                              "'other', not 'test': the store belongs to another project"]


def test_an_event_edited_in_place_is_named_where_it_stands(project: Project) -> None:
    """The walk reads events in ``seq`` order, not storage order: PostgreSQL stores an
    updated row after the others, and the edit is still named at its own event."""
    _seed(project, 4)
    log = project.audit_log()
    action = next(e.action for e in log if e.seq == 2)
    attack.execute(project, "UPDATE audit_events SET subject = 'thing:x' WHERE seq = 2")
    result = verification.verify_database(project.db, store=None, trusted=None, replay=False)
    assert result.events == len(log)
    assert [(p.kind, p.seq) for p in result.problems] == [(ProblemKind.CHAIN, 2)]
    assert result.reason == (f"event 2 ({action} thing:x) was edited: its content does not "
                             "match its hash")


def test_a_ledger_longer_than_one_batch_is_walked_once(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk reads the events in batches, each starting after the last one read."""
    _seed(project, 6)
    whole = verification.verify_database(project.db, store=None, trusted=None)
    monkeypatch.setattr(verification, "BATCH", 3)
    batched = verification.verify_database(project.db, store=None, trusted=None)
    assert batched.ok and batched.events == whole.events > 6
    assert batched.state == whole.state


def test_each_break_in_the_stored_chain_is_named() -> None:
    """The walk's three chain checks, in order: a gap in seq, a broken link, an edit."""
    def problem(seq: int, expected: int, prev_hash: str = "p", stored: str = "h",
                check: str = "h") -> Problem | None:
        return _chain_problem(seq, expected, prev_hash, "p", "act", "s:1", stored, check)

    assert problem(4, 4) is None
    assert problem(6, 4, prev_hash="x", check="y") == Problem(
        ProblemKind.CHAIN, "event 4 is missing (deleted or renumbered); next stored is 6",
        seq=4)
    assert problem(4, 4, prev_hash="x", check="y") == Problem(
        ProblemKind.CHAIN, "event 4 does not link to event 3 (an event was deleted, inserted "
        "or reordered before it)", seq=4)
    assert problem(4, 4, check="y") == Problem(
        ProblemKind.CHAIN, "event 4 (act s:1) was edited: its content does not match its hash",
        seq=4)


def test_a_bad_trusted_key_is_named_with_where_it_came_from() -> None:
    assert verification.trusted_keys([], "--public-key") is None
    with pytest.raises(InputError, match=r"^rasad.yaml audit.public_keys 'not-a-key' is not an "
                       "Ed25519 public key"):
        verification.trusted_keys(["not-a-key"], "rasad.yaml audit.public_keys")
