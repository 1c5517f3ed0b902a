"""How fast rasad starts: `rasad --help` and the light imports, as fresh processes.

    .venv/bin/python benchmarks/startup.py [--repeats 10]

Each figure is the median of ``--repeats`` process starts, output discarded: wall time
(``median_s``) and the CPU time the process used (``median_cpu_s``, user + system), which
a busy machine inflates less.
``python -c pass`` is the floor every Python process pays. With ``mlflow-venv`` from
``../shared/peers`` installed (``$RASAD_PEERS``), ``mlflow --help`` is timed the same way
for comparison; otherwise it is skipped and the line says why. The load average is
printed too: a figure measured on a busy machine says little.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import PEERS, emit, median  # noqa: E402

BIN = Path(sys.executable).parent
PYTHON = str(BIN / "python")


def commands() -> dict[str, list[str]]:
    """What is timed: name -> argv."""
    return {
        "python_pass": [PYTHON, "-c", "pass"],
        "rasad_help": [str(BIN / "rasad"), "--help"],
        "rasad_data_help": [str(BIN / "rasad"), "data", "--help"],
        "import_rasad": [PYTHON, "-c", "import rasad"],
        "import_rasad_cli": [PYTHON, "-c", "import rasad.cli"],
        "import_rasad_drift": [PYTHON, "-c", "import rasad.drift"],
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_start(argv: list[str], repeats: int, env: dict[str, str]) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeats`` runs of ``argv`` (after one warm-up run)."""
    wall, cpu = [], []
    for i in range(repeats + 1):
        started, cpu_before = time.perf_counter(), _children_cpu()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env=env, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): "
                             f"{done.stderr.decode(errors='replace')[-500:]}")
        if i:  # the first run fills the page cache and compiles bytecode
            wall.append(elapsed)
            cpu.append(_children_cpu() - cpu_before)
    return round(median(wall), 4), round(median(cpu), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    # A wide fixed terminal: help is laid out the same whatever runs the benchmark.
    env = {**os.environ, "COLUMNS": "120", "MLFLOW_DISABLE_TELEMETRY": "true"}
    result: dict[str, object] = {"benchmark": "startup", "repeats": args.repeats,
                                 "load_before": round(os.getloadavg()[0], 2)}
    timed = {name: time_start(argv, args.repeats, env) for name, argv in commands().items()}
    mlflow = PEERS / "mlflow-venv" / "bin" / "mlflow"
    if mlflow.exists():
        timed["mlflow_help"] = time_start([str(mlflow), "--help"], args.repeats, env)
    else:
        result["mlflow_help"] = f"skipped: no {mlflow} (bash ../shared/peers/setup_venvs.sh)"
    result["median_s"] = {name: wall for name, (wall, _) in timed.items()}
    result["median_cpu_s"] = {name: cpu for name, (_, cpu) in timed.items()}
    result["load_after"] = round(os.getloadavg()[0], 2)
    emit(result)


if __name__ == "__main__":
    main()
