"""Break-glass: an admin forces a promotion with a written justification; it is marked in
the ledger and on the model until someone other than its makers reviews it (SQLite and
PostgreSQL)."""

from __future__ import annotations

import pytest

from rasad import Project
from rasad.errors import ConflictError, InputError, PermissionDenied
from rasad.release.requests import Decision, PromotionRequest, RequestStatus
from tests.identity._helpers import snapshot

from ._requests_seed import MODEL, Team, metrics_policy, team

# Every test also runs with each member acting through the API with their own token
# (conftest's http backend), so each remote verb and refusal is proven to give what the
# local one gives.
pytestmark = pytest.mark.over_http


def _marked(t: Team) -> dict[str, list[int]]:
    return {s.environment: s.unreviewed for s in t["vic"].environment_status(MODEL)
            if s.break_glass_unreviewed}


def test_only_an_admin_with_a_justification_can_force(project: Project) -> None:
    with team(project, versions=1) as t:
        before = snapshot(t.admin)
        for who in ("omar", "amal", "dana"):
            with pytest.raises(PermissionDenied, match=rf"'{who}'.*model.force"):
                t[who].force_promote(MODEL, 1, "production", justification="incident 7")
        for empty in ("", "  \n"):
            with pytest.raises(InputError, match="needs a written justification"):
                t["ada"].force_promote(MODEL, 1, "production", justification=empty)
        assert snapshot(t.admin) == before


def test_a_forced_promotion_deploys_past_failed_gates_and_is_marked(project: Project) -> None:
    with team(project, environments=metrics_policy(), evaluation_data="loans",
              metrics={"roc_auc": {"min": 0.999}}) as t:
        forced = t["ada"].force_promote(MODEL, 1, "production",
                                        justification="  incident 7: scoring down  ")
        assert (forced.status, forced.break_glass, forced.justification, forced.opened_by) == (
            RequestStatus.FORCED, True, "incident 7: scoring down", "ada")
        assert forced.gates.blocking == ["metrics"]  # the gates ran, for the record
        assert forced.reviewed is None and "not reviewed yet" in forced.message
        assert t.admin.model(MODEL).deployed == {"production": 1}
        (deployment,) = t.admin.model(MODEL).history
        assert deployment.request_id == forced.id
        assert deployment.reason == "incident 7: scoring down"

        glass, promotion = (t.admin.audit_log(action="promotion.break_glass")
                            + t.admin.audit_log(action="model.promotion"))
        assert (glass.actor, glass.details["auth"], glass.details["justification"]) == (
            "ada", t.auth("ada"), "incident 7: scoring down")
        assert glass.details["gates"]["blocking"] == ["metrics"]
        assert promotion.details["break_glass"] is True and promotion.details["approvers"] == []
        assert _marked(t) == {"production": [forced.id]}
        (production,) = [s for s in t["vic"].environment_status(MODEL)
                         if s.environment == "production"]
        assert production.break_glass and production.request_id == forced.id
        assert production.gates_passed is False and production.blocking == ["metrics"]
        assert t["vic"].requests(status="forced") == [forced]


def test_the_forcer_and_the_makers_cannot_review_it(project: Project) -> None:
    with team(project, versions=1) as t:
        forced = t["ada"].force_promote(MODEL, 1, "production", justification="incident 7")
        before = snapshot(t.admin)
        for who, what in (("ada", "forced it"), ("dana", "trained run"),
                          ("rami", "registered")):
            with pytest.raises(ConflictError, match=rf"'{who}' may not review request "
                                                    rf"#{forced.id}: they {what}"):
                t[who].review(forced.id, comment="fine")
        with pytest.raises(PermissionDenied, match="'paul'"):
            t["paul"].review(forced.id, comment="fine")
        with pytest.raises(InputError, match="comment"):
            t["amal"].review(forced.id, comment=" ")
        assert snapshot(t.admin) == before
        assert _marked(t) == {"production": [forced.id]}


def test_a_review_clears_the_mark_once(project: Project) -> None:
    with team(project, versions=1) as t:
        forced = t["ada"].force_promote(MODEL, 1, "production", justification="incident 7")
        reviewed = t["amal"].review(forced.id, comment="justified; gates rerun tomorrow")
        assert reviewed.status is RequestStatus.FORCED and reviewed.reviewed is not None
        assert (reviewed.reviewed.principal, reviewed.reviewed.decision,
                reviewed.reviewed.comment) == ("amal", Decision.REVIEW,
                                               "justified; gates rerun tomorrow")
        assert reviewed.approvals == [] and "reviewed by amal" in reviewed.message
        assert _marked(t) == {}
        (event,) = t.admin.audit_log(action="promotion.reviewed")
        assert (event.actor, event.details["request_id"]) == ("amal", forced.id)
        with pytest.raises(ConflictError, match="already reviewed by amal"):
            t["bilal"].review(forced.id, comment="me too")


def test_the_mark_stays_until_reviewed_even_after_a_normal_promotion(
        project: Project) -> None:
    with team(project) as t:
        forced = t["ada"].force_promote(MODEL, 1, "production", justification="incident 7")
        request = t["omar"].promote(MODEL, 2, "production")
        assert isinstance(request, PromotionRequest)
        t["amal"].approve(request.id)
        assert t.admin.model(MODEL).deployed == {"production": 2}
        assert _marked(t) == {"production": [forced.id]}
        t["bilal"].review(forced.id, comment="seen")
        assert _marked(t) == {}


def test_a_force_supersedes_open_requests_and_only_forced_ones_are_reviewed(
        project: Project) -> None:
    with team(project) as t:
        request = t["omar"].promote(MODEL, 1, "production")
        assert isinstance(request, PromotionRequest)
        with pytest.raises(ConflictError, match="not a break-glass promotion"):
            t["amal"].review(request.id, comment="no")
        forced = t["ada"].force_promote(MODEL, 2, "production", justification="incident 8")
        assert t["vic"].request(request.id).status is RequestStatus.SUPERSEDED
        with pytest.raises(ConflictError, match=rf"is forced: it was forced \(break-glass\); "
                                                rf"review it with `rasad requests review "
                                                rf"{forced.id}"):
            t["amal"].approve(forced.id)
        with pytest.raises(ConflictError, match="credit@2 already serves production"):
            t["ada"].force_promote(MODEL, 2, "production", justification="again")
