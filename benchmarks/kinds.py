"""Infer the column kinds of a 1,000,000-row table: an integer id, a text code, numbers,
a category.

    .venv/bin/python benchmarks/kinds.py --rows 1000000 --repeats 3

The identifiers must be found whatever the size (every value distinct), without reading
every value more than once. Prints one JSON line with the median seconds of
rasad.tables.infer_kinds and the kinds it found.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit, median, peak_rss_mib  # noqa: E402

from rasad.tables import infer_kinds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    table = pa.table({
        "user_id": np.arange(args.rows),
        "x": rng.normal(size=args.rows),
        "code": pa.array([f"K{n:08d}" for n in range(args.rows)]),
        "region": pa.array(rng.choice(["a", "b", "c"], args.rows)),
    })
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        kinds = infer_kinds(table)
        times.append(time.perf_counter() - start)
    emit({
        "benchmark": "kinds",
        "rows": table.num_rows,
        "repeats": args.repeats,
        "infer_kinds_median_seconds": round(median(times), 3),
        "kinds": {name: str(kind.value) for name, kind in kinds.items()},
        "peak_rss_mib": round(peak_rss_mib(), 1),
    })


if __name__ == "__main__":
    main()
