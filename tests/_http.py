"""A project served by the real management API in this process, for the ``project``
fixture's ``http`` backend and the remote-mode tests.

Requests travel through FastAPI's TestClient (the app's lifespan running, no socket);
:class:`InProcess` lets a :class:`~rasad.remote.project.RemoteProject` use it as its
httpx transport, so the client code under test is the one a real remote user runs.

:class:`Server` is what the ``http`` backend runs: the app over the test's project, a
:class:`ServedProject` (a RemoteProject with a token) for each principal a test acts as,
and :meth:`Server.restart` for a test that edits ``rasad.yaml`` (:func:`reopened`). A
test written for both backends reaches the project behind the API with :func:`local` (its
folder, its database, to set up or inspect what the server stored), the server with
:func:`served_by` (None on a local backend), another principal with :func:`acting_as`,
and the CLI with :func:`cli_on`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import httpx
import pytest
from fastapi.testclient import TestClient

import rasad.remote
from rasad import Project
from rasad.api import create_app
from rasad.identity import create_token, local_principal
from rasad.identity.service import UNLISTED_ROLES
from rasad.remote.project import RemoteProject

SERVER: Final = "http://testserver"


class InProcess(httpx.BaseTransport):
    """Requests go to the app through FastAPI's TestClient (its lifespan running)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Rebuilt by the TestClient: it may be built on httpx2 (Starlette prefers it when
        # installed), whose client refuses an httpx request object.
        answer = self.client.send(self.client.build_request(
            request.method, str(request.url), headers=request.headers.multi_items(),
            content=request.read()))
        return httpx.Response(answer.status_code, headers=answer.headers,
                              content=answer.read())


class ServedProject(RemoteProject):
    """A RemoteProject of the in-process :class:`Server`, acting with its own token."""

    def __init__(self, server: Server, token: str) -> None:
        super().__init__(SERVER, token, transport=server.transport)
        self.server = server
        self.token = token  # a test's own token: the CLI over the server is given it


class Server:
    """``project`` served by the API app in this process.

    Every principal is a token away (:meth:`connect`); the tokens are made by the
    project's creator (the local admin, conftest's 'tester'), so each event the server
    writes names the principal a local call would, authenticated by ``token:<id>``.
    """

    def __init__(self, project: Project) -> None:
        self.local = project
        self.transport = InProcess(self._start())
        self._remotes: list[ServedProject] = []
        self._reopened: list[Project] = []

    def _start(self) -> TestClient:
        client = TestClient(create_app(self.local.root), raise_server_exceptions=False)
        client.__enter__()  # the lifespan: the server checks the schema and opens the project
        return client

    def connect(self, name: str | None = None) -> ServedProject:
        """The project through the API as ``name`` (default: its creator), with a new
        token scoped to the roles ``name`` holds now."""
        ctx = self.local.context
        creator = local_principal(ctx)
        token = create_token(ctx, name or creator.name, by=creator).token
        remote = ServedProject(self, token)
        self._remotes.append(remote)
        return remote

    def restart(self) -> None:
        """Serve the project anew, as ``rasad server`` restarted would: the app reads
        ``rasad.yaml`` again. Every client of this server talks to the new app, and
        :attr:`local` is the project opened again (with the configuration it serves)."""
        old = self.transport.client
        self.transport.client = self._start()
        old.__exit__(None, None, None)
        self.local = Project.open(self.local.root)
        self._reopened.append(self.local)

    def close(self) -> None:
        for remote in self._remotes:
            remote.close()
        self.transport.client.__exit__(None, None, None)
        for project in self._reopened:
            project.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def served_by(project: Project | RemoteProject) -> Server | None:
    """The in-process server behind ``project`` (None for a local project)."""
    return project.server if isinstance(project, ServedProject) else None


@contextmanager
def acting_as(project: Project | RemoteProject, name: str) -> Iterator[Project]:
    """``project`` as principal ``name``, with the roles ``name`` holds now: the local
    project opened as ``name`` (closed afterwards), or a client of its server with a token
    of ``name``. Only a principal holds a token: over the API a name that is not one is
    added first (by the creator) with the roles such a name reads with locally (viewer)."""
    server = served_by(project)
    if server is None:
        here = local(project)
        with Project(here.root, here.config, actor=name) as member:
            yield member
        return
    if name not in {principal.name for principal in server.local.principals()}:
        server.local.add_principal(name, roles=UNLISTED_ROLES)
    yield server.connect(name)  # type: ignore[misc]


def local(project: Project | RemoteProject) -> Project:
    """The project itself, or the local project the API serves: for set-up the API has no
    verb for, and to inspect what the server stored."""
    server = served_by(project)
    if server is not None:
        return server.local
    assert isinstance(project, Project)
    return project


@contextmanager
def reopened(project: Project | RemoteProject) -> Iterator[Project]:
    """``project`` after a test edited its ``rasad.yaml``: the local project opened again
    (closed afterwards), or the same client of its server, restarted to read the file."""
    server = served_by(project)
    if server is None:
        with Project.open(local(project).root) as again:
            yield again
        return
    server.restart()
    yield project  # type: ignore[misc]


@contextmanager
def cli_on(project: Project | RemoteProject,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The arguments that point ``rasad`` at ``project``: ``--project ROOT`` for a local
    one; for a served one, none: RASAD_URL and RASAD_TOKEN (its token) are set, and the
    CLI's RemoteProject sends its requests to the app in this process."""
    server = served_by(project)
    if server is None:
        yield ["--project", str(local(project).root)]
        return
    assert isinstance(project, ServedProject)
    transport = server.transport

    class ViaApp(RemoteProject):
        def __init__(self, url: str, token: str, **_: object) -> None:
            super().__init__(url, token, transport=transport)

    with monkeypatch.context() as patched:
        patched.setattr(rasad.remote, "RemoteProject", ViaApp)
        patched.setenv("RASAD_URL", SERVER)
        patched.setenv("RASAD_TOKEN", project.token)
        yield []
