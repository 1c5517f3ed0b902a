"""The agent's sources: data files arriving in a folder, and the prediction log.

A ``files`` source (``automation.sources.NAME`` with ``kind: files``) names a dataset and
an fsspec glob: a path relative to the project folder (``incoming/*.csv``) or any fsspec
URL (``s3://bucket/loans/*.parquet``). :func:`list_new` lists the matching files not seen
yet, and :func:`ingest` turns one into a dataset version, or rejects it:

1. The file is claimed (:mod:`rasad.automation.claims`, key ``file:SOURCE:SHA256``), so
   of several agents only one handles it; ``None`` tells the others.
2. Its bytes are copied to a scratch file while their sha256 is computed. A file whose
   bytes differ from those listed (still being written, or rewritten) is left for the
   next listing. **Files should be moved into the folder atomically**: write them under
   another name (a name the glob does not match, or one starting with ``.``, which is
   never listed) and rename them into place.
3. The copy is read as ``rasad data add`` reads files (CSV, TSV, Parquet by suffix) and
   checked: against the dataset's schema when it has one (``rasad schema infer``, or
   ``validation.schemas`` in ``rasad.yaml``), else its columns must be those of the
   dataset's latest version. A file that cannot be read or fails is **rejected**: it is
   recorded with its problems and nothing is ingested.
4. A valid file becomes the next version of the dataset through
   :func:`rasad.datasets.service.add`, its source recorded as the file's path or URL.
   With ``combine: append`` the version is the previous version's rows followed by the
   file's (appends to one dataset are serialised by the claim ``append:DATASET``).
5. The file is recorded in ``source_files`` (with its audit event) and its claim
   finished. A file is recognised by its content (source and sha256): the same bytes
   under a second name are not ingested twice.

No half state survives a crash: a file whose version was added but not recorded is
recognised when the work is taken over, by the content hash of the version
(``combine: file``), or as the latest version, unrecorded, with this file as its source
and its rows at the end (``combine: append``).

A ``prediction_log`` source is read with :func:`log_window`: the last rows or days of
what a model served, with the feedback joined.
"""

from __future__ import annotations

import enum
import hashlib
import json
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from rasad.automation import claims
from rasad.config import FileSourceConfig, LogSourceConfig
from rasad.errors import ConfigError, ConflictError, InputError, NotFoundError
from rasad.identity import Permission
from rasad.ledger import canonical_json
from rasad.results import Result
from rasad.store._tables import DatasetVersionRow, SourceFileRow

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from rasad.core import Context
    from rasad.datasets import DatasetVersion

INGEST_LEASE_S: Final = 600.0
"""How long an agent holds a file (and a dataset it appends to) before another agent may
take the work over: ample for reading, validating and storing one file."""

_CHUNK: Final = 4 * 1024 * 1024


class FileStatus(enum.StrEnum):
    """What became of a file of a source."""

    INGESTED = "ingested"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ArrivedFile:
    """A file of a source: its path (or URL), the sha256 of its bytes and its size."""

    source: str
    path: str
    fingerprint: str
    size: int


class IngestOutcome(Result):
    """What :func:`ingest` did with a file: the ``source_files`` row, the status, the
    dataset version made (None when rejected) and the problems found."""

    file_id: int
    status: FileStatus
    dataset: str
    version: int | None
    problems: list[str]
    source_file: ArrivedFile


class _Rejected(Exception):
    """The file cannot become a version: ``problems`` say why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _Busy(Exception):
    """Another agent appends to the same dataset: try the file again later."""


# --- configuration ----------------------------------------------------------------------


def files_source(ctx: Context, source: str) -> FileSourceConfig:
    """The ``files`` source named ``source`` in ``rasad.yaml``.

    Raises
    ------
    NotFoundError
        No source of that name (the message lists them).
    ConfigError
        The source is a prediction log, not files.
    """
    config = _source(ctx, source)
    if not isinstance(config, FileSourceConfig):
        raise ConfigError(f"automation.sources.{source} is a {config.kind} source, not "
                          "files: give a source with kind: files.")
    return config


def log_source(ctx: Context, source: str) -> LogSourceConfig:
    """The ``prediction_log`` source named ``source`` in ``rasad.yaml`` (see
    :func:`files_source` for the errors)."""
    config = _source(ctx, source)
    if not isinstance(config, LogSourceConfig):
        raise ConfigError(f"automation.sources.{source} is a {config.kind} source, not "
                          "prediction_log: give a source with kind: prediction_log.")
    return config


def _source(ctx: Context, source: str) -> FileSourceConfig | LogSourceConfig:
    sources = ctx.config.automation.sources
    if source not in sources:
        known = ", ".join(sorted(sources)) or "none; add automation.sources to rasad.yaml"
        raise NotFoundError(f"No automation source named {source!r}; sources: {known}.")
    return sources[source]


def file_key(source: str, fingerprint: str) -> str:
    """The claim key of a file's content in a source.

    >>> file_key("incoming", "ab" * 32)[:22]
    'file:incoming:abababab'
    """
    return f"file:{source}:{fingerprint}"


# --- listing ----------------------------------------------------------------------------


def list_new(ctx: Context, source: str) -> list[ArrivedFile]:
    """The files matching the source's glob whose content is not recorded yet, by path.

    Names starting with ``.`` are never listed (files being written). Of several files
    with the same bytes, only the first by path is listed. Needs ``read``.
    """
    config = files_source(ctx, source)
    ctx.require(Permission.READ, f"list the files of source {source!r}")
    fs, paths = _glob(ctx, config.path)
    with ctx.read() as session:
        seen = set(session.execute(select(SourceFileRow.fingerprint)
                                   .where(SourceFileRow.source == source)).scalars())
    arrived: list[ArrivedFile] = []
    for path in paths:
        try:
            fingerprint, size = _fingerprint(fs, path)
        except FileNotFoundError:  # moved away since the listing
            continue
        if fingerprint not in seen:
            seen.add(fingerprint)
            arrived.append(ArrivedFile(source, _text(fs, path), fingerprint, size))
    return arrived


def _glob(ctx: Context, pattern: str) -> tuple[Any, list[str]]:
    """The filesystem and the sorted files matching ``pattern`` (no hidden names)."""
    import fsspec

    if "://" not in pattern and not Path(pattern).is_absolute():
        pattern = str(ctx.root / pattern)
    fs, root = fsspec.core.url_to_fs(pattern)
    found = fs.glob(root, detail=True)
    return fs, sorted(path for path, info in found.items()
                      if info.get("type") == "file"
                      and not posixpath.basename(path.rstrip("/")).startswith("."))


def _text(fs: Any, path: str) -> str:
    """How a file is named in rows and messages: a local path, or a URL."""
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return path if "file" in protocol or "local" in protocol else str(fs.unstrip_protocol(path))


def _fingerprint(fs: Any, path: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with fs.open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# --- ingesting --------------------------------------------------------------------------


def ingest(ctx: Context, source: str, file: ArrivedFile, *, owner: str,
           lease_seconds: float = INGEST_LEASE_S) -> IngestOutcome | None:
    """Ingest ``file`` as a version of the source's dataset, or reject it (module docs).

    Returns None, having done nothing, when another agent holds or finished the file
    (or holds the dataset it appends to), when the lease ran out and another agent took
    the file over, and when the file changed or vanished since it was listed (the next
    listing shows its new content). A file an agent recorded but died before finishing
    gives its recorded outcome. ``lease_seconds`` is how long the file is held before
    another agent may take it over; it is renewed before the version is added. Needs
    ``dataset.write``, checked before the file is claimed.

    Raises
    ------
    InputError
        ``file`` was listed for another source.
    """
    config = files_source(ctx, source)
    if file.source != source:
        raise InputError(f"{file.path} was listed for source {file.source!r}, not "
                         f"{source!r}: ingest it into its own source.")
    ctx.require(Permission.DATASET_WRITE, f"ingest {file.path} into dataset {config.dataset!r}")
    key = file_key(source, file.fingerprint)
    if not claims.claim(ctx, key, owner=owner, lease_seconds=lease_seconds):
        return None
    try:
        outcome = _ingest_claimed(ctx, config, file, owner=owner, lease_seconds=lease_seconds)
    except BaseException:
        with suppress(Exception):  # the lease runs out by itself if this fails too
            claims.release(ctx, key, owner=owner)
        raise
    if outcome is None:
        claims.release(ctx, key, owner=owner)
        return None
    with suppress(ConflictError):  # taken over meanwhile: the file is recorded all the same
        claims.finish(ctx, key, owner=owner, outcome=outcome.status.value)
    return outcome


def _ingest_claimed(ctx: Context, config: FileSourceConfig, file: ArrivedFile, *, owner: str,
                    lease_seconds: float) -> IngestOutcome | None:
    recorded = recorded_file(ctx, file.source, file.fingerprint)
    if recorded is not None:  # recorded by an agent that died before finishing its claim
        return recorded
    with _copy(ctx, file) as staged:
        if staged is None:
            return None
        try:
            table = _read(staged, file)
            _check(ctx, config.dataset, table)
            # Reading and checking may take long: make sure the file is still ours.
            if not claims.renew(ctx, file_key(file.source, file.fingerprint), owner=owner,
                                lease_seconds=lease_seconds):
                return None
            if config.combine == "append":
                version = _append(ctx, config.dataset, file, table, owner=owner,
                                  lease_seconds=lease_seconds)
            else:
                version = _add(ctx, config.dataset, file, staged)
        except _Rejected as rejected:
            return _record(ctx, file, config.dataset, None, rejected.problems)
        except _Busy:
            return None
    return _record(ctx, file, config.dataset, version, [])


@contextmanager
def _copy(ctx: Context, file: ArrivedFile) -> Iterator[Path | None]:
    """A scratch copy of ``file`` whose bytes are those listed; None when they changed."""
    import fsspec

    name = posixpath.basename(file.path.rstrip("/"))
    suffix = "".join(Path(name).suffixes[-2:])[:40]  # the reader goes by the suffix
    with ctx.artifacts.staging_file(suffix) as staged:
        digest, size = hashlib.sha256(), 0
        try:
            with fsspec.open(file.path, "rb") as source, open(staged, "wb") as sink:
                for chunk in iter(lambda: source.read(_CHUNK), b""):
                    digest.update(chunk)
                    size += len(chunk)
                    sink.write(chunk)
        except FileNotFoundError:
            yield None
            return
        same = digest.hexdigest() == file.fingerprint and size == file.size
        yield staged if same else None


def _read(staged: Path, file: ArrivedFile) -> pa.Table:
    from rasad.tables import read_table

    try:
        return read_table(staged)
    except InputError as error:  # name the file, not the scratch copy
        raise _Rejected([str(error).replace(str(staged), file.path)]) from None


def _check(ctx: Context, dataset: str, table: pa.Table) -> None:
    """Reject a table that fails the dataset's schema, or, without one, whose columns
    are not those of the dataset's latest version."""
    from rasad.validation import validate
    from rasad.validation.service import check_applies, find_schema

    schema = find_schema(ctx, dataset)
    if schema is None:
        latest = _latest(ctx, dataset)
        if latest is not None and set(latest.kinds) != set(table.column_names):
            raise _Rejected([_columns_problem(latest, table.column_names)])
        return
    try:
        check_applies(schema, table.column_names, "the file")
    except InputError as error:
        raise _Rejected([str(error)]) from None
    report = validate(table, schema.table_schema)
    if not report.ok:  # messages name columns and counts, never values
        raise _Rejected([f"{schema.label}: " + (r.message or f"{r.check.value} failed on "
                                                f"{r.column or 'the table'}")
                         for r in report.errors])


def _columns_problem(latest: DatasetVersion, columns: list[str]) -> str:
    missing = sorted(set(latest.kinds) - set(columns))
    extra = sorted(set(columns) - set(latest.kinds))
    return (f"The file's columns differ from {latest.ref}'s (missing: "
            f"{', '.join(missing) or 'none'}; unexpected: {', '.join(extra) or 'none'}); "
            f"send files with the columns of {latest.ref}, or declare a schema.")


ORIGIN = "automation"
"""What a version's ``dataset.add`` event says read its source (``"source_from"``)."""


def _add(ctx: Context, dataset: str, file: ArrivedFile, staged: Path) -> DatasetVersion:
    """A version of the file alone; the version already holding its content if any."""
    from rasad.datasets.service import add

    return add(ctx, staged, dataset, origin=(file.path, ORIGIN)).version


def _append(ctx: Context, dataset: str, file: ArrivedFile, table: pa.Table, *, owner: str,
            lease_seconds: float) -> DatasetVersion:
    """The latest version with the file's rows added, one appender per dataset."""
    key = f"append:{dataset}"
    if not claims.claim(ctx, key, owner=owner, lease_seconds=lease_seconds):
        raise _Busy
    try:
        return _append_held(ctx, dataset, file, table)
    finally:
        claims.release(ctx, key, owner=owner)


def _append_held(ctx: Context, dataset: str, file: ArrivedFile,
                 table: pa.Table) -> DatasetVersion:
    from rasad.datasets.service import add
    from rasad.tables import write_parquet

    latest = _latest(ctx, dataset)
    if latest is None:
        combined = table
    else:
        base = _load(ctx, latest)
        if _holds_file(ctx, latest, base, file, table):
            return latest  # added by an agent that died before recording the file
        combined = _combine(base, table, latest.ref)
    with ctx.artifacts.staging_file(".parquet") as staged:
        write_parquet(combined, staged)
        return add(ctx, staged, dataset, origin=(file.path, ORIGIN), parent=latest).version


def _holds_file(ctx: Context, latest: DatasetVersion, base: pa.Table, file: ArrivedFile,
                table: pa.Table) -> bool:
    """True when ``latest`` is this file's unrecorded append: its source, no file
    recorded for it, and the file's rows at its end."""
    if latest.source != file.path or latest.rows < table.num_rows:
        return False
    with ctx.read() as session:
        used = session.execute(select(SourceFileRow.id).where(
            SourceFileRow.dataset_version_id == latest.id).limit(1)).first()
    if used is not None:
        return False
    try:
        fitted, _ = _fit(table, base, latest.ref)
    except _Rejected:
        return False
    return bool(base.slice(latest.rows - table.num_rows).equals(fitted))


def _combine(base: pa.Table, table: pa.Table, where: str) -> pa.Table:
    """``base`` followed by ``table``, in one schema."""
    import pyarrow as pa

    fitted, schema = _fit(table, base, where)
    with _type_problems(where):
        return pa.concat_tables([base.cast(schema), fitted])


def _fit(table: pa.Table, reference: pa.Table, where: str) -> tuple[pa.Table, pa.Schema]:
    """``table`` with the columns of ``reference`` (matched by name, in its order), cast
    to a schema that holds both (whole numbers widen to decimals); and that schema."""
    import pyarrow as pa

    if set(reference.column_names) != set(table.column_names):
        raise _Rejected([f"The file's columns ({', '.join(table.column_names)}) are not "
                         f"those of {where} ({', '.join(reference.column_names)})."])
    with _type_problems(where):
        schema = pa.unify_schemas([reference.schema, table.schema],
                                  promote_options="permissive")
        return table.select(reference.column_names).cast(schema), schema


@contextmanager
def _type_problems(where: str) -> Iterator[None]:
    """Arrow's refusal to merge or cast columns, as the reason to reject the file."""
    import pyarrow as pa

    try:
        yield
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise _Rejected([f"The file's column types do not fit those of {where} "
                         f"({first[:200]})."]) from None


def _latest(ctx: Context, dataset: str) -> DatasetVersion | None:
    from rasad.datasets.service import get

    try:
        return get(ctx, dataset)
    except NotFoundError:
        return None


def _load(ctx: Context, version: DatasetVersion) -> pa.Table:
    """A version's rows as stored (normalised Parquet, checked against its hash)."""
    import pyarrow.parquet as pq

    with ctx.artifacts.local_copy(version.blob) as path, pq.ParquetFile(path) as stored:
        return stored.read()


# --- recording --------------------------------------------------------------------------


def _record(ctx: Context, file: ArrivedFile, dataset: str, version: DatasetVersion | None,
            problems: list[str]) -> IngestOutcome:
    """Record the file (with its audit event) unless it is recorded already."""
    status = FileStatus.REJECTED if version is None else FileStatus.INGESTED
    action = f"record file {file.path} of source {file.source!r}"
    with ctx.transaction(Permission.DATASET_WRITE, action) as tx:
        row = _row(tx.session, file.source, file.fingerprint)
        if row is None:
            row = SourceFileRow(
                source=file.source, path=file.path, fingerprint=file.fingerprint,
                size=file.size, status=status.value,
                dataset_version_id=None if version is None else version.id,
                detail=canonical_json(problems) if problems else None, seen_at=ctx.clock())
            tx.session.add(row)
            tx.session.flush()
            tx.record("source.file", f"source:{file.source}", {
                "path": file.path, "sha256": file.fingerprint, "size": file.size,
                "status": status.value, "dataset": dataset,
                "version": None if version is None else version.ref, "problems": problems})
        return _outcome(tx.session, row, dataset)


def recorded_file(ctx: Context, source: str, fingerprint: str) -> IngestOutcome | None:
    """The recorded outcome of the file with content ``fingerprint`` in ``source``."""
    config = files_source(ctx, source)
    with ctx.read() as session:
        row = _row(session, source, fingerprint)
        return None if row is None else _outcome(session, row, config.dataset)


def _row(session: Session, source: str, fingerprint: str) -> SourceFileRow | None:
    found: SourceFileRow | None = session.execute(select(SourceFileRow).where(
        SourceFileRow.source == source, SourceFileRow.fingerprint == fingerprint)
    ).scalar_one_or_none()
    return found


def _outcome(session: Session, row: SourceFileRow, dataset: str) -> IngestOutcome:
    version = None
    if row.dataset_version_id is not None:
        found = session.execute(select(DatasetVersionRow).where(
            DatasetVersionRow.id == row.dataset_version_id)).scalar_one()
        dataset, version = found.name, found.version
    return IngestOutcome(
        file_id=row.id, status=FileStatus(row.status), dataset=dataset, version=version,
        problems=json.loads(row.detail) if row.detail else [],
        source_file=ArrivedFile(row.source, row.path, row.fingerprint, row.size))


# --- the prediction log -----------------------------------------------------------------


def log_window(ctx: Context, source: str, *, rows: int | None = None,
               days: float | None = None) -> pd.DataFrame:
    """The predictions of a ``prediction_log`` source with their feedback ``label``:
    the last ``rows`` of those logged in the last ``days`` (before ``ctx.clock()``).

    The environment is the source's, else the last one (production). Needs ``read``.

    Raises
    ------
    InputError
        ``rows`` or ``days`` not positive, or no prediction in the window (the message
        says what the log holds).
    """
    from rasad.serving.predlog import LogWindow, read_log_window

    config = log_source(ctx, source)
    if rows is not None and rows < 1:
        raise InputError(f"A window of {rows} rows is empty: give at least 1 row.")
    if days is not None and not days > 0:
        raise InputError(f"A window of {days} days is empty: give a positive number of days.")
    environment = config.environment or ctx.config.registry.environments[-1]
    since = None if days is None else _now(ctx) - timedelta(days=days)
    frame = read_log_window(ctx, LogWindow(config.model, environment, since),
                            with_feedback=True)
    if rows is not None and len(frame) > rows:
        attrs = dict(frame.attrs)
        frame = frame.iloc[len(frame) - rows:].reset_index(drop=True)
        frame.attrs.update(attrs)
    return frame


def _now(ctx: Context) -> datetime:
    return datetime.fromisoformat(ctx.clock().replace("Z", "+00:00")).astimezone(UTC)
