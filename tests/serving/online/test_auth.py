"""Who may score: a token with the predict permission, checked once per cache window; the
health routes and /metrics are open; an anonymous environment lets everyone in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rasad.identity import Role, add_principal, create_token, local_principal, revoke_token
from rasad.identity.principal import Principal
from rasad.serving.online import TokenCache, create_app
from tests.registry._helpers import counted
from tests.serving.online.conftest import MODEL, Served, Tokens, configure, rows, v2_named

INFER = f"/v2/models/{MODEL}/infer"
GUARDED = [("post", INFER), ("post", f"/invocations?model={MODEL}"),
           ("post", f"/v2/models/{MODEL}/feedback"), ("get", f"/v2/models/{MODEL}"),
           ("get", f"/v2/models/{MODEL}/ready"), ("get", "/v2"), ("get", "/version")]
OPEN = ["/v2/health/live", "/v2/health/ready", "/ping", "/health", "/metrics",
        "/openapi.json"]


@pytest.fixture(scope="module")
def client(shared: Served) -> TestClient:
    with TestClient(create_app(shared.root, follow=False),
                    raise_server_exceptions=False) as client:
        yield client


def test_without_a_token_every_model_route_is_401_and_health_is_open(
        client: TestClient) -> None:
    for method, url in GUARDED:
        refused = client.request(method, url, json=v2_named(rows(1)))
        assert refused.status_code == 401, url
        assert refused.headers["www-authenticate"] == "Bearer"
        message = refused.json().get("error") or refused.json()["message"]
        assert "rasad tokens create NAME --role predictor" in message
    for url in OPEN:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("header", ["Bearer rsd_nonsense", "Basic dXNlcjpwYXNz",
                                    "Bearer ", "rsd_without_scheme"])
def test_a_bad_token_is_401(client: TestClient, header: str) -> None:
    refused = client.post(INFER, json=v2_named(rows(1)), headers={"Authorization": header})
    assert refused.status_code == 401, refused.text
    assert "x-rasad-model" not in refused.headers  # nothing said before authentication


def test_a_viewer_is_403_and_a_predictor_or_admin_scores(client: TestClient,
                                                          shared: Served) -> None:
    tokens = shared.tokens
    viewer = client.post(INFER, json=v2_named(rows(1)), headers=Tokens.header(tokens.viewer))
    assert viewer.status_code == 403
    assert "'vic' (token:" in viewer.json()["error"]
    assert "needs the permission predict, which the roles predictor or admin grant" in \
        viewer.json()["error"]
    mlflow = client.post(f"/invocations?model={MODEL}", json={"dataframe_records": []},
                         headers=Tokens.header(tokens.viewer))
    assert mlflow.status_code == 403 and mlflow.json()["error_code"] == "PERMISSION_DENIED"
    for token in (tokens.predictor, tokens.admin):
        assert client.post(INFER, json=v2_named(rows(1)),
                           headers=Tokens.header(token)).status_code == 200


def test_a_cached_token_costs_no_database_query(client: TestClient, shared: Served) -> None:
    server = client.app.state.server  # type: ignore[attr-defined]
    headers = shared.as_predictor
    assert client.post(INFER, json=v2_named(rows(1)), headers=headers).status_code == 200
    with counted(server.ctx) as statements:
        for _ in range(5):
            assert client.post(INFER, json=v2_named(rows(1)), headers=headers).status_code \
                == 200
    assert statements == []


def test_a_revoked_token_stops_working_after_the_cache_window(shared: Served) -> None:
    ctx = shared.project.context
    me = local_principal(ctx)
    add_principal(ctx, "short-lived", roles=[Role.PREDICTOR], by=me)
    made = create_token(ctx, "short-lived", by=me)
    headers = Tokens.header(made.token)
    app = create_app(shared.root, follow=False, auth_cache_seconds=0.6)
    now = [1000.0]  # the cache's monotonic clock, moved by hand: a slow machine cannot
    app.state.server.auth.cache.clock = lambda: now[0]  # close the window early
    with TestClient(app) as client:
        assert client.post(INFER, json=v2_named(rows(1)), headers=headers).status_code == 200
        revoke_token(ctx, made.info.id, by=me)
        # Inside the window the server does not ask the database again (documented) ...
        now[0] += 0.5
        assert client.post(INFER, json=v2_named(rows(1)), headers=headers).status_code == 200
        now[0] += 0.2
        # ... and after it the revocation holds.
        refused = client.post(INFER, json=v2_named(rows(1)), headers=headers)
        assert refused.status_code == 401 and "was revoked" in refused.json()["error"]


def test_an_anonymous_environment_needs_no_token(shared: Served) -> None:
    configure(shared.root, environments={"production": {"anonymous": True}})
    try:
        app = create_app(shared.root, follow=False)
    finally:
        configure(shared.root, environments={})
    with TestClient(app) as client:
        assert client.post(INFER, json=v2_named(rows(1))).status_code == 200
        assert client.get(f"/v2/models/{MODEL}").status_code == 200


def test_the_cache_keeps_hashes_expires_and_stays_bounded() -> None:
    now = [0.0]
    cache = TokenCache(seconds=2.0, clock=lambda: now[0], max_entries=2)
    who = Principal(name="app", kind="service", roles=[Role.PREDICTOR], auth="token:a")
    cache.put("rsd_a_secret", who)
    assert cache.get("rsd_a_secret") == who and cache.get("rsd_a_other") is None
    assert all(b"secret" not in key and len(key) == 32 for key in cache._entries)
    now[0] = 1.9
    assert cache.get("rsd_a_secret") == who
    now[0] = 2.0
    assert cache.get("rsd_a_secret") is None
    for token in ("rsd_b_1", "rsd_c_1", "rsd_d_1"):
        cache.put(token, who)
    assert len(cache._entries) == 2 and cache.get("rsd_b_1") is None  # the oldest went
