"""State replay of data subjects: erasures, erased versions, retrain flags and subject-id
indexes edited by SQL behind rasad's back are caught and the row named (SQLite and
PostgreSQL)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from rasad import Project
from rasad.governance import subjects
from rasad.ledger import ProblemKind, Verification, canonical_json
from rasad.ledger._erasures import ACTIONS, ErasureReplay, summary_digest
from tests.governance._subjects_world import SUBJECT, build

from . import _attacks as attack

CREDIT_1 = "(SELECT id FROM model_versions WHERE name = 'credit' AND version = 1)"
LOANS_3 = "(SELECT id FROM dataset_versions WHERE name = 'loans' AND version = 3)"


@pytest.fixture
def erased(backend: str, tmp_path: Path) -> Iterator[Project]:
    project = build(tmp_path / "proj")
    result = project.subject_erase(SUBJECT, reason="GDPR Art. 17")
    assert [v.dataset for v in result.versions] == ["loans@1", "loans@3"]
    assert [f.model for f in result.flagged] == ["credit@1", "scorecard@1"]
    yield project
    project.close()


def _problems(project: Project) -> list[str]:
    result: Verification = project.verify_audit()
    assert all(p.kind is ProblemKind.STATE for p in result.problems), result.problems
    return [p.message for p in result.problems]


def _seq(project: Project) -> int:
    (event,) = project.audit_log(action=subjects.ERASE_ACTION)
    return event.seq


def test_untouched_erasures_verify_clean(erased: Project) -> None:
    result = erased.verify_audit()
    assert result.ok, result.problems
    assert result.state is not None
    index_events = erased.audit_log(action=subjects.INDEX_ACTION)
    assert {k: result.state[k] for k in ("erasures", "erased_versions", "retrain_flags",
                                         "subject_indexes")} == {
        "erasures": 1, "erased_versions": 2, "retrain_flags": 2,
        "subject_indexes": sum(len(e.details["columns"]) for e in index_events)}
    assert result.state["subject_indexes"] >= 4  # loans@1..4 at least


def test_a_deleted_retrain_flag_is_named(erased: Project) -> None:
    attack.execute(erased, f"DELETE FROM retrain_flags WHERE model_version_id = {CREDIT_1}")
    assert _problems(erased) == [
        f"retrain_flags (erasure #1, credit@1) is missing: the ledger recorded it "
        f"(subject.erase, event {_seq(erased)})."]


def test_a_postponed_retrain_deadline_is_named(erased: Project) -> None:
    due = erased.audit_log(action=subjects.ERASE_ACTION)[0].details["retrain_due_at"]
    attack.execute(erased, "UPDATE retrain_flags SET due_at = '2099-01-01T00:00:00Z'")
    attack.execute(erased, "UPDATE erasures SET retrain_due_at = '2099-01-01T00:00:00Z'")
    seq = _seq(erased)
    assert _problems(erased) == [
        f"erasures (#1): retrain_due_at is '2099-01-01T00:00:00Z', but the ledger "
        f"(subject.erase, event {seq}) recorded {due!r}.",
        f"retrain_flags (erasure #1, credit@1): due_at is '2099-01-01T00:00:00Z', but the "
        f"ledger (subject.erase, event {seq}) recorded {due!r}.",
        f"retrain_flags (erasure #1, scorecard@1): due_at is '2099-01-01T00:00:00Z', but "
        f"the ledger (subject.erase, event {seq}) recorded {due!r}."]


def test_a_flag_moved_to_another_model_is_named_twice(erased: Project) -> None:
    attack.execute(erased, "UPDATE retrain_flags SET model_version_id = (SELECT id FROM "
                           "model_versions WHERE name = 'credit' AND version = 2) "
                           f"WHERE model_version_id = {CREDIT_1}")
    seq = _seq(erased)
    assert _problems(erased) == [
        f"retrain_flags (erasure #1, credit@1) is missing: the ledger recorded it "
        f"(subject.erase, event {seq}).",
        "retrain_flags (erasure #1, credit@2) exists, but the ledger records no such flag."]


def test_an_erasure_rewritten_by_someone_else_is_named(erased: Project) -> None:
    attack.execute(erased, "UPDATE erasures SET reason = 'routine cleanup', "
                           "created_by = 'mallory', subject_key = :k", k="0" * 64)
    seq = _seq(erased)
    problems = _problems(erased)
    assert [p.split(":")[0] for p in problems] == ["erasures (#1)"] * 3
    assert f"reason is 'routine cleanup', but the ledger (subject.erase, event {seq}) " \
           "recorded 'GDPR Art. 17'." in problems[0] + problems[1] + problems[2]
    # The erasure's author is the actor of its own event, named with that event.
    assert "erasures (#1): created_by is 'mallory', but the ledger (subject.erase, event " \
           f"{seq}) recorded 'tester'." in problems, problems
    assert any(p.startswith("erasures (#1): subject_key is '" + "0" * 64) for p in problems)


def test_an_edited_summary_is_named(erased: Project) -> None:
    attack.execute(erased, "UPDATE erasures SET summary = :s",
                   s=canonical_json({"versions": [], "flagged": []}))
    (problem,) = _problems(erased)
    assert problem.startswith(f"erasures (#1): summary is "
                              f"'{summary_digest({'versions': [], 'flagged': []})}', but")


def test_a_forged_erasure_and_a_deleted_one_are_named(erased: Project) -> None:
    attack.execute(erased, """
        INSERT INTO erasures (id, subject_key, reason, summary, retrain_due_at, created_by,
                              created_at)
        VALUES (2, :k, 'made up', '{}', '2026-01-01T00:00:00Z', 'mallory',
                '2026-01-01T00:00:00Z')""", k="1" * 64)
    assert _problems(erased) == [
        "erasures (#2) exists, but the ledger records no such erasure."]
    for table in ("retrain_flags", "erased_versions", "erasures"):
        attack.execute(erased, f"DELETE FROM {table} WHERE erasure_id = 1"
                       if table != "erasures" else "DELETE FROM erasures")
    recorded = f" is missing: the ledger recorded it (subject.erase, event {_seq(erased)})."
    assert _problems(erased) == [row + recorded for row in (
        "erasures (#1)",
        "erased_versions (erasure #1, loans@1)", "erased_versions (erasure #1, loans@3)",
        "retrain_flags (erasure #1, credit@1)", "retrain_flags (erasure #1, scorecard@1)")]


def test_an_erased_version_unlinked_from_its_replacement_is_named(erased: Project) -> None:
    attack.execute(erased, "UPDATE erased_versions SET replaced_by_id = NULL, rows = 0 "
                           f"WHERE dataset_version_id = {LOANS_3}")
    seq = _seq(erased)
    assert sorted(_problems(erased)) == [
        f"erased_versions (erasure #1, loans@3): replaced_by is None, but the ledger "
        f"(subject.erase, event {seq}) recorded 'loans@4'.",
        f"erased_versions (erasure #1, loans@3): rows is 0, but the ledger "
        f"(subject.erase, event {seq}) recorded 1."]


def test_an_index_that_hides_the_subject_is_named(erased: Project) -> None:
    """Pointing loans@1's index at loans@2's (which never held the subject) would make
    `subject find` miss them there."""
    attack.execute(erased, """
        UPDATE subject_indexes SET blob = (SELECT s.blob FROM subject_indexes s
            JOIN dataset_versions d ON d.id = s.dataset_version_id
            WHERE d.name = 'loans' AND d.version = 2),
        entries = entries - 1
        WHERE dataset_version_id = (SELECT id FROM dataset_versions
                                    WHERE name = 'loans' AND version = 1)""")
    problems = _problems(erased)
    assert [p.split(":")[0] for p in problems] == \
        [problems[0].split(":")[0]] * 2
    assert problems[0].startswith("subject_indexes (loans@1, application_id, key ")
    assert "blob is '" in problems[0] and "entries is " in problems[1]


def test_an_index_row_without_its_event_is_named(erased: Project) -> None:
    attack.execute(erased, """
        INSERT INTO subject_indexes (dataset_version_id, "column", key_id, entries, blob,
                                     created_by, created_at)
        SELECT dataset_version_id, 'x', key_id, 1, blob, 'mallory', created_at
        FROM subject_indexes WHERE dataset_version_id = (SELECT id FROM dataset_versions
                                     WHERE name = 'loans' AND version = 2)""")
    (problem,) = _problems(erased)
    assert problem.startswith("subject_indexes (loans@2, x, key ")
    assert problem.endswith("exists, but the ledger records no index of that column.")


def test_events_are_read_into_erasures_versions_flags_and_indexes() -> None:
    replay = ErasureReplay()
    replay.feed(5, "dataset.subject_index", "dataset:loans@1", {
        "key_id": "k1", "columns": {"a": {"blob": "b1", "entries": 3},
                                    "c": {"blob": "b2", "entries": 4}}})
    replay.feed(6, "subject.erase", "subject:HASH", {
        "erasure": 9, "reason": "Art. 17", "retrain_due_at": "2026-02-01T00:00:00Z",
        "versions": [{"dataset": "loans@1", "rows": 2, "replaced_by": "loans@2"}],
        "flagged": ["credit@1"], "prediction_rows": 1, "feedback_rows": 0, "segments": 1})
    replay.feed(7, "subject.erase", "subject:OLD", {"reason": "no id recorded"})
    assert {k: f.columns for k, f in replay.indexes.items()} == {
        ("loans@1", "a", "k1"): {"blob": (5, "dataset.subject_index", "b1"),
                                 "entries": (5, "dataset.subject_index", 3)},
        ("loans@1", "c", "k1"): {"blob": (5, "dataset.subject_index", "b2"),
                                 "entries": (5, "dataset.subject_index", 4)}}
    (erasure,) = replay.erasures.values()
    summary = summary_digest({"versions": [{"dataset": "loans@1", "rows": 2,
                                            "replaced_by": "loans@2"}],
                              "flagged": ["credit@1"], "prediction_rows": 1,
                              "feedback_rows": 0, "segments": 1})
    assert (erasure.seq, {k: v[2] for k, v in erasure.columns.items()}) == (6, {
        "subject_key": "HASH", "reason": "Art. 17", "retrain_due_at": "2026-02-01T00:00:00Z",
        "summary": summary})
    assert {k: {c: v[2] for c, v in f.columns.items()} for k, f in replay.versions.items()} \
        == {(9, "loans@1"): {"rows": 2, "replaced_by": "loans@2"}}
    assert {k: f.columns for k, f in replay.flags.items()} == {
        (9, "credit@1"): {"due_at": (6, "subject.erase", "2026-02-01T00:00:00Z")}}


def test_the_summary_digest_is_of_the_canonical_json() -> None:
    text = canonical_json({"b": [1], "a": "é"})
    assert summary_digest(text) == summary_digest({"a": "é", "b": [1]})
    assert summary_digest(text) == \
        f"sha256 {hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}…"


def test_the_replay_reads_the_actions_the_erasure_records() -> None:
    assert ACTIONS == {subjects.INDEX_ACTION, subjects.ERASE_ACTION}


def test_a_deleted_index_is_named_with_its_event(erased: Project) -> None:
    (event,) = [e for e in erased.audit_log(action=subjects.INDEX_ACTION)
                if e.subject == "dataset:loans@2"]
    attack.execute(erased, "DELETE FROM subject_indexes WHERE dataset_version_id = "
                           "(SELECT id FROM dataset_versions WHERE name = 'loans' AND "
                           "version = 2)")
    assert _problems(erased) == [
        f"subject_indexes (loans@2, application_id, key {event.details['key_id']}) is "
        f"missing: the ledger recorded it (dataset.subject_index, event {event.seq})."]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_rows_pointing_at_no_version_are_named_by_id(erased: Project) -> None:
    """With foreign keys off (a raw sqlite3 connection), rows can point at versions that do
    not exist: they are named by the id they hold."""
    import sqlite3

    with sqlite3.connect(erased.db.url.removeprefix("sqlite:///")) as raw:
        raw.execute("UPDATE retrain_flags SET model_version_id = 999 WHERE model_version_id "
                    f"= {CREDIT_1}")
        raw.execute("UPDATE erased_versions SET replaced_by_id = 998 WHERE replaced_by_id "
                    "IS NOT NULL")
        raw.execute("UPDATE subject_indexes SET dataset_version_id = 997 WHERE "
                    "dataset_version_id = (SELECT id FROM dataset_versions WHERE name = "
                    "'loans' AND version = 2)")
        raw.execute("UPDATE erased_versions SET dataset_version_id = 996 WHERE "
                    "dataset_version_id = (SELECT id FROM dataset_versions WHERE name = "
                    "'loans' AND version = 1)")
    problems = _problems(erased)
    assert "erased_versions (erasure #1, dataset_versions id 996) exists, but the ledger " \
           "records no erasure of that version." in problems, problems
    assert f"erased_versions (erasure #1, loans@1) is missing: the ledger recorded it " \
           f"(subject.erase, event {_seq(erased)})." in problems, problems
    assert "retrain_flags (erasure #1, model_versions id 999) exists, but the ledger " \
           "records no such flag." in problems
    assert any(p.startswith("erased_versions (erasure #1, loans@3): replaced_by is "
                            "'dataset_versions id 998', but") for p in problems), problems
    assert any(p.startswith("subject_indexes (dataset_versions id 997, application_id, key ")
               for p in problems), problems
