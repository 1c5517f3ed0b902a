"""HTTP API throughput with token authentication: `GET` of the model list and a promotion.

    .venv/bin/python benchmarks/api.py [--requests 500] [--clients 1] [--postgres URL]

One server process (``rasad server``: uvicorn, one worker) on a fresh SQLite project (or a
fresh schema of the PostgreSQL server ``--postgres`` names), called over loopback by httpx
clients with keep-alive, each request carrying ``Authorization: Bearer rsd_...`` (so each
one authenticates: one token lookup and a SHA-256). ``--clients`` threads send requests
back to back. Figures per endpoint: requests per second over ``--requests`` requests after
50 warm-up ones, and the median and 95th-percentile latency.

Endpoints: ``GET /api/v1/whoami`` (authentication alone, the floor), ``GET /api/v1/models``
(a registry of 2 models x 3 versions, deployed), and ``POST /api/v1/models/credit/promotions``
alternating versions 1 and 2 in staging, so every request is a real promotion (a serialised
write transaction with its audit events). The load average is printed too: a figure measured
on a busy machine says little.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
from _common import emit  # noqa: E402

RASAD = str(Path(sys.executable).parent / "rasad")
WARM_UP = 50


def seed(root: Path) -> str:
    """Two models of three versions each, deployed; an admin token, returned."""
    from tests.registry._helpers import registered

    from rasad import Project
    from rasad.identity import Role, add_principal, create_token

    with Project.init(root, name="bench") as project:
        for name in ("credit", "fraud"):
            registered(project, name, versions=3)
            project.promote(name, 1, "staging")
            project.promote(name, 2, "staging")
        add_principal(project.context, "bench", roles=[Role.ADMIN])
        return create_token(project.context, "bench", lifetime=None).token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(root: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([RASAD, "--project", str(root), "server", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/v1/openapi.json", timeout=2).raise_for_status()
            return process, url
        except httpx.TransportError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    raise SystemExit("rasad server did not start")


def measure(url: str, token: str, send: Callable[[httpx.Client, int], httpx.Response],
            requests: int, clients: int) -> dict[str, Any]:
    """Requests per second and latencies of ``requests`` calls of ``send`` over ``clients``
    keep-alive connections, after a warm-up."""
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(10**9))

    def worker(count: int) -> None:
        with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=60) as client:
            for _ in range(count):
                with lock:
                    i = next(counter)
                started = time.perf_counter()
                response = send(client, i)
                elapsed = time.perf_counter() - started
                if response.status_code >= 300:
                    raise SystemExit(f"{response.request.url}: {response.status_code} "
                                     f"{response.text[:300]}")
                with lock:
                    latencies.append(elapsed)

    worker(WARM_UP)
    latencies.clear()
    share = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    threads = [threading.Thread(target=worker, args=(n,)) for n in share]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"requests": len(latencies), "requests_per_s": round(len(latencies) / wall, 1),
            "median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--postgres", help="A PostgreSQL URL; a fresh schema is used and "
                                           "dropped (default: SQLite)")
    args = parser.parse_args()
    env = {**os.environ}
    env.pop("RASAD_DATABASE_URL", None)
    schema = None
    if args.postgres:
        import sqlalchemy as sa

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        env["RASAD_DATABASE_URL"] = f"{args.postgres}?options=-csearch_path%3D{schema}"
    os.environ.update(env)
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder) / "project"
            token = seed(root)
            process, url = start(root, env)
            try:
                figures = {
                    "whoami": measure(url, token, lambda c, i: c.get("/whoami"),
                                      args.requests, args.clients),
                    "models_list": measure(url, token, lambda c, i: c.get("/models"),
                                           args.requests, args.clients),
                    "promotion": measure(
                        url, token, lambda c, i: c.post(
                            "/models/credit/promotions",
                            json={"version": 1 + i % 2, "to": "staging"}),
                        args.requests, args.clients),
                }
            finally:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=30)
    finally:
        if schema is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    emit({"benchmark": "api", "backend": "postgresql" if args.postgres else "sqlite",
          "server": "rasad server (uvicorn, 1 process)", "clients": args.clients,
          "load_average": os.getloadavg(), **figures})


if __name__ == "__main__":
    main()
