"""Logging 10,000 step metrics in one run: rasad beside MLflow 3 on SQLite.

    .venv/bin/python benchmarks/tracking.py --size 10000 --repeats 5 [--peers]

Prints one JSON line. rasad's figure is the median over ``--repeats`` fresh runs
of 10,000 ``run.log_metric`` calls (one call per value, as a training loop
makes them) until the values are durable in the database. With ``--peers`` it
also runs ../shared/peers/mlflow_tracking.py in MLflow's own venv and reports
the ratios against MLflow's one-call-per-value and batched (``log_batch``) paths.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit, median, run_peer  # noqa: E402


def rasad_once(size: int, database_url: str | None) -> float:
    from rasad import Project

    with tempfile.TemporaryDirectory() as tmp:
        if database_url:
            os.environ["RASAD_DATABASE_URL"] = database_url
        with Project.init(Path(tmp) / "p") as project:
            started = time.perf_counter()
            with project.start_run("bench") as run:
                for step in range(size):
                    run.log_metric("loss", 1.0 / (step + 1), step=step)
            elapsed = time.perf_counter() - started
            assert len(run.history("loss")) == size
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peers", action="store_true", help="also run MLflow side by side")
    args = parser.parse_args()
    times = [rasad_once(args.size, None) for _ in range(args.repeats)]
    out: dict[str, object] = {
        "bench": "tracking", "size": args.size, "repeats": args.repeats,
        "rasad_sqlite_s_median": median(times), "rasad_sqlite_s_all": times,
    }
    if args.peers:
        mlflow = run_peer("mlflow-venv", "mlflow_tracking.py", "--size", str(args.size),
                          "--versions", "5", "--default-infer", "0")
        out["mlflow"] = {k: mlflow.get(k) for k in ("log_metric_per_step",
                                                     "log_batch_1000_per_call", "error")}
        if "error" not in mlflow:
            per_step = mlflow["log_metric_per_step"]["total_s"]
            batched = mlflow["log_batch_1000_per_call"]["total_s"]
            out["speedup_vs_mlflow_per_call"] = per_step / median(times)
            out["speedup_vs_mlflow_log_batch"] = batched / median(times)
    emit(out)


if __name__ == "__main__":
    main()
