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


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process; False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mib() -> float:
    """Resident memory of this process now."""
    return _status_mib("VmRSS")


def hwm_mib() -> float:
    """Peak resident memory since the last ``reset_peak_rss`` (VmHWM)."""
    return _status_mib("VmHWM")


def fingerprint(frame: Any) -> str:
    """The peer folder's fingerprint of a drift table, to show both sides saw the same rows."""
    import hashlib

    from rasad.examples import CATEGORICAL_COLUMNS, NUMERIC_COLUMNS

    numeric = frame[[c.name for c in NUMERIC_COLUMNS]].to_numpy()
    h = hashlib.sha1()
    h.update(numeric[:1000].copy(order="C").tobytes())
    h.update(repr(float(numeric.sum())).encode())
    for column in CATEGORICAL_COLUMNS:
        h.update("".join(frame[column.name].iloc[:1000]).encode())
    return h.hexdigest()[:12]


def flag_match(flagged: Any) -> dict[str, Any]:
    """Flagged columns against the drift tables' injected ones."""
    from rasad.examples import DRIFTED_COLUMNS

    flagged, drifted = set(flagged), set(DRIFTED_COLUMNS)
    return {"n_flagged": len(flagged), "flagged": sorted(flagged),
            "missed": sorted(drifted - flagged), "false_pos": sorted(flagged - drifted),
            "exact_match": flagged == drifted}


def run_peer(venv: str, script: str, *args: str, timeout: float = 1800) -> dict[str, Any]:
    """Run one of ../shared/peers' scripts in its own venv and parse its JSON line."""
    python = PEERS / venv / "bin" / "python"
    path = SHARED_PEERS / script
    if not path.exists():
        reason = f"no peer folder at {SHARED_PEERS}: peer comparison skipped"
        print(f"# {reason}", file=sys.stderr)
        return {"error": reason}
    if not python.exists():
        reason = f"peer not installed: run `bash {SHARED_PEERS}/setup_venvs.sh`"
        print(f"# {script}: {reason}", file=sys.stderr)
        return {"error": reason}
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
