"""The CLI against the project's API in-process: ``rasad`` with RASAD_URL and RASAD_TOKEN set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

import rasad.remote
from rasad import Project
from rasad.api import create_app
from rasad.remote.project import RemoteProject
from tests.api.conftest import Tokens, make_tokens
from tests.api.test_remote import SERVER, InProcess


@contextmanager
def cli_over_server(project: Project, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tokens]:
    """``rasad`` commands run with RASAD_URL set, against the project's app in-process.

    RASAD_TOKEN is the admin's ('ada'); set it to the viewer's to act as 'vic'. The CLI
    builds its RemoteProject from those; here that class sends its requests to the app
    without a socket.
    """
    tokens = make_tokens(project)
    with TestClient(create_app(project.root), raise_server_exceptions=False) as client:
        transport = InProcess(client)

        class ViaApp(RemoteProject):
            def __init__(self, url: str, token: str, **_: object) -> None:
                super().__init__(url, token, transport=transport)

        monkeypatch.setattr(rasad.remote, "RemoteProject", ViaApp)
        monkeypatch.setenv("RASAD_URL", SERVER)
        monkeypatch.setenv("RASAD_TOKEN", tokens.admin)
        yield tokens
