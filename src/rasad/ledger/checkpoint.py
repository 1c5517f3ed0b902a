"""Signed ledger checkpoints, kept where the metadata database cannot rewrite them.

A checkpoint pins the ledger as it stood at one event: its sequence number, the
chain's head hash, the time, the project (its name and the hash of its first
event), the fingerprint of the signing key, the previous checkpoint's sequence
number, and a 16-hex digest of the content of every event since that previous
checkpoint. The payload is signed with Ed25519 over its canonical JSON and
written to ``<store>/<seq, 12 digits>.json``, created once and never overwritten.

The head hash is what makes a re-chained history fail: an insider who edits,
deletes, inserts or reorders events and recomputes every hash cannot reproduce a
signed head hash without the old events. The per-event digests only serve to
*name* what changed (see :mod:`rasad.ledger.verification`).

>>> from base64 import b64encode
>>> from rasad.ledger.keys import private_key_from_text
>>> key = private_key_from_text(b64encode(bytes(32)).decode())
>>> cp = sign_checkpoint(key, seq=1, head_hash="ab" * 32, created_at="2026-01-01T00:00:00Z",
...                      project_id="cd" * 32, project_name="demo", previous_seq=None,
...                      event_digests=("0123456789abcdef",))
>>> cp.signature_valid()
True
>>> Checkpoint.from_bytes(cp.to_bytes(), "memory://x/000000000001.json").payload() == cp.payload()
True
>>> file_name(1)
'000000000001.json'
"""

from __future__ import annotations

import binascii
import json
import os
import re
import uuid
from base64 import b64decode, b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fsspec.implementations.local import LocalFileSystem
from sqlalchemy import select
from sqlalchemy.orm import Session

from rasad.errors import InputError, IntegrityError, RasadError
from rasad.ledger._canonical import canonical_json, sha256_hex
from rasad.ledger.chain import GENESIS_HASH, append, event_hash, read_head, utc_now
from rasad.ledger.keys import fingerprint, load_public_key, public_key_text
from rasad.store import Database
from rasad.store._tables import AuditEventRow

FORMAT = "rasad.checkpoint/1"
KEY_ACTION = "audit.checkpoint_key"
KEY_SUBJECT = "audit:checkpoints"
_NAME = re.compile(r"^(\d{12})\.json$")


def file_name(seq: int) -> str:
    """The file a checkpoint of event ``seq`` is stored as."""
    return f"{seq:012d}.json"


def content_digest(occurred_at: str, actor: str, action: str, subject: str,
                   details_json: str) -> str:
    """A short digest of one event's content, independent of its position in the chain.

    >>> content_digest("2026-01-01T00:00:00.000000Z", "amal", "x", "y", "{}")
    'fdb5f9e8723be61a'
    """
    return sha256_hex(canonical_json([occurred_at, actor, action, subject, details_json]))[:16]


class CheckpointFileError(RasadError):
    """A checkpoint file cannot be read or does not have the checkpoint format."""

    exit_code = 1


@dataclass(frozen=True)
class Checkpoint:
    """One signed checkpoint, as stored."""

    seq: int
    head_hash: str
    created_at: str
    project_id: str
    project_name: str
    key_fingerprint: str
    previous_seq: int | None
    event_digests: tuple[str, ...]
    public_key: str
    signature: str
    location: str = ""

    def payload(self) -> dict[str, Any]:
        """The signed fields."""
        return {
            "format": FORMAT, "seq": self.seq, "head_hash": self.head_hash,
            "created_at": self.created_at,
            "project": {"id": self.project_id, "name": self.project_name},
            "key": self.key_fingerprint, "previous_seq": self.previous_seq,
            "event_digests": list(self.event_digests),
        }

    def to_bytes(self) -> bytes:
        document = {"payload": self.payload(), "public_key": self.public_key,
                    "signature": self.signature}
        return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, location: str) -> Checkpoint:
        try:
            document = json.loads(data)
            payload = document["payload"]
            if payload["format"] != FORMAT:
                raise ValueError(f"format {payload['format']!r}")
            return cls(
                seq=int(payload["seq"]), head_hash=str(payload["head_hash"]),
                created_at=str(payload["created_at"]),
                project_id=str(payload["project"]["id"]),
                project_name=str(payload["project"]["name"]),
                key_fingerprint=str(payload["key"]),
                previous_seq=None if payload["previous_seq"] is None
                else int(payload["previous_seq"]),
                event_digests=tuple(str(d) for d in payload["event_digests"]),
                public_key=str(document["public_key"]), signature=str(document["signature"]),
                location=location)
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointFileError(f"Checkpoint {location} is not a rasad checkpoint "
                                      f"({exc.__class__.__name__}: {exc}).") from None

    def signature_valid(self) -> bool:
        """Whether the signature verifies under the embedded public key, and the payload's
        key fingerprint is that key's."""
        try:
            key = load_public_key(self.public_key, "checkpoint public key")
            if fingerprint(key) != self.key_fingerprint:
                return False
            key.verify(b64decode(self.signature, validate=True),
                       canonical_json(self.payload()).encode())
        except (InvalidSignature, InputError, binascii.Error, ValueError):
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "head_hash": self.head_hash, "created_at": self.created_at,
                "project": self.project_name, "key": self.key_fingerprint,
                "location": self.location}


def sign_checkpoint(key: Ed25519PrivateKey, *, seq: int, head_hash: str, created_at: str,
                    project_id: str, project_name: str, previous_seq: int | None,
                    event_digests: tuple[str, ...], location: str = "") -> Checkpoint:
    """Build and sign a checkpoint."""
    public = key.public_key()
    unsigned = Checkpoint(seq, head_hash, created_at, project_id, project_name,
                          fingerprint(public), previous_seq, event_digests,
                          public_key_text(public), "", location)
    signature = b64encode(key.sign(canonical_json(unsigned.payload()).encode())).decode()
    return Checkpoint(**{**unsigned.__dict__, "signature": signature})


class CheckpointStore:
    """A folder or any fsspec URL holding one file per checkpoint. No I/O until used."""

    def __init__(self, url: str) -> None:
        # A plain folder is made absolute, so the locations printed and signed stay valid
        # from any working directory (cron runs elsewhere).
        self.url = (url if "://" in url else os.path.abspath(url)).rstrip("/")

    def _fs(self) -> tuple[fsspec.AbstractFileSystem, str]:
        try:
            fs, path = fsspec.core.url_to_fs(self.url)
        except (ValueError, ImportError) as exc:
            raise InputError(f"Checkpoint store {self.url!r} is not a usable fsspec URL or "
                             f"folder: {exc}.") from None
        return fs, path.rstrip("/")

    def location(self, seq: int) -> str:
        return f"{self.url}/{file_name(seq)}"

    def seqs(self) -> list[int]:
        """Sequence numbers of the stored checkpoints, ascending."""
        fs, root = self._fs()
        try:
            names = fs.ls(root, detail=False)
        except FileNotFoundError:
            return []
        found = [_NAME.match(str(name).rstrip("/").rsplit("/", 1)[-1]) for name in names]
        return sorted(int(m.group(1)) for m in found if m)

    def read(self, seq: int) -> Checkpoint:
        fs, root = self._fs()
        with fs.open(f"{root}/{file_name(seq)}", "rb") as src:
            data = src.read()
        checkpoint = Checkpoint.from_bytes(data, self.location(seq))
        if checkpoint.seq != seq:
            raise CheckpointFileError(f"Checkpoint {self.location(seq)} holds event "
                                      f"{checkpoint.seq}, not {seq}: it was renamed.")
        return checkpoint

    def all(self) -> Iterator[Checkpoint | CheckpointFileError]:
        """Every stored checkpoint in order; an unreadable one comes back as its error."""
        for seq in self.seqs():
            try:
                yield self.read(seq)
            except CheckpointFileError as exc:
                yield exc

    def write(self, checkpoint: Checkpoint) -> bool:
        """Create the checkpoint's file; False if a file for that event already exists."""
        fs, root = self._fs()
        fs.makedirs(root, exist_ok=True)
        target = f"{root}/{file_name(checkpoint.seq)}"
        data = checkpoint.to_bytes()
        try:
            if isinstance(fs, LocalFileSystem):
                # Written aside, then hard-linked: the name appears complete, or not at all,
                # and link() refuses an existing name.
                tmp = Path(root) / f".{uuid.uuid4().hex}.tmp"
                tmp.write_bytes(data)
                try:
                    os.link(tmp, target)
                finally:
                    tmp.unlink(missing_ok=True)
            else:
                with fs.open(target, "xb") as out:
                    out.write(data)
        except FileExistsError:
            return False
        return True


@dataclass(frozen=True)
class CheckpointResult:
    """What ``audit checkpoint`` did."""

    checkpoint: Checkpoint
    created: bool
    key_recorded_seq: int | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.checkpoint.to_dict(), "created": self.created,
                "key_recorded_seq": self.key_recorded_seq}


def key_recorded(session: Session, key_fingerprint: str) -> bool:
    """Whether the ledger records ``key_fingerprint`` as a checkpoint key."""
    rows = session.execute(select(AuditEventRow.details)  # subject is indexed, action is not
                           .where(AuditEventRow.subject == KEY_SUBJECT,
                                  AuditEventRow.action == KEY_ACTION)).scalars()
    return any(json.loads(d).get("fingerprint") == key_fingerprint for d in rows)


def record_key(session: Session, actor: str, key: Ed25519PrivateKey) -> int:
    """Append the ``audit.checkpoint_key`` event naming the public key; its sequence number."""
    public = key.public_key()
    event = append(session, actor=actor, action=KEY_ACTION, subject=KEY_SUBJECT,
                   details={"fingerprint": fingerprint(public),
                            "public_key": public_key_text(public)})
    return event.seq


def build(session: Session, key: Ed25519PrivateKey, store: CheckpointStore,
          project_name: str) -> tuple[Checkpoint, Checkpoint | None]:
    """Sign the ledger's current head, after checking it extends the previous checkpoint.

    Returns the new checkpoint and the previous one. Raises :class:`IntegrityError`
    when the ledger no longer reproduces the latest stored checkpoint: rasad never
    signs a rewritten history.
    """
    head = read_head(session)
    previous = _previous(store, head.seq)
    start_seq, start_hash = 0, GENESIS_HASH
    if previous is not None:
        if previous.seq > head.seq:
            raise IntegrityError(
                f"The ledger ends at event {head.seq} but checkpoint {previous.location} "
                f"signed event {previous.seq}: the newest events were deleted. Nothing was "
                "signed; run `rasad audit verify --checkpoints URL` to see what changed.")
        start_seq, start_hash = previous.seq, previous.head_hash
        stored = session.execute(select(AuditEventRow.hash)
                                 .where(AuditEventRow.seq == previous.seq)).scalar()
        if stored != previous.head_hash:
            raise IntegrityError(
                f"Event {previous.seq} no longer has the hash signed in checkpoint "
                f"{previous.location}: the ledger was rewritten. Nothing was signed; run "
                "`rasad audit verify --checkpoints URL` to see what changed.")
    digests, last_hash, project_id = _extend(session, start_seq, start_hash, head.seq)
    if last_hash != head.hash:
        raise IntegrityError(
            f"The ledger from event {start_seq + 1} to {head.seq} does not reproduce its head "
            "hash: it was edited. Nothing was signed; run `rasad audit verify` to see where.")
    if project_id is None:
        project_id = previous.project_id if previous is not None else GENESIS_HASH
    checkpoint = sign_checkpoint(
        key, seq=head.seq, head_hash=head.hash, created_at=utc_now(), project_id=project_id,
        project_name=project_name,
        previous_seq=previous.seq if previous is not None else None,
        event_digests=tuple(digests), location=store.location(head.seq))
    return checkpoint, previous


def _previous(store: CheckpointStore, head_seq: int) -> Checkpoint | None:
    seqs = store.seqs()
    if not seqs:
        return None
    # The newest checkpoint, even one beyond the head: that means events were deleted.
    return store.read(seqs[-1])


def _extend(session: Session, start_seq: int, start_hash: str, end_seq: int
            ) -> tuple[list[str], str, str | None]:
    """Recompute the chain from ``start_seq`` to ``end_seq``: digests, last hash, event 1's hash."""
    digests: list[str] = []
    prev = start_hash
    project_id = None
    expected = start_seq + 1
    query = (select(AuditEventRow.seq, AuditEventRow.occurred_at, AuditEventRow.actor,
                    AuditEventRow.action, AuditEventRow.subject, AuditEventRow.details)
             .where(AuditEventRow.seq > start_seq, AuditEventRow.seq <= end_seq)
             .order_by(AuditEventRow.seq))
    for seq, occurred_at, actor, action, subject, details in session.execute(query):
        if seq != expected:
            raise IntegrityError(f"Event {expected} is missing from the ledger. Nothing was "
                                 "signed; run `rasad audit verify` to see what changed.")
        prev = event_hash(seq, occurred_at, actor, action, subject, details, prev)
        if seq == 1:
            project_id = prev
        digests.append(content_digest(occurred_at, actor, action, subject, details))
        expected += 1
    if expected != end_seq + 1:
        raise IntegrityError(f"Event {expected} is missing from the ledger. Nothing was "
                             "signed; run `rasad audit verify` to see what changed.")
    return digests, prev, project_id


def create(db: Database, actor: str, key: Ed25519PrivateKey, store: CheckpointStore,
           project_name: str) -> CheckpointResult:
    """Record the key if the ledger does not know it yet, then sign and store the head.

    When the newest stored checkpoint already covers the head, nothing new is written.
    """
    recorded = None
    with db.read() as session:
        known = key_recorded(session, fingerprint(key.public_key()))
    if not known:
        with db.write() as session:  # checked again under the lock: record it once
            if not key_recorded(session, fingerprint(key.public_key())):
                recorded = record_key(session, actor, key)
    with db.read() as session:
        checkpoint, previous = build(session, key, store, project_name)
    if previous is not None and previous.seq == checkpoint.seq:
        return CheckpointResult(previous, False, recorded)
    if store.write(checkpoint):
        return CheckpointResult(checkpoint, True, recorded)
    existing = store.read(checkpoint.seq)  # another process signed the same event meanwhile
    if existing.head_hash != checkpoint.head_hash:
        raise IntegrityError(f"Checkpoint {existing.location} signed a different head hash for "
                             f"event {checkpoint.seq}: the ledger was rewritten. Run `rasad "
                             "audit verify --checkpoints URL`.")
    return CheckpointResult(existing, False, recorded)
