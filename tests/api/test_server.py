"""`rasad server` as a real process on a free port, called with httpx."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rasad import Project
from tests.api.conftest import Tokens
from tests.api.test_endpoints import csv_bytes

RASAD = str(Path(sys.executable).parent / "rasad")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(project: Project, tokens: Tokens) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "RASAD_MAX_UPLOAD_BYTES": "4096"}
    process = subprocess.Popen([RASAD, "--project", str(project.root), "server", "--port",
                                str(port)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/api/v1/openapi.json", timeout=2).raise_for_status()
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    out = process.stdout.read() if process.stdout else ""
                    raise AssertionError(f"rasad server exited: {out}") from None
                if time.monotonic() > deadline:
                    raise AssertionError("rasad server did not answer in 60 s") from None
                time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out
    assert f"at http://127.0.0.1:{port}/api/v1" in out


def test_the_server_answers_with_token_authentication(server: str, project: Project,
                                                      tokens: Tokens) -> None:
    with httpx.Client(base_url=f"{server}/api/v1", headers=tokens.as_admin) as client:
        made = client.post("/datasets/loans/versions",
                           files={"file": ("loans.csv", csv_bytes(rows=10), "text/csv")})
        assert made.status_code == 201, made.text
        assert client.get("/datasets").json() == [v.to_dict() for v in project.datasets()]
        too_big = client.post("/datasets/loans/versions",
                              files={"file": ("big.csv", csv_bytes(rows=2000), "text/csv")})
        assert too_big.status_code == 413
        assert too_big.headers["content-type"] == "application/problem+json"
        assert "server" not in too_big.headers  # uvicorn's banner header is off
    anonymous = httpx.get(f"{server}/api/v1/models")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"]
    assert [v.version for v in project.datasets()] == [1]
