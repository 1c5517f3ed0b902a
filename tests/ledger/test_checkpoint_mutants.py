"""A checkpoint's exact bytes and signature, and the checks on a file read back.

Ed25519 signatures are deterministic, so a fixed key and payload give fixed bytes: any
change to what is signed or how it is written breaks every stored checkpoint, and must
be deliberate. Written against the mutants mutation testing left alive (docs/testing.md).
"""

from __future__ import annotations

import json
from base64 import b64encode
from pathlib import Path

import pytest

from rasad import Project
from rasad.errors import InputError, IntegrityError
from rasad.ledger import GENESIS_HASH
from rasad.ledger import checkpoint as checkpoint_module
from rasad.ledger.checkpoint import (
    KEY_ACTION,
    KEY_SUBJECT,
    Checkpoint,
    CheckpointFileError,
    CheckpointResult,
    CheckpointStore,
    _extend,
    create,
    key_recorded,
    sign_checkpoint,
)
from rasad.ledger.keys import private_key_from_text

from . import _attacks as attack

KEY = private_key_from_text(b64encode(bytes(32)).decode())
FINGERPRINT = "SHA256:139e3940e64b5491722088d9a0d741628fc826e09475d341a780acde3c4b8070"
SIGNATURE = ("tW0z31DuEF6dT0M8Ct+rJTVQ5//6KLji6zTZ+6oyVkvvo8OLsxbcBQTS3wFmREwc8Xn++wk+jomUdrCZ"
             "LhPoAQ==")
STORED = """{
 "payload": {
  "format": "rasad.checkpoint/1",
  "seq": 1,
  "head_hash": "HEAD",
  "created_at": "2026-01-01T00:00:00.000000Z",
  "project": {
   "id": "PROJECT",
   "name": "d\u00e9mo"
  },
  "key": "FINGERPRINT",
  "previous_seq": null,
  "event_digests": [
   "0123456789abcdef"
  ]
 },
 "public_key": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=",
 "signature": "SIGNATURE"
}
""".replace("HEAD", "ab" * 32).replace("PROJECT", "cd" * 32).replace(
    "FINGERPRINT", FINGERPRINT).replace("SIGNATURE", SIGNATURE)


def _signed(location: str = "/x/000000000001.json") -> Checkpoint:
    return sign_checkpoint(KEY, seq=1, head_hash="ab" * 32,
                           created_at="2026-01-01T00:00:00.000000Z", project_id="cd" * 32,
                           project_name="d\u00e9mo", previous_seq=None,
                           event_digests=("0123456789abcdef",), location=location)


def test_a_signed_checkpoint_is_these_exact_bytes() -> None:
    checkpoint = _signed()
    assert checkpoint.signature == SIGNATURE
    assert checkpoint.key_fingerprint == FINGERPRINT
    assert checkpoint.to_bytes() == STORED.encode("utf-8")
    assert checkpoint.signature_valid()
    again = Checkpoint.from_bytes(STORED.encode(), "somewhere")
    assert again == Checkpoint(**{**checkpoint.__dict__, "location": "somewhere"})
    assert again.signature_valid()


def test_checkpoint_and_result_render_to_json() -> None:
    checkpoint = _signed()
    shown = {"seq": 1, "head_hash": "ab" * 32, "created_at": "2026-01-01T00:00:00.000000Z",
             "project": "d\u00e9mo", "key": FINGERPRINT, "location": "/x/000000000001.json"}
    assert checkpoint.to_dict() == shown
    assert CheckpointResult(checkpoint, True, 3).to_dict() == {
        **shown, "created": True, "key_recorded_seq": 3}
    assert CheckpointResult(checkpoint, False, None).to_dict() == {
        **shown, "created": False, "key_recorded_seq": None}


def _edited(**changes: object) -> bytes:
    document = json.loads(STORED)
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        target = document
        for part in path:
            target = target[part]
        target[last] = value
    return json.dumps(document).encode()


@pytest.mark.parametrize("field", [
    {"payload__seq": 2}, {"payload__head_hash": "ef" * 32},
    {"payload__created_at": "2026-01-01T00:00:01.000000Z"},
    {"payload__project__name": "other"}, {"payload__project__id": "ef" * 32},
    {"payload__previous_seq": 0}, {"payload__event_digests": ["0123456789abcdee"]},
])
def test_changing_any_signed_field_breaks_the_signature(field: dict[str, object]) -> None:
    assert not Checkpoint.from_bytes(_edited(**field), "x").signature_valid()


@pytest.mark.parametrize(("change", "why"), [
    ({"payload__key": "SHA256:" + "0" * 64}, "the key fingerprint is not the key's"),
    ({"signature": "not base64!"}, "the signature is not base64"),
    ({"signature": b64encode(bytes(64)).decode()}, "the signature is another one"),
    ({"public_key": "short"}, "the public key is not a key"),
    ({"public_key": b64encode(bytes(32)).decode()}, "the public key is another one"),
])
def test_a_checkpoint_whose_key_or_signature_is_wrong_is_invalid(change: dict[str, object],
                                                                 why: str) -> None:
    assert not Checkpoint.from_bytes(_edited(**change), "x").signature_valid(), why


@pytest.mark.parametrize(("data", "detail"), [
    (b"not json", "JSONDecodeError"),
    (b"[]", "TypeError"),
    (b"{}", "KeyError: 'payload'"),
    (_edited(payload__format="rasad.checkpoint/2"), "ValueError: format 'rasad.checkpoint/2'"),
    (_edited(payload__seq="one"), "ValueError"),
    (_edited(payload__project="flat"), "TypeError"),
    (_edited(payload__event_digests=None), "TypeError"),
    (_edited(payload__previous_seq="x"), "ValueError"),
])
def test_a_file_that_is_not_a_checkpoint_is_named(data: bytes, detail: str) -> None:
    with pytest.raises(CheckpointFileError) as caught:
        Checkpoint.from_bytes(data, "memory://store/000000000001.json")
    message = str(caught.value)
    assert message.startswith("Checkpoint memory://store/000000000001.json is not a rasad "
                              f"checkpoint ({detail}")
    assert caught.value.exit_code == 1


def test_previous_seq_and_types_are_read_back_as_signed() -> None:
    read = Checkpoint.from_bytes(_edited(payload__previous_seq="7", payload__seq="1"), "x")
    assert (read.seq, read.previous_seq) == (1, 7)
    assert Checkpoint.from_bytes(STORED.encode(), "x").previous_seq is None


@pytest.mark.parametrize("url", ["memory://rasad-cp-store", None])
def test_a_store_writes_each_checkpoint_once_and_lists_only_checkpoints(
        tmp_path: Path, url: str | None) -> None:
    store = CheckpointStore(url or str(tmp_path / "cps") + "/")
    assert store.url == (url or str(tmp_path / "cps"))
    assert store.seqs() == []
    first = _signed(store.location(1))
    assert store.location(1) == f"{store.url}/000000000001.json"
    assert store.write(first) is True
    assert store.write(first) is False  # never overwritten
    fs, root = store._fs()
    for name in ("notes.txt", "1.json", "0000000000012.json", "00000000000a.json"):
        fs.pipe_file(f"{root}/{name}", b"{}")
    assert store.seqs() == [1]
    assert store.read(1) == first
    assert list(store.all()) == [first]
    fs.pipe_file(f"{root}/000000000002.json", STORED.encode())  # event 1's file, renamed
    with pytest.raises(CheckpointFileError, match="holds event 1, not 2: it was renamed"):
        store.read(2)
    fs.pipe_file(f"{root}/000000000003.json", b"garbage")
    found = list(store.all())
    assert found[0] == first and [type(f) for f in found[1:]] == [CheckpointFileError] * 2
    if url:
        fs.rm(root, recursive=True)


def test_a_relative_folder_is_stored_as_an_absolute_one(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert CheckpointStore("cps").url == str(tmp_path / "cps")
    assert CheckpointStore("memory://bucket/cps/").url == "memory://bucket/cps"


def test_a_signature_with_a_stray_character_is_invalid() -> None:
    assert not Checkpoint.from_bytes(_edited(signature="!" + SIGNATURE), "x").signature_valid()
    assert not Checkpoint.from_bytes(_edited(signature=SIGNATURE[:44] + "\n" + SIGNATURE[44:]),
                                     "x").signature_valid()


def test_a_checkpoint_signed_without_a_location_has_none() -> None:
    checkpoint = sign_checkpoint(KEY, seq=1, head_hash="ab" * 32, created_at="t",
                                 project_id="cd" * 32, project_name="p", previous_seq=None,
                                 event_digests=())
    assert checkpoint.location == "" and checkpoint.signature_valid()


def test_an_unusable_store_url_is_an_input_error() -> None:
    with pytest.raises(InputError) as caught:
        CheckpointStore("nosuchprotocol://bucket/cps").seqs()
    assert str(caught.value).startswith(
        "Checkpoint store 'nosuchprotocol://bucket/cps' is not a usable fsspec URL or folder: ")


def test_a_store_folder_name_is_kept_whole(tmp_path: Path) -> None:
    store = CheckpointStore(str(tmp_path / "cps-X"))
    assert store.write(_signed(store.location(1)))
    assert [p.name for p in (tmp_path / "cps-X").iterdir()] == ["000000000001.json"]
    assert store.seqs() == [1] and store.read(1).signature_valid()


# -- signing a project's ledger ------------------------------------------------------------------


def _seed(project: Project, n: int) -> None:
    for i in range(n):
        with project.transaction() as tx:
            tx.record("test.event", f"thing:{i}", {"i": i})


@pytest.fixture
def signed_project(project: Project, tmp_path: Path) -> tuple[Project, str, Path]:
    """Events 1-3, the key event 4, a checkpoint at 4, and events 5-6."""
    key = attack.new_key(tmp_path)
    store = str(tmp_path / "cps")
    _seed(project, 2)
    assert project.checkpoint(to=store, key=key).checkpoint.seq == 4
    _seed(project, 2)
    return project, store, key


def test_every_checkpoint_names_the_project_by_its_first_event(
        signed_project: tuple[Project, str, Path]) -> None:
    project, store, key = signed_project
    second = project.checkpoint(to=store, key=key)
    first = CheckpointStore(store).read(4)
    event_one = project.audit_log()[0]
    assert event_one.action == "project.init"
    assert first.project_id == second.checkpoint.project_id == event_one.hash
    assert (second.checkpoint.seq, second.checkpoint.previous_seq) == (6, 4)
    assert len(second.checkpoint.event_digests) == 2  # events 5 and 6 only


def test_signing_refuses_a_ledger_that_lost_its_newest_events(
        signed_project: tuple[Project, str, Path]) -> None:
    project, store, key = signed_project
    project.checkpoint(to=store, key=key)
    attack.truncate(project, 5)  # keeps the key event (4)
    with pytest.raises(IntegrityError) as caught:
        project.checkpoint(to=store, key=key)
    assert str(caught.value) == (
        f"The ledger ends at event 5 but checkpoint {store}/000000000006.json signed event 6: "
        "the newest events were deleted. Nothing was signed; run `rasad audit verify "
        "--checkpoints URL` to see what changed.")


def test_signing_refuses_a_rewritten_ledger(signed_project: tuple[Project, str, Path]) -> None:
    project, store, key = signed_project
    attack.edit(project, 2)
    with pytest.raises(IntegrityError) as caught:
        project.checkpoint(to=store, key=key)
    assert str(caught.value) == (
        f"Event 4 no longer has the hash signed in checkpoint {store}/000000000004.json: the "
        "ledger was rewritten. Nothing was signed; run `rasad audit verify --checkpoints URL` "
        "to see what changed.")


def test_signing_refuses_an_edit_after_the_last_checkpoint(
        signed_project: tuple[Project, str, Path]) -> None:
    project, store, key = signed_project
    attack.execute(project, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 6")
    with pytest.raises(IntegrityError) as caught:
        project.checkpoint(to=store, key=key)
    assert str(caught.value) == (
        "The ledger from event 5 to 6 does not reproduce its head hash: it was edited. Nothing "
        "was signed; run `rasad audit verify` to see where.")
    assert CheckpointStore(store).seqs() == [4]


def test_recomputing_a_range_needs_every_event_in_it(project: Project) -> None:
    _seed(project, 3)  # events 1-4
    events = project.audit_log()
    with project.db.read() as session:
        digests, last, project_id = _extend(session, 0, GENESIS_HASH, 2)
        assert (len(digests), last, project_id) == (2, events[1].hash, events[0].hash)
        digests, last, project_id = _extend(session, 2, events[1].hash, 4)
        assert (len(digests), last, project_id) == (2, events[3].hash, None)
    attack.execute(project, "DELETE FROM audit_events WHERE seq = 3")
    with project.db.read() as session, pytest.raises(IntegrityError) as caught:
        _extend(session, 0, GENESIS_HASH, 4)
    assert str(caught.value) == ("Event 3 is missing from the ledger. Nothing was signed; run "
                                 "`rasad audit verify` to see what changed.")
    with project.db.read() as session, pytest.raises(IntegrityError) as caught:
        _extend(session, 0, GENESIS_HASH, 2 + 4)
    assert str(caught.value).startswith("Event 3 is missing from the ledger.")
    attack.execute(project, "DELETE FROM audit_events WHERE seq = 4")
    with project.db.read() as session, pytest.raises(IntegrityError) as caught:
        _extend(session, 0, GENESIS_HASH, 3)
    assert str(caught.value) == ("Event 3 is missing from the ledger. Nothing was signed; run "
                                 "`rasad audit verify` to see what changed.")


def test_the_key_is_recorded_once_and_an_unchanged_head_is_not_signed_again(
        signed_project: tuple[Project, str, Path]) -> None:
    project, store, key = signed_project
    second = project.checkpoint(to=store, key=key)
    again = project.checkpoint(to=store, key=key)
    assert (second.created, second.key_recorded_seq) == (True, None)
    assert (again.created, again.key_recorded_seq) == (False, None)
    assert again.checkpoint == CheckpointStore(store).read(6)
    assert [e.seq for e in project.audit_log(action=KEY_ACTION)] == [4]


def test_an_event_of_that_action_elsewhere_does_not_record_a_key(project: Project) -> None:
    fingerprint = "SHA256:" + "0" * 64
    with project.transaction() as tx:
        tx.record(KEY_ACTION, "audit:elsewhere", {"fingerprint": fingerprint})
    with project.db.read() as session:
        assert not key_recorded(session, fingerprint)
    with project.transaction() as tx:
        tx.record(KEY_ACTION, KEY_SUBJECT, {"fingerprint": fingerprint})
    with project.db.read() as session:
        assert key_recorded(session, fingerprint)


class _RacingStore(CheckpointStore):
    """A store where another process writes the same checkpoint file first."""

    def __init__(self, url: str, head_hash: str | None = None) -> None:
        super().__init__(url)
        self.head_hash = head_hash

    def write(self, checkpoint: Checkpoint) -> bool:
        competitor = sign_checkpoint(
            KEY, seq=checkpoint.seq, head_hash=self.head_hash or checkpoint.head_hash,
            created_at=checkpoint.created_at, project_id=checkpoint.project_id,
            project_name=checkpoint.project_name, previous_seq=checkpoint.previous_seq,
            event_digests=checkpoint.event_digests, location=checkpoint.location)
        assert super().write(competitor)
        return super().write(checkpoint)


def test_a_checkpoint_another_process_wrote_first_is_returned_if_it_agrees(
        project: Project, tmp_path: Path) -> None:
    key = private_key_from_text(b64encode(bytes(range(32))).decode())
    store = _RacingStore(str(tmp_path / "cps"))
    result = create(project.db, "tester", key, store, "test")
    assert (result.created, result.key_recorded_seq) == (False, 2)
    assert result.checkpoint == store.read(2)
    assert result.checkpoint.key_fingerprint == FINGERPRINT  # the competitor's signature


def test_a_checkpoint_another_process_wrote_for_another_head_is_refused(
        project: Project, tmp_path: Path) -> None:
    key = private_key_from_text(b64encode(bytes(range(32))).decode())
    store = _RacingStore(str(tmp_path / "cps"), head_hash="ef" * 32)
    with pytest.raises(IntegrityError) as caught:
        create(project.db, "tester", key, store, "test")
    assert str(caught.value) == (
        f"Checkpoint {store.location(2)} signed a different head hash for event 2: the ledger "
        "was rewritten. Run `rasad audit verify --checkpoints URL`.")


def test_another_action_on_the_key_subject_does_not_record_a_key(project: Project) -> None:
    fingerprint = "SHA256:" + "1" * 64
    with project.transaction() as tx:
        tx.record("audit.note", KEY_SUBJECT, {"fingerprint": fingerprint})
    with project.db.read() as session:
        assert not key_recorded(session, fingerprint)


def test_a_key_recorded_by_another_process_meanwhile_is_not_recorded_twice(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = private_key_from_text(b64encode(bytes(range(32))).decode())
    store = CheckpointStore(str(tmp_path / "cps"))
    assert create(project.db, "tester", key, store, "test").key_recorded_seq == 2
    calls: list[str] = []

    def first_look_misses(session: object, key_fingerprint: str) -> bool:
        calls.append(key_fingerprint)  # the unlocked look happened before the other process
        return len(calls) > 1 and key_recorded(session, key_fingerprint)  # type: ignore[arg-type]

    monkeypatch.setattr(checkpoint_module, "key_recorded", first_look_misses)
    with project.transaction() as tx:
        tx.record("test.event", "thing:x", {})
    result = create(project.db, "tester", key, store, "test")
    assert result.key_recorded_seq is None and len(calls) == 2
    assert [e.seq for e in project.audit_log(action=KEY_ACTION)] == [2]


def test_a_key_recorded_by_create_itself_is_trusted_on_first_use(project: Project,
                                                                 tmp_path: Path) -> None:
    # Signing straight through the ledger (as a scheduled signer does), not through the
    # audit service: ``create`` records the key, and verification trusts that record.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from rasad.ledger.keys import public_key_text

    key = Ed25519PrivateKey.generate()
    store = CheckpointStore(str(tmp_path / "checkpoints"))
    result = checkpoint_module.create(project.db, "signer", key, store, project.config.name)
    [event] = project.audit_log(action=KEY_ACTION)
    assert result.key_recorded_seq == event.seq
    assert event.details["public_key"] == public_key_text(key.public_key())
    verified = project.verify_audit(checkpoints=str(tmp_path / "checkpoints"))
    assert verified.ok, verified.problems
