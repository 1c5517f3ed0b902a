"""Adding a 1,000,000 x 50 CSV as a dataset version: time and peak memory.

    .venv/bin/python benchmarks/data_add.py --rows 1000000 --repeats 3

The CSV is made once from rasad.examples.generate_drift_table, the peer benchmarks'
synthetic table (40 numeric, 10 categorical columns). Each repeat adds it to a fresh project in a
fresh process, so peak memory is that of one add. Prints one JSON line with the
median seconds and the peak RSS next to the CSV's size on disk.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit, median  # noqa: E402

CHILD = """
import json, sys, time
from pathlib import Path
def hwm():  # VmHWM starts afresh at exec, unlike ru_maxrss, which a forked child inherits
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
from rasad import Project
csv, root = sys.argv[1], sys.argv[2]
before = hwm()
with Project.init(Path(root)) as project:
    t = time.perf_counter()
    result = project.add_dataset(csv, "bench")
    elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed, "rows": result.version.rows,
                  "columns": result.version.columns, "baseline_rss_mib": before,
                  "peak_rss_mib": hwm()}))
"""


def make_csv(rows: int, path: Path) -> None:
    from rasad.examples import generate_drift_table

    frame = generate_drift_table(rows)
    frame.to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "table.csv"
        make_csv(args.rows, csv)
        runs = []
        for i in range(args.repeats):
            done = subprocess.run([sys.executable, "-c", CHILD, str(csv), f"{tmp}/p{i}"],
                                  capture_output=True, text=True, check=True)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        emit({
            "bench": "data_add", "rows": args.rows, "columns": runs[0]["columns"],
            "csv_mib": csv.stat().st_size / 2**20,
            "seconds_median": median([r["seconds"] for r in runs]),
            "seconds_all": [r["seconds"] for r in runs],
            "peak_rss_mib_median": median([r["peak_rss_mib"] for r in runs]),
            "import_baseline_rss_mib": runs[0]["baseline_rss_mib"],
        })


if __name__ == "__main__":
    main()
