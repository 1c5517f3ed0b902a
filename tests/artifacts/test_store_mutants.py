"""The artifact store's name check and layout, pinned case by case.

Written against the mutants mutation testing left alive (docs/testing.md): a blob name
is 64 lowercase hex digits, nothing else ever becomes a path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from rasad import Project
from rasad.artifacts import ArtifactStore
from rasad.artifacts.store import TempFile, _is_blob_name, sha256_file
from rasad.errors import IntegrityError, NotFoundError
from rasad.maintenance import gc

GOOD = hashlib.sha256(b"x").hexdigest()

BAD_NAMES = {
    "non-hex": "g" * 64,
    "one non-hex digit": GOOD[:-1] + "g",
    "an X": "X" * 64,
    "uppercase": GOOD.upper(),
    "one uppercase digit": "A" + GOOD[1:],
    "too short": GOOD[:63],
    "too long": GOOD + "0",
    "empty": "",
    "traversal": "../" + GOOD[3:],
    "absolute traversal": "/" * 10 + "etc/passwd" + "0" * 44,
    "traversal of 64 characters": "../../" + "a" * 58,
    "separator": GOOD[:30] + "/" + GOOD[31:],
    "whitespace": GOOD[:63] + " ",
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_only_64_lowercase_hex_digits_name_a_blob(tmp_path: Path, name: str) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    assert len(BAD_NAMES["traversal of 64 characters"]) == 64
    for use in (store.exists, store.get_bytes, store.delete):
        with pytest.raises(NotFoundError, match="is not a sha256 blob name") as caught:
            use(name)
        assert repr(name) in str(caught.value)
    with pytest.raises(NotFoundError), store.local_copy(name):
        pass
    source = tmp_path / "source.bin"
    source.write_bytes(b"x")
    if name:  # an empty digest means "hash the file for me"
        with pytest.raises(NotFoundError):
            store.put_file(source, digest=name)
    assert not (tmp_path / "store" / "blobs").exists()


def test_a_blob_lies_under_its_first_two_digits(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    assert store._path(GOOD) == f"{store.root}/blobs/{GOOD[:2]}/{GOOD}"
    assert store.root == str(tmp_path / "store")
    assert store.put_bytes(b"x") == GOOD
    assert store.exists(GOOD) and not store.exists("0" * 64)
    assert (tmp_path / "store" / "blobs" / GOOD[:2] / GOOD).read_bytes() == b"x"


def test_missing_and_corrupt_blobs_are_named(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    with pytest.raises(IntegrityError) as caught:
        store.get_bytes(GOOD)
    assert str(caught.value) == (
        f"Blob {GOOD[:12]} is missing from the artifact store {store.url}; it was deleted "
        "outside rasad. Restore it from a backup.")
    store.put_bytes(b"x")
    (tmp_path / "store" / "blobs" / GOOD[:2] / GOOD).write_bytes(b"y")
    actual = hashlib.sha256(b"y").hexdigest()
    with pytest.raises(IntegrityError) as caught:
        store.get_bytes(GOOD)
    assert str(caught.value) == (
        f"Blob {GOOD[:12]} in {store.url} is corrupt: its content hashes to {actual[:12]}. "
        "It was changed after it was written; restore it from a backup. rasad will not use it.")


@pytest.mark.parametrize("size", [0, 1, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1])
def test_file_hashes_match_hashlib_across_chunk_boundaries(tmp_path: Path, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    store = ArtifactStore(f"memory://rasad-chunks-{size}-{tmp_path.name}")
    digest = store.put_file(path)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.get_bytes(digest) == data
    assert [(b.digest, b.size) for b in store.list_blobs()] == [(digest, size)]
    with store.local_copy(digest) as local:
        assert local.read_bytes() == data


def test_a_remote_store_names_uploads_in_tmp_and_lists_its_blobs(tmp_path: Path) -> None:
    store = ArtifactStore(f"memory://rasad-remote-{tmp_path.name}")
    assert not store.is_local
    digest = store.put_bytes(b"remote")
    assert store.fs.cat_file(f"{store.root}/blobs/{digest[:2]}/{digest}") == b"remote"
    assert store.fs.ls(f"{store.root}/tmp", detail=False) == []
    [blob] = store.list_blobs()
    assert (blob.digest, blob.size) == (digest, len(b"remote")) and blob.modified > 0
    assert list(store.list_temporary()) == []
    assert not store.in_use(TempFile(f"{store.root}/tmp/x", 0, 0.0))  # no locks remotely
    store.prune_temporary()  # nothing to prune remotely; it must not fail either
    assert ArtifactStore(str(tmp_path)).is_local


class StrictMemoryFileSystem(MemoryFileSystem):
    """An in-memory object store that, like SFTP or a mounted share, needs folders made
    before files are written into them, and that can corrupt the next upload."""

    protocol = "strictmem"
    corrupt_next = False

    def _parent_must_exist(self, path: str) -> None:
        parent = self._strip_protocol(path).rsplit("/", 1)[0]
        if parent not in self.pseudo_dirs:
            raise FileNotFoundError(f"no folder {parent}")

    def pipe_file(self, path: str, value: bytes, *args: Any, **kwargs: Any) -> None:
        self._parent_must_exist(path)
        if type(self).corrupt_next:
            type(self).corrupt_next = False
            value = value[::-1] + b"!"
        super().pipe_file(path, value, *args, **kwargs)

    def mv(self, path1: str, path2: str, *args: Any, **kwargs: Any) -> None:
        self._parent_must_exist(path2)
        super().mv(path1, path2, *args, **kwargs)


@pytest.fixture
def strict_store(tmp_path: Path) -> Iterator[ArtifactStore]:
    fsspec.register_implementation("strictmem", StrictMemoryFileSystem, clobber=True)
    store = ArtifactStore(f"strictmem://rasad-{tmp_path.name}")
    yield store
    StrictMemoryFileSystem.corrupt_next = False


def test_an_upload_makes_the_blob_folder_it_needs(strict_store: ArtifactStore) -> None:
    digest = strict_store.put_bytes(b"needs folders")
    assert strict_store.get_bytes(digest) == b"needs folders"
    made = set(strict_store.fs.pseudo_dirs)
    assert f"{strict_store.root}/blobs/{digest[:2]}" in made
    assert f"{strict_store.root}/tmp" in made
    assert list(strict_store.list_temporary()) == []


def test_an_upload_corrupted_in_transit_is_refused_and_cleaned_up(
        strict_store: ArtifactStore) -> None:
    digest = hashlib.sha256(b"payload").hexdigest()
    StrictMemoryFileSystem.corrupt_next = True
    with pytest.raises(IntegrityError) as caught:
        strict_store.put_bytes(b"payload")
    assert str(caught.value) == (f"Upload to {strict_store.url} was corrupted in transit "
                                 f"(expected {digest[:12]}). Try again.")
    assert not strict_store.exists(digest)
    assert list(strict_store.list_temporary()) == []  # the bad upload was removed
    assert strict_store.put_bytes(b"payload") == digest  # the next try works
    assert strict_store.get_bytes(digest) == b"payload"


def test_only_files_under_tmp_can_be_deleted_as_temporary(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    digest = store.put_bytes(b"kept")
    blob = f"{store.root}/blobs/{digest[:2]}/{digest}"
    for path in (blob, f"{store.root}/tmp", f"{store.root}/tmpx/file", "/etc/passwd"):
        with pytest.raises(NotFoundError) as caught:
            store.delete_temporary(path)
        assert str(caught.value) == f"{path!r} is not under {store.url}/tmp."
    assert store.get_bytes(digest) == b"kept"


def test_a_temporary_file_is_in_use_only_while_its_writer_holds_the_lock(
        tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    digest = store.put_bytes(b"x")
    tmp = tmp_path / "store" / "tmp"
    (tmp / "abandoned").mkdir()
    (tmp / "abandoned" / "blob").write_bytes(b"half")
    (tmp / "loose").write_bytes(b"half")
    with store.staging_file() as staged:
        staged.write_bytes(b"in progress")
        assert store.in_use(TempFile(str(staged), 0, 0.0))
        assert store.in_use(TempFile(str(staged.parent), 0, 0.0))
        assert not store.in_use(TempFile(str(tmp / "abandoned" / "blob"), 0, 0.0))
        assert not store.in_use(TempFile(str(tmp / "loose"), 0, 0.0))
        assert not store.in_use(TempFile(str(tmp / "gone"), 0, 0.0))
        assert not store.in_use(TempFile(f"{store.root}/blobs/{digest[:2]}/{digest}", 0, 0.0))
    assert not staged.exists()


def test_pruning_removes_only_empty_abandoned_staging_folders(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    store.prune_temporary()  # no tmp/ folder yet: nothing to do
    assert not (tmp_path / "store" / "tmp").exists()
    tmp = tmp_path / "store" / "tmp"
    tmp.mkdir(parents=True)
    (tmp / "abandoned").mkdir()
    (tmp / "full").mkdir()
    (tmp / "full" / "blob").write_bytes(b"half")
    (tmp / "loose").write_bytes(b"half")
    with store.staging_file() as staged:
        live = staged.parent.name
        store.prune_temporary()
        assert sorted(p.name for p in tmp.iterdir()) == sorted(["full", "loose", live])
    assert sorted(p.name for p in tmp.iterdir()) == ["full", "loose"]


class ObjectStoreMetadata(MemoryFileSystem):
    """An in-memory store whose listings carry the metadata another backend reports."""

    protocol = "metamem"
    extra: dict[str, Any] = {}

    def find(self, path: str, maxdepth: int | None = None, withdirs: bool = False,
             detail: bool = False, **kwargs: Any) -> Any:
        found = super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=True, **kwargs)
        listed = {name: {**{k: v for k, v in info.items() if k not in ("created", "size")},
                         **type(self).extra} for name, info in found.items()}
        return listed if detail else list(listed)


JAN_2020 = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("extra", "modified"), [
    ({"LastModified": JAN_2020, "size": 5}, JAN_2020.timestamp()),  # S3: a datetime
    ({"created": JAN_2020.timestamp() + 0.5, "size": 5}, JAN_2020.timestamp() + 0.5),
    ({"created": JAN_2020, "size": 5}, JAN_2020.timestamp()),
    ({"mtime": 1234.0, "LastModified": JAN_2020, "size": 5}, 1234.0),
])
def test_listings_read_each_backends_modification_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any],
        modified: float) -> None:
    fsspec.register_implementation("metamem", ObjectStoreMetadata, clobber=True)
    monkeypatch.setattr(ObjectStoreMetadata, "extra", extra)
    store = ArtifactStore(f"metamem://rasad-{tmp_path.name}")
    digest = store.put_bytes(b"hello")
    store.fs.pipe_file(f"{store.root}/tmp/left", b"x")
    [blob] = store.list_blobs()
    assert (blob.digest, blob.size, blob.modified) == (digest, 5, modified)
    [temp] = store.list_temporary()
    assert (temp.path, temp.size, temp.modified) == (f"{store.root}/tmp/left", 5, modified)


def test_a_listing_without_a_time_or_size_counts_as_new_and_empty(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fsspec.register_implementation("metamem", ObjectStoreMetadata, clobber=True)
    monkeypatch.setattr(ObjectStoreMetadata, "extra", {})
    store = ArtifactStore(f"metamem://rasad-{tmp_path.name}")
    digest = store.put_bytes(b"hello")
    [blob] = store.list_blobs()
    assert (blob.digest, blob.size) == (digest, 0)
    assert blob.modified > JAN_2020.timestamp()  # now: a gc keeps what it cannot date


def test_only_64_character_names_are_listed_as_blobs(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    digest = store.put_bytes(b"x")
    (tmp_path / "store" / "blobs" / digest[:2] / "notes.txt").write_text("x")
    (tmp_path / "store" / "blobs" / (digest[:63] + "x")).write_text("x")
    assert [b.digest for b in store.list_blobs()] == [digest]


def test_gc_ignores_a_stray_file_with_a_blob_sized_name(project: Project) -> None:
    """A 64-character file that is not a blob name (an editor's backup, say) once made
    `rasad gc` fail with "not a sha256 blob name"; it is not a blob, so gc leaves it."""
    blobs = Path(project.artifacts.root) / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    stray = blobs / ("a" * 63 + "Z")
    stray.write_text("not a blob")
    orphan = project.artifacts.put_bytes(b"orphan")
    project.artifacts.settle()
    report = gc(project, dry_run=False, min_age_s=0)
    assert [b.digest for b in report.unreferenced] == [orphan]
    assert stray.read_text() == "not a blob" and not project.artifacts.exists(orphan)


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_the_blob_name_rule_itself(name: str) -> None:
    assert _is_blob_name(GOOD) and _is_blob_name("0" * 64)
    assert not _is_blob_name(name)
