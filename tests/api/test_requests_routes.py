"""Promotion over HTTP: promote opens a request (202), an approver approves it with a token
from another machine, the trainer and a viewer are refused, a blocking gate is a problem
carrying the failed request, break-glass and its review (SQLite and PostgreSQL).

The policy keeps gates out of the way where a test is not about them: staging runs none,
production none but needs one approver. 'tester' (the project's creator, an admin) trains
and registers credit@1; 'ada' (admin) and 'vic' (viewer) come from tests/api/conftest.py;
'amal' is an approver.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from rasad import Project
from rasad.api import create_app
from rasad.identity import Role, add_principal, create_token, local_principal
from tests.api.conftest import Tokens, make_tokens
from tests.identity._helpers import snapshot
from tests.registry._helpers import registered

V1 = "/api/v1"
POLICY: dict[str, Any] = {
    "staging": {"gates": []},
    "production": {"gates": [], "approval": {"approvals": 1, "roles": ["approver"]}},
}


def write_policy(root: Path, **promotion: Any) -> None:
    """rasad.yaml's `promotion` section: the cheap policy, plus ``promotion`` keys."""
    path = root / "rasad.yaml"
    config = yaml.safe_load(path.read_text())
    config["promotion"].update({"environments": POLICY, **promotion})
    path.write_text(yaml.safe_dump(config, sort_keys=False))


@dataclass(frozen=True)
class People:
    """Bearer headers of everyone who acts in these tests."""

    tokens: Tokens
    approver: dict[str, str]
    trainer: dict[str, str]

    @property
    def admin(self) -> dict[str, str]:
        return self.tokens.as_admin

    @property
    def viewer(self) -> dict[str, str]:
        return self.tokens.as_viewer


def people(project: Project) -> People:
    tokens = make_tokens(project)
    ctx = project.context
    me = local_principal(ctx)
    add_principal(ctx, "amal", roles=[Role.APPROVER], by=me)
    return People(tokens, Tokens.header(create_token(ctx, "amal", by=me).token),
                  Tokens.header(create_token(ctx, "tester", by=me).token))


@pytest.fixture
def governed(project: Project) -> Iterator[Project]:
    """The project under the cheap policy (reopened, so its context reads it), with
    credit@1 trained and registered by 'tester'."""
    write_policy(project.root)
    with Project.open(project.root) as reopened:
        registered(reopened, "credit")
        yield reopened


@pytest.fixture
def who(governed: Project) -> People:
    return people(governed)


@pytest.fixture
def http(governed: Project) -> Iterator[TestClient]:
    app = create_app(governed.root)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
    finally:
        app.dependency_overrides.clear()


def ok(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def problem(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["status"], body["error"]) == (status, error), body
    return body


def open_request(http: TestClient, who: People, version: int = 1) -> dict[str, Any]:
    opened: dict[str, Any] = ok(http.post(f"{V1}/models/credit/promotions", headers=who.admin,
                                          json={"version": version, "to": "production"}), 202)
    return opened


def test_an_approver_approves_with_a_token(governed: Project, http: TestClient,
                                           who: People) -> None:
    staged = ok(http.post(f"{V1}/models/credit/promotions", headers=who.admin,
                          json={"version": 1, "to": "staging", "reason": "first"}), 201)
    assert (staged["environment"], staged["version"], staged["deployed_by"]) == (
        "staging", 1, "ada")
    opened = open_request(http, who)
    assert (opened["status"], opened["opened_by"], opened["approvals_required"]) == (
        "open", "ada", 1)
    assert opened["approver_roles"] == ["approver"] and opened["approvals"] == []
    assert ok(http.get(f"{V1}/requests/{opened['id']}", headers=who.viewer), 200) == opened
    assert governed.model("credit").deployed == {"staging": 1}

    approved = ok(http.post(f"{V1}/requests/{opened['id']}/approve", headers=who.approver,
                            json={"comment": "gates and evidence read"}), 200)
    assert approved["status"] == "promoted" and approved["deployment_id"] is not None
    assert [(a["principal"], a["decision"], a["comment"]) for a in approved["approvals"]] == [
        ("amal", "approve", "gates and evidence read")]
    assert governed.model("credit").deployed == {"staging": 1, "production": 1}
    assert governed.model("credit").history[-1].deployed_by == "amal"
    # The same request, read back locally: one JSON form through both doors.
    assert governed.request(opened["id"]).to_dict() == approved

    serving = ok(http.get(f"{V1}/models/credit/environments", headers=who.viewer), 200)
    production = next(s for s in serving if s["environment"] == "production")
    assert production["version"] == 1 and production["request_id"] == opened["id"]
    assert production["approvers"] == ["amal"]
    assert production["break_glass_unreviewed"] is False

    again = problem(http.post(f"{V1}/requests/{opened['id']}/approve", headers=who.approver,
                              json={}), 409, "ConflictError")
    assert str(opened["id"]) in again["detail"]


def test_the_trainer_and_the_opener_cannot_approve(governed: Project, http: TestClient,
                                                   who: People) -> None:
    opened = open_request(http, who)
    approve = f"{V1}/requests/{opened['id']}/approve"
    before = snapshot(governed)
    events = len(governed.audit_log())
    # Makers come first, role or not: maker-checker (409) before the approval rule.
    for headers, name, made in ((who.trainer, "tester", "trained run"),
                                (who.admin, "ada", "opened the request")):
        body = problem(http.post(approve, headers=headers, json={}), 409, "ConflictError")
        assert body["detail"].startswith(f"'{name}' may not approve") and made in body["detail"]
    # An admin who made nothing, but is no approver: the rule does not count them (403).
    me = local_principal(governed.context)
    add_principal(governed.context, "zaid", roles=[Role.ADMIN], by=me)
    zaid = Tokens.header(create_token(governed.context, "zaid", by=me).token)
    before, events = snapshot(governed), len(governed.audit_log())
    body = problem(http.post(approve, headers=zaid, json={}), 403, "PermissionDenied")
    assert body["detail"].startswith("'zaid' (token:") and "counts only approver" in body[
        "detail"]
    assert snapshot(governed) == before and len(governed.audit_log()) == events
    # Approvers now (with new tokens: a token keeps the roles it was made with), still
    # makers: maker-checker (409), each told what they made.
    fresh = {}
    for name in ("tester", "ada"):
        ok(http.post(f"{V1}/users/{name}/grant", headers=who.admin,
                     json={"roles": ["approver"]}), 200)
        fresh[name] = Tokens.header(ok(http.post(f"{V1}/tokens", headers=who.admin,
                                                 json={"principal": name}), 201)["token"])
    before, events = snapshot(governed), len(governed.audit_log())
    trained = problem(http.post(approve, headers=fresh["tester"], json={}), 409,
                      "ConflictError")
    assert trained["detail"].startswith(f"'tester' may not approve request #{opened['id']}: "
                                        "they trained run")
    mine = problem(http.post(approve, headers=fresh["ada"], json={}), 409, "ConflictError")
    assert "'ada' may not approve" in mine["detail"] and "opened the request" in mine["detail"]
    assert snapshot(governed) == before and len(governed.audit_log()) == events
    assert ok(http.get(f"{V1}/requests/{opened['id']}", headers=who.viewer), 200)[
        "status"] == "open"


def test_a_viewer_changes_nothing(governed: Project, http: TestClient, who: People) -> None:
    opened = open_request(http, who)
    forced = ok(http.post(f"{V1}/models/credit/break-glass", headers=who.admin,
                          json={"version": 1, "to": "staging", "justification": "drill"}), 201)
    before = snapshot(governed)
    events = len(governed.audit_log())
    for path, body in [
        ("/models/credit/promotions", {"version": 1, "to": "production"}),
        ("/models/credit/break-glass", {"version": 1, "to": "production",
                                        "justification": "because"}),
        (f"/requests/{opened['id']}/approve", {}),
        (f"/requests/{opened['id']}/reject", {"comment": "no"}),
        (f"/requests/{forced['id']}/review", {"comment": "seen"}),
    ]:
        refused = problem(http.post(V1 + path, headers=who.viewer, json=body), 403,
                          "PermissionDenied")
        assert refused["detail"].startswith("'vic' (token:"), path
    assert snapshot(governed) == before and len(governed.audit_log()) == events
    # A viewer reads everything.
    assert [r["id"] for r in ok(http.get(f"{V1}/requests", headers=who.viewer), 200)] == [
        forced["id"], opened["id"]]


def test_reject_and_review_need_a_comment(governed: Project, http: TestClient,
                                          who: People) -> None:
    opened = open_request(http, who)
    for verb in ("reject", "review"):
        problem(http.post(f"{V1}/requests/{opened['id']}/{verb}", headers=who.approver,
                          json={}), 422, "InputError")
    rejected = ok(http.post(f"{V1}/requests/{opened['id']}/reject", headers=who.approver,
                            json={"comment": "evidence too thin"}), 200)
    assert rejected["status"] == "rejected"
    assert [(a["principal"], a["decision"]) for a in rejected["approvals"]] == [
        ("amal", "reject")]
    assert governed.model("credit").deployed == {}


def test_break_glass_is_marked_until_reviewed(governed: Project, http: TestClient,
                                              who: People) -> None:
    problem(http.post(f"{V1}/models/credit/break-glass", headers=who.approver,
                      json={"version": 1, "to": "production", "justification": "x"}),
            403, "PermissionDenied")
    forced = ok(http.post(f"{V1}/models/credit/break-glass", headers=who.admin,
                          json={"version": 1, "to": "production",
                                "justification": "incident 7"}), 201)
    assert (forced["status"], forced["break_glass"], forced["justification"]) == (
        "forced", True, "incident 7")
    assert governed.model("credit").deployed == {"production": 1}

    def marked() -> bool:
        serving = ok(http.get(f"{V1}/models/credit/environments", headers=who.viewer), 200)
        return any(s["break_glass_unreviewed"] for s in serving)

    assert marked()
    reviewed = ok(http.post(f"{V1}/requests/{forced['id']}/review", headers=who.approver,
                            json={"comment": "justified; gates rerun tomorrow"}), 200)
    assert reviewed["reviewed"]["principal"] == "amal"
    assert not marked()


def test_a_blocking_gate_is_a_problem_carrying_the_request(project: Project) -> None:
    write_policy(project.root, evaluation_data="loans@1",
                 metrics={"roc_auc": {"min": 0.999}})
    config = yaml.safe_load((project.root / "rasad.yaml").read_text())
    config["promotion"]["environments"]["staging"] = {"gates": ["metrics"]}
    (project.root / "rasad.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with Project.open(project.root) as reopened:
        registered(reopened, "credit")
        who = people(reopened)
        with TestClient(create_app(reopened.root), raise_server_exceptions=False) as http:
            body = problem(http.post(f"{V1}/models/credit/promotions", headers=who.admin,
                                     json={"version": 1, "to": "staging"}), 422, "GatesFailed")
            assert body["type"] == "urn:rasad:problem:check-failed" and body["exit_code"] == 1
            request = body["request"]
            assert (request["status"], request["gates"]["blocking"]) == ("failed", ["metrics"])
            assert request["gates"]["gates"][0]["evidence"]  # the figures travel with it
            assert ok(http.get(f"{V1}/requests/{request['id']}", headers=who.viewer),
                      200) == request
        assert reopened.model("credit").deployed == {}


def test_lists_filters_and_lookups(governed: Project, http: TestClient, who: People) -> None:
    opened = open_request(http, who)
    staged = ok(http.post(f"{V1}/models/credit/promotions", headers=who.admin,
                          json={"version": 1, "to": "staging"}), 201)
    everything = ok(http.get(f"{V1}/requests", headers=who.viewer), 200)
    assert opened in everything
    assert ok(http.get(f"{V1}/requests", headers=who.viewer,
                       params={"status": "open", "model": "credit", "env": "production"}),
              200) == [opened]
    assert ok(http.get(f"{V1}/requests", headers=who.viewer, params={"env": "dev"}),
              200) == []
    # Staging needs no approval: the deployment names the request holding its gates.
    assert staged["request_id"] in [r["id"] for r in everything if r["status"] == "promoted"]
    problem(http.get(f"{V1}/requests", headers=who.viewer, params={"status": "pending"}),
            422, "InputError")
    problem(http.get(f"{V1}/requests/999", headers=who.viewer), 404, "NotFoundError")
    problem(http.get(f"{V1}/requests/0", headers=who.viewer), 422, "InputError")
    problem(http.post(f"{V1}/requests/999/approve", headers=who.approver, json={}), 404,
            "NotFoundError")
    assert http.get(f"{V1}/requests").status_code == 401


DOCS = Path(__file__).parents[2] / "docs" / "promotion.md"


def test_the_documented_http_approval_runs(capsys: pytest.CaptureFixture[str]) -> None:
    section = DOCS.read_text(encoding="utf-8").split(
        "## Promoting, approving and break-glass from the CLI and HTTP", 1)[1]
    example = re.search(r"```python\n(.*?)```\n\n```\n(.*?)```", section, flags=re.S)
    assert example is not None
    exec(compile(example.group(1), str(DOCS), "exec"), {})
    assert capsys.readouterr().out == example.group(2)
