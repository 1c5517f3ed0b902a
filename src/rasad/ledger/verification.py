"""Full verification: the stored chain, signed checkpoints and state replay, in one pass.

1. **Chain.** Every event links to the one before and matches its hash, and the
   head row agrees. This alone catches a naive edit; an insider who recomputes
   every hash with :func:`~rasad.ledger.chain.event_hash` passes it.
2. **Checkpoints.** Each checkpoint's signature must verify under a *trusted* key
   (given by the caller, from ``rasad.yaml``, or else the first key the ledger
   recorded), and the chain recomputed from the first event must reproduce each
   signed head hash. When one does not, the signed per-event digests are aligned
   (:mod:`difflib`) with the stored events to name the damage: edited, deleted,
   inserted, reordered or truncated events, each with its checkpoint and event.
   Events after the newest checkpoint that are dated before it was signed are
   named as appended forgeries.
3. **State.** :class:`~rasad.ledger.replay.StateReplay` compares what the events
   imply with the state tables.
"""

from __future__ import annotations

import difflib
import json
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from rasad.ledger.chain import GENESIS_HASH, HEAD_MISSING, Verification, event_hash
from rasad.ledger.checkpoint import (
    KEY_ACTION,
    Checkpoint,
    CheckpointFileError,
    CheckpointStore,
    content_digest,
)
from rasad.ledger.keys import fingerprint, load_public_key
from rasad.ledger.problems import Problem, ProblemKind
from rasad.ledger.replay import RELEVANT, StateReplay
from rasad.store import Database
from rasad.store._tables import AuditEventRow, LedgerHead

# An event written by a host whose clock runs behind the checkpointing host's can carry a
# time slightly before a checkpoint that does not include it. Beyond this, it was backdated.
CLOCK_TOLERANCE = timedelta(seconds=60)
BATCH = 5000
_COLUMNS = (AuditEventRow.seq, AuditEventRow.occurred_at, AuditEventRow.actor,
            AuditEventRow.action, AuditEventRow.subject, AuditEventRow.details,
            AuditEventRow.prev_hash, AuditEventRow.hash)


@dataclass(frozen=True)
class TrustedKeys:
    """The public keys checkpoints must be signed with, and where they came from."""

    keys: tuple[Ed25519PublicKey, ...]
    source: str

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(fingerprint(k) for k in self.keys)


@dataclass
class _Walk:
    count: int = 0
    chain_problem: Problem | None = None
    recomputed: dict[int, str] = field(default_factory=dict)
    first_key: tuple[int, str] | None = None
    last_stored: str = GENESIS_HASH
    tail: list[tuple[int, str, str, str]] = field(default_factory=list)


def _walk(session: Session, want: set[int], tail_after: int | None,
          replay: StateReplay | None) -> _Walk:
    walk = _Walk()
    expected, stored_prev, prev = 1, GENESIS_HASH, GENESIS_HASH
    last = 0
    while True:
        rows = session.execute(select(*_COLUMNS).where(AuditEventRow.seq > last)
                               .order_by(AuditEventRow.seq).limit(BATCH)).all()
        if not rows:
            break
        for seq, occurred_at, actor, action, subject, details, prev_hash, stored in rows:
            walk.count += 1
            digest = event_hash(seq, occurred_at, actor, action, subject, details, prev)
            if walk.chain_problem is None:
                # Until the first problem every stored hash is the recomputed one, so
                # prev == stored_prev; a stored link that differs is named as a broken link
                # before the content is checked, so the content is checked against digest.
                walk.chain_problem = _chain_problem(seq, expected, prev_hash, stored_prev,
                                                    action, subject, stored, digest)
            if seq in want:
                walk.recomputed[seq] = digest
            if tail_after is not None and seq > tail_after:
                walk.tail.append((seq, occurred_at, action, subject))
            if action == KEY_ACTION and walk.first_key is None:
                walk.first_key = (seq, str(json.loads(details).get("public_key")))
            if replay is not None and action in RELEVANT:
                replay.feed(seq, action, subject, details)
            prev, stored_prev, expected = digest, stored, seq + 1
        last = rows[-1][0]
    walk.last_stored = stored_prev
    return walk


def _chain_problem(seq: int, expected: int, prev_hash: str, stored_prev: str, action: str,
                   subject: str, stored: str, check: str) -> Problem | None:
    if seq != expected:  # the walk reads by increasing seq, so here seq > expected
        return Problem(ProblemKind.CHAIN, f"event {expected} is missing (deleted or "
                       f"renumbered); next stored is {seq}", seq=expected)
    if prev_hash != stored_prev:
        return Problem(ProblemKind.CHAIN, f"event {seq} does not link to event {seq - 1} (an "
                       "event was deleted, inserted or reordered before it)", seq=seq)
    if check != stored:
        return Problem(ProblemKind.CHAIN, f"event {seq} ({action} {subject}) was edited: its "
                       "content does not match its hash", seq=seq)
    return None


def verify_all(session: Session, *, checkpoints: Sequence[Checkpoint | CheckpointFileError]
               | None = None, trusted: TrustedKeys | None = None, replay: bool = True,
               project_name: str | None = None) -> Verification:
    """Verify the chain, every checkpoint given, and (``replay``) the state tables.

    ``checkpoints`` None means no checkpoint store was given. ``trusted`` None means
    trust the first checkpoint key the ledger recorded (weaker: see ``docs/audit.md``).
    """
    stored = list(checkpoints or [])
    readable = [c for c in stored if isinstance(c, Checkpoint)]
    want = {c.seq for c in readable}
    tail_after = max(want) if want else None
    state = StateReplay() if replay else None
    walk = _walk(session, want, tail_after, state)
    problems: list[Problem] = []
    notes: list[str] = []
    if walk.chain_problem is not None:
        problems.append(walk.chain_problem)
    problems.extend(_head(session, walk))

    verified, latest, key_source = 0, None, None
    keys: tuple[str, ...] = ()
    if checkpoints is not None:
        trust = trusted or _first_recorded(walk)
        if trust is not None:
            keys, key_source = trust.fingerprints, trust.source
        found, good = _check_files(stored, trust, project_name)
        problems.extend(found)
        if not stored and walk.first_key is not None:
            problems.append(Problem(ProblemKind.CHECKPOINT, (
                f"the checkpoint store holds no checkpoints, but the ledger recorded a "
                f"checkpoint key at event {walk.first_key[0]}: wrong store, or its files "
                "were deleted"), seq=walk.first_key[0]))
        problems.extend(_compare(session, good, walk))
        verified = sum(1 for c in good if walk.recomputed.get(c.seq) == c.head_hash)
        latest = max((c.seq for c in good), default=None)
        if latest is not None and latest < walk.count:
            notes.append(f"events {latest + 1}-{walk.count} are newer than the latest "
                         "checkpoint and are not yet covered by one")
    counts = None
    if state is not None:
        found_state, counts = state.compare(session)
        problems.extend(found_state)
    first = problems[0] if problems else None
    first_seq = next((p.seq for p in problems if p.seq is not None), None)
    return Verification(
        ok=not problems, events=walk.count, first_bad_seq=first_seq,
        reason=first.message if first else None, problems=tuple(problems),
        checkpoints=verified, latest_checkpoint=latest, trusted_keys=keys,
        key_source=key_source, state=counts, notes=tuple(notes))


def _head(session: Session, walk: _Walk) -> list[Problem]:
    head = session.execute(select(LedgerHead.seq, LedgerHead.hash)
                           .where(LedgerHead.id == 1)).one_or_none()
    if head is None:
        return [Problem(ProblemKind.HEAD, HEAD_MISSING, seq=walk.count + 1,
                        row="ledger_head (id 1)")]
    if walk.chain_problem is None and (head.seq != walk.count
                                       or head.hash != walk.last_stored):
        return [Problem(ProblemKind.HEAD, (
            f"the ledger head records event {head.seq} but the chain ends at event "
            f"{walk.count} (the newest events were deleted or the head edited)"),
            seq=walk.count + 1 if head.seq > walk.count else head.seq, row="ledger_head (id 1)")]
    return []


def _first_recorded(walk: _Walk) -> TrustedKeys | None:
    if walk.first_key is None:
        return None
    seq, text = walk.first_key
    try:
        key = load_public_key(text, f"the key recorded at event {seq}")
    except ValueError:
        return None
    return TrustedKeys((key,), f"trust on first use: the key the ledger recorded at event {seq}")


def _check_files(stored: Sequence[Checkpoint | CheckpointFileError], trust: TrustedKeys | None,
                 project_name: str | None) -> tuple[list[Problem], list[Checkpoint]]:
    problems: list[Problem] = []
    good: list[Checkpoint] = []
    allowed = set(trust.fingerprints) if trust else set()
    present = {c.seq for c in stored if isinstance(c, Checkpoint)}
    for item in stored:
        if isinstance(item, CheckpointFileError):
            problems.append(Problem(ProblemKind.CHECKPOINT, str(item)))
            continue
        where = f"checkpoint {item.seq} ({item.location})"
        if not item.signature_valid():
            problems.append(Problem(ProblemKind.SIGNATURE, (
                f"{where} has a signature that does not verify: the file was altered"),
                seq=item.seq, checkpoint=item.seq))
            continue
        if item.key_fingerprint not in allowed:
            trusted_text = ", ".join(sorted(allowed)) or "none"
            problems.append(Problem(ProblemKind.SIGNATURE, (
                f"{where} is signed by key {item.key_fingerprint}, which is not trusted "
                f"(trusted: {trusted_text}); pass --public-key or list it in audit.public_keys"),
                seq=item.seq, checkpoint=item.seq))
            continue
        if project_name is not None and item.project_name != project_name:
            problems.append(Problem(ProblemKind.CHECKPOINT, (
                f"{where} was signed for project {item.project_name!r}, not {project_name!r}: "
                "the store belongs to another project"), checkpoint=item.seq))
            continue
        if item.previous_seq is not None and item.previous_seq not in present:
            problems.append(Problem(ProblemKind.CHECKPOINT, (
                f"{where} follows checkpoint {item.previous_seq}, which is no longer in the "
                "store: checkpoint files were deleted"), checkpoint=item.previous_seq))
        good.append(item)
    return problems, good


def _compare(session: Session, good: list[Checkpoint], walk: _Walk) -> list[Problem]:
    """Each checkpoint's head against the recomputed chain; name what differs."""
    disagree = [c for c in good if walk.recomputed.get(c.seq) != c.head_hash]
    if not disagree:
        return _backdated(walk, good[-1]) if good else []
    current = _current_digests(session)
    problems = _align(good, current)
    if not problems:  # nothing finer can be said (e.g. the signed digests have gaps)
        for c in disagree:
            if c.seq > walk.count:
                problems.append(Problem(ProblemKind.TRUNCATED, (
                    f"checkpoint {c.seq} signed event {c.seq}, but the ledger ends at event "
                    f"{walk.count}"), seq=walk.count + 1, checkpoint=c.seq))
            else:
                problems.append(Problem(ProblemKind.REWRITTEN, (
                    f"checkpoint {c.seq}: the ledger no longer reproduces its head hash; "
                    f"events up to {c.seq} were rewritten"), seq=c.seq, checkpoint=c.seq))
    return problems


def _backdated(walk: _Walk, newest: Checkpoint) -> list[Problem]:
    signed_at = _parse_time(newest.created_at)
    problems = []
    for seq, occurred_at, action, subject in walk.tail:
        if seq > newest.seq and _parse_time(occurred_at) < signed_at - CLOCK_TOLERANCE:
            problems.append(Problem(ProblemKind.APPENDED, (
                f"event {seq} ({action} {subject}) is dated {occurred_at}, before checkpoint "
                f"{newest.seq} was signed at {newest.created_at}, yet that checkpoint does not "
                "include it: it was appended later and backdated"),
                seq=seq, checkpoint=newest.seq))
    return problems


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class _Current:
    seq: int
    digest: str
    action: str
    subject: str

    def describe(self) -> str:
        return f"event {self.seq} ({self.action} {self.subject})"


def _current_digests(session: Session) -> list[_Current]:
    rows = session.execute(select(AuditEventRow.seq, AuditEventRow.occurred_at,
                                  AuditEventRow.actor, AuditEventRow.action,
                                  AuditEventRow.subject, AuditEventRow.details)
                           .order_by(AuditEventRow.seq))
    return [_Current(seq, content_digest(t, a, act, s, d), act, s)
            for seq, t, a, act, s, d in rows]


def _signed_sequence(good: list[Checkpoint]) -> list[str | None]:
    """Signed digests by position (1-based seq - 1); None where no checkpoint says."""
    end = max(c.seq for c in good)
    signed: list[str | None] = [None] * end
    for c in good:
        start = c.previous_seq or 0
        if len(c.event_digests) == c.seq - start:
            signed[start:c.seq] = list(c.event_digests)
    return signed


def _align(good: list[Checkpoint], current: list[_Current]) -> list[Problem]:
    signed = _signed_sequence(good)
    seqs = sorted(c.seq for c in good)

    def covering(position: int) -> int:  # the first checkpoint that signed this position
        return seqs[bisect_left(seqs, position + 1)]

    matcher = difflib.SequenceMatcher(None, signed, [c.digest for c in current],
                                      autojunk=False)
    deleted: list[int] = []
    inserted: list[int] = []
    edited: list[tuple[int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace":
            paired = min(i2 - i1, j2 - j1)
            edited.extend(zip(range(i1, i1 + paired), range(j1, j1 + paired), strict=True))
            deleted.extend(range(i1 + paired, i2))
            inserted.extend(range(j1 + paired, j2))
        elif tag == "delete":
            deleted.extend(range(i1, i2))
        else:
            inserted.extend(j for j in range(j1, j2) if i1 < len(signed))
    moved_from = {signed[i]: i for i in deleted + [i for i, _ in edited]}
    moved_to = {current[j].digest: j for j in inserted + [j for _, j in edited]}
    moved = {d for d in moved_from if d is not None and d in moved_to}
    problems: list[Problem] = []
    for d in sorted(moved, key=lambda d: moved_to[d]):
        i, j = moved_from[d], moved_to[d]
        problems.append(Problem(ProblemKind.REORDERED, (
            f"{current[j].describe()} was event {i + 1} when checkpoint {covering(i)} signed "
            "it: events were reordered"), seq=min(i, j) + 1, checkpoint=covering(i)))
    for i, j in edited:
        if signed[i] is None or signed[i] in moved or current[j].digest in moved:
            continue
        problems.append(Problem(ProblemKind.EDITED, (
            f"{current[j].describe()} is not the event checkpoint {covering(i)} signed as "
            f"event {i + 1}: it was edited and the chain recomputed"),
            seq=j + 1, checkpoint=covering(i)))
    gone = [i for i in deleted if signed[i] is not None and signed[i] not in moved]
    # Truncation: the newest signed events are gone and nothing stands after the survivors.
    start, gone_set = len(signed), set(gone)
    while start > 0 and start - 1 in gone_set:
        start -= 1
    truncated = set(range(start, len(signed))) \
        if start < len(signed) and _matched_end(matcher, len(signed)) == len(current) else set()
    if truncated:
        first, last = min(truncated) + 1, max(truncated) + 1
        problems.append(Problem(ProblemKind.TRUNCATED, (
            f"events {first}-{last}, signed in checkpoint {covering(last - 1)}, were deleted "
            f"from the end of the ledger and the head moved back to event {len(current)}"),
            seq=first, checkpoint=covering(last - 1)))
    for i in gone:
        if i in truncated:
            continue
        problems.append(Problem(ProblemKind.DELETED, (
            f"event {i + 1} signed in checkpoint {covering(i)} was deleted and the events "
            "after it renumbered"), seq=i + 1, checkpoint=covering(i)))
    for j in inserted:
        if current[j].digest in moved or j >= _matched_end(matcher, len(signed)):
            continue
        problems.append(Problem(ProblemKind.INSERTED, (
            f"{current[j].describe()} was inserted among events that checkpoint "
            f"{covering(min(j, len(signed) - 1))} signed"),
            seq=j + 1, checkpoint=covering(min(j, len(signed) - 1))))
    return sorted(problems, key=lambda p: (p.seq or 0, str(p.kind)))


def _matched_end(matcher: difflib.SequenceMatcher[str | None], signed_len: int) -> int:
    """The position in the current ledger just after the last signed event that survives."""
    end = 0
    for block in matcher.get_matching_blocks():
        if block.size and block.a + block.size <= signed_len:
            end = max(end, block.b + block.size)
    return end


def trusted_keys(values: Sequence[str], source: str) -> TrustedKeys | None:
    """Load ``values`` (base64, PEM or files) as the trusted keys; None when there are none."""
    if not values:
        return None
    return TrustedKeys(tuple(load_public_key(v, source) for v in values), source)


def verify_database(db: Database, *, store: CheckpointStore | None,
                    trusted: TrustedKeys | None, replay: bool = True,
                    project_name: str | None = None) -> Verification:
    """:func:`verify_all` over one consistent snapshot of ``db``."""
    checkpoints = list(store.all()) if store is not None else None
    with db.read() as session:
        if db.backend == "postgresql":  # one snapshot for the walk and the state tables
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return verify_all(session, checkpoints=checkpoints, trusted=trusted, replay=replay,
                          project_name=project_name)
