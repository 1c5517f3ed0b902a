"""State replay of governance: promotion requests, decisions, principals, grants and tokens
edited by SQL behind rasad's back are caught and the row named (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from rasad import Project
from rasad.identity import Role
from rasad.ledger import ProblemKind, Verification
from rasad.ledger._governance import GovernanceReplay
from rasad.release.requests import PromotionRequest, RequestStatus
from tests.release._requests_seed import MODEL, Team, team

from . import _attacks as attack


@dataclass(frozen=True)
class Governed:
    t: Team
    approved: int  # opened by omar, approved by amal: promoted
    rejected: int  # rejected by bilal
    forced: int  # break-glass by ada, reviewed by amal
    superseded: int  # replaced by ``open``
    open: int
    immediate: int  # dev needs no approval: promoted at once
    token: str  # amal's token, in force
    revoked: str  # a token of omar's, revoked

    @property
    def admin(self) -> Project:
        return self.t.admin


def _request(outcome: object) -> PromotionRequest:
    assert isinstance(outcome, PromotionRequest), outcome
    return outcome


@pytest.fixture
def governed(project: Project) -> Iterator[Governed]:
    with team(project, versions=2) as t:
        approved = _request(t["omar"].promote(MODEL, 1, "production")).id
        t["amal"].approve(approved, comment="gates read")
        rejected = _request(t["omar"].promote(MODEL, 2, "production")).id
        t["bilal"].reject(rejected, comment="not this quarter")
        forced = t["ada"].force_promote(MODEL, 2, "production", justification="INC-7").id
        t["amal"].review(forced, comment="incident closed")
        superseded = _request(t["omar"].promote(MODEL, 1, "production")).id
        t.admin.revoke_role("paul", Role.DEPLOYER)
        t.admin.grant("paul", Role.VIEWER)
        t.admin.grant("vic", Role.DEPLOYER)
        opened = _request(t["vic"].promote(MODEL, 1, "production")).id
        immediate = t["omar"].promote(MODEL, 1, "dev").request_id  # type: ignore[union-attr]
        assert immediate is not None
        token = t.admin.create_token("amal").info.id
        revoked = t.admin.create_token("omar").info.id
        t.admin.revoke_token(revoked)
        assert t.admin.request(superseded).status is RequestStatus.SUPERSEDED
        yield Governed(t, approved, rejected, forced, superseded, opened, immediate, token,
                       revoked)


def _rows(result: Verification) -> list[str | None]:
    assert all(p.kind is ProblemKind.STATE for p in result.problems), result.problems
    return [p.row for p in result.problems]


def _seq(project: Project, action: str, request_id: int) -> int:
    return next(e.seq for e in project.audit_log(action=action)
                if e.details.get("request_id") == request_id)


def test_untouched_governance_verifies_clean(governed: Governed) -> None:
    result = governed.admin.verify_audit()
    assert result.ok, result.problems
    assert result.state is not None
    assert {k: result.state[k] for k in ("promotion_requests", "approvals", "api_tokens")} == {
        "promotion_requests": 6, "approvals": 3, "api_tokens": 2}
    assert result.state["principals"] == 9  # tester and the team of eight
    # tester's admin, the team's twelve roles, paul's deployer swapped for viewer, vic's deployer
    assert result.state["role_grants"] == 14


def test_an_inserted_approval_row_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, """
        INSERT INTO approvals (request_id, principal, auth, decision, comment, created_at)
        VALUES (:r, 'mallory', 'os-user', 'approve', 'lgtm', '2026-01-01T00:00:00Z')""",
                   r=governed.open)
    result = governed.admin.verify_audit()
    assert _rows(result) == [f"approvals (request #{governed.open}, mallory, approve)"]
    assert "the ledger records no such decision" in (result.reason or "")


def test_a_request_flipped_to_promoted_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, "UPDATE promotion_requests SET status = 'promoted', "
                   "closed_at = '2026-01-01T00:00:00Z' WHERE id = :r", r=governed.open)
    result = governed.admin.verify_audit()
    seq = _seq(governed.admin, "promotion.requested", governed.open)
    assert [(p.row, p.seq) for p in result.problems] == [
        (f"promotion_requests (#{governed.open})", seq)]
    assert result.reason == (f"promotion_requests (#{governed.open}): status is 'promoted', "
                             f"but the ledger (promotion.requested, event {seq}) recorded "
                             "'open'.")


def test_each_edited_column_of_a_request_is_named(governed: Governed) -> None:
    """What a request is for and what it took: every column its event fixes is compared."""
    attack.execute(governed.admin, "UPDATE promotion_requests SET model_name = 'other', "
                   "version = 9, gates_passed = NOT gates_passed, approvals_required = 0, "
                   "expires_at = '2099-01-01T00:00:00Z' WHERE id = :r", r=governed.open)
    result = governed.admin.verify_audit()
    assert _rows(result) == [f"promotion_requests (#{governed.open})"] * 5
    assert [p.message.split(": ", 1)[1].split(" is ")[0] for p in result.problems] == [
        "model_name", "version", "gates_passed", "approvals_required", "expires_at"]


def test_a_rejected_request_flipped_to_approved_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, "UPDATE promotion_requests SET status = 'approved' "
                   "WHERE id = :r", r=governed.rejected)
    result = governed.admin.verify_audit()
    assert _rows(result) == [f"promotion_requests (#{governed.rejected})"]
    assert "recorded 'rejected'" in (result.reason or "")


def test_break_glass_cleared_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, "UPDATE promotion_requests SET break_glass = :f, "
                   "status = 'promoted' WHERE id = :r", f=False, r=governed.forced)
    result = governed.admin.verify_audit()
    messages = [p.message for p in result.problems]
    assert _rows(result) == [f"promotion_requests (#{governed.forced})"] * 2
    assert any("break_glass is False" in m and "recorded True" in m for m in messages)
    assert any("status is 'promoted'" in m and "recorded 'forced'" in m for m in messages)


def test_a_review_by_someone_else_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, "UPDATE approvals SET principal = 'bilal' "
                   "WHERE request_id = :r AND decision = 'review'", r=governed.forced)
    rows = _rows(governed.admin.verify_audit())
    assert rows == [f"approvals (request #{governed.forced}, amal, review)",
                    f"approvals (request #{governed.forced}, bilal, review)"]


def test_a_changed_approval_comment_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, "UPDATE approvals SET comment = 'ok' WHERE request_id = :r",
                   r=governed.approved)
    result = governed.admin.verify_audit()
    row = f"approvals (request #{governed.approved}, amal, approve)"
    assert _rows(result) == [row]
    seq = _seq(governed.admin, "promotion.approved", governed.approved)
    assert result.reason == (f"{row}: comment is 'ok', but the ledger (promotion.approved, "
                             f"event {seq}) recorded 'gates read'.")
    assert result.problems[0].seq == seq


def test_an_approval_claiming_another_way_in_is_named(governed: Governed) -> None:
    """How the approver signed in (a token, the OS user) is part of the decision's record."""
    attack.execute(governed.admin, "UPDATE approvals SET auth = 'token:forged01' "
                   "WHERE request_id = :r", r=governed.approved)
    result = governed.admin.verify_audit()
    seq = _seq(governed.admin, "promotion.approved", governed.approved)
    assert result.reason == (
        f"approvals (request #{governed.approved}, amal, approve): auth is 'token:forged01', "
        f"but the ledger (promotion.approved, event {seq}) recorded 'os-user'.")


def test_a_deleted_approval_is_named_with_its_event(governed: Governed) -> None:
    attack.execute(governed.admin, "DELETE FROM approvals WHERE request_id = :r",
                   r=governed.approved)
    result = governed.admin.verify_audit()
    seq = _seq(governed.admin, "promotion.approved", governed.approved)
    row = f"approvals (request #{governed.approved}, amal, approve)"
    assert [(p.row, p.seq) for p in result.problems] == [(row, seq)]
    assert result.reason == (f"{row} is missing: the ledger recorded it (promotion.approved, "
                             f"event {seq}).")


def test_an_edited_gate_report_hash_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, "UPDATE promotion_requests SET gates_blob = :b "
                   "WHERE id = :r", b="ab" * 32, r=governed.immediate)
    result = governed.admin.verify_audit()
    seq = _seq(governed.admin, "model.promotion", governed.immediate)
    assert [(p.row, p.seq) for p in result.problems] == [
        (f"promotion_requests (#{governed.immediate})", seq)]
    assert f"gates_blob is '{'ab' * 32}'" in (result.reason or "")


def test_a_request_row_without_events_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, """
        INSERT INTO promotion_requests (model_name, model_version_id, version, environment,
            status, gates_blob, gates_passed, evidence_key, approvals_required,
            approver_roles, break_glass, opened_by, opened_at)
        SELECT model_name, model_version_id, version, 'staging', 'promoted', gates_blob,
            gates_passed, evidence_key, 0, '[]', break_glass, 'mallory', opened_at
        FROM promotion_requests WHERE id = :r""", r=governed.open)
    result = governed.admin.verify_audit()
    [row] = _rows(result)
    assert row is not None and row.startswith("promotion_requests (#")
    assert int(row.removeprefix("promotion_requests (#").rstrip(")")) > governed.open
    assert "the ledger records no promotion request" in (result.reason or "")


def test_a_self_granted_role_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, """
        INSERT INTO role_grants (principal_id, role, granted_by, granted_at)
        SELECT id, 'admin', 'vic', '2026-01-01T00:00:00Z' FROM principals WHERE name = 'vic'""")
    result = governed.admin.verify_audit()
    assert _rows(result) == ["role_grants (vic, admin)"]
    assert result.reason == ("role_grants (vic, admin) exists, but the ledger records no grant "
                             "of that role in force.")


def test_a_revoked_role_put_back_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, """
        INSERT INTO role_grants (principal_id, role, granted_by, granted_at)
        SELECT id, 'deployer', 'tester', '2026-01-01T00:00:00Z' FROM principals
        WHERE name = 'paul'""")
    assert _rows(governed.admin.verify_audit()) == ["role_grants (paul, deployer)"]


def test_a_deleted_grant_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, "DELETE FROM role_grants WHERE role = 'deployer' AND "
                   "principal_id = (SELECT id FROM principals WHERE name = 'vic')")
    seq = [e.seq for e in governed.admin.audit_log(action="principal.grant")
           if e.subject == "principal:vic"][-1]
    result = governed.admin.verify_audit()
    assert [(p.row, p.seq) for p in result.problems] == [("role_grants (vic, deployer)", seq)]


def test_an_inserted_principal_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, """
        INSERT INTO principals (name, kind, created_by, created_at)
        VALUES ('mallory', 'person', 'tester', '2026-01-01T00:00:00Z')""")
    attack.execute(governed.admin, """
        INSERT INTO role_grants (principal_id, role, granted_by, granted_at)
        SELECT id, 'approver', 'tester', '2026-01-01T00:00:00Z' FROM principals
        WHERE name = 'mallory'""")
    assert _rows(governed.admin.verify_audit()) == ["principals (mallory)",
                                                    "role_grants (mallory, approver)"]


def test_a_principal_enabled_again_is_named(governed: Governed) -> None:
    governed.admin.disable_principal("vic")
    assert governed.admin.verify_audit().ok
    attack.execute(governed.admin, "UPDATE principals SET disabled_at = NULL WHERE name = 'vic'")
    result = governed.admin.verify_audit()
    assert _rows(result) == ["principals (vic)"]
    assert "disabled is False" in (result.reason or "")


def test_a_person_turned_into_a_service_account_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, "UPDATE principals SET kind = 'service' WHERE name = 'vic'")
    result = governed.admin.verify_audit()
    seq = next(e.seq for e in governed.admin.audit_log(action="principal.add")
               if e.subject == "principal:vic")
    assert [(p.row, p.seq) for p in result.problems] == [("principals (vic)", seq)]
    assert result.reason == (f"principals (vic): kind is 'service', but the ledger "
                             f"(principal.add, event {seq}) recorded 'person'.")


def test_an_inserted_token_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, """
        INSERT INTO api_tokens (id, principal_id, secret_sha256, roles, created_by, created_at)
        SELECT 'forged01', id, :h, '["admin"]', 'tester', '2026-01-01T00:00:00Z'
        FROM principals WHERE name = 'vic'""", h="cd" * 32)
    result = governed.admin.verify_audit()
    assert _rows(result) == ["api_tokens (forged01)"]
    assert result.reason == "api_tokens (forged01) exists, but the ledger records no such token."


def test_a_widened_unrevoked_or_reassigned_token_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, "UPDATE api_tokens SET revoked_at = NULL WHERE id = :t",
                   t=governed.revoked)
    attack.execute(governed.admin, """
        UPDATE api_tokens SET roles = '["admin"]', expires_at = NULL,
            principal_id = (SELECT id FROM principals WHERE name = 'ada') WHERE id = :t""",
                   t=governed.token)
    result = governed.admin.verify_audit()
    found = sorted((p.row or "", p.message.split(" is ")[0]) for p in result.problems)
    assert found == sorted([
        (f"api_tokens ({governed.revoked})", f"api_tokens ({governed.revoked}): revoked"),
        (f"api_tokens ({governed.token})", f"api_tokens ({governed.token}): principal"),
        (f"api_tokens ({governed.token})", f"api_tokens ({governed.token}): roles"),
        (f"api_tokens ({governed.token})", f"api_tokens ({governed.token}): expires_at")])


def test_a_deleted_token_is_named(governed: Governed) -> None:
    attack.execute(governed.admin, "DELETE FROM api_tokens WHERE id = :t", t=governed.revoked)
    seq = [e.seq for e in governed.admin.audit_log(action="token.create")][-1]
    result = governed.admin.verify_audit()
    assert [(p.row, p.seq) for p in result.problems] == [
        (f"api_tokens ({governed.revoked})", seq)]
    assert "is missing" in (result.reason or "")


# -- reading the events (no database) ----------------------------------------------------


def test_request_events_are_read_into_rows_and_decisions() -> None:
    replay = GovernanceReplay()
    gates = {"report_sha256": "r1", "passed": True}
    replay.feed(1, "promotion.requested", "model:credit", {
        "request_id": 4, "version": 2, "environment": "production", "gates": gates,
        "approvals_required": 1, "expires_at": "2027"})
    replay.feed(2, "promotion.approved", "model:credit", {
        "request_id": 4, "version": 2, "environment": "production", "comment": None,
        "auth": "os-user"})
    replay.feed(3, "model.promotion", "model:credit", {
        "request_id": 4, "version": 2, "environment": "production", "break_glass": False})
    replay.feed(4, "model.promotion", "model:credit", {"version": 1, "environment": "dev"})
    assert list(replay.requests) == [4]  # a promotion from before requests: no row implied
    columns = {c: v[2] for c, v in replay.requests[4].columns.items()}
    assert columns == {"model_name": "credit", "version": 2, "environment": "production",
                       "gates_blob": "r1", "gates_passed": True, "approvals_required": 1,
                       "expires_at": "2027", "status": "promoted", "break_glass": False}
    assert replay.requests[4].columns["status"][:2] == (3, "model.promotion")
    assert replay.decisions == {2: (4, "approve", "promotion.approved", "os-user", None)}


def test_identity_events_are_read_into_principals_grants_and_tokens() -> None:
    replay = GovernanceReplay()
    replay.feed(1, "project.init", "project:demo", {"first_admin": "tester"})
    replay.feed(2, "principal.add", "principal:amal", {"kind": "person", "roles": ["viewer"]})
    replay.feed(3, "principal.grant", "principal:amal", {"role": "approver"})
    replay.feed(4, "principal.revoke", "principal:amal", {"role": "viewer"})
    replay.feed(5, "token.create", "token:t1", {"principal": "amal", "roles": ["approver"],
                                                "expires_at": None})
    replay.feed(6, "token.revoke", "token:t1", {"principal": "amal"})
    replay.feed(7, "principal.disable", "principal:amal", {})
    assert replay.first_admin_named
    assert {k: f.seq for k, f in replay.grants.items()} == {("tester", "admin"): 1,
                                                           ("amal", "approver"): 3}
    assert {c: v[2] for c, v in replay.principals["amal"].columns.items()} == {
        "kind": "person", "disabled": True}
    assert {c: v[2] for c, v in replay.tokens["t1"].columns.items()} == {
        "principal": "amal", "roles": ["approver"], "expires_at": None, "revoked": True}
