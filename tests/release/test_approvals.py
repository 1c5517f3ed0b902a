"""Maker-checker approvals: who may approve, the rule's count, and evidence that must still
hold when the last approval deploys (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from rasad import Project
from rasad.core import Context
from rasad.errors import ConflictError, PermissionDenied
from rasad.identity import Role, authenticate, create_token, local_principal
from rasad.registry import promotion as registry_promotion
from rasad.release import service
from rasad.release.requests import Decision, PromotionRequest, RequestStatus
from tests.identity._helpers import snapshot

from ._requests_seed import MODEL, POLICY, Team, add_evaluation, team, write_policy

TWO_APPROVERS = {**POLICY, "production": {"gates": [], "approval": {"approvals": 2}}}

# Every test also runs with each member acting through the API with their own token
# (conftest's http backend), so each remote verb and refusal is proven to give what the
# local one gives; those marked local_only reach the service or the database directly.
pytestmark = pytest.mark.over_http


def _open(t: Team, version: int = 1) -> PromotionRequest:
    request = t["omar"].promote(MODEL, version, "production")
    assert isinstance(request, PromotionRequest) and request.status is RequestStatus.OPEN
    return request


def test_the_trainer_the_registrar_and_the_opener_cannot_approve(project: Project) -> None:
    with team(project, versions=1) as t:
        request = _open(t)
        before = snapshot(t.admin)
        for who, what in (("dana", "trained run"), ("rami", f"registered {MODEL}@1"),
                          ("omar", "opened the request")):
            with pytest.raises(ConflictError, match=rf"'{who}' may not approve request "
                                                    rf"#{request.id}: they {what}.*"
                                                    "maker-checker"):
                t[who].approve(request.id)
        assert snapshot(t.admin) == before  # no row, no event
        assert t["vic"].request(request.id).status is RequestStatus.OPEN


def test_only_a_role_of_the_rule_with_model_approve_counts(project: Project) -> None:
    with team(project, versions=1) as t:
        request = _open(t)
        before = snapshot(t.admin)
        for who in ("paul", "vic"):  # no model.approve at all
            with pytest.raises(PermissionDenied, match=rf"'{who}'.*model.approve"):
                t[who].approve(request.id)
        # An admin holds model.approve, but the rule counts approvers only.
        t.admin.revoke_role("ada", Role.APPROVER)
        t.reopen()
        with pytest.raises(PermissionDenied, match=rf"'ada' \({t.auth('ada')}\) may not "
                                                   r"approve promotion request.*counts only "
                                                   r"approver"):
            t["ada"].approve(request.id)
        assert snapshot(t.admin)["approvals"] == before["approvals"] == []


def test_a_role_revoked_after_the_context_was_built_is_checked_under_the_lock(
        project: Project) -> None:
    with team(project, versions=1) as t:
        request = _open(t)
        t.admin.grant("bilal", Role.ADMIN)  # model.approve stays granted through admin
        bilal = t.fresh("bilal")  # a project (or a token) holding admin and approver
        assert Role.APPROVER in bilal.principal.roles  # looked up now
        t.admin.revoke_role("bilal", Role.APPROVER)
        with pytest.raises(PermissionDenied, match="counts only approver"):
            bilal.approve(request.id)
        assert t["vic"].request(request.id).approvals == []


def test_one_approval_deploys_in_the_same_transaction(project: Project) -> None:
    with team(project, versions=1) as t:
        request = _open(t)
        approved = t["amal"].approve(request.id, comment="gates read")
        assert approved.status is RequestStatus.PROMOTED and approved.deployment_id is not None
        assert [(a.principal, a.decision, a.comment, a.auth) for a in approved.approvals] == [
            ("amal", Decision.APPROVE, "gates read", t.auth("amal"))]
        assert "was approved by amal and deployed" in approved.message
        (deployment,) = t.admin.model(MODEL).history
        assert (deployment.id, deployment.request_id, deployment.environment,
                deployment.deployed_by) == (approved.deployment_id, request.id, "production",
                                            "amal")
        approval, promotion = t.admin.audit_log(action="promotion.approved") + \
            t.admin.audit_log(action="model.promotion")
        assert promotion.seq == approval.seq + 1  # one transaction, in order
        assert (approval.actor, approval.details["auth"], approval.details["approvals"],
                approval.details["required"]) == ("amal", t.auth("amal"), 1, 1)
        assert (promotion.details["request_id"], promotion.details["approvers"],
                promotion.details["break_glass"]) == (request.id, ["amal"], False)
        with pytest.raises(ConflictError, match="is promoted: it already deployed"):
            t["bilal"].approve(request.id)
        status = {s.environment: s for s in t["vic"].environment_status(MODEL)}
        production = status["production"]
        assert (production.version, production.request_id, production.approvers,
                production.gates_passed, production.break_glass_unreviewed) == (
            1, request.id, ["amal"], True, False)
        assert status["dev"].version is None and status["dev"].request_id is None
        assert t.admin.verify_audit().ok


@pytest.mark.local_only(reason="builds a token's context by hand, as the http backend "
                                "does for every call")
def test_an_approver_with_a_token_is_recorded_with_it(project: Project) -> None:
    with team(project, versions=1) as t:
        request = _open(t)
        ctx = t.admin.context
        token = create_token(ctx, "amal", by=local_principal(ctx))
        remote = Context.build(t.root, t.admin.config,
                               principal=authenticate(ctx, token.token))
        try:
            approved = service.approve(remote, request.id)
        finally:
            remote.close()
        auth = f"token:{token.info.id}"
        assert approved.approvals[0].auth == auth
        (event,) = t.admin.audit_log(action="promotion.approved")
        assert (event.actor, event.details["auth"]) == ("amal", auth)


def test_two_approvers_are_two_people(project: Project) -> None:
    with team(project, versions=1, environments=TWO_APPROVERS) as t:
        request = _open(t)
        first = t["amal"].approve(request.id)
        assert first.status is RequestStatus.OPEN and first.approved_by == ["amal"]
        assert "has 1 of 2 approval(s)" in first.message
        assert t.admin.model(MODEL).deployed == {}
        before = snapshot(t.admin)
        with pytest.raises(ConflictError, match=r"'amal' already approved request .* one "
                                                "person approves once"):
            t["amal"].approve(request.id)
        assert snapshot(t.admin) == before
        second = t["bilal"].approve(request.id)
        assert second.status is RequestStatus.PROMOTED and second.approved_by == [
            "amal", "bilal"]
        assert t.admin.model(MODEL).deployed == {"production": 1}
        (promotion,) = t.admin.audit_log(action="model.promotion")
        assert promotion.details["approvers"] == ["amal", "bilal"]
        assert promotion.actor == "bilal"


def test_a_new_evaluation_dataset_version_makes_the_request_stale(project: Project) -> None:
    add_evaluation(project)
    with team(project, versions=1, evaluation_data="loans-eval") as t:
        request = _open(t)
        assert request.gates.evidence_key["evaluation_data"] == "loans-eval@1"
        add_evaluation(t["dana"], seed=22)
        seen = t["vic"].request(request.id)
        assert seen.status is RequestStatus.OPEN
        assert seen.stale == ("the evaluation data is now loans-eval@2 (the gates ran on "
                              "loans-eval@1)")
        assert "is stale" in seen.message
        before = snapshot(t.admin)
        with pytest.raises(ConflictError, match=r"is stale: the evaluation data is now "
                                                r"loans-eval@2.*`rasad promote credit 1 --to "
                                                r"production` opens a new request"):
            t["amal"].approve(request.id)
        assert snapshot(t.admin) == before
        # Running the gates again opens a fresh request, which can be approved.
        fresh = _open(t)
        assert t["vic"].request(request.id).status is RequestStatus.SUPERSEDED
        assert t["amal"].approve(fresh.id).status is RequestStatus.PROMOTED


def test_a_new_champion_makes_the_request_stale(project: Project) -> None:
    with team(project) as t:
        request = _open(t, version=2)
        # Another version starts serving production (the bare deploy step, as a setup).
        registry_promotion.promote(t.admin.context, MODEL, 1, "production")
        assert t["vic"].request(request.id).stale == (
            "production is now served by credit@1 (the gates compared against none)")
        with pytest.raises(ConflictError, match="is stale: production is now served by "
                                                "credit@1"):
            t["amal"].approve(request.id)
        assert t.admin.model(MODEL).deployed == {"production": 1}


def test_a_policy_change_makes_the_request_stale(project: Project) -> None:
    with team(project, versions=1) as t:
        request = _open(t)
        write_policy(t.root, environments=TWO_APPROVERS)
        t.reopen()
        assert t["vic"].request(request.id).stale == (
            "the promotion policy of production in rasad.yaml changed since the gates ran")
        with pytest.raises(ConflictError, match="is stale: the promotion policy"):
            t["amal"].approve(request.id)
        # The request keeps the rule it was opened under; a new one takes the new rule.
        assert t["vic"].request(request.id).approvals_required == 1
        assert _open(t).approvals_required == 2
