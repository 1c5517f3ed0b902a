"""Finding and erasing a data subject (SQLite and PostgreSQL): exactly the versions, models
and predictions that hold them; an erasure removes them from every new version and the
prediction log, flags exactly the affected models, stores no raw id, is not repeated, is
refused without permission, and is all or nothing. The world: tests/governance/
_subjects_world.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from rasad import Project
from rasad.errors import ConflictError, InputError, PermissionDenied
from rasad.governance import subjects
from rasad.identity import Role
from rasad.serving.predlog import keyed_hash, subject_key
from rasad.store._tables import RetrainFlagRow, SubjectIndexRow
from tests.governance._subjects_world import (
    OTHER,
    SUBJECT,
    acting,
    build,
    log_bytes,
    log_frames,
)
from tests.identity._helpers import database_text, snapshot


@pytest.fixture
def world(backend: str, tmp_path: Path) -> Iterator[Project]:
    project = build(tmp_path / "proj")
    yield project
    project.close()


def test_find_lists_exactly_the_versions_models_and_predictions(world: Project) -> None:
    found = world.subject_find(SUBJECT)
    assert [(v.dataset, v.matches, v.latest) for v in found.versions] == \
        [("loans@1", 1, False), ("loans@3", 1, True)]
    assert [m.model for m in found.models] == ["credit@1", "scorecard@1"]
    assert [m.datasets for m in found.models] == [("loans@1",), ("loans@3",)]
    by_env = {p.environment: p for p in found.predictions}
    assert sorted(by_env) == ["production", "staging"]
    assert (by_env["production"].rows, by_env["production"].request_ids,
            by_env["production"].feedback_rows) == (1, ("r-prod",), 1)
    assert (by_env["staging"].rows, by_env["staging"].request_ids) == (1, ("r-stage",))
    assert found.subject_key == keyed_hash(subject_key(world.context), SUBJECT)
    assert found.searched == ("loans.application_id", "people.customer")
    assert found.indexes_built == 4  # loans@1-3 and people@1, once
    assert world.subject_find(SUBJECT).indexes_built == 0


def test_find_of_an_unknown_subject_finds_nothing(world: Project) -> None:
    found = world.subject_find("APP-999999")
    assert (found.versions, found.models, found.predictions, found.found) == ((), (), (), False)


def test_a_forged_index_entry_is_not_erased(world: Project) -> None:
    """A hash-prefix collision (forged here) names a version; the erasure reads its rows
    and leaves it alone."""
    import numpy as np

    ctx = world.context
    world.subject_find(SUBJECT)
    key = subject_key(ctx)
    with ctx.transaction() as tx:  # an insider's edit: the index of loans@2 names them
        loans2 = sorted((r for r in tx.session.execute(select(SubjectIndexRow)).scalars()
                         if r.column == "application_id"),
                        key=lambda r: r.dataset_version_id)[1]
        forged = np.sort(np.append(np.frombuffer(ctx.artifacts.get_bytes(loans2.blob), "<u8"),
                                   np.uint64(subjects.prefix(key, SUBJECT)))).astype("<u8")
        loans2.blob = ctx.artifacts.put_bytes(forged.tobytes())
    assert "loans@2" in [v.dataset for v in world.subject_find(SUBJECT).versions]
    result = world.subject_erase(SUBJECT, reason="GDPR Art. 17")
    assert [v.dataset for v in result.versions] == ["loans@1", "loans@3"]


def test_erase_removes_the_subject_everywhere_and_flags_the_models(world: Project) -> None:
    before_log = log_frames(world)
    result = world.subject_erase(SUBJECT, reason="GDPR Art. 17 request #42")
    assert result.erased and result.erasure_id == 1
    assert [(v.dataset, v.rows, v.replaced_by) for v in result.versions] == \
        [("loans@1", 1, None), ("loans@3", 1, "loans@4")]
    # The new version: the latest without the subject, every other row kept.
    new = world.dataset("loans", 4)
    parent = world.dataset("loans", 3)
    assert new.parent_id == parent.id and new.rows == parent.rows - 1
    frame = world.load_dataset("loans", 4)
    assert SUBJECT not in set(frame["application_id"])
    expected = world.load_dataset("loans", 3)
    expected = expected[expected["application_id"] != SUBJECT].reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, expected)
    # The log: no prediction about the subject, raw or masked; the rest kept.
    hashed = keyed_hash(subject_key(world.context), SUBJECT)
    after = log_frames(world)
    for rows in after.values():
        if "application_id" in "".join(rows.columns):
            assert SUBJECT not in set(rows["input.application_id"])
            assert hashed not in set(rows["input.application_id"])
    kept = sum(len(r) for p, r in after.items() if "/predictions/" in p)
    assert kept == sum(len(r) for p, r in before_log.items() if "/predictions/" in p) - 2
    feedback = pd.concat([r for p, r in after.items() if "/feedback/" in p])
    assert sorted(zip(feedback["request_id"], feedback["row"], strict=True)) == [("r-prod", 0)]
    assert (result.prediction_rows, result.feedback_rows) == (2, 1)
    # The flags: exactly the models trained on a version that held the subject.
    assert [f.model for f in result.flagged] == ["credit@1", "scorecard@1"]
    erased_at = datetime.fromisoformat(world.audit_log(action="subject.erase")[0]
                                       .occurred_at.replace("Z", "+00:00"))
    assert result.retrain_due_at is not None
    due = datetime.fromisoformat(result.retrain_due_at.replace("Z", "+00:00"))
    assert abs(due - erased_at - timedelta(days=30)) < timedelta(seconds=5)
    flags = subjects.retrain_flags(world.context)
    assert [(f.ref, f.erasure_id, f.overdue) for f in flags] == \
        [("credit@1", 1, False), ("scorecard@1", 1, False)]
    # A find afterwards: only superseded versions, blobs kept until gc.
    found = world.subject_find(SUBJECT)
    assert [(v.dataset, v.erasure_id) for v in found.versions] == [("loans@1", 1),
                                                                  ("loans@3", 1)]
    assert found.predictions == () and found.erasures == (1,)
    assert world.verify_audit().ok


def test_the_ledger_and_database_hold_a_keyed_hash_never_the_id(world: Project) -> None:
    world.subject_find(SUBJECT)
    world.subject_erase(SUBJECT, reason="GDPR Art. 17")
    hashed = keyed_hash(subject_key(world.context), SUBJECT)
    (event,) = world.audit_log(action="subject.erase")
    assert event.subject == f"subject:{hashed}"
    assert event.details["reason"] == "GDPR Art. 17"
    text = database_text(world)
    assert SUBJECT not in text and hashed in text
    assert OTHER not in text  # nor anyone else's id (the indexes are blobs of hashes)
    if world.db.url.startswith("sqlite"):
        for path in (world.root / ".rasad").glob("*.db*"):
            assert SUBJECT.encode() not in path.read_bytes()


def test_a_second_erase_is_a_no_op_that_says_so(world: Project) -> None:
    world.subject_erase(SUBJECT, reason="GDPR Art. 17")
    before = snapshot(world)
    again = world.subject_erase(SUBJECT, reason="GDPR Art. 17")
    assert not again.erased and again.previous == (1,)
    assert "Nothing to erase" in again.message and "erasure #1" in again.message
    assert snapshot(world) == before


def test_the_subject_added_again_is_erased_again(world: Project) -> None:
    world.subject_erase(SUBJECT, reason="first")
    world.add_dataset(world.load_dataset("loans", 1).head(500), "loans")  # loans@5 holds them
    result = world.subject_erase(SUBJECT, reason="second")
    assert result.erased and [v.dataset for v in result.versions] == ["loans@5"]
    assert result.versions[0].replaced_by == "loans@6" and result.flagged == ()


def test_erasing_needs_subject_erase_and_finding_needs_audit_read(world: Project) -> None:
    world.add_principal("dana", roles=[Role.DATA_SCIENTIST])
    world.add_principal("aud", roles=[Role.AUDITOR])
    before, logged = snapshot(world), log_bytes(world)
    with acting(world, "dana") as dana:
        with pytest.raises(PermissionDenied, match="subject.erase"):
            subjects.erase(dana, SUBJECT, reason="GDPR")
        with pytest.raises(PermissionDenied, match="audit.read"):
            subjects.find(dana, SUBJECT)
    with acting(world, "aud") as auditor:
        with pytest.raises(PermissionDenied, match="subject.erase"):
            subjects.erase(auditor, SUBJECT, reason="GDPR")
    assert snapshot(world) == before and log_bytes(world) == logged
    with acting(world, "aud") as auditor:
        assert subjects.find(auditor, SUBJECT).found


@pytest.mark.parametrize("where", ["rewriting the log", "after the log was rewritten",
                                   "recording the event"])
def test_a_crash_mid_erase_leaves_nothing_half_done(world: Project,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    where: str) -> None:
    world.subject_find(SUBJECT)  # the indexes are stored: what follows must change nothing
    before, logged = snapshot(world), log_bytes(world)
    if where == "rewriting the log":
        from rasad.serving.predlog import _redact

        calls = []

        def failing(store, path, table):  # type: ignore[no-untyped-def]
            calls.append(path)
            if len(calls) == 2:
                raise OSError(28, "No space left on device")
            return real_write(store, path, table)

        real_write = _redact.write_segment
        monkeypatch.setattr(_redact, "write_segment", failing)
    elif where == "after the log was rewritten":
        real_apply = subjects.apply_redaction

        def then_fail(store, redaction):  # type: ignore[no-untyped-def]
            real_apply(store, redaction)
            raise RuntimeError("killed before the commit")

        monkeypatch.setattr(subjects, "apply_redaction", then_fail)
    else:
        from rasad.ledger import Tx

        real_record = Tx.record

        def record(self, action, subject, details=None):  # type: ignore[no-untyped-def]
            if action == "subject.erase":
                raise RuntimeError("crash while recording")
            return real_record(self, action, subject, details)

        monkeypatch.setattr(Tx, "record", record)
    with pytest.raises((OSError, RuntimeError)):
        world.subject_erase(SUBJECT, reason="GDPR Art. 17")
    assert snapshot(world) == before
    assert log_bytes(world) == logged
    monkeypatch.undo()
    assert world.subject_erase(SUBJECT, reason="GDPR Art. 17").erased  # and it can be redone


def test_a_new_version_during_the_erasure_is_a_conflict(world: Project,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    real_confirm = subjects._confirm

    def meanwhile(store, candidate, text):  # type: ignore[no-untyped-def]
        found = real_confirm(store, candidate, text)
        if candidate.ref == "loans@3":
            world.add_dataset(world.load_dataset("loans", 2).head(10), "loans")
        return found

    monkeypatch.setattr(subjects, "_confirm", meanwhile)
    before_flags = 0
    with pytest.raises(ConflictError, match="again"):
        world.subject_erase(SUBJECT, reason="GDPR")
    with world.read() as session:
        assert len(session.execute(select(RetrainFlagRow)).all()) == before_flags


def test_bad_input_names_the_fix(world: Project) -> None:
    with pytest.raises(InputError, match="non-empty"):
        world.subject_find("")
    with pytest.raises(InputError, match="at most 1000"):
        world.subject_find("x" * 1001)
    with pytest.raises(InputError, match="reason"):
        world.subject_erase(SUBJECT, reason="  ")


def test_no_declared_columns_is_an_input_error(tmp_path: Path) -> None:
    with Project.init(tmp_path / "bare") as bare:
        with pytest.raises(InputError, match="subject_columns"):
            bare.subject_find(SUBJECT)
