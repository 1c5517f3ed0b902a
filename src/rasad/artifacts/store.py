"""Content-addressed blob store over fsspec.

A blob's name is the sha256 of its bytes: ``blobs/ab/abcdef...``. Writes go to a
temporary name under ``tmp/`` and are moved into place, so no reader ever sees a
partial blob; reads check the hash and raise :class:`IntegrityError` on mismatch.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec

from rasad.errors import IntegrityError, NotFoundError

CHUNK = 4 * 1024 * 1024


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hash a local file in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class BlobInfo:
    digest: str
    size: int
    modified: float


class ArtifactStore:
    """Blobs named by their sha256, under ``url`` (a local folder or any fsspec URL).

    >>> import tempfile
    >>> store = ArtifactStore(tempfile.mkdtemp())
    >>> digest = store.put_bytes(b"hello")
    >>> digest[:12], store.get_bytes(digest)
    ('2cf24dba5fb0', b'hello')
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._fs: Any = None
        self._root: str = ""

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
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise NotFoundError(f"{digest!r} is not a sha256 blob name (64 hex digits).")
        return f"{self.root}/blobs/{digest[:2]}/{digest}"

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self._path(digest)))

    def put_file(self, path: str | os.PathLike[str], *, digest: str | None = None,
                 move: bool = False) -> str:
        """Store a local file; returns its digest. Idempotent.

        ``digest`` skips hashing a file the caller has just hashed; ``move`` lets a
        local store take the file by renaming it (the caller's copy is then gone).
        """
        digest = digest or sha256_file(path)
        target = self._path(digest)
        if self.fs.exists(target):
            return digest
        if move and self.is_local:
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            try:
                os.replace(path, target)  # atomic on one filesystem
                return digest
            except OSError:
                pass  # another filesystem: copy below
        tmp = f"{self.root}/tmp/{uuid.uuid4().hex}"
        self.fs.makedirs(f"{self.root}/tmp", exist_ok=True)
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        try:
            self.fs.put_file(str(path), tmp)
            if sha256_file_remote(self.fs, tmp) != digest:
                raise IntegrityError(f"Upload of {path} to {self.url} was corrupted in transit.")
            self.fs.mv(tmp, target)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)
        return digest

    def put_bytes(self, data: bytes) -> str:
        with tempfile.NamedTemporaryFile(delete=False) as fh:
            fh.write(data)
        try:
            return self.put_file(fh.name)
        finally:
            os.unlink(fh.name)

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

    def list_blobs(self) -> Iterator[BlobInfo]:
        base = f"{self.root}/blobs"
        if not self.fs.exists(base):
            return
        for info in self.fs.find(base, detail=True).values():
            name = info["name"].rsplit("/", 1)[-1]
            if len(name) == 64:
                modified = info.get("mtime") or info.get("LastModified") or time.time()
                if hasattr(modified, "timestamp"):
                    modified = modified.timestamp()
                yield BlobInfo(name, int(info.get("size") or 0), float(modified))

    def delete(self, digest: str) -> None:
        self.fs.rm(self._path(digest))

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


def sha256_file_remote(fs: Any, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
