"""A local OpenLineage endpoint (a threaded HTTP server on 127.0.0.1, a free port) and
projects that send their lineage to it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rasad import Project


class Receiver:
    """Records every POST body as JSON; answers ``status`` (201 by default)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.status = 201
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append((self.path, dict(self.headers)))
                    if receiver.status < 300:
                        receiver.events.append(json.loads(body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def summary(self) -> list[tuple[str, str]]:
        """(eventType, job name) of every event received, in order."""
        return [(e["eventType"], e["job"]["name"]) for e in self.events]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def configure(root: Path, section: str) -> None:
    """Replace the lineage section of the project's rasad.yaml with ``section``."""
    path = root / "rasad.yaml"
    config = path.read_text(encoding="utf-8")
    default = "  transport: none          # none | http (url: http://marquez:5000) | file " \
              "(path:) | console\n"
    assert default in config
    path.write_text(config.replace(default, section), encoding="utf-8")


@pytest.fixture
def lineage_project(backend: str, tmp_path: Path, receiver: Receiver) -> Iterator[Project]:
    """A project (on the backend under test) whose lineage goes to ``receiver``."""
    root = tmp_path / "proj"
    Project.init(root, name="credit-risk").close()
    configure(root, f"  transport: http\n  url: {receiver.url}\n  timeout: 5\n")
    with Project.open(root) as project:
        yield project
