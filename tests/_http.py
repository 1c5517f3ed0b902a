"""A project served by the real management API in this process, for the ``project``
fixture's ``http`` backend and the remote-mode tests.

Requests travel through FastAPI's TestClient (the app's lifespan running, no socket);
:class:`InProcess` lets a :class:`~rasad.remote.project.RemoteProject` use it as its
httpx transport, so the client code under test is the one a real remote user runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import httpx
from fastapi.testclient import TestClient

from rasad import Project
from rasad.api import create_app
from rasad.identity import create_token, local_principal
from rasad.remote.project import RemoteProject

SERVER: Final = "http://testserver"


class InProcess(httpx.BaseTransport):
    """Requests go to the app through FastAPI's TestClient (its lifespan running)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.client.send(request)
        return httpx.Response(answer.status_code, headers=answer.headers,
                              content=answer.read())


@contextmanager
def served(project: Project) -> Iterator[RemoteProject]:
    """``project`` behind the management API, as its creator sees it through a token.

    The creator (the local admin, conftest's 'tester') gets an API token, so every event
    the server writes names the same principal a local call would, authenticated by
    ``token:<id>`` instead of the OS user.
    """
    me = local_principal(project.context)
    token = create_token(project.context, me.name, by=me).token
    with TestClient(create_app(project.root), raise_server_exceptions=False) as client, \
            RemoteProject(SERVER, token, transport=InProcess(client)) as remote:
        yield remote
