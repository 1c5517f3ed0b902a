"""Processes that start a race together: the shared harness of the concurrency tests."""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
from collections.abc import Callable, Sequence
from typing import Any


def race(target: Callable[..., None], args: Sequence[tuple[Any, ...]], *,
         timeout: float) -> dict[Any, Any]:
    """Run ``target(*a, start, results)`` in one spawned process per ``a`` of ``args``.

    The processes wait at the barrier ``start`` so they act at the same moment; each puts
    one tuple ``(key, *value)`` on the queue ``results``. Returns ``{key: value}`` (a
    single value unwrapped). A process that fails releases the others from the barrier
    instead of letting them time out; every process must exit 0.
    """
    spawn = mp.get_context("spawn")
    start = spawn.Barrier(len(args))
    results = spawn.Queue()
    procs = [spawn.Process(target=target, args=(*a, start, results)) for a in args]
    outcomes: dict[Any, Any] = {}
    try:
        for p in procs:
            p.start()
        deadline = time.monotonic() + timeout
        while len(outcomes) < len(procs) and time.monotonic() < deadline:
            try:
                key, *value = results.get(timeout=0.5)
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in procs):
                    start.abort()
                    break
                continue
            outcomes[key] = value[0] if len(value) == 1 else tuple(value)
        for p in procs:
            p.join(timeout)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
    assert [p.exitcode for p in procs] == [0] * len(procs)
    return outcomes
