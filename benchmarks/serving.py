"""Online serving under load: `rasad serve` beside MLServer and `mlflow models serve`.

    .venv/bin/python benchmarks/serving.py [--rows 1] [--concurrency 8] [--duration 20]
                                           [--workers 1] [--repeats 3] [--peers]

The same model as ../shared/peers/serve_mlserver.py and serve_mlflow.py
(GradientBoostingClassifier, 100 trees, depth 3, on make_classification's 5,000 rows x 20
features, random_state=0), trained here, logged with skops, registered and deployed to
``dev`` in a fresh rasad project, then served by ``rasad serve --env dev`` on 127.0.0.1 with
its production settings on: token authentication (a ``predictor`` token on every request)
and the prediction log (every prediction written to Parquet segments).

Requests are Open Inference Protocol V2 JSON, one FP64 tensor of shape [rows, 20], exactly
the bodies the MLServer script sends, and they are sent by the peers' own closed-loop
client (``load`` in ../shared/peers/serve_mlflow.py, aiohttp), run in MLServer's venv: all
three servers face the same client code. Order: warm-up 3 s, one client for
``--duration / 2`` s, then ``--concurrency`` clients for ``--duration`` s. Reported: requests
per second, p50/p90/p99 latency, errors, the server's CPU seconds and resident memory
(process tree), and that the answers equal the model's own predictions. After the load,
the prediction log is read back and must hold one row per request answered.

With ``--peers`` the two peer scripts run after each rasad run, with the same arguments
(MLServer with ``--workers 0``, see ../shared/peers/README.md). Each server runs
``--repeats`` times, interleaved; the medians and their ratios are printed, with every
run's figures under ``runs``. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import PEERS, SHARED_PEERS, emit, median, run_peer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RASAD = Path(sys.executable).with_name("rasad")
CLIENT_VENV = PEERS / "mlserver-venv"
CLIENT = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
from serve_mlflow import load
url, payloads_file, concurrency, duration, token = sys.argv[2:7]
payloads = [line.encode() for line in open(payloads_file).read().splitlines()]
import aiohttp
_post = aiohttp.ClientSession.post
def post(self, *a, headers=None, **k):  # the token on every request
    return _post(self, *a, headers={**(headers or {}), "Authorization": "Bearer " + token}, **k)
aiohttp.ClientSession.post = post
print(json.dumps(asyncio.run(load(url, payloads, int(concurrency), float(duration)))))
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree_stats(pid: int) -> tuple[float, float]:
    """(resident MiB, CPU seconds) of ``pid`` and its descendants."""
    todo, pids = [pid], []
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            todo += [int(x) for x in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            pass
    rss = cpu = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
        except OSError:
            pass
    return rss, cpu


def _project(root: Path) -> tuple[Any, Any, str]:
    """A project with the peers' model deployed to dev, and a predictor token."""
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier

    from rasad import Project
    from rasad.identity import Role

    X, y = make_classification(n_samples=5000, n_features=20, n_informative=10, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
    # Fitted on the named columns (the peers fit the bare array: same trees, same answers).
    model = GradientBoostingClassifier(n_estimators=100, max_depth=3,
                                       random_state=0).fit(frame, y)
    with Project.init(root) as project:
        with project.start_run("gbc") as run:
            run.log_model(model, frame, target="target")
        project.register(run.id, "gbc")
        project.promote("gbc", 1, "dev")
        project.add_principal("bench-client", kind="service", roles=[Role.PREDICTOR])
        token = project.create_token("bench-client").token
    return X, model, token


def frame_of(rows: Any) -> Any:
    import pandas as pd

    return pd.DataFrame(rows, columns=[f"f{i}" for i in range(20)])


def _client(url: str, payloads: Path, concurrency: int, duration: float,
            token: str) -> dict[str, Any]:
    python = CLIENT_VENV / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"The load client runs in {CLIENT_VENV} (aiohttp): run "
                         f"`bash {SHARED_PEERS}/setup_venvs.sh` first.")
    done = subprocess.run([str(python), "-c", CLIENT, str(SHARED_PEERS), url, str(payloads),
                           str(concurrency), str(duration), token],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def run_rasad(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"tool": "rasad", "workers": args.workers}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        X, model, token = _project(root)
        payloads = Path(tmp) / "payloads.txt"
        payloads.write_text("\n".join(json.dumps({"inputs": [{
            "name": "predict", "shape": [args.rows, 20], "datatype": "FP64",
            "data": X[(i * args.rows) % (len(X) - args.rows):][: args.rows].ravel().tolist()}]})
            for i in range(1000)))
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(Path(tmp) / "server.log", "w")
        started = time.perf_counter()
        server = subprocess.Popen(
            [str(RASAD), "--project", str(root), "serve", "--env", "dev", "--port", str(port),
             "--workers", str(args.workers)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"rasad serve exited ({server.returncode}): "
                                       + (Path(tmp) / "server.log").read_text()[-2000:])
                try:
                    with urllib.request.urlopen(base + "/v2/health/ready", timeout=1):
                        break
                except OSError:
                    time.sleep(0.05)
            out["server_cold_start_s"] = time.perf_counter() - started
            url = base + "/v2/models/gbc/infer"
            request = urllib.request.Request(
                url, data=payloads.read_text().splitlines()[0].encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=10) as answer:
                got = json.loads(answer.read())
            expected = model.predict(frame_of(X[: args.rows])).tolist()
            out["response_ok"] = got["outputs"][0]["data"] == expected
            out["server_rss_idle_mib"] = _tree_stats(server.pid)[0]
            warm = _client(url, payloads, args.concurrency, 3.0, token)
            out["load_c1"] = _client(url, payloads, 1, args.duration / 2, token)
            rss0, cpu0 = _tree_stats(server.pid)
            out["load_cN"] = _client(url, payloads, args.concurrency, args.duration, token)
            rss1, cpu1 = _tree_stats(server.pid)
            out["load_cN"]["server_cpu_s"] = cpu1 - cpu0
            out["server_rss_after_load_mib"] = rss1
        finally:
            os.killpg(server.pid, signal.SIGTERM)  # graceful: the log is flushed
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
            log.close()
        out["server_exit_code"] = server.returncode
        from rasad import Project
        from rasad.serving.predlog import read_log

        with Project.open(root) as project:
            logged = read_log(project.context, "gbc", environment="dev", with_feedback=False)
        # Every answered request is logged: the first check, the warm-up and both loads.
        answered = 1 + warm["requests_ok"] + sum(out[k]["requests_ok"]
                                                  for k in ("load_c1", "load_cN"))
        out["log_rows"] = len(logged)
        out["log_rows_per_answered_request"] = len(logged) / (answered * args.rows)
    return out


KEYS = ("throughput_rps", "p50_ms", "p90_ms", "p99_ms", "server_cpu_s")


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each load figure's median over the repeats (runs that failed are left out)."""
    out: dict[str, Any] = {"repeats": len(runs)}
    rss = [r["server_rss_after_load_mib"] for r in runs if r.get("server_rss_after_load_mib")]
    if rss:
        out["server_rss_after_load_mib"] = median(rss)
    for load in ("load_c1", "load_cN"):
        got = [r[load] for r in runs if isinstance(r.get(load), dict)]
        out[load] = {k: median([g[k] for g in got if g.get(k) is not None])
                     for k in KEYS if any(g.get(k) is not None for g in got)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each server, interleaved; medians are reported")
    parser.add_argument("--peers", action="store_true", help="also run MLServer and MLflow")
    args = parser.parse_args()
    out: dict[str, Any] = {"bench": "serving", "rows_per_request": args.rows,
                           "concurrency": args.concurrency, "duration_s": args.duration,
                           "load_average": os.getloadavg()}
    runs: dict[str, list[dict[str, Any]]] = {"rasad": [], "mlserver": [], "mlflow": []}
    common = ["--rows", str(args.rows), "--concurrency", str(args.concurrency),
              "--duration", str(args.duration)]
    # Interleaved (rasad, MLServer, MLflow, rasad, ...): a noisy stretch of the machine
    # falls on every tool, not on one.
    for _ in range(args.repeats):
        runs["rasad"].append(run_rasad(args))
        if args.peers:
            runs["mlserver"].append(run_peer("mlserver-venv", "serve_mlserver.py", *common,
                                             "--workers", "0"))
            runs["mlflow"].append(run_peer("mlflow-venv", "serve_mlflow.py", *common))
    out["rasad"] = {**_medians(runs["rasad"]), "workers": args.workers,
                    "response_ok": all(r["response_ok"] for r in runs["rasad"]),
                    "log_rows_per_answered_request": [r["log_rows_per_answered_request"]
                                                      for r in runs["rasad"]],
                    "server_cold_start_s": median([r["server_cold_start_s"]
                                                   for r in runs["rasad"]])}
    for peer in ("mlserver", "mlflow") if args.peers else ():
        out[peer] = _medians(runs[peer])
        mine, theirs = out["rasad"]["load_cN"], out[peer]["load_cN"]
        if theirs.get("throughput_rps"):
            out[f"throughput_vs_{peer}"] = mine["throughput_rps"] / theirs["throughput_rps"]
            out[f"p99_vs_{peer}"] = mine["p99_ms"] / theirs["p99_ms"]
    out["runs"] = runs
    emit(out)


if __name__ == "__main__":
    main()
