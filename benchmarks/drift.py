"""Univariate drift report on the shared 1,000,000 x 50 tables: time, memory, flags.

    .venv/bin/python benchmarks/drift.py --rows 1000000 --repeats 3
    .venv/bin/python benchmarks/drift.py --rows 1000000 --repeats 3 --peers --evidently

The tables come from rasad.examples.generate_drift_pair (40 numeric columns, 10
categorical, drift injected in a known 10), identical to ../shared/peers/common.py's
make_pair, so rasad and the peers see the same data (compare the fingerprints). Each
repeat runs rasad.drift.compare with the default policy (no HTML) on the in-memory
frames; before each, the peak-RSS mark is reset, so the peak is that of one report,
frames included. Prints one JSON line: median wall and CPU seconds, peak
RSS against the frames' size, and the flagged columns against the injected set.

--peers also runs NannyML's and (below 1,000,000 rows, or with --evidently) Evidently's
scripts in their own venvs, on the same rows, and reports the time ratios.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import (  # noqa: E402
    emit,
    fingerprint,
    flag_match,
    hwm_mib,
    median,
    reset_peak_rss,
    rss_mib,
    run_peer,
)

from rasad.drift import compare  # noqa: E402
from rasad.examples import generate_drift_pair  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers", action="store_true", help="also run NannyML and Evidently")
    parser.add_argument("--evidently", action="store_true",
                        help="run Evidently even at 1,000,000 rows or more (about 4 minutes)")
    args = parser.parse_args()

    started = time.perf_counter()
    reference, current = generate_drift_pair(args.rows)
    datagen = time.perf_counter() - started
    frames_mib = float(reference.memory_usage(deep=False).sum()
                       + current.memory_usage(deep=False).sum()) / 2**20

    walls, cpus, peaks, before = [], [], [], []
    report = None
    for _ in range(args.repeats):
        report = None
        gc.collect()
        before.append(rss_mib())
        reset_peak_rss()
        wall, cpu = time.perf_counter(), time.process_time()
        report = compare(reference, current)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        peaks.append(hwm_mib())
    assert report is not None
    result: dict[str, Any] = {
        "bench": "drift", "tool": "rasad", "rows": args.rows, "columns": reference.shape[1],
        "repeats": args.repeats,
        "wall_s_median": median(walls), "wall_s_runs": [round(t, 3) for t in walls],
        "cpu_s_median": median(cpus), "cpus": os.cpu_count(),
        "peak_rss_mib_median": median(peaks), "frames_mib": frames_mib,
        "peak_over_frames": median(peaks) / frames_mib,
        "rss_before_mib": median(before),
        "datagen_s": datagen, "loadavg_1m": os.getloadavg()[0],
        "dataset_drifted": report.drifted,
        "flags": flag_match(report.drifted_columns),
        "fingerprint_ref": fingerprint(reference), "fingerprint_cur": fingerprint(current),
    }
    if args.peers:
        del reference, current
        gc.collect()
        peer_args = ("--rows", str(args.rows), "--repeats", str(args.repeats))
        peers = {"nannyml": run_peer("nannyml-venv", "drift_nannyml.py", *peer_args)}
        if args.rows < 1_000_000 or args.evidently:
            peers["evidently"] = run_peer("evidently-venv", "drift_evidently.py", *peer_args,
                                          timeout=7200)
        result["peers"] = peers
        result["speedup"] = {
            name: peer["wall_s_median"] / result["wall_s_median"]
            for name, peer in peers.items() if "wall_s_median" in peer}
    emit(result)


if __name__ == "__main__":
    main()
