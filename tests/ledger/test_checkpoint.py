"""Signed checkpoints catch every re-chained rewrite of the ledger, and name it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import fsspec
import pytest

from rasad import Project
from rasad.errors import InputError, IntegrityError
from rasad.ledger import ProblemKind, Verification
from rasad.ledger.checkpoint import CheckpointStore, file_name
from rasad.ledger.keys import public_key_text, signing_key

from . import _attacks as attack


@pytest.fixture
def ledger(project: Project, tmp_path: Path) -> tuple[Project, Path, Path]:
    """Events 1-7, the key event 8 and a checkpoint at 8; events 9-11 and a checkpoint at 11."""
    key = attack.new_key(tmp_path)
    store = tmp_path / "checkpoints"
    _seed(project, 6)
    project.checkpoint(to=str(store), key=key)
    _seed(project, 3, start=6)
    result = project.checkpoint(to=str(store), key=key)
    assert result.created and result.checkpoint.seq == 11
    return project, store, key


def _seed(project: Project, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with project.transaction() as tx:
            tx.record("test.event", f"thing:{i}", {"i": i})


def _verify(project: Project, store: Path, key: Path | None = None) -> Verification:
    keys = [key.with_name(key.name + ".pub").read_text()] if key else None
    return project.verify_audit(checkpoints=str(store), public_keys=keys)


def _kinds(result: Verification) -> list[tuple[str, int | None, int | None]]:
    return [(str(p.kind), p.seq, p.checkpoint) for p in result.problems]


def test_untouched_ledger_reproduces_every_checkpoint(ledger: tuple[Project, Path, Path]
                                                      ) -> None:
    project, store, key = ledger
    assert sorted(p.name for p in store.iterdir()) == [file_name(8), file_name(11)]
    result = _verify(project, store, key)
    assert result.ok, result.problems
    assert (result.checkpoints, result.latest_checkpoint, result.events) == (2, 11, 11)
    assert result.key_source == "--public-key"
    # Without a trusted key given, the first key the ledger recorded is used.
    assert project.verify_audit(checkpoints=str(store)).key_source.startswith("trust on first")


def test_trust_on_first_use_trusts_the_first_recorded_key_only(
        ledger: tuple[Project, Path, Path], tmp_path: Path) -> None:
    """A second key recorded later (an insider's own) does not replace the first one that
    trust on first use relies on: checkpoints it signs are named as untrusted."""
    project, store, _ = ledger
    second = project.checkpoint(to=str(store), key=attack.new_key(tmp_path, "second"))
    assert (second.key_recorded_seq, second.checkpoint.seq) == (12, 12)
    result = project.verify_audit(checkpoints=str(store))
    assert result.key_source == "trust on first use: the key the ledger recorded at event 8"
    assert _kinds(result) == [("signature", 12, 12)]
    assert "is not trusted" in (result.reason or "")


def test_the_naive_chain_check_alone_misses_a_rechained_edit(
        ledger: tuple[Project, Path, Path]) -> None:
    project, store, key = ledger
    attack.edit(project, 4)
    assert project.verify_audit(replay=False).ok  # the attack defeats the chain alone
    result = _verify(project, store, key)
    assert not result.ok
    assert _kinds(result) == [("edited", 4, 8)]
    assert "event 4 (test.event thing:2)" in (result.reason or "")


def test_deletion_is_named(ledger: tuple[Project, Path, Path]) -> None:
    project, store, key = ledger
    attack.delete(project, 5)
    result = _verify(project, store, key)
    assert _kinds(result) == [("deleted", 5, 8)], result.problems
    assert result.first_bad_seq == 5


def test_insertion_is_named(ledger: tuple[Project, Path, Path]) -> None:
    project, store, key = ledger
    attack.insert(project, 5)
    result = _verify(project, store, key)
    assert _kinds(result) == [("inserted", 5, 8)], result.problems
    assert "thing:forged" in (result.reason or "")


def test_reorder_is_named(ledger: tuple[Project, Path, Path]) -> None:
    project, store, key = ledger
    attack.swap(project, 3, 4)
    result = _verify(project, store, key)
    assert [k for k, _, _ in _kinds(result)] == ["reordered"], result.problems
    assert result.problems[0].checkpoint == 8 and result.first_bad_seq == 3


def test_truncation_with_the_head_fixed_is_named(ledger: tuple[Project, Path, Path]) -> None:
    project, store, key = ledger
    attack.truncate(project, keep=9)
    assert project.verify_audit(replay=False).ok
    result = _verify(project, store, key)
    assert _kinds(result) == [("truncated", 10, 11)], result.problems
    assert "events 10-11" in (result.reason or "")


def test_newest_events_replaced_by_forgeries_are_named(ledger: tuple[Project, Path, Path]
                                                       ) -> None:
    project, store, key = ledger
    attack.truncate(project, keep=10)
    attack.append(project, "test.event", "thing:forged", {"forged": True},
                  "2026-01-01T00:00:00.000000Z")
    result = _verify(project, store, key)
    assert _kinds(result) == [("edited", 11, 11)], result.problems


def test_backdated_appended_forgery_is_named(ledger: tuple[Project, Path, Path]) -> None:
    project, store, key = ledger
    seq = attack.append(project, "test.approval", "model:credit", {"approved": True},
                        "2026-01-01T00:00:00.000000Z")
    result = _verify(project, store, key)
    assert _kinds(result) == [("appended", seq, 11)], result.problems
    assert "backdated" in (result.reason or "")


def test_events_after_the_latest_checkpoint_are_reported_uncovered(
        ledger: tuple[Project, Path, Path]) -> None:
    project, store, key = ledger
    _seed(project, 2, start=20)
    result = _verify(project, store, key)
    assert result.ok
    assert result.notes == ("events 12-13 are newer than the latest checkpoint and are not "
                            "yet covered by one",)


def test_a_fully_covered_ledger_has_no_note_and_no_store_verifies_no_checkpoint(
        ledger: tuple[Project, Path, Path]) -> None:
    project, store, key = ledger
    assert _verify(project, store, key).notes == ()
    without = project.verify_audit()
    assert without.ok and without.notes == ()
    assert (without.checkpoints, without.latest_checkpoint, without.trusted_keys,
            without.key_source) == (0, None, (), None)


def test_checkpoint_refuses_to_sign_a_rewritten_ledger(ledger: tuple[Project, Path, Path]
                                                       ) -> None:
    project, store, key = ledger
    attack.edit(project, 4)
    with pytest.raises(IntegrityError, match="Nothing was signed"):
        project.checkpoint(to=str(store), key=key)
    attack.truncate(project, keep=9)
    with pytest.raises(IntegrityError, match="newest events were deleted"):
        project.checkpoint(to=str(store), key=key)
    assert sorted(p.name for p in store.iterdir()) == [file_name(8), file_name(11)]


def test_an_altered_checkpoint_file_fails_its_signature(ledger: tuple[Project, Path, Path]
                                                        ) -> None:
    project, store, key = ledger
    attack.edit(project, 10)
    # An insider who can also write the store edits the signed head to the new one.
    path = store / file_name(11)
    document = json.loads(path.read_text())
    with project.db.read_engine.connect() as conn:
        document["payload"]["head_hash"] = conn.exec_driver_sql(
            "SELECT hash FROM audit_events WHERE seq = 11").scalar_one()
    path.write_text(json.dumps(document))
    result = _verify(project, store, key)
    assert _kinds(result) == [("signature", 11, 11)]
    assert "does not verify" in (result.reason or "")


def test_checkpoints_signed_by_another_key_are_not_trusted(
        ledger: tuple[Project, Path, Path], tmp_path: Path) -> None:
    project, store, key = ledger
    mallory = attack.new_key(tmp_path, "mallory")
    attack.edit(project, 10)
    forged = tmp_path / "forged"
    project.checkpoint(to=str(forged), key=mallory)
    result = _verify(project, forged, key)
    assert not result.ok
    assert {p.kind for p in result.problems} == {ProblemKind.SIGNATURE}
    assert "not trusted" in (result.reason or "")


def test_a_rewritten_key_event_cannot_vouch_for_the_insider(
        ledger: tuple[Project, Path, Path], tmp_path: Path) -> None:
    """Trust on first use: replacing the recorded key makes the real checkpoints untrusted."""
    project, store, _ = ledger
    mallory = signing_key(attack.new_key(tmp_path, "mallory"), {})
    with project.db.write_engine.begin() as conn:
        details = json.dumps({"fingerprint": "x", "public_key": public_key_text(
            mallory.public_key())}, separators=(",", ":"), sort_keys=True)
        conn.exec_driver_sql("UPDATE audit_events SET details = ? WHERE seq = 8"
                             if project.db.backend == "sqlite"
                             else "UPDATE audit_events SET details = %s WHERE seq = 8",
                             (details,))
        attack.rechain(conn)
    result = project.verify_audit(checkpoints=str(store))
    assert not result.ok
    assert {p.kind for p in result.problems} == {ProblemKind.SIGNATURE}


def test_deleted_checkpoint_files_are_noticed(ledger: tuple[Project, Path, Path]) -> None:
    project, store, key = ledger
    (store / file_name(8)).unlink()
    result = _verify(project, store, key)
    assert _kinds(result) == [("checkpoint", None, 8)]
    for path in store.iterdir():
        path.unlink()
    result = _verify(project, store, key)
    assert [(str(p.kind), p.seq, p.checkpoint, p.message) for p in result.problems] == [(
        "checkpoint", 8, None, "the checkpoint store holds no checkpoints, but the ledger "
        "recorded a checkpoint key at event 8: wrong store, or its files were deleted")]


def test_memory_store_and_never_overwriting(project: Project, tmp_path: Path) -> None:
    key = attack.new_key(tmp_path)
    url = f"memory://rasad-test-{uuid.uuid4().hex}/cps"
    first = project.checkpoint(to=url, key=key)
    again = project.checkpoint(to=url, key=key)
    assert first.created and not again.created
    assert again.checkpoint == first.checkpoint
    store = CheckpointStore(url)
    assert store.seqs() == [2]
    assert not store.write(first.checkpoint)  # an existing file is never replaced
    fs, path = fsspec.core.url_to_fs(url)
    assert fs.cat(f"{path}/{file_name(2)}") == first.checkpoint.to_bytes()
    attack.edit(project, 1)
    result = project.verify_audit(checkpoints=url)
    assert _kinds(result) == [("edited", 1, 2)]


def test_key_from_the_environment(project: Project, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    key = attack.new_key(tmp_path)
    monkeypatch.setenv("RASAD_CHECKPOINT_KEY", key.read_text())
    result = project.checkpoint(to=str(tmp_path / "cps"))
    assert result.created and result.key_recorded_seq == 2
    monkeypatch.delenv("RASAD_CHECKPOINT_KEY")
    monkeypatch.setenv("RASAD_CHECKPOINT_KEY_FILE", str(key))
    assert project.checkpoint(to=str(tmp_path / "cps")).key_recorded_seq is None
    monkeypatch.delenv("RASAD_CHECKPOINT_KEY_FILE")
    with pytest.raises(InputError, match="No checkpoint signing key"):
        project.checkpoint(to=str(tmp_path / "cps"))


def test_docs_example_runs(capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RASAD_DATABASE_URL", raising=False)
    text = (Path(__file__).parents[2] / "docs" / "audit.md").read_text(encoding="utf-8")
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(example, "docs/audit.md", "exec"), {})
    assert capsys.readouterr().out.startswith(
        "edited event 3 (demo.event thing:1) is not the event checkpoint 5 signed as event 3")
