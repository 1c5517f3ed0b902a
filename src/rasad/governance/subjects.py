"""Data subjects: finding a person in the project's data, models and prediction log, and
erasing them (``rasad subject find`` / ``rasad subject erase``, docs/subjects.md).

A dataset declares the columns that identify a person in
``governance.datasets.NAME.subject_columns``. A subject is named inside rasad only by the
keyed hash of their id: HMAC-SHA256 of the id's text under the prediction log's masking
key (:func:`rasad.serving.predlog.subject_key`), so a column the log masks holds the same
hash and is matched without being read back, and the ledger, the erasure records and the
indexes never hold the id itself.

**Id index.** Per dataset version and subject column, the sorted first 64 bits of the
keyed hash of every value, kept as a blob (``subject_indexes``); built the first time a
version is searched, so a later :func:`find` is a binary search per version. A 64-bit
prefix can collide (odds about rows / 2**64 per lookup): :func:`find` reports what the
index says, and :func:`erase` reads the rows of every version the index names and keeps
only the rows that truly hold the id.

**Erasure.** One call, one write transaction (nothing is half-done on error):

- the latest version of each declared dataset that holds the subject gets a new version
  without their rows (parent: that version; ``dataset.add`` event marked
  ``source_from: erasure``). Older versions that hold the subject get no new version: they
  are recorded as erased, and ``rasad gc`` removes their blobs under the retention rule
  (:mod:`rasad.maintenance`);
- the prediction segments (and feedback) holding the subject are rewritten without them;
- every model version trained on an erased version is flagged 'retrain required' with a
  due date (``governance.erasure.retrain_within_days``). A flag is never edited: it is
  closed by a newer version of the same model, registered after the erasure from a run
  that used none of the erasure's versions (:func:`open_flags`);
- one ``subject.erase`` event holds the keyed hash, the reason and what changed.

A second request for the same subject, when nothing current holds them, records nothing
and says so.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select

from rasad.artifacts import sha256_file
from rasad.errors import ConflictError, InputError
from rasad.governance.subjects_result import (
    ErasedVersion,
    ErasureResult,
    FlaggedModel,
    RetrainFlag,
    SubjectFindResult,
    SubjectModel,
    SubjectPredictions,
    SubjectVersion,
)
from rasad.identity import Permission
from rasad.ledger import canonical_json
from rasad.serving.predlog import (
    LogHit,
    Redaction,
    apply_redaction,
    keyed_hash,
    matches,
    scan_subject,
    subject_key,
)
from rasad.store._tables import (
    CurrentDeploymentRow,
    DatasetVersionRow,
    DeploymentRow,
    ErasedVersionRow,
    ErasureRow,
    ModelVersionRow,
    RetrainFlagRow,
    RunDatasetRow,
    SubjectIndexRow,
)
from rasad.tables import write_parquet
from rasad.tables.column_kind import ColumnKind
from rasad.tables.profile import profile_table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rasad.artifacts import ArtifactStore
    from rasad.core import Context
    from rasad.ledger import Tx

MAX_ID_CHARS: Final = 1000
MAX_REASON_CHARS: Final = 2000
INDEX_ACTION: Final = "dataset.subject_index"
ERASE_ACTION: Final = "subject.erase"
_KEY_ID_TEXT: Final = "rasad.subject-index"


# -- the keyed hash and the id index --------------------------------------------------------


def key_id(key: bytes) -> str:
    """A short name for ``key`` (its own keyed hash of a fixed text): an index built under
    another key is recognised and built again."""
    return keyed_hash(key, _KEY_ID_TEXT)[:16]


def prefix(key: bytes, text: str) -> int:
    """The first 64 bits of the keyed hash of ``text``, as an unsigned integer.

    >>> prefix(b"k" * 32, "C-1") == int(keyed_hash(b"k" * 32, "C-1")[:16], 16)
    True
    """
    return int.from_bytes(hmac.digest(key, text.encode("utf-8"), "sha256")[:8], "big")


def hash_prefixes(key: bytes, column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The sorted 64-bit hash prefixes of every non-null value of ``column`` (a value that
    repeats is there as often as it does).

    >>> import pyarrow as pa
    >>> found = hash_prefixes(b"k" * 32, pa.chunked_array([["a", "b", None, "a"]]))
    >>> len(found), int((found == prefix(b"k" * 32, "a")).sum())
    (3, 2)
    """
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    counted = pc.value_counts(pc.drop_null(column))
    values = counted.field("values")
    counts = counted.field("counts").to_numpy(zero_copy_only=False).astype(np.int64)
    texts = _texts(values)
    digest = hmac.digest  # one OpenSSL call per value: this loop is the index's cost
    hashes = np.frombuffer(b"".join([digest(key, t.encode("utf-8"), "sha256")[:8]
                                     for t in texts]), dtype=">u8").astype(np.uint64)
    found = np.repeat(hashes, counts)
    found.sort()
    return found


def _texts(values: pa.Array) -> list[str]:
    from rasad.serving.predlog._masking import text_form

    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return [str(v) for v in values.to_pylist()]
    if pa.types.is_integer(kind):
        return [str(v) for v in values.to_pylist()]
    return [text_form(v) for v in values.to_pylist()]


def _count(index: np.ndarray, wanted: int) -> int:
    target = np.uint64(wanted)
    return int(np.searchsorted(index, target, side="right")
               - np.searchsorted(index, target, side="left"))


@dataclass(frozen=True)
class _Candidate:
    """A dataset version to search, with the declared subject columns it has."""

    row_id: int
    name: str
    version: int
    blob: str
    columns: tuple[str, ...]
    latest: bool

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def _declared(ctx: Context) -> dict[str, list[str]]:
    found = {name: list(dict.fromkeys(sheet.subject_columns))
             for name, sheet in ctx.config.governance.datasets.items() if sheet.subject_columns}
    if not found:
        raise InputError("No dataset declares its subject-id columns: add them to rasad.yaml, "
                         "e.g. governance: {datasets: {loans: {subject_columns: "
                         "[customer_id]}}}.")
    return found


def _candidates(session: Session, declared: dict[str, list[str]]) -> list[_Candidate]:
    rows = session.execute(select(DatasetVersionRow)
                           .where(DatasetVersionRow.name.in_(sorted(declared)))
                           .order_by(DatasetVersionRow.name, DatasetVersionRow.version)
                           ).scalars().all()
    latest: dict[str, int] = {}
    for row in rows:
        latest[row.name] = max(latest.get(row.name, 0), row.version)
    found = []
    for row in rows:
        kinds = _json(row.kinds)
        columns = tuple(c for c in declared[row.name] if c in kinds)
        if columns:
            found.append(_Candidate(row.id, row.name, row.version, row.blob, columns,
                                    row.version == latest[row.name]))
    return found


def _indexes(ctx: Context, candidates: Sequence[_Candidate], key: bytes,
             permission: Permission, skip: set[int]) -> tuple[dict[tuple[int, str], np.ndarray],
                                                               int]:
    """Every candidate's index per column (built and stored where missing), and how many
    were built. Versions in ``skip`` (blobs collected) are left out."""
    kid = key_id(key)
    wanted = [c for c in candidates if c.row_id not in skip]
    with ctx.read() as session:
        stored = {(r.dataset_version_id, r.column): r.blob for r in session.execute(
            select(SubjectIndexRow).where(
                SubjectIndexRow.key_id == kid,
                SubjectIndexRow.dataset_version_id.in_([c.row_id for c in wanted]))
        ).scalars()} if wanted else {}
    found: dict[tuple[int, str], np.ndarray] = {}
    built: list[tuple[_Candidate, dict[str, tuple[str, int]]]] = []
    for candidate in wanted:
        missing = [c for c in candidate.columns if (candidate.row_id, c) not in stored]
        for column in candidate.columns:
            if column not in missing:
                data = ctx.artifacts.get_bytes(stored[candidate.row_id, column])
                found[candidate.row_id, column] = np.frombuffer(data, dtype="<u8")
        if not missing:
            continue
        with ctx.artifacts.local_copy(candidate.blob) as path:
            table = pq.read_table(path, columns=missing)
        blobs: dict[str, tuple[str, int]] = {}
        for column in missing:
            index = hash_prefixes(key, table.column(column)).astype("<u8")
            blobs[column] = (ctx.artifacts.put_bytes(index.tobytes()), len(index))
            found[candidate.row_id, column] = index
        built.append((candidate, blobs))
    if built:
        with ctx.transaction(permission, "store data-subject id indexes") as tx:
            for candidate, blobs in built:
                have = set(tx.session.execute(
                    select(SubjectIndexRow.column).where(
                        SubjectIndexRow.dataset_version_id == candidate.row_id,
                        SubjectIndexRow.key_id == kid)).scalars())
                new = {c: b for c, b in blobs.items() if c not in have}
                if not new:
                    continue  # another process stored them meanwhile
                for column, (blob, entries) in new.items():
                    tx.session.add(SubjectIndexRow(
                        dataset_version_id=candidate.row_id, column=column, key_id=kid,
                        entries=entries, blob=blob, created_by=tx.actor,
                        created_at=ctx.clock()))
                tx.record(INDEX_ACTION, f"dataset:{candidate.ref}", {
                    "key_id": kid, "columns": {c: {"blob": b, "entries": n}
                                               for c, (b, n) in sorted(new.items())}})
    return found, len(built)


# -- find -----------------------------------------------------------------------------------


def _check_id(subject_id: object) -> str:
    if not isinstance(subject_id, str) or not subject_id:
        raise InputError("A subject id must be non-empty text, such as the customer id "
                         "`rasad subject find CUST-0042`.")
    if len(subject_id) > MAX_ID_CHARS or "\x00" in subject_id:
        raise InputError(f"A subject id holds at most {MAX_ID_CHARS} characters and no NUL; "
                         "give the id as the subject-id column holds it.")
    return subject_id


def find(ctx: Context, subject_id: str) -> SubjectFindResult:
    """The dataset versions, model versions and logged predictions that hold a subject.

    Needs ``audit.read`` (auditor, admin): it says where a person is. Versions not indexed
    yet are indexed (and the indexes stored) on the way.

    Raises
    ------
    InputError
        The id is empty or too long, or no dataset declares subject columns.
    """
    text = _check_id(subject_id)
    ctx.require(Permission.AUDIT_READ, "find a data subject")
    declared = _declared(ctx)
    key = subject_key(ctx)
    hashed = keyed_hash(key, text)
    wanted = prefix(key, text)
    with ctx.read() as session:
        candidates = _candidates(session, declared)
        erased = _erased_versions(session, hashed)
        erasures = tuple(session.execute(select(ErasureRow.id).where(
            ErasureRow.subject_key == hashed).order_by(ErasureRow.id)).scalars())
    removed = {c.row_id for c in candidates
               if c.row_id in erased and not ctx.artifacts.exists(c.blob)}
    indexes, built = _indexes(ctx, candidates, key, Permission.AUDIT_READ, removed)
    versions: list[SubjectVersion] = []
    holding: list[int] = []
    for c in candidates:
        if c.row_id in removed:
            versions.append(SubjectVersion(dataset=c.ref, matches=0, columns=c.columns,
                                           latest=c.latest, erasure_id=erased[c.row_id],
                                           blob_removed=True))
            continue
        counts = {col: _count(indexes[c.row_id, col], wanted) for col in c.columns}
        total = sum(counts.values())
        if total:
            holding.append(c.row_id)
            versions.append(SubjectVersion(
                dataset=c.ref, matches=total,
                columns=tuple(col for col, n in counts.items() if n), latest=c.latest,
                erasure_id=erased.get(c.row_id)))
    with ctx.read() as session:
        models = _models(session, holding + sorted(removed), ctx.clock(), hashed)
    log = scan_subject(ctx.artifacts, _all_columns(declared), key, text)
    return SubjectFindResult(
        subject_key=hashed,
        searched=tuple(f"{n}.{c}" for n, cols in sorted(declared.items()) for c in cols),
        versions=tuple(versions), models=models, predictions=_predictions(log),
        erasures=erasures, indexes_built=built)


def _all_columns(declared: dict[str, list[str]]) -> list[str]:
    return sorted({c for cols in declared.values() for c in cols})


def _erased_versions(session: Session, hashed: str) -> dict[int, int]:
    """The versions erasures of this subject recorded: ``{version id: erasure id}``."""
    return {v: e for v, e in session.execute(
        select(ErasedVersionRow.dataset_version_id, ErasedVersionRow.erasure_id)
        .join(ErasureRow, ErasureRow.id == ErasedVersionRow.erasure_id)
        .where(ErasureRow.subject_key == hashed).order_by(ErasureRow.id))}


def _models(session: Session, version_ids: Iterable[int], now: str,
            hashed: str) -> tuple[SubjectModel, ...]:
    ids = sorted(set(version_ids))
    if not ids:
        return ()
    rows = session.execute(
        select(ModelVersionRow, DatasetVersionRow.name, DatasetVersionRow.version)
        .join(RunDatasetRow, RunDatasetRow.run_id == ModelVersionRow.run_id)
        .join(DatasetVersionRow, DatasetVersionRow.id == RunDatasetRow.dataset_version_id)
        .where(RunDatasetRow.dataset_version_id.in_(ids))
        .order_by(ModelVersionRow.name, ModelVersionRow.version)).all()
    used: dict[int, list[str]] = {}
    by_id: dict[int, ModelVersionRow] = {}
    for model, name, version in rows:
        by_id[model.id] = model
        used.setdefault(model.id, []).append(f"{name}@{version}")
    serving: dict[int, list[str]] = {}
    for environment, model_version_id in session.execute(
            select(CurrentDeploymentRow.environment, DeploymentRow.model_version_id)
            .join(DeploymentRow, DeploymentRow.id == CurrentDeploymentRow.deployment_id)
            .where(DeploymentRow.model_version_id.in_(list(by_id)),
                   CurrentDeploymentRow.active.is_(True))
            .order_by(CurrentDeploymentRow.environment)):
        serving.setdefault(model_version_id, []).append(environment)
    due = {(f.model, f.version): f.due_at for f in open_flags(session, now, subject_key=hashed)}
    return tuple(SubjectModel(model=f"{m.name}@{m.version}", run_id=m.run_id,
                              datasets=tuple(sorted(set(used[m.id]))),
                              serving=tuple(serving.get(m.id, ())),
                              retrain_due_at=due.get((m.name, m.version)))
                 for m in by_id.values())


def _predictions(log: Redaction) -> tuple[SubjectPredictions, ...]:
    grouped: dict[tuple[str, str], list[LogHit]] = {}
    for hit in log.hits:
        grouped.setdefault((hit.segment.environment, hit.segment.model), []).append(hit)
    out = []
    for (environment, model), found in sorted(grouped.items()):
        out.append(SubjectPredictions(
            environment=environment, model=model,
            versions=tuple(sorted({v for h in found for v in h.versions})),
            rows=sum(h.rows for h in found), feedback_rows=sum(h.feedback_rows for h in found),
            first_time=min(h.first_time for h in found),
            last_time=max(h.last_time for h in found),
            request_ids=tuple(sorted({r for h in found for r in h.request_ids}))))
    return tuple(out)


# -- retrain flags --------------------------------------------------------------------------


def open_flags(session: Session, now: str, *, subject_key: str | None = None
               ) -> list[RetrainFlag]:
    """The 'retrain required' flags still open at ``now``, by model and version.

    A flag is open until a newer version of the same model is registered after the
    erasure from a run that used none of the erasure's dataset versions.
    """
    query = (select(RetrainFlagRow, ErasureRow.created_at, ModelVersionRow)
             .join(ErasureRow, ErasureRow.id == RetrainFlagRow.erasure_id)
             .join(ModelVersionRow, ModelVersionRow.id == RetrainFlagRow.model_version_id))
    if subject_key is not None:
        query = query.where(ErasureRow.subject_key == subject_key)
    flags = session.execute(query.order_by(ModelVersionRow.name, ModelVersionRow.version,
                                           RetrainFlagRow.id)).all()
    if not flags:
        return []
    names = sorted({model.name for _, _, model in flags})
    later = session.execute(select(ModelVersionRow.name, ModelVersionRow.version,
                                   ModelVersionRow.run_id, ModelVersionRow.created_at)
                            .where(ModelVersionRow.name.in_(names))).all()
    runs = sorted({run for _, _, run, _ in later})
    used: dict[str, set[int]] = {}
    for run_id, version_id in session.execute(
            select(RunDatasetRow.run_id, RunDatasetRow.dataset_version_id)
            .where(RunDatasetRow.run_id.in_(runs))):
        used.setdefault(run_id, set()).add(version_id)
    erasure_ids = sorted({flag.erasure_id for flag, _, _ in flags})
    erased: dict[int, set[int]] = {}
    for erasure_id, version_id in session.execute(
            select(ErasedVersionRow.erasure_id, ErasedVersionRow.dataset_version_id)
            .where(ErasedVersionRow.erasure_id.in_(erasure_ids))):
        erased.setdefault(erasure_id, set()).add(version_id)
    found = []
    for flag, erased_at, model in flags:
        versions = erased.get(flag.erasure_id, set())
        closed = any(name == model.name and version > model.version and created >= erased_at
                     and not used.get(run, set()) & versions
                     for name, version, run, created in later)
        if not closed:
            found.append(RetrainFlag(model=model.name, version=model.version,
                                     erasure_id=flag.erasure_id, due_at=flag.due_at,
                                     flagged_at=flag.created_at, overdue=flag.due_at < now))
    return found


def retrain_flags(ctx: Context) -> list[RetrainFlag]:
    """The open 'retrain required' flags (needs ``read``)."""
    ctx.require(Permission.READ, "read the retrain-required flags")
    with ctx.read() as session:
        return open_flags(session, ctx.clock())


VersionErasure = tuple[Literal["held", "wrote"], int, str | None, int, str, str, str]
"""``(role, erasure id, other version, rows, reason, by, at)``: see :func:`version_erasures`."""


def version_erasures(ctx: Context, version_id: int) -> list[VersionErasure]:
    """The erasures that concern a dataset version, oldest first: ``(role, erasure id,
    other version, rows, reason, by, at)`` where role is ``held`` (the version held the
    subject; other: the version written without them) or ``wrote`` (the erasure wrote it;
    other: the version it came from). Needs ``read``; names no subject."""
    ctx.require(Permission.READ, "read a dataset version's erasures")
    found: list[VersionErasure] = []
    with ctx.read() as session:
        refs = {row.id: f"{row.name}@{row.version}" for row in session.execute(
            select(DatasetVersionRow).join(
                ErasedVersionRow,
                (ErasedVersionRow.dataset_version_id == DatasetVersionRow.id)
                | (ErasedVersionRow.replaced_by_id == DatasetVersionRow.id))
            .where((ErasedVersionRow.dataset_version_id == version_id)
                   | (ErasedVersionRow.replaced_by_id == version_id))).scalars()}
        for erased, erasure in session.execute(
                select(ErasedVersionRow, ErasureRow)
                .join(ErasureRow, ErasureRow.id == ErasedVersionRow.erasure_id)
                .where((ErasedVersionRow.dataset_version_id == version_id)
                       | (ErasedVersionRow.replaced_by_id == version_id))
                .order_by(ErasureRow.id)):
            if erased.dataset_version_id == version_id:
                other = None if erased.replaced_by_id is None else refs[erased.replaced_by_id]
                found.append(("held", erasure.id, other, erased.rows, erasure.reason,
                              erasure.created_by, erasure.created_at))
            else:
                found.append(("wrote", erasure.id, refs[erased.dataset_version_id],
                              erased.rows, erasure.reason, erasure.created_by,
                              erasure.created_at))
    return found


# -- erase ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NewVersion:
    """The latest version of a dataset, without the subject: staged and stored as a blob,
    its row written in the erasure's transaction."""

    parent: _Candidate
    removed: int
    table: pa.Table
    content_hash: str
    indexes: dict[str, tuple[str, int]]  # its id indexes, stored with it: column -> blob, n


def _check_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InputError("An erasure needs a reason, e.g. --reason 'GDPR Art. 17 request "
                         "#1234': it is kept in the ledger with the erasure.")
    if len(reason) > MAX_REASON_CHARS or "\x00" in reason:
        raise InputError(f"The reason holds at most {MAX_REASON_CHARS} characters and no "
                         "NUL; shorten it (refer to a ticket for the details).")
    return reason.strip()


def _due(now: str, days: int) -> str:
    moment = datetime.fromisoformat(now.replace("Z", "+00:00")) + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _confirm(store: ArtifactStore, candidate: _Candidate, text: str
             ) -> tuple[int, pa.Table | None]:
    """The rows of ``candidate`` that truly hold the id (the index can collide), and,
    when there are any, the table without them."""
    with store.local_copy(candidate.blob) as path:
        table = pq.read_table(path)
    mask = None
    for column in candidate.columns:
        found = matches(table.column(column), text)
        mask = found if mask is None else pc.or_(mask, found)
    count = int(pc.sum(mask).as_py() or 0) if mask is not None else 0
    if not count:
        return 0, None
    return count, table.filter(pc.invert(mask))


def erase(ctx: Context, subject_id: str, *, reason: str) -> ErasureResult:
    """Erase a data subject from the current data and the prediction log, flag the models
    trained on their data, in one transaction with one ``subject.erase`` event.

    Needs ``subject.erase`` (admin). See the module docstring for what changes.

    Raises
    ------
    InputError
        The id or the reason is missing or too long, or no dataset declares subject
        columns.
    ConflictError
        A dataset got a new version (or the subject another erasure) while this one was
        prepared; run it again.
    """
    text = _check_id(subject_id)
    why = _check_reason(reason)
    action = "erase a data subject"
    ctx.require(Permission.SUBJECT_ERASE, action)
    declared = _declared(ctx)
    key = subject_key(ctx)
    hashed = keyed_hash(key, text)
    wanted = prefix(key, text)
    with ctx.read() as session:
        candidates = _candidates(session, declared)
        already = _erased_versions(session, hashed)
    fresh = [c for c in candidates if c.row_id not in already]
    indexes, _ = _indexes(ctx, fresh, key, Permission.SUBJECT_ERASE, set())
    hits = [c for c in fresh if any(_count(indexes[c.row_id, col], wanted)
                                    for col in c.columns)]
    redaction: Redaction | None = None
    try:
        with ExitStack() as stack:
            confirmed: dict[int, int] = {}
            new: list[_NewVersion] = []
            for candidate in hits:
                count, kept = _confirm(ctx.artifacts, candidate, text)
                if not count:
                    continue  # a hash-prefix collision, not the subject
                confirmed[candidate.row_id] = count
                if candidate.latest and kept is not None:
                    staged = stack.enter_context(ctx.artifacts.staging_file(".parquet"))
                    write_parquet(kept, str(staged))
                    digest = sha256_file(staged)
                    ctx.artifacts.put_file(staged, digest=digest, link=True)
                    made: dict[str, tuple[str, int]] = {}
                    for column in candidate.columns:
                        index = hash_prefixes(key, kept.column(column)).astype("<u8")
                        made[column] = (ctx.artifacts.put_bytes(index.tobytes()), len(index))
                    new.append(_NewVersion(candidate, count, kept, digest, made))
            with ctx.transaction(Permission.SUBJECT_ERASE, action) as tx:
                _check_unchanged(tx.session, declared, candidates, hashed, confirmed)
                redaction = scan_subject(ctx.artifacts, _all_columns(declared), key, text,
                                         plan=True)
                if not confirmed and not redaction.rewrites:
                    previous = tuple(sorted(set(already.values())))
                    redaction = None
                    return ErasureResult(erased=False, subject_key=hashed, reason=why,
                                         previous=previous)
                result = _record(ctx, tx, hashed, why, confirmed, new, redaction, candidates,
                                 key_id(key))
                apply_redaction(ctx.artifacts, redaction)
    except BaseException:
        if redaction is not None:
            redaction.rollback(ctx.artifacts)
        raise
    if redaction is not None:
        redaction.commit(ctx.artifacts)
    return result


def _check_unchanged(session: Session, declared: dict[str, list[str]],
                     seen: list[_Candidate], hashed: str, confirmed: dict[int, int]) -> None:
    """Under the lock: the versions read are still each dataset's latest, and no other
    erasure of the subject recorded them meanwhile."""
    now = {c.row_id: c.latest for c in _candidates(session, declared)}
    if now != {c.row_id: c.latest for c in seen}:
        raise ConflictError("A dataset got a new version while the erasure was prepared; "
                            "nothing was changed. Run `rasad subject erase` again.")
    if set(_erased_versions(session, hashed)) & set(confirmed):
        raise ConflictError("Another erasure of this subject was recorded meanwhile; nothing "
                            "was changed. Run `rasad subject find` to see what remains.")


def _record(ctx: Context, tx: Tx, hashed: str, reason: str, confirmed: dict[int, int],
            new: list[_NewVersion], redaction: Redaction, candidates: list[_Candidate],
            kid: str) -> ErasureResult:
    """Write the new versions, the erasure, its erased versions and flags, and the
    events, in the erasure's transaction."""
    session = tx.session
    now = ctx.clock()
    due = _due(now, ctx.config.governance.erasure.retrain_within_days)
    by_id = {c.row_id: c for c in candidates}
    replaced: dict[int, str] = {}
    new_ids: dict[int, int] = {}
    for item in new:
        parent = session.get(DatasetVersionRow, item.parent.row_id)
        if parent is None:  # checked under the lock just before; a guard, not a path
            raise ConflictError(f"{item.parent.ref} vanished during the erasure.")
        latest = max(session.execute(select(DatasetVersionRow.version).where(
            DatasetVersionRow.name == parent.name)).scalars())
        number = latest + 1
        kinds = {k: ColumnKind(v) for k, v in _json(parent.kinds).items()}
        # The kinds stay the parent's (the same data, fewer rows); the profile is counted anew.
        profile = profile_table(item.table, kinds)
        row = DatasetVersionRow(
            name=parent.name, version=number, content_hash=item.content_hash,
            blob=item.content_hash, rows=item.table.num_rows, columns=item.table.num_columns,
            kinds=parent.kinds, profile=canonical_json(profile.to_dict()),
            source=f"erasure of {item.parent.ref}", parent_id=parent.id,
            created_by=tx.actor, created_at=now)
        session.add(row)
        session.flush()
        replaced[parent.id] = f"{parent.name}@{number}"
        new_ids[parent.id] = row.id
        tx.record("dataset.add", f"dataset:{parent.name}@{number}", {
            "content_hash": row.content_hash, "rows": row.rows, "columns": row.columns,
            "source": row.source, "parent": item.parent.ref, "source_from": "erasure",
            "description": f"{item.removed} row(s) of an erased data subject removed"})
        for column, (blob, entries) in sorted(item.indexes.items()):
            session.add(SubjectIndexRow(dataset_version_id=row.id, column=column, key_id=kid,
                                        entries=entries, blob=blob, created_by=tx.actor,
                                        created_at=now))
        tx.record(INDEX_ACTION, f"dataset:{parent.name}@{number}", {
            "key_id": kid, "columns": {c: {"blob": b, "entries": n}
                                       for c, (b, n) in sorted(item.indexes.items())}})
    versions = tuple(ErasedVersion(dataset=by_id[v].ref, rows=n, replaced_by=replaced.get(v))
                     for v, n in sorted(confirmed.items(), key=lambda i: by_id[i[0]].ref))
    flagged_rows = _to_flag(session, sorted(confirmed), hashed, now)
    summary = {"versions": [v.to_dict() for v in versions],
               "prediction_rows": redaction.rows, "feedback_rows": redaction.feedback_rows,
               "segments": redaction.segments,
               "flagged": [f"{m.name}@{m.version}" for m in flagged_rows]}
    erasure = ErasureRow(subject_key=hashed, reason=reason, summary=canonical_json(summary),
                         retrain_due_at=due, created_by=tx.actor, created_at=now)
    session.add(erasure)
    session.flush()
    for version_id, count in sorted(confirmed.items()):
        session.add(ErasedVersionRow(erasure_id=erasure.id, dataset_version_id=version_id,
                                     rows=count, replaced_by_id=new_ids.get(version_id)))
    for model in flagged_rows:
        session.add(RetrainFlagRow(erasure_id=erasure.id, model_version_id=model.id,
                                   due_at=due, created_at=now))
    session.flush()
    tx.record(ERASE_ACTION, f"subject:{hashed}", {
        "erasure": erasure.id, "reason": reason, "retrain_due_at": due, **summary})
    return ErasureResult(
        erased=True, subject_key=hashed, reason=reason, erasure_id=erasure.id,
        versions=versions,
        flagged=tuple(FlaggedModel(model=f"{m.name}@{m.version}", due_at=due)
                      for m in flagged_rows),
        retrain_due_at=due, prediction_rows=redaction.rows,
        feedback_rows=redaction.feedback_rows, segments=redaction.segments,
        previous=tuple(sorted(set(_erased_versions(session, hashed).values())
                              - {erasure.id})))


def _to_flag(session: Session, version_ids: list[int], hashed: str,
             now: str) -> list[ModelVersionRow]:
    """The model versions trained on ``version_ids`` without an open flag for the subject."""
    if not version_ids:
        return []
    rows = session.execute(
        select(ModelVersionRow).join(RunDatasetRow, RunDatasetRow.run_id
                                     == ModelVersionRow.run_id)
        .where(RunDatasetRow.dataset_version_id.in_(version_ids))
        .order_by(ModelVersionRow.name, ModelVersionRow.version)).scalars().unique().all()
    flagged = {(f.model, f.version) for f in open_flags(session, now, subject_key=hashed)}
    return [m for m in rows if (m.name, m.version) not in flagged]


def _json(text: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads(text)
    return loaded


__all__ = ["ERASE_ACTION", "INDEX_ACTION", "erase", "find", "hash_prefixes", "key_id",
           "open_flags", "prefix", "retrain_flags", "version_erasures"]
