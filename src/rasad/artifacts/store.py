"""Content-addressed blob store over fsspec.

Layout under the store's root (a local folder or any fsspec URL)::

    blobs/ab/abcdef...   a blob, named by the sha256 of its bytes
    tmp/...              files being written; moved into ``blobs/`` when complete

Writes go to a temporary name under ``tmp/`` and are renamed into place, so no reader
ever sees a partial blob; reads check the hash and raise :class:`IntegrityError` on a
mismatch. Storing content whose blob exists but is corrupt replaces it, atomically, with
the correct bytes. A killed write can leave a file in ``tmp/``; ``rasad gc`` removes it
once it is older than ``--min-age``. On a local store each temporary file carries a
shared ``flock`` while its writer lives, and gc never removes a locked one, so even
``--min-age 0`` cannot pull a file from under a write in progress.

Why a blob cannot vanish under a row that refers to it
------------------------------------------------------
A writer stores its blob (P), then, in a serialised write transaction, commits the row
that refers to it (R). ``rasad gc`` takes the same write lock, reads every reference,
lists the blobs and deletes the unreferenced ones older than ``--min-age`` before it
releases the lock (``rasad.maintenance``). Three rules make every interleaving safe:

1. **P refreshes the age.** Storing content that already exists checks its hash and
   sets its modification time to now (a remote store uploads it again), so a gc that
   lists it after P sees a young blob and keeps it.
2. **The transaction settles the blobs.** Each thread remembers what it stored since its
   last transaction, with the bytes or file it came from; the next write transaction
   calls :meth:`ArtifactStore.settle` as soon as it holds the lock, and any of those
   blobs that is missing is stored again before the row is written.
3. **gc keeps its own thread's unsettled blobs**, since its transaction settles them.

The interleavings, with gc's critical section G (lock, list, delete, unlock):

* G before P: the blob is deleted before P, and P stores it again. Safe.
* G after R: the row is committed before gc reads the references. Safe.
* G lists before P and deletes after P (P refreshed the age too late): G holds the
  lock, so the writer's transaction waits for it; its ``settle`` then finds the blob
  gone and stores it again from the bytes it kept. Safe.
* G lists after P and before R: the blob is younger than ``--min-age``; G keeps it.
  Safe as long as R follows P within ``--min-age`` (rasad's writers commit R in the
  transaction right after P, where ``settle`` covers even ``--min-age 0``).

If the source of a vanished blob is gone too (a caller deleted the file it stored before
its transaction), ``settle`` fails with :class:`ConflictError` and nothing is committed;
running the command again stores the blob afresh.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec

from rasad.errors import ConflictError, IntegrityError, NotFoundError

TMP_DIR = "tmp"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hash a local file in chunks.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x"
    >>> _ = path.write_bytes(b"hello")
    >>> sha256_file(path)[:12]
    '2cf24dba5fb0'
    """
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: its sha256, size in bytes and modification time (epoch seconds)."""

    digest: str
    size: int
    modified: float


@dataclass(frozen=True)
class TempFile:
    """A file under the store's ``tmp/`` folder: a write in progress, or left by a killed one."""

    path: str
    size: int
    modified: float


class ArtifactStore:
    """Blobs named by their sha256, under ``url`` (a local folder or any fsspec URL).

    >>> import tempfile
    >>> store = ArtifactStore(tempfile.mkdtemp())
    >>> digest = store.put_bytes(b"hello")
    >>> digest[:12], store.get_bytes(digest)
    ('2cf24dba5fb0', b'hello')
    >>> [d[:12] for d in store.settle()]  # in a write transaction: all still there
    ['2cf24dba5fb0']
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._fs: Any = None
        self._root: str = ""
        self._thread = threading.local()

    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._fs, self._root = fsspec.core.url_to_fs(self.url)
        return self._fs

    @property
    def root(self) -> str:
        _ = self.fs
        return self._root

    @property
    def is_local(self) -> bool:
        protocol = self.fs.protocol
        return "file" in (protocol if isinstance(protocol, tuple) else (protocol,))

    def _path(self, digest: str) -> str:
        if not _is_blob_name(digest):
            raise NotFoundError(f"{digest!r} is not a sha256 blob name (64 hex digits).")
        return f"{self.root}/blobs/{digest[:2]}/{digest}"

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self._path(digest)))

    # -- writing -------------------------------------------------------------------------

    def put_file(self, path: str | os.PathLike[str], *, digest: str | None = None,
                 link: bool = False) -> str:
        """Store a local file; returns its digest. Idempotent; repairs a corrupt blob.

        ``digest`` skips hashing a file the caller has just hashed. ``link`` lets a local
        store on the same filesystem take the file as the blob by hard-linking it instead
        of copying: the caller must not change the file afterwards, only delete it, and
        should keep it until the transaction that records the blob (see :meth:`settle`).
        """
        digest = digest or sha256_file(path)
        self._store(digest, Path(path), link=link)
        self._unsettled()[digest] = Path(path)
        return digest

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; returns its digest. Idempotent; repairs a corrupt blob."""
        digest = hashlib.sha256(data).hexdigest()
        self._store(digest, data)
        self._unsettled()[digest] = data
        return digest

    @contextmanager
    def staging_file(self, suffix: str = "") -> Iterator[Path]:
        """A local scratch file to build a blob in, removed on exit.

        On a local store it lies in the store's ``tmp/`` folder, on the blobs' filesystem,
        so ``put_file(..., link=True)`` takes it without a copy; ``rasad gc`` removes it if
        a killed process leaves it behind.
        """
        if not self.is_local:
            with tempfile.TemporaryDirectory() as scratch:
                yield Path(scratch) / f"staged{suffix}"
            return
        with self._write_dir() as folder:
            yield folder / f"staged{suffix}"

    @contextmanager
    def _write_dir(self) -> Iterator[Path]:
        """A fresh folder under ``tmp/`` that carries a shared ``flock`` while it is used.

        Everything a local write stages lives in such a folder, so ``rasad gc`` can tell
        a write in progress (the lock is held) from one a killed process left behind (the
        kernel dropped the lock), whatever files the write renames inside it.
        """
        base = Path(self.root) / TMP_DIR
        base.mkdir(parents=True, exist_ok=True)
        while True:
            folder = Path(tempfile.mkdtemp(dir=base))
            fd = os.open(folder, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:
                if os.stat(folder).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:  # a gc removed it before the lock: make another
                pass
            os.close(fd)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            os.close(fd)

    def settle(self) -> list[str]:
        """Make sure every blob this thread stored since its last call is still there.

        Call it while holding the metadata write lock, before writing rows that refer
        to those blobs (``Project.transaction`` does): a blob that a concurrent
        ``rasad gc`` removed in between is stored again from the bytes or file it came
        from. Returns the digests checked, in order.

        Raises
        ------
        ConflictError
            A blob was removed and its source file is gone too; nothing may refer to it.
        """
        pending: dict[str, bytes | Path] = self._unsettled()
        self._thread.pending = {}
        for digest, source in pending.items():
            if self.exists(digest):
                continue
            if isinstance(source, Path) and not source.is_file():
                raise ConflictError(
                    f"Blob {digest[:12]} was removed by a concurrent `rasad gc` before it "
                    f"could be recorded, and its source {source} is gone. Nothing was "
                    "recorded; run the command again.")
            self._store(digest, source)
        return sorted(pending)

    def unsettled(self) -> set[str]:
        """Digests this thread stored that no write transaction has settled yet."""
        return set(self._unsettled())

    def _unsettled(self) -> dict[str, bytes | Path]:
        pending: dict[str, bytes | Path] | None = getattr(self._thread, "pending", None)
        if pending is None:
            pending = self._thread.pending = {}
        return pending

    def _store(self, digest: str, source: bytes | Path, *, link: bool = False) -> None:
        """Write the blob unless an intact copy exists (whose age is then refreshed)."""
        if not self.is_local:
            self._upload(digest, source)
            return
        target = Path(self._path(digest))
        if self._refresh(target, digest):
            return
        with self._write_dir() as folder:
            tmp = folder / "blob"
            if isinstance(source, bytes):
                tmp.write_bytes(source)
            elif not (link and _hard_link(source, tmp)):
                shutil.copyfile(source, tmp)
                if sha256_file(tmp) != digest:
                    raise IntegrityError(f"{source} does not hash to {digest[:12]}: it "
                                         "changed while it was being stored. Try again.")
            os.utime(tmp)  # a linked file keeps its old time; a blob's age starts now
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)  # atomic; replaces a corrupt blob in one step

    @staticmethod
    def _refresh(target: Path, digest: str) -> bool:
        """True when ``target`` holds the right bytes; its modification time is then now."""
        try:
            if sha256_file(target) != digest:
                return False  # corrupt: the caller writes the right bytes over it
            os.utime(target)
        except FileNotFoundError:  # absent, or removed by gc just now
            return False
        return True

    def _upload(self, digest: str, source: bytes | Path) -> None:
        # An object store cannot touch a file: uploading again refreshes its age and
        # replaces a corrupt copy, for the cost of the upload a missing blob needs anyway.
        target = self._path(digest)
        tmp = f"{self.root}/{TMP_DIR}/{uuid.uuid4().hex}"
        self.fs.makedirs(f"{self.root}/{TMP_DIR}", exist_ok=True)
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        try:
            if isinstance(source, bytes):
                self.fs.pipe_file(tmp, source)
            else:
                self.fs.put_file(str(source), tmp)
            if sha256_file_remote(self.fs, tmp) != digest:
                raise IntegrityError(f"Upload to {self.url} was corrupted in transit "
                                     f"(expected {digest[:12]}). Try again.")
            self.fs.mv(tmp, target)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)

    # -- reading -------------------------------------------------------------------------

    def get_bytes(self, digest: str) -> bytes:
        """Read a blob and check its hash."""
        path = self._require(digest)
        with self.fs.open(path, "rb") as fh:
            data: bytes = fh.read()
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise self._corrupt(digest, actual)
        return data

    @contextmanager
    def local_copy(self, digest: str) -> Iterator[Path]:
        """A verified local path to the blob (the blob itself when local, else a temp copy)."""
        path = self._require(digest)
        if self.is_local:
            actual = sha256_file(path)
            if actual != digest:
                raise self._corrupt(digest, actual)
            yield Path(path)
            return
        with tempfile.TemporaryDirectory() as tmpdir:
            local = Path(tmpdir) / digest
            self.fs.get_file(path, str(local))
            actual = sha256_file(local)
            if actual != digest:
                raise self._corrupt(digest, actual)
            yield local

    # -- upkeep --------------------------------------------------------------------------

    def list_blobs(self) -> Iterator[BlobInfo]:
        for name, size, modified in self._find(f"{self.root}/blobs"):
            name = name.rsplit("/", 1)[-1]
            if _is_blob_name(name):  # a stray file is not a blob, and gc must not delete it
                yield BlobInfo(name, size, modified)

    def list_temporary(self) -> Iterator[TempFile]:
        """Files under ``tmp/``: writes in progress, or left behind by killed ones."""
        for name, size, modified in self._find(f"{self.root}/{TMP_DIR}"):
            yield TempFile(name, size, modified)

    def delete(self, digest: str) -> None:
        self.fs.rm(self._path(digest))

    def in_use(self, temp: TempFile) -> bool:
        """Whether a live process is still writing ``temp`` (local stores only).

        A local write stages its files in a folder under ``tmp/`` on which it holds a
        shared ``flock`` (see ``staging_file``); the kernel drops the lock when the process
        dies, so a file whose folder's exclusive lock can be taken was left by a killed
        write. A file directly under ``tmp/`` (from a remote upload or an older rasad)
        is checked by its own lock, which nothing holds.
        """
        if not self.is_local:
            return False
        base = Path(self.root) / TMP_DIR
        path = Path(temp.path)
        try:
            top = base / path.relative_to(base).parts[0]
        except (ValueError, IndexError):
            top = path
        try:
            fd = os.open(top, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing releases a lock we took
        return False

    def prune_temporary(self) -> None:
        """Remove the empty staging folders killed writes left under ``tmp/``."""
        base = Path(self.root) / TMP_DIR
        if not self.is_local or not base.is_dir():
            return
        for folder in base.iterdir():
            if folder.is_dir() and not self.in_use(TempFile(str(folder), 0, 0.0)):
                try:
                    folder.rmdir()  # only when empty
                except OSError:
                    pass

    def delete_temporary(self, path: str) -> None:
        """Remove a file under ``tmp/`` (gone already is fine)."""
        if not path.startswith(f"{self.root}/{TMP_DIR}/"):
            raise NotFoundError(f"{path!r} is not under {self.url}/{TMP_DIR}.")
        try:
            self.fs.rm(path)
        except FileNotFoundError:
            pass

    def _find(self, base: str) -> Iterator[tuple[str, int, float]]:
        if not self.fs.exists(base):
            return
        for info in self.fs.find(base, detail=True).values():
            modified = info.get("mtime") or info.get("LastModified") or info.get("created")
            if hasattr(modified, "timestamp"):
                modified = modified.timestamp()
            yield (info["name"], int(info.get("size") or 0),
                   float(modified) if modified else time.time())

    def _require(self, digest: str) -> str:
        path = self._path(digest)
        if not self.fs.exists(path):
            raise IntegrityError(
                f"Blob {digest[:12]} is missing from the artifact store {self.url}; it was "
                "deleted outside rasad. Restore it from a backup."
            )
        return path

    def _corrupt(self, digest: str, actual: str) -> IntegrityError:
        return IntegrityError(
            f"Blob {digest[:12]} in {self.url} is corrupt: its content hashes to {actual[:12]}. "
            "It was changed after it was written; restore it from a backup. rasad will not use it."
        )


def _is_blob_name(name: str) -> bool:
    """Whether ``name`` is a blob's name: 64 lowercase hex digits, nothing else."""
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _hard_link(source: Path, tmp: Path) -> bool:
    try:
        os.link(source, tmp)
    except OSError:  # another filesystem, or one without hard links: copy instead
        return False
    return True


def sha256_file_remote(fs: Any, path: str) -> str:
    with fs.open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
