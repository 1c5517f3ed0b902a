"""`rasad gc` against concurrent writers, corrupt blobs, and files left by killed writes."""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rasad import Project
from rasad.artifacts import ArtifactStore
from rasad.errors import IntegrityError
from rasad.ledger import canonical_json
from rasad.tables import read_table, write_parquet

from .cli._helpers import Cli, blob_path

DAY = 86_400.0


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"id": range(200), "income": [1000.0 + i for i in range(200)],
                         "region": ["north", "south"] * 100})


def _age(path: Path, seconds: float = DAY) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def _orphan_from_file(project: Project, frame: pd.DataFrame, tmp_path: Path) -> str:
    """Store, as an old orphan, exactly the blob ``add_dataset(frame)`` would store."""
    staged = tmp_path / "staged.parquet"
    write_parquet(read_table(frame), str(staged))
    digest = ArtifactStore(project.artifacts.url).put_file(staged)  # a store of its own
    _age(blob_path(project, digest))
    return digest


def _orphan_from_bytes(project: Project, data: bytes) -> str:
    digest = ArtifactStore(project.artifacts.url).put_bytes(data)
    _age(blob_path(project, digest))
    return digest


def _gc_pausing_before_delete(root: str, listed: Any, proceed: Any, out: Any) -> None:
    """A real `rasad gc` in its own process that stops between listing and deleting.

    It holds the write lock the whole time, as gc always does; the pause only widens
    the window in which a writer stores content gc has already decided to delete.
    """
    project = Project.open(root)
    delete = project.artifacts.delete

    def paused_delete(digest: str) -> None:
        listed.set()
        if not proceed.wait(120):
            raise RuntimeError("the test never let gc go on")
        delete(digest)

    project.artifacts.delete = paused_delete  # type: ignore[method-assign]
    report = project.gc(dry_run=False, min_age_s=3600)
    out.put([b.digest for b in report.unreferenced])
    project.close()


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.01)


@pytest.mark.parametrize("writer", ["data add", "monitor result"])
def test_gc_deleting_an_orphan_while_a_writer_stores_it_loses_nothing(
        project: Project, tmp_path: Path, writer: str) -> None:
    frame = _frame()
    payload = {"drift": {"columns": ["income"], "drifted": False}}
    if writer == "data add":
        digest = _orphan_from_file(project, frame, tmp_path)

        def write() -> str:
            return project.add_dataset(frame, "loans").version.blob
    else:
        digest = _orphan_from_bytes(project, canonical_json(payload).encode("utf-8"))

        def write() -> str:
            return project.save_monitor_result(
                monitor="drift", kind="drift", reference="a", current="b", alert=False,
                summary={}, payload=payload).blob
    blob = blob_path(project, digest)
    old_mtime = blob.stat().st_mtime

    spawn = multiprocessing.get_context("spawn")
    listed, proceed, out = spawn.Event(), spawn.Event(), spawn.Queue()
    gc = spawn.Process(target=_gc_pausing_before_delete,
                       args=(str(project.root), listed, proceed, out))
    gc.start()
    try:
        # gc holds the write lock and has listed the old orphan for deletion.
        assert listed.wait(120), "gc never reached its deletion"
        results: list[str] = []
        errors: list[BaseException] = []

        def run_writer() -> None:
            try:
                results.append(write())
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        adder = threading.Thread(target=run_writer)
        adder.start()
        # The writer found the blob present and refreshed its age; its transaction now
        # waits for gc's lock. Let gc delete the blob under it.
        _wait_until(lambda: not blob.exists() or blob.stat().st_mtime > old_mtime + 3600,
                    "the writer to store its blob")
        proceed.set()
        adder.join(120)
        gc.join(120)
    finally:
        proceed.set()
        gc.join(10)
        if gc.is_alive():
            gc.kill()
    assert not errors, errors
    assert gc.exitcode == 0
    assert out.get(timeout=10) == [digest]  # gc really deleted the blob in the race
    assert results == [digest]  # the writer recorded a row pointing at that blob
    assert blob.is_file() and project.artifacts.get_bytes(digest)  # and it is there, intact
    if writer == "data add":
        pd.testing.assert_frame_equal(project.load_dataset("loans"), frame,
                                      check_dtype=False)
    assert project.verify_audit().ok
    # A later gc sees the row and keeps the blob.
    assert Project.open(project.root).gc(dry_run=False, min_age_s=0).unreferenced == []
    assert blob.is_file()


def test_many_concurrent_adds_and_gcs_never_leave_a_dangling_row(
        project: Project, tmp_path: Path) -> None:
    """Unforced interleavings: gc --min-age 0 in a loop while versions are added."""
    frames = [_frame().assign(income=lambda f, k=k: f["income"] + k) for k in range(8)]
    for frame in frames:
        _orphan_from_file(project, frame, tmp_path)
    stop = threading.Event()
    failures: list[BaseException] = []

    def collect() -> None:
        own = Project.open(project.root)
        try:
            while not stop.is_set():
                own.gc(dry_run=False, min_age_s=0)
        except BaseException as exc:
            failures.append(exc)
        finally:
            own.close()

    collector = threading.Thread(target=collect)
    collector.start()
    try:
        for k, frame in enumerate(frames):
            project.add_dataset(frame, f"part{k}")
    finally:
        stop.set()
        collector.join(120)
    assert not failures, failures
    for k, frame in enumerate(frames):
        version = project.dataset(f"part{k}")
        assert project.artifacts.exists(version.blob)
        assert len(project.load_dataset(f"part{k}")) == len(frame)


def test_adding_content_whose_blob_is_corrupt_repairs_it(project: Project) -> None:
    frame = _frame()
    first = project.add_dataset(frame, "loans").version
    blob = blob_path(project, first.blob)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte changed
    blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="corrupt"):
        project.load_dataset("loans")
    second = project.add_dataset(frame, "loans-copy").version
    assert second.blob == first.blob
    pd.testing.assert_frame_equal(project.load_dataset("loans-copy"), frame, check_dtype=False)
    pd.testing.assert_frame_equal(project.load_dataset("loans"), frame, check_dtype=False)


# -- temporary files ------------------------------------------------------------------------


def test_gc_lists_and_removes_stale_temporary_files(
        project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    rasad = Cli(capsys, project.root)
    store_tmp = Path(project.artifacts.root) / "tmp"
    store_tmp.mkdir(parents=True, exist_ok=True)
    killed_put = store_tmp / "5f2b0c1e9a7d4c3b8e6f1a2b3c4d5e6f"  # a killed upload
    killed_add = store_tmp / "tmpab12cd34.parquet"  # a killed `data add`
    legacy = project.root / ".rasad" / "tmp" / "tmpold.parquet"  # where older rasad staged
    writing = project.artifacts.staging_file(".parquet")  # a write in progress, held open
    live = writing.__enter__()
    legacy.parent.mkdir(parents=True, exist_ok=True)
    for path, size in ((killed_put, 10), (killed_add, 300), (legacy, 7), (live, 5)):
        path.write_bytes(b"x" * size)
    for path in (killed_put, killed_add, legacy):
        _age(path, 2 * 3600)
    version = project.add_dataset(_frame(), "loans").version
    stale = sorted(str(p) for p in (killed_put, killed_add, legacy))

    dry = rasad.ok("gc", "--dry-run")
    for path in stale:
        assert f"temporary {path}" in dry.out
    assert str(live) not in dry.out
    assert "Would remove 3 temporary file(s) left by interrupted writes, 317 bytes." in dry.out
    as_json = rasad.ok("gc", "--dry-run", "--json").json()
    assert [t["path"] for t in as_json["temporary"]] == stale
    assert as_json["temporary_bytes"] == 317 and as_json["removed"] is False
    assert all(Path(p).exists() for p in stale)

    removed = rasad.ok("gc")
    assert "Removed 3 temporary file(s)" in removed.out
    assert not any(Path(p).exists() for p in stale)
    assert live.exists() and project.artifacts.exists(version.blob)
    [event] = rasad.ok("audit", "log", "--json", "--action", "artifacts.gc").json()
    assert event["details"]["temporary"] == 3 and event["details"]["removed"] == []
    assert "temporary" not in rasad.ok("gc", "--dry-run", "--min-age", "0").out
    writing.__exit__(None, None, None)
    assert not live.exists()
    rasad.ok("audit", "verify")


def test_gc_refuses_a_negative_minimum_age(project: Project,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    result = Cli(capsys, project.root)("gc", "--min-age", "-1")
    assert result.code == 2 and "--min-age" in result.err


def test_writers_keep_no_staging_files(project: Project) -> None:
    project.add_dataset(_frame(), "loans")
    project.add_dataset(_frame(), "loans")  # identical: returns the existing version
    assert list(project.artifacts.list_temporary()) == []


def test_the_writer_thread_settles_before_its_row(project: Project) -> None:
    """A blob stored and then removed before the transaction is stored again in it."""
    q: queue.Queue[str] = queue.Queue()
    digest = project.artifacts.put_bytes(b"a report")
    ArtifactStore(project.artifacts.url).delete(digest)  # as a concurrent gc would
    with project.transaction():
        q.put("in transaction")
        assert project.artifacts.exists(digest)
    assert q.get() == "in transaction"


def test_gc_spares_a_locked_temporary_file_and_removes_it_once_its_writer_is_killed(
        project: Project) -> None:
    """--min-age 0 still never pulls a file from under a live write (its flock)."""
    import signal
    import subprocess
    import sys

    script = (
        "import sys, time\n"
        "from rasad.artifacts import ArtifactStore\n"
        "with ArtifactStore(sys.argv[1]).staging_file('.parquet') as path:\n"
        "    path.write_bytes(b'half written')\n"
        "    print(path, flush=True)\n"
        "    time.sleep(600)\n")
    writer = subprocess.Popen([sys.executable, "-c", script, project.artifacts.url],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        live = Path(writer.stdout.readline().strip())
        assert live.exists()
        report = project.gc(dry_run=False, min_age_s=0)
        assert str(live) not in [t.path for t in report.temporary] and live.exists()
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert live.exists()  # a killed write leaves its file behind...
    report = project.gc(dry_run=False, min_age_s=0)
    assert [t.path for t in report.temporary] == [str(live)] and not live.exists()  # ...gc takes it
