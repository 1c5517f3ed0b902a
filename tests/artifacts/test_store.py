from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from rasad.artifacts import ArtifactStore
from rasad.errors import ConflictError, IntegrityError, NotFoundError


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


def test_link_takes_the_file_without_copying(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    with store.staging_file(".parquet") as source:
        assert source.parent.parent == tmp_path / "store" / "tmp"  # same filesystem as blobs
        source.write_bytes(b"parquet bytes")
        digest = store.put_file(source, link=True)
        blob = tmp_path / "store" / "blobs" / digest[:2] / digest
        assert blob.stat().st_ino == source.stat().st_ino  # linked, not copied
        assert source.exists()  # kept for the transaction that records the blob
    assert not source.exists() and store.get_bytes(digest) == b"parquet bytes"
    assert list(store.list_temporary()) == []
    assert list((tmp_path / "store" / "tmp").iterdir()) == []  # its folder is gone too


def _blob(store: ArtifactStore, digest: str) -> Path:
    return Path(store.root) / "blobs" / digest[:2] / digest


def _age(path: Path, seconds: float = 86_400) -> float:
    old = time.time() - seconds
    os.utime(path, (old, old))
    return old


def test_link_falls_back_to_a_copy_where_hard_links_fail(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A source on another filesystem (``os.link`` fails with EXDEV) is copied instead."""
    def cross_device(source: object, target: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    store = ArtifactStore(str(tmp_path / "store"))
    source = tmp_path / "elsewhere.parquet"
    source.write_bytes(b"parquet bytes")
    monkeypatch.setattr(os, "link", cross_device)
    digest = store.put_file(source, link=True)
    blob = tmp_path / "store" / "blobs" / digest[:2] / digest
    assert blob.read_bytes() == b"parquet bytes"
    assert blob.stat().st_ino != source.stat().st_ino  # copied


@pytest.mark.parametrize("how", ["bytes", "file", "link"])
def test_storing_existing_content_refreshes_its_age(tmp_path: Path, how: str) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    source = tmp_path / "source.bin"
    source.write_bytes(b"old orphan content")
    digest = store.put_bytes(source.read_bytes())
    old = _age(_blob(store, digest))
    inode = _blob(store, digest).stat().st_ino
    if how == "bytes":
        store.put_bytes(source.read_bytes())
    else:
        store.put_file(source, link=how == "link")
    assert _blob(store, digest).stat().st_mtime > old + 3600  # gc now sees a young blob
    assert _blob(store, digest).stat().st_ino == inode  # an intact blob is not rewritten
    assert [b.modified > old + 3600 for b in store.list_blobs()] == [True]


@pytest.mark.parametrize("how", ["bytes", "file", "link"])
@pytest.mark.parametrize("damage", [b"abcdeX", b"abc", b""])
def test_storing_content_whose_blob_is_corrupt_repairs_it(tmp_path: Path, how: str,
                                                          damage: bytes) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    digest = store.put_bytes(b"abcdef")
    _blob(store, digest).write_bytes(damage)  # same size, shorter, empty
    with pytest.raises(IntegrityError, match="corrupt"):
        store.get_bytes(digest)
    source = tmp_path / "again.bin"
    source.write_bytes(b"abcdef")
    if how == "bytes":
        assert store.put_bytes(b"abcdef") == digest
    else:
        assert store.put_file(source, link=how == "link") == digest
    assert store.get_bytes(digest) == b"abcdef"
    assert [b.digest for b in store.list_blobs()] == [digest]
    assert list(store.list_temporary()) == []


def test_a_file_that_does_not_match_its_digest_is_not_stored(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    source = tmp_path / "x.bin"
    source.write_bytes(b"actual content")
    wrong = hashlib.sha256(b"claimed content").hexdigest()
    with pytest.raises(IntegrityError) as caught:
        store.put_file(source, digest=wrong)
    assert str(caught.value) == (f"{source} does not hash to {wrong[:12]}: it changed while "
                                 "it was being stored. Try again.")
    assert list(store.list_blobs()) == [] and list(store.list_temporary()) == []


def test_settle_restores_a_blob_removed_after_it_was_stored(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    from_bytes = store.put_bytes(b"model")
    source = tmp_path / "data.parquet"
    source.write_bytes(b"data")
    from_file = store.put_file(source)
    store.delete(from_bytes)  # what a concurrent gc that listed them earlier would do
    store.delete(from_file)
    assert store.unsettled() == {from_bytes, from_file}
    assert store.settle() == sorted([from_bytes, from_file])
    assert store.get_bytes(from_bytes) == b"model" and store.get_bytes(from_file) == b"data"
    assert store.unsettled() == set() and store.settle() == []  # each is settled once


def test_a_blob_settle_stores_again_is_a_copy_of_its_source(tmp_path: Path) -> None:
    # The caller asked for a copy (no link): the user may edit the file afterwards.
    store = ArtifactStore(str(tmp_path / "store"))
    source = tmp_path / "data.csv"
    source.write_bytes(b"a,b\n1,2\n")
    digest = store.put_file(source)
    store.delete(digest)
    assert store.settle() == [digest]
    blob = tmp_path / "store" / "blobs" / digest[:2] / digest
    assert os.stat(blob).st_ino != os.stat(source).st_ino
    with open(source, "r+b") as fh:  # edited in place, as an editor saving over it may
        fh.write(b"x")
    assert store.get_bytes(digest) == b"a,b\n1,2\n"


def test_settle_refuses_when_the_source_is_gone_too(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    source = tmp_path / "data.parquet"
    source.write_bytes(b"data")
    digest = store.put_file(source, link=True)
    store.delete(digest)
    source.unlink()
    with pytest.raises(ConflictError) as caught:
        store.settle()
    assert str(caught.value) == (
        f"Blob {digest[:12]} was removed by a concurrent `rasad gc` before it could be "
        f"recorded, and its source {source} is gone. Nothing was recorded; run the command "
        "again.")
    assert store.settle() == []  # the failed check does not poison the next transaction


def test_settle_checks_every_blob_past_one_that_is_still_there(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    kept = store.put_bytes(b"kept")
    removed = store.put_bytes(b"removed")
    store.delete(removed)
    assert store.settle() == sorted([kept, removed])
    assert store.get_bytes(removed) == b"removed"


def test_each_thread_settles_its_own_blobs(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    mine = store.put_bytes(b"main thread")
    theirs: list[str] = []
    worker = threading.Thread(target=lambda: theirs.append(store.put_bytes(b"worker")))
    worker.start()
    worker.join()
    assert store.unsettled() == {mine} and store.settle() == [mine]
    assert theirs[0] not in store.unsettled()


def test_temporary_files_are_listed_and_deleted_only_under_tmp(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    digest = store.put_bytes(b"kept")
    left = tmp_path / "store" / "tmp" / "0123abcd"
    left.write_bytes(b"half a blob")
    [temp] = store.list_temporary()
    assert (temp.path, temp.size) == (str(left), len(b"half a blob"))
    with pytest.raises(NotFoundError):
        store.delete_temporary(str(_blob(store, digest)))
    store.delete_temporary(temp.path)
    store.delete_temporary(temp.path)  # already gone is fine
    assert list(store.list_temporary()) == [] and store.exists(digest)


def test_remote_store_repairs_and_refreshes_by_uploading_again() -> None:
    store = ArtifactStore(f"memory://rasad-repair-{uuid.uuid4().hex}")
    digest = store.put_bytes(b"remote bytes")
    path = store._path(digest)
    store.fs.pipe_file(path, b"remote bytez")
    with pytest.raises(IntegrityError, match="corrupt"):
        store.get_bytes(digest)
    store.put_bytes(b"remote bytes")
    assert store.get_bytes(digest) == b"remote bytes"
    store.delete(digest)
    assert store.settle() == [digest] and store.get_bytes(digest) == b"remote bytes"
    assert list(store.list_temporary()) == []
