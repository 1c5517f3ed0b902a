"""The crash window: a writer killed with SIGKILL loses only what it had not yet written,
and never leaves a partial segment where readers look. Real processes, real kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from rasad import Project
from rasad.serving.predlog import read_log

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np, pandas as pd
    from rasad import Project
    from rasad.config import PredictionLogConfig
    from rasad.serving.predlog import PredictionLog
    from rasad.serving.records import Scored

    root, mode, flush_seconds, flush_rows = sys.argv[1], sys.argv[2], float(sys.argv[3]), \\
        int(sys.argv[4])
    project = Project.open(root)
    log = PredictionLog.open(project.context, "production", PredictionLogConfig(
        flush_seconds=flush_seconds, flush_rows=flush_rows, queue_rows=1_000_000))
    frame = pd.DataFrame({"x": [1.0], "kind": ["a"]})

    def submit(i):
        log.submit(Scored(f"r{i}", time.time(), "credit", 1, "primary", frame,
                          np.array([i % 2]), np.array([0.5]), 0.1))

    if mode == "steps":  # flush_rows rows, wait until written, queue one fewer, wait
        for i in range(flush_rows):
            submit(i)
        while log.written < flush_rows:
            time.sleep(0.01)
        print("written", flush=True)
        for i in range(flush_rows, 2 * flush_rows - 1):  # one short of the next write
            submit(i)
        print("queued", flush=True)
        time.sleep(600)
    else:  # steady load until killed; every 100th id's time on stdout
        i = 0
        while True:
            submit(i)
            if i % 100 == 0:
                print(i, time.time(), flush=True)
            i += 1
            time.sleep(0.0005)
""")


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Project]:
    with Project.init(tmp_path / "proj", name="test") as proj:
        yield proj


def _start(project: Project, mode: str, flush_seconds: float, flush_rows: int
           ) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(project.root), mode, str(flush_seconds),
         str(flush_rows)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def _kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _segments_are_whole(project: Project) -> int:
    """Every segment where readers look is a complete Parquet file; returns their rows."""
    base = Path(project.artifacts.root) / "predictions"
    rows = 0
    for path in base.rglob("*"):
        if path.is_file():
            assert path.suffix == ".parquet" and not path.name.startswith("."), path
            rows += pq.read_table(path).num_rows
    return rows


def test_kill_9_loses_only_what_was_queued(local: Project) -> None:
    process = _start(local, "steps", flush_seconds=300.0, flush_rows=500)
    assert process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "written", process.stderr
        assert process.stdout.readline().strip() == "queued"
    finally:
        _kill(process)
    frame = read_log(local.context, "credit")
    assert frame["request_id"].tolist() == [f"r{i}" for i in range(500)]  # all flushed rows
    assert _segments_are_whole(local) == 500  # and none of the 499 queued after


@pytest.mark.parametrize("run", range(3))
def test_kill_9_under_load_loses_at_most_the_flush_window(local: Project, run: int) -> None:
    flush_seconds = 0.3
    process = _start(local, "load", flush_seconds=flush_seconds, flush_rows=1_000_000)
    assert process.stdout is not None
    marks: list[tuple[int, float]] = []
    try:
        deadline = None
        while deadline is None or time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            number, stamp = line.split()
            marks.append((int(number), float(stamp)))
            if deadline is None:  # the writer is up: load it for a while, a different one
                deadline = time.monotonic() + 1.5 + 0.37 * run  # each run
    finally:
        killed_at = time.time()
        _kill(process)
    assert _segments_are_whole(local) > 0
    ids = read_log(local.context, "credit")["request_id"].str[1:].astype(int).tolist()
    # Written in order, whole segments only: the log holds exactly r0 .. r(n-1).
    assert sorted(ids) == list(range(len(ids)))
    # Everything submitted more than the flush interval (and a write's time) before the
    # kill is there; what was lost is only the tail.
    slack = 1.0
    old_enough = [number for number, stamp in marks if stamp < killed_at - flush_seconds - slack]
    assert old_enough, "the writer produced too little to judge"
    assert len(ids) > max(old_enough)


def test_two_processes_write_one_log(local: Project) -> None:
    writers = [_start(local, "steps", flush_seconds=300.0, flush_rows=300) for _ in range(2)]
    try:
        for process in writers:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "written"
    finally:
        for process in writers:
            _kill(process)
    frame = read_log(local.context, "credit")
    assert len(frame) == 600  # both processes' first 300 requests (same ids, two writers)
    names = [p.name for p in (Path(local.artifacts.root) / "predictions").rglob("*.parquet")]
    assert len(names) == len(set(names)) == 2
