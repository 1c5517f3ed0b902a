"""Every endpoint, called with an admin token, returns what the service returns, in the
result's one JSON form (the same as the CLI's --json)."""

from __future__ import annotations

import io

import pandas as pd
from fastapi.testclient import TestClient

from rasad import Project
from tests.api.conftest import Tokens
from tests.registry._helpers import registered

V1 = "/api/v1"


def csv_bytes(rows: int = 20, seed: int = 0) -> bytes:
    frame = pd.DataFrame({"age": [20 + (i * 7 + seed) % 50 for i in range(rows)],
                          "income": [1.5 * i + seed for i in range(rows)],
                          "region": ["north", "south"] * (rows // 2)})
    return frame.to_csv(index=False).encode()


def parquet_bytes() -> bytes:
    out = io.BytesIO()
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "c"]}).to_parquet(out)
    return out.getvalue()


def test_datasets_upload_list_show(project: Project, client: TestClient, tokens: Tokens) -> None:
    auth = tokens.as_admin
    made = client.post(f"{V1}/datasets/loans/versions", headers=auth,
                       files={"file": ("loans.csv", csv_bytes(), "text/csv")},
                       data={"description": "first cut"})
    assert made.status_code == 201, made.text
    body = made.json()
    stored = project.dataset("loans", 1)
    assert body == {"created": True, "message": f"Added loans@1: 20 rows x 3 columns, sha256 "
                    f"{stored.content_hash[:12]}.", **stored.to_dict(with_profile=False)}
    assert body["created_by"] == "ada"
    # Without a `source` field the record names the file as the client sent it, never the
    # server's temporary copy.
    assert stored.source == "loans.csv"
    event = project.audit_log(action="dataset.add")[-1]
    assert event.actor == "ada" and event.details["description"] == "first cut"
    assert (event.details["source"], event.details["source_from"]) == ("loans.csv", "client")

    again = client.post(f"{V1}/datasets/loans/versions", headers=auth,
                        files={"file": ("copy.csv", csv_bytes(), "text/csv")})
    assert again.status_code == 200 and again.json()["created"] is False
    second = client.post(f"{V1}/datasets/loans/versions", headers=auth,
                         files={"file": ("loans.parquet", parquet_bytes(), "application/x")})
    assert second.status_code == 201 and second.json()["version"] == 2

    listed = client.get(f"{V1}/datasets", headers=auth).json()
    assert listed == [v.to_dict() for v in project.datasets()]
    assert client.get(f"{V1}/datasets/loans/versions", headers=auth).json() == listed
    assert client.get(f"{V1}/datasets/loans", headers=auth).json() == \
        project.dataset("loans").to_dict()
    assert client.get(f"{V1}/datasets/loans/versions/1", headers=auth).json() == \
        stored.to_dict()


def test_an_upload_the_reader_refuses_is_422(project: Project, client: TestClient,
                                             tokens: Tokens) -> None:
    response = client.post(f"{V1}/datasets/loans/versions", headers=tokens.as_admin,
                           files={"file": ("notes.txt", b"a,b\n1,2\n", "text/plain")})
    assert response.status_code == 422
    assert "unknown file type" in response.json()["detail"]
    assert project.datasets() == []


def test_runs_models_promotion_rollback(project: Project, client: TestClient,
                                       tokens: Tokens) -> None:
    auth = tokens.as_admin
    first, second = registered(project, "credit", versions=2)
    runs = client.get(f"{V1}/runs", headers=auth).json()
    assert runs == [r.to_dict() for r in project.runs()]
    run = project.run(first.run_id)
    assert client.get(f"{V1}/runs/{run.id}", headers=auth).json() == run.to_dict()
    assert client.get(f"{V1}/runs/{run.id[:8]}", headers=auth).json()["id"] == run.id
    assert client.get(f"{V1}/runs", params={"status": "finished"}, headers=auth).json() == runs

    promoted = client.post(f"{V1}/models/credit/promotions", headers=auth,
                           json={"version": 1, "to": "staging", "reason": "first"})
    assert promoted.status_code == 201, promoted.text
    assert promoted.json()["deployed_by"] == "ada" and promoted.json()["version"] == 1
    same = client.post(f"{V1}/models/credit/promotions", headers=auth,
                       json={"version": 1, "to": "staging"})
    assert same.status_code == 200 and same.json()["changed"] is False
    assert client.post(f"{V1}/models/credit/promotions", headers=auth,
                       json={"version": 2, "to": "staging"}).status_code == 201
    rolled = client.post(f"{V1}/models/credit/rollbacks", headers=auth,
                         json={"env": "staging", "reason": "v2 misbehaves"})
    assert rolled.status_code == 201, rolled.text
    assert (rolled.json()["version"], rolled.json()["kind"]) == (1, "rollback")

    assert client.get(f"{V1}/models", headers=auth).json() == \
        [m.to_dict() for m in project.models()]
    assert client.get(f"{V1}/models/credit", headers=auth).json() == \
        project.model("credit").to_dict()
    assert client.get(f"{V1}/models/credit/versions", headers=auth).json() == \
        [v.to_dict() for v in project.model("credit").versions]
    assert client.get(f"{V1}/models/credit/versions/2", headers=auth).json() == \
        second.to_dict()
    assert client.get(f"{V1}/models/credit/environments/staging", headers=auth).json() == \
        first.to_dict()
    history = client.get(f"{V1}/models/credit/history", params={"env": "staging"},
                         headers=auth).json()
    assert [(d["version"], d["kind"]) for d in history] == \
        [(1, "promotion"), (2, "promotion"), (1, "rollback")]
    assert client.get(f"{V1}/models/credit/history", params={"env": "production"},
                      headers=auth).json() == []


def test_register_a_run(project: Project, client: TestClient, tokens: Tokens) -> None:
    (first,) = registered(project, "credit")
    response = client.post(f"{V1}/models/other/versions", headers=tokens.as_admin,
                           json={"run_id": first.run_id})
    assert response.status_code == 201, response.text
    assert (response.json()["name"], response.json()["created"]) == ("other", True)
    again = client.post(f"{V1}/models/other/versions", headers=tokens.as_admin,
                        json={"run_id": first.run_id})
    assert again.status_code == 200 and again.json()["created"] is False


def test_monitor_results(project: Project, client: TestClient, tokens: Tokens) -> None:
    auth = tokens.as_admin
    saved = project.save_monitor_result(
        monitor="credit", kind="drift", reference="loans@1", current="loans@2", alert=True,
        summary={"drifted": True}, payload={"columns": {"age": {"statistic": 0.4}}})
    assert client.get(f"{V1}/monitor/results", headers=auth).json() == [saved.to_dict()]
    assert client.get(f"{V1}/monitor/results", params={"kind": "fairness"},
                      headers=auth).json() == []
    assert client.get(f"{V1}/monitor/results/{saved.id}", headers=auth).json() == \
        saved.to_dict()
    assert client.get(f"{V1}/monitor/results/{saved.id}/report", headers=auth).json() == \
        {"columns": {"age": {"statistic": 0.4}}}
    missing = client.get(f"{V1}/monitor/results/{saved.id + 1}", headers=auth)
    assert missing.status_code == 404 and "No monitor result" in missing.json()["detail"]


def test_audit_log_and_verify(project: Project, client: TestClient, tokens: Tokens) -> None:
    auth = tokens.as_admin
    events = client.get(f"{V1}/audit/events", headers=auth).json()
    assert events == [e.to_dict() for e in project.audit_log()]
    assert [e["action"] for e in client.get(
        f"{V1}/audit/events", params={"action": "token.create", "limit": 1},
        headers=auth).json()] == ["token.create"]
    verified = client.get(f"{V1}/audit/verify", headers=auth).json()
    assert verified == project.verify_audit().to_dict()
    assert verified["ok"] is True


def test_users_and_tokens(project: Project, client: TestClient, tokens: Tokens) -> None:
    auth = tokens.as_admin
    added = client.post(f"{V1}/users", headers=auth,
                        json={"name": "ci", "kind": "service", "roles": ["deployer"]})
    assert added.status_code == 201, added.text
    assert (added.json()["kind"], added.json()["roles"], added.json()["created_by"]) == \
        ("service", ["deployer"], "ada")
    granted = client.post(f"{V1}/users/ci/grant", headers=auth,
                          json={"roles": ["model-risk-officer"]})
    assert granted.json()["roles"] == ["approver", "deployer", "auditor"]
    revoked = client.post(f"{V1}/users/ci/revoke", headers=auth, json={"roles": ["approver"]})
    assert revoked.json()["roles"] == ["deployer", "auditor"]
    names = [p["name"] for p in client.get(f"{V1}/users", headers=auth).json()]
    assert names == ["ada", "ci", "tester", "vic"]
    assert client.get(f"{V1}/users/ci", headers=auth).json() == revoked.json()

    created = client.post(f"{V1}/tokens", headers=auth,
                          json={"principal": "ci", "roles": ["deployer"], "expires": "2w"})
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    token = created.json()["token"]
    info = created.json()["info"]
    assert (info["principal"], info["roles"], info["created_by"]) == ("ci", ["deployer"], "ada")
    who = client.get(f"{V1}/whoami", headers=Tokens.header(token)).json()
    assert (who["name"], who["roles"]) == ("ci", ["deployer"])
    listed = client.get(f"{V1}/tokens", params={"principal": "ci"}, headers=auth).json()
    assert listed == [info]
    assert token not in client.get(f"{V1}/tokens", headers=auth).text  # never shown again

    gone = client.post(f"{V1}/tokens/{info['id']}/revoke", headers=auth)
    assert gone.status_code == 200 and gone.json()["revoked_at"] is not None
    assert client.get(f"{V1}/whoami", headers=Tokens.header(token)).status_code == 401
    again = client.post(f"{V1}/tokens/{info['id']}/revoke", headers=auth)
    assert again.status_code == 409 and again.json()["error"] == "ConflictError"
