"""Token authentication: no, malformed, forged, expired, revoked tokens are 401 and change
nothing; a valid one acts as its principal with the roles in force."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rasad import Project
from rasad.api.auth import server_context
from rasad.core import Context
from rasad.identity import create_token, local_principal, revoke_token
from tests.api.conftest import Tokens
from tests.identity._helpers import snapshot

V1 = "/api/v1"


def assert_unauthenticated(response: Any, fragment: str) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["type"] == "urn:rasad:problem:invalid-token"
    assert body["error"] == "InvalidToken" and fragment in body["detail"]


def test_no_token_is_401_with_www_authenticate(client: TestClient, tokens: Tokens) -> None:
    assert_unauthenticated(client.get(f"{V1}/models"), "has no API token")
    # Another scheme is no bearer token either.
    response = client.get(f"{V1}/models", headers={"Authorization": "Basic YWRhOnB3"})
    assert_unauthenticated(response, "has no API token")


def test_a_malformed_token_is_401(client: TestClient, tokens: Tokens) -> None:
    response = client.get(f"{V1}/models", headers=Tokens.header("rsd_nothex_abc"))
    assert_unauthenticated(response, "not a rasad API token")
    assert response.headers["www-authenticate"] == 'Bearer realm="rasad", error="invalid_token"'
    # RFC 6750: no error code when no token was sent at all.
    assert client.get(f"{V1}/models").headers["www-authenticate"] == 'Bearer realm="rasad"'


def test_a_forged_secret_is_401_like_an_unknown_id(client: TestClient, tokens: Tokens) -> None:
    token_id = tokens.admin.split("_")[1]
    forged = f"rsd_{token_id}_{'A' * 43}"
    assert_unauthenticated(client.get(f"{V1}/whoami", headers=Tokens.header(forged)),
                           "unknown, or the secret is wrong")
    unknown = f"rsd_{'0' * 16}_{tokens.admin[-43:]}"
    assert_unauthenticated(client.get(f"{V1}/whoami", headers=Tokens.header(unknown)),
                           "unknown, or the secret is wrong")


def test_a_revoked_token_is_refused_and_changes_nothing(project: Project, client: TestClient,
                                                        tokens: Tokens) -> None:
    token_id = tokens.viewer.split("_")[1]
    revoke_token(project.context, token_id, by=local_principal(project.context))
    before = snapshot(project)
    assert_unauthenticated(client.post(f"{V1}/users", json={"name": "eve"},
                                       headers=tokens.as_viewer), "was revoked")
    assert snapshot(project) == before


def test_an_expired_token_is_refused(project: Project, app: FastAPI, client: TestClient,
                                     tokens: Tokens) -> None:
    from datetime import timedelta

    ctx = project.context
    short = create_token(ctx, "ada", lifetime=timedelta(minutes=1),
                         by=local_principal(ctx)).token
    assert client.get(f"{V1}/whoami", headers=Tokens.header(short)).status_code == 200
    # The server's clock moves on a day (the override is cleared by the `app` fixture).
    server: Context = app.state.context
    later = dataclasses.replace(server, clock=lambda: "2999-01-01T00:00:00.000000Z")
    app.dependency_overrides[server_context] = lambda: later
    before = snapshot(project)
    assert_unauthenticated(client.post(f"{V1}/users", json={"name": "eve"},
                                       headers=Tokens.header(short)), "expired at")
    assert snapshot(project) == before


def test_a_disabled_principals_token_is_refused(project: Project, client: TestClient,
                                                tokens: Tokens) -> None:
    response = client.post(f"{V1}/users/vic/disable", headers=tokens.as_admin)
    assert response.status_code == 200 and response.json()["disabled_at"] is not None
    assert_unauthenticated(client.get(f"{V1}/whoami", headers=tokens.as_viewer),
                           "was disabled")


def test_whoami_names_the_principal_and_how_it_authenticated(client: TestClient,
                                                             tokens: Tokens) -> None:
    body = client.get(f"{V1}/whoami", headers=tokens.as_viewer).json()
    token_id = tokens.viewer.split("_")[1]
    assert body == {"name": "vic", "kind": "person", "roles": ["viewer"],
                    "auth": f"token:{token_id}"}


def test_audit_events_name_the_token_principal(project: Project, client: TestClient,
                                               tokens: Tokens) -> None:
    response = client.post(f"{V1}/users", json={"name": "eve", "roles": ["viewer"]},
                           headers=tokens.as_admin)
    assert response.status_code == 201, response.text
    event = project.audit_log(action="principal.add")[-1]
    assert event.subject == "principal:eve"
    assert event.actor == "ada"
    assert event.details["auth"] == f"token:{tokens.admin.split('_')[1]}"


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_the_schema_and_docs_need_no_token(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    if path.endswith(".json"):
        schema = json.loads(response.text)
        assert schema["components"]["securitySchemes"]["token"] == {
            "type": "http", "scheme": "bearer",
            "description": "A rasad API token (`rasad tokens create NAME`): "
                           "`Authorization: Bearer rsd_...`."}
