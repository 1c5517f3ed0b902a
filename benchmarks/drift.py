"""Univariate drift report on the shared 1,000,000 x 50 tables: time, memory, flags.

    .venv/bin/python benchmarks/drift.py --rows 1000000 --repeats 3
    .venv/bin/python benchmarks/drift.py --rows 1000000 --repeats 3 --peers --evidently
    .venv/bin/python benchmarks/drift.py --process --rows 1000000 --repeats 5 --data /tmp/drift

The tables come from rasad.examples.generate_drift_pair (40 numeric columns, 10
categorical, drift injected in a known 10), identical to ../shared/peers/common.py's
make_pair, so rasad and the peers see the same data (compare the fingerprints). Each
repeat runs rasad.drift.compare with the default policy (no HTML) on the in-memory
frames; before each, the peak-RSS mark is reset, so the peak is that of one report,
frames included. Prints one JSON line: median wall and CPU seconds, peak
RSS against the frames' size, and the flagged columns against the injected set.

--peers also runs NannyML's and (below 1,000,000 rows, or with --evidently) Evidently's
scripts in their own venvs, on the same rows, and reports the time ratios.

--process times what a user waits for: the whole ``rasad drift ref.parquet cur.parquet``
process (interpreter start, imports, reading both files, the tests, the printed table),
run as a subprocess with its output captured, median of the repeats. The two tables are
written as Parquet (pandas' defaults) to --data, or reused from there when present. It
also times the process that only imports what the command imports, so the rest is
reading, computing and printing; and checks the flagged columns once, from ``--json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
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
    parser.add_argument("--process", action="store_true",
                        help="time the whole `rasad drift ref.parquet cur.parquet` process")
    parser.add_argument("--data", type=Path, default=None,
                        help="--process: folder for (or with) ref.parquet and cur.parquet")
    args = parser.parse_args()
    if args.process:
        emit(process(args.rows, args.repeats, args.data))
        return

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


IMPORTS = ("import rasad.cli.app, rasad.cli.drift_cmd, rasad.monitoring.drift_check, "
           "rasad.drift.compare, rasad.tables")
"""What `rasad drift` on two files imports before it reads them."""


def process(rows: int, repeats: int, data: Path | None) -> dict[str, Any]:
    """Median wall and CPU seconds of the whole `rasad drift` process on two Parquet files."""
    folder = data if data is not None else Path(tempfile.mkdtemp(prefix="rasad-drift-"))
    folder.mkdir(parents=True, exist_ok=True)
    ref, cur = folder / f"ref-{rows}.parquet", folder / f"cur-{rows}.parquet"
    if not (ref.exists() and cur.exists()):
        reference, current = generate_drift_pair(rows)
        reference.to_parquet(ref)
        current.to_parquet(cur)
        del reference, current
    rasad = str(Path(sys.executable).parent / "rasad")
    command = [rasad, "drift", str(ref), str(cur)]

    def timed(argv: list[str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
        return wall, cpu, done

    load_before = os.getloadavg()[0]
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu, _done = timed(command)
        walls.append(wall)
        cpus.append(cpu)
    imports = [timed([sys.executable, "-c", IMPORTS])[0] for _ in range(repeats)]
    report = json.loads(timed([*command, "--json"])[2].stdout)["drift"]
    return {
        "bench": "drift-process", "tool": "rasad", "rows": rows,
        "columns": len(report["columns"]), "repeats": repeats,
        "command": " ".join(["rasad", "drift", ref.name, cur.name]),
        "wall_s_median": median(walls), "wall_s_runs": [round(t, 3) for t in walls],
        "cpu_s_median": median(cpus), "cpu_s_runs": [round(t, 3) for t in cpus],
        "cpus": os.cpu_count(), "imports_s_median": median(imports),
        "loadavg_1m_before": load_before, "loadavg_1m": os.getloadavg()[0],
        "dataset_drifted": report["drifted"],
        "flags": flag_match(report["drifted_columns"]),
    }


if __name__ == "__main__":
    main()
