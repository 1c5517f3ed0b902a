"""Validate the shared 1,000,000 x 50 table against its inferred schema: rasad vs Pandera.

    .venv/bin/python benchmarks/validation.py --rows 1000000 --repeats 3

The table is rasad.examples.generate_drift_table(rows), the peer benchmarks' reference
table: 40 numeric and 10 categorical (text) columns. The schema is inferred once (timed separately);
then each repeat runs rasad.validation.validate on the in-memory frame, and the same
schema's equivalent plain Pandera DataFrameSchema (rasad.validation.to_pandera:
ranges, categories, nullability; lazy=True). rasad does more work than Pandera here:
it also counts values that cannot be read as the declared type, duplicate rows and
the missing share. Prints one JSON line with the median seconds of each.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit, median, peak_rss_mib  # noqa: E402

from rasad.examples import generate_drift_table  # noqa: E402
from rasad.validation import infer_schema, to_pandera, validate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    frame = generate_drift_table(args.rows)
    start = time.perf_counter()
    schema = infer_schema(frame)
    infer_seconds = time.perf_counter() - start
    pandera_schema = to_pandera(schema)
    rasad_times, pandera_times = [], []
    errors = None
    for _ in range(args.repeats):
        gc.collect()
        start = time.perf_counter()
        report = validate(frame, schema)
        rasad_times.append(time.perf_counter() - start)
        errors = len(report.errors)
        gc.collect()
        start = time.perf_counter()
        pandera_schema.validate(frame, lazy=True)
        pandera_times.append(time.perf_counter() - start)
    emit({
        "benchmark": "validation",
        "rows": len(frame),
        "columns": frame.shape[1],
        "repeats": args.repeats,
        "infer_seconds": round(infer_seconds, 3),
        "rasad_validate_median_seconds": round(median(rasad_times), 3),
        "pandera_validate_median_seconds": round(median(pandera_times), 3),
        "ratio_rasad_to_pandera": round(median(rasad_times) / median(pandera_times), 3),
        "checks": len(report.results),
        "errors_on_clean_data": errors,
        "peak_rss_mib": round(peak_rss_mib(), 1),
    })


if __name__ == "__main__":
    main()
