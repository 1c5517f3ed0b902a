"""Helpers shared by rasad's benchmarks: medians, peak memory, peer venvs, one JSON line."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

PEERS = Path(os.environ.get("RASAD_PEERS", Path.home() / ".cache" / "rasad-peers"))
SHARED_PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers"


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_peer(venv: str, script: str, *args: str, timeout: float = 1800) -> dict[str, Any]:
    """Run one of ../shared/peers' scripts in its own venv and parse its JSON line."""
    python = PEERS / venv / "bin" / "python"
    path = SHARED_PEERS / script
    if not python.exists() or not path.exists():
        return {"error": f"peer not installed: run `bash {SHARED_PEERS}/setup_venvs.sh`"}
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "NML_DISABLE_USAGE_LOGGING": "1"}
    done = subprocess.run([str(python), str(path), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr or done.stdout)[-2000:]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def emit(result: dict[str, Any]) -> None:
    result.setdefault("machine", {"python": platform.python_version(),
                                  "cpus": os.cpu_count(), "platform": platform.platform()})
    sys.stdout.write(json.dumps(result, default=float) + "\n")
