from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rasad.artifacts import ArtifactStore
from rasad.errors import IntegrityError, NotFoundError


def test_put_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    digest = store.put_bytes(b"model bytes")
    assert digest == hashlib.sha256(b"model bytes").hexdigest()
    assert store.put_bytes(b"model bytes") == digest
    assert [b.digest for b in store.list_blobs()] == [digest]
    assert (tmp_path / "a" / "blobs" / digest[:2] / digest).read_bytes() == b"model bytes"
    assert not any((tmp_path / "a" / "tmp").iterdir())  # no temporary file left behind


def test_corrupt_blob_is_refused(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    digest = store.put_bytes(b"abcdef")
    path = tmp_path / "blobs" / digest[:2] / digest
    path.write_bytes(b"abcdeg")
    with pytest.raises(IntegrityError, match="corrupt"):
        store.get_bytes(digest)
    with pytest.raises(IntegrityError, match="corrupt"), store.local_copy(digest):
        pass


def test_missing_blob_and_bad_name(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    with pytest.raises(IntegrityError, match="missing"):
        store.get_bytes("0" * 64)
    with pytest.raises(NotFoundError, match="sha256"):
        store.get_bytes("../etc/passwd")


def test_memory_filesystem_url() -> None:
    store = ArtifactStore("memory://rasad-test-artifacts")
    digest = store.put_bytes(b"remote")
    assert store.get_bytes(digest) == b"remote"
    with store.local_copy(digest) as local:
        assert local.read_bytes() == b"remote"
    store.delete(digest)
    assert not store.exists(digest)


def test_move_takes_the_file_without_copying(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    source = tmp_path / "data.parquet"
    source.write_bytes(b"parquet bytes")
    inode = source.stat().st_ino
    digest = store.put_file(source, move=True)
    blob = tmp_path / "store" / "blobs" / digest[:2] / digest
    assert not source.exists() and blob.stat().st_ino == inode  # renamed, not copied
    assert store.get_bytes(digest) == b"parquet bytes"
