"""The API in-process (FastAPI's TestClient) on the ``project`` fixture: SQLite and PostgreSQL.

Tokens come from the identity service, as an admin would create them; requests carry
them as ``Authorization: Bearer``. Dependency overrides are always cleared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rasad import Project
from rasad.api import create_app
from rasad.identity import Role, add_principal, create_token, local_principal


@dataclass(frozen=True)
class Tokens:
    """Bearer tokens of an admin ('ada') and a viewer ('vic') on the project."""

    admin: str
    viewer: str

    @staticmethod
    def header(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    @property
    def as_admin(self) -> dict[str, str]:
        return self.header(self.admin)

    @property
    def as_viewer(self) -> dict[str, str]:
        return self.header(self.viewer)


def make_tokens(project: Project) -> Tokens:
    ctx = project.context
    me = local_principal(ctx)  # 'tester', the project's creator: admin of the local project
    add_principal(ctx, "ada", roles=[Role.ADMIN], by=me)
    add_principal(ctx, "vic", roles=[Role.VIEWER], by=me)
    return Tokens(admin=create_token(ctx, "ada", by=me).token,
                  viewer=create_token(ctx, "vic", by=me).token)


@pytest.fixture
def tokens(project: Project) -> Tokens:
    return make_tokens(project)


@pytest.fixture
def app(project: Project) -> Iterator[FastAPI]:
    app = create_app(project.root)
    try:
        yield app
    finally:
        app.dependency_overrides.clear()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # Server errors come back as responses (500 problems), as a real client sees them.
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
