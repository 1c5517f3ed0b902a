"""The prediction log: what `submit` costs the request, and how fast segments are written.

    .venv/bin/python benchmarks/prediction_log.py [--requests 50000] [--repeats 5]

The requests are what ``rasad serve`` hands the log for the issue's model: 20 float
features in a one-row DataFrame, a 0/1 prediction and its score (and, for the batch case,
100-row requests). All are built before timing: building them is the server's work.

- ``submit_us``: the median cost of one ``PredictionLog.submit`` of a one-row request
  (timed over ``--requests`` calls, the best of ``--repeats`` runs' medians), with the
  writer thread running (the target is under 5 µs); ``submit_us_p99`` its 99th percentile
  per call, timed one call at a time.
- ``write_rows_per_s``: rows written per second from the first submit to the last segment
  in place (``close``), for one-row requests (each frame with its own column Index, and
  all sharing one, as a server that builds frames with its model's signature Index does),
  100-row requests, and one-row requests with one column masked (a keyed hash per value);
  with segment counts and bytes per row.
- ``read_rows_per_s``: ``read_log`` of everything written, joined with feedback for half
  of it.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit, median  # noqa: E402

from rasad import Project  # noqa: E402
from rasad.config import PredictionLogConfig  # noqa: E402
from rasad.serving.predlog import PredictionLog, read_log  # noqa: E402
from rasad.serving.records import Feedback, Scored  # noqa: E402

FEATURES = [f"f{i}" for i in range(20)]


def requests(count: int, rows: int, seed: int = 0, *, shared: bool = False) -> list[Scored]:
    """``count`` requests of ``rows`` rows; ``shared``: every frame's columns are one Index
    object (a server that builds frames with its model's signature Index)."""
    rng = np.random.default_rng(seed)
    now = time.time()
    columns = pd.Index(FEATURES) if shared else None
    items = []
    for i in range(count):
        values = rng.normal(size=(rows, len(FEATURES)))
        score = rng.random(rows)
        items.append(Scored(f"req-{seed}-{i}", now + i * 1e-4, "credit", 1, "primary",
                            pd.DataFrame(values, columns=columns if shared else FEATURES),
                            (score >= 0.5).astype(np.int64), score, 0.4))
    return items


def submit_cost(project: Project, items: list[Scored], repeats: int) -> dict[str, float]:
    medians, singles = [], []
    for _ in range(repeats):
        log = PredictionLog.open(project.context, "bench", PredictionLogConfig(
            queue_rows=10_000_000, flush_rows=10_000, flush_seconds=1.0))
        started = time.perf_counter()
        for item in items:
            log.submit(item)
        medians.append((time.perf_counter() - started) / len(items))
        for item in items[:20_000]:
            one = time.perf_counter()
            log.submit(item)
            singles.append(time.perf_counter() - one)
        log.close()
    return {"submit_us": min(medians) * 1e6,
            "submit_us_p99": float(np.percentile(singles, 99)) * 1e6}


def write_rate(project: Project, items: list[Scored], env: str,
               personal: dict[str, str] | None = None) -> dict[str, Any]:
    log = PredictionLog.open(project.context, env, PredictionLogConfig(
        queue_rows=10_000_000, flush_rows=10_000, flush_seconds=1.0,
        personal_data=personal or {}))  # type: ignore[arg-type]
    started = time.perf_counter()
    for item in items:
        log.submit(item)
    log.close()
    seconds = time.perf_counter() - started
    files = list((Path(project.artifacts.root) / "predictions" / env).rglob("*.parquet"))
    size = sum(f.stat().st_size for f in files)
    return {"rows": log.written, "seconds": seconds, "rows_per_s": log.written / seconds,
            "segments": len(files), "bytes_per_row": size / max(log.written, 1),
            "dropped": log.dropped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    one_row = requests(args.requests, 1)
    shared = requests(args.requests, 1, seed=2, shared=True)
    hundred = requests(max(args.requests // 100, 10), 100, seed=1)
    with tempfile.TemporaryDirectory() as folder, \
            Project.init(Path(folder) / "bench", name="bench") as project:
        cost = submit_cost(project, one_row, args.repeats)
        single = write_rate(project, one_row, "single")
        same_index = write_rate(project, shared, "shared")
        batch = write_rate(project, hundred, "batch")
        masked = write_rate(project, one_row, "masked", {"f0": "mask"})
        log = PredictionLog.open(project.context, "single", PredictionLogConfig())
        for item in one_row[::2]:
            log.submit_feedback(Feedback(item.request_id, item.received_at + 1, "credit", (0,),
                                         (1,)))
        log.close()
        reads = []
        for _ in range(3):
            started = time.perf_counter()
            frame = read_log(project.context, "credit", environment="single")
            reads.append(time.perf_counter() - started)
        assert len(frame) == single["rows"] and frame["label"].notna().sum() == len(one_row[::2])
    emit({"benchmark": "prediction_log", "requests": args.requests, **cost,
          "submit_target_us": 5.0,
          "write_rows_per_s": {"one_row": single["rows_per_s"],
                               "one_row_shared_index": same_index["rows_per_s"],
                               "hundred_rows": batch["rows_per_s"],
                               "one_row_masked": masked["rows_per_s"]},
          "one_row": single, "one_row_shared_index": same_index, "hundred_rows": batch,
          "one_row_masked": masked,
          "read_rows_per_s": single["rows"] / median(reads), "read_seconds": median(reads)})


if __name__ == "__main__":
    main()
