"""The automation loop demo end to end: ``rasad demo --loop`` on SQLite.

    .venv/bin/python benchmarks/demo_loop.py [--repeats 3]

Prints one JSON line: the median wall time of :func:`rasad.demo_loop.run_loop_demo` in a
fresh folder (project set-up, first model and its approval, months 7 to 12 through the
agent with their files, scoring, feedback, monitors, alerts, the retraining and its
approval, the timeline), and what each run found, so a fast run that told another story
does not pass unnoticed. Target: under two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import emit, median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from rasad.demo_loop import run_loop_demo

    seconds, stories = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            summary = run_loop_demo(Path(tmp) / "loop")
            seconds.append(time.perf_counter() - started)
            stories.append({"drift_alert_months": summary.drift_alert_months,
                            "performance_alert_months": summary.performance_alert_months,
                            "serving_version": summary.serving_version})
    emit({"bench": "demo_loop", "repeats": args.repeats, "seconds": median(seconds),
          "runs_s": seconds, "stories": stories})


if __name__ == "__main__":
    main()
