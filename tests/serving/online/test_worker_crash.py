"""A uvicorn worker killed with SIGKILL under load: the other worker keeps answering,
uvicorn starts a replacement, and the prediction log stays readable, holding only
requests that were answered, each once."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rasad.serving.predlog import read_log
from tests.serving.online.conftest import ENV, MODEL, Served, configure, mlflow_split, rows
from tests.serving.online.test_server import RASAD, free_port

pytestmark = pytest.mark.slow

FLUSH_SECONDS = 0.2
SLACK = 0.5
"""Seconds added to the window: a segment being written when the kill came, and the
client's clock reading an answer a moment after the server sent it."""


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def workers(pid: int) -> list[int]:
    """uvicorn's worker processes (the multiprocessing helper has no children of its own
    and is not a worker: workers are the ones that import the app)."""
    found = []
    for child in children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.resource_tracker" not in cmdline:
            found.append(child)
    return found


@pytest.fixture
def two_workers(shared: Served, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    configure(shared.root, log={"flush_seconds": FLUSH_SECONDS})
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as sink:
        process = subprocess.Popen([RASAD, "--project", str(shared.root), "serve", "--port",
                                    str(port), "--workers", "2"], stdout=sink, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while len(workers(process.pid)) < 2 or not _ready(url):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "rasad serve did not start in 90 s"
            time.sleep(0.2)
        yield url, process
    finally:
        configure(shared.root, log={})
        if process.poll() is None:
            process.kill()
            process.wait()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_a_killed_worker_is_replaced_and_the_log_holds_only_answered_requests(
        two_workers: tuple[str, subprocess.Popen[bytes]], shared: Served) -> None:
    url, process = two_workers
    answered: list[str] = []
    answered_at: dict[str, float] = {}
    failed: list[str] = []
    stop = threading.Event()

    def load(client_id: int) -> None:
        n = 0
        while not stop.is_set():
            request_id = f"c{client_id}-{n}"
            n += 1
            try:  # a new connection each time, so both workers take requests
                answer = httpx.post(f"{url}/invocations?model={MODEL}",
                                    json=mlflow_split(rows(1, n % 50)),
                                    headers={**shared.as_predictor, "x-request-id": request_id},
                                    timeout=10)
            except httpx.TransportError:
                failed.append(request_id)
                continue
            if answer.status_code == 200:
                answered_at[request_id] = time.monotonic()
                answered.append(request_id)
            else:
                failed.append(request_id)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(2.0)
        before = workers(process.pid)
        victim = before[0]
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        killed_at = len(answered)
        # uvicorn's supervisor starts a new worker; meanwhile the other one answers.
        deadline = time.monotonic() + 60
        while True:
            now = workers(process.pid)
            if len(now) == 2 and victim not in now and _ready(url):
                break
            assert time.monotonic() < deadline, f"no replacement worker: {now}"
            time.sleep(0.2)
        time.sleep(2.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert len(answered) > killed_at + 20  # answering went on after the kill
    # Only requests in flight on the killed worker may fail: a handful, not a stream.
    assert len(failed) <= 8, failed

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    logged = read_log(shared.project.context, MODEL, environment=ENV, with_feedback=False)
    ours = logged[logged["request_id"].str.match(r"^c\d+-\d+$")]
    ids = list(ours["request_id"])
    assert len(ids) == len(set(ids))  # each answered request logged once
    assert set(ids) <= set(answered)  # nothing logged that was not answered
    # The documented window: what the killed worker answered in its last flush_seconds
    # (0.2 s here) before the kill, plus the segment it was writing, may be missing.
    # Everything answered earlier, and everything answered after, is in the log.
    missing = set(answered) - set(ids)
    late = {r for r in missing if not killed - FLUSH_SECONDS - SLACK <= answered_at[r] <= killed}
    assert not late, sorted(late)[:10]
