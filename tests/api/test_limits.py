"""The request size limit: 413 problem, enforced while the body streams, nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rasad import Project
from rasad.api import create_app
from rasad.errors import ConfigError
from tests.api.conftest import Tokens
from tests.api.test_endpoints import csv_bytes
from tests.identity._helpers import snapshot

V1 = "/api/v1"
LIMIT = 4096


@pytest.fixture
def small(project: Project, tokens: Tokens) -> Iterator[TestClient]:
    app = create_app(project.root, environ={"RASAD_MAX_UPLOAD_BYTES": str(LIMIT)})
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def blobs(project: Project) -> list[Path]:
    return sorted(p for p in Path(project.artifacts.root).rglob("*") if p.is_file())


def assert_refused(response: Any) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["type"], body["status"]) == ("urn:rasad:problem:http-413", 413)
    assert f"limit of {LIMIT:,} bytes; nothing was stored" in body["detail"]


def test_a_declared_length_over_the_limit_is_refused_before_reading(
        project: Project, small: TestClient, tokens: Tokens) -> None:
    big = csv_bytes(rows=2000)
    assert len(big) > LIMIT
    before, stored = snapshot(project), blobs(project)
    assert_refused(small.post(f"{V1}/datasets/loans/versions", headers=tokens.as_admin,
                              files={"file": ("loans.csv", big, "text/csv")}))
    assert snapshot(project) == before and blobs(project) == stored


def test_a_streamed_body_is_cut_off_at_the_limit(project: Project, small: TestClient,
                                                 tokens: Tokens) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        head = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"l.csv\"\r\n"
                b"Content-Type: text/csv\r\n\r\nage,income\r\n")
        yield head
        for _ in range(1000):
            yield b"31,4.5\r\n" * 64

    before, stored = snapshot(project), blobs(project)
    response = small.post(f"{V1}/datasets/loans/versions", content=chunks(),
                          headers={**tokens.as_admin,
                                   "Content-Type": "multipart/form-data; boundary=b"})
    assert_refused(response)
    assert snapshot(project) == before and blobs(project) == stored


def test_a_body_under_the_limit_is_stored(project: Project, small: TestClient,
                                          tokens: Tokens) -> None:
    response = small.post(f"{V1}/datasets/loans/versions", headers=tokens.as_admin,
                          files={"file": ("loans.csv", csv_bytes(rows=10), "text/csv")})
    assert response.status_code == 201, response.text


def test_a_bad_limit_is_a_config_error(project: Project) -> None:
    with pytest.raises(ConfigError, match="RASAD_MAX_UPLOAD_BYTES='1e9'"):
        create_app(project.root, environ={"RASAD_MAX_UPLOAD_BYTES": "1e9"})


def test_the_limit_stops_reading_at_the_chunk_that_passes_it() -> None:
    import anyio
    from starlette.requests import Request
    from starlette.types import Message, Receive, Scope, Send

    from rasad.api.limits import BodySizeLimit, BodyTooLarge

    pulled = 0

    async def endless() -> Message:  # a client that would send for ever
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    async def reads_everything(scope: Scope, receive: Receive, send: Send) -> None:
        await Request(scope, receive).body()

    async def discard(message: Message) -> None:
        raise AssertionError("nothing may be sent by the middleware itself here")

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    with pytest.raises(BodyTooLarge) as refused:
        anyio.run(BodySizeLimit(reads_everything, limit=LIMIT), scope, endless, discard)
    assert pulled == LIMIT // 1000 + 1  # 4 chunks fit in 4,096 bytes; the 5th passes it
    assert refused.value.status_code == 413
