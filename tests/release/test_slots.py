"""Canary and shadow promotions go through their environment's governed flow: its gates, its
champion (the primary), its approval rule, maker-checker, break-glass; a request for a slot
supersedes only requests for that slot (SQLite and PostgreSQL).

The tests marked ``over_http`` also run with each member acting through the API with their
own token (conftest's http backend): a slot's promotion through its gates and approval, the
refusals of a slot without its traffic share, retire and a slot's rollback. Staleness and
break-glass travel the API in test_approvals and test_break_glass; here they stay local."""

from __future__ import annotations

from typing import Any

import pytest

from rasad import Project
from rasad.errors import ConflictError, InputError, PermissionDenied
from rasad.registry import Deployment, Slot
from rasad.release.report import GateStatus
from rasad.release.requests import PromotionRequest, RequestStatus
from tests.identity._helpers import snapshot
from tests.registry._helpers import serve_canary

from ._requests_seed import MODEL, Team, team

GATED: dict[str, Any] = {
    "dev": {"gates": []},
    "staging": {"gates": ["metrics", "champion"]},
    "production": {"gates": ["metrics", "champion"],
                   "approval": {"approvals": 1, "roles": ["approver"]}},
}


def _open(outcome: object) -> PromotionRequest:
    assert isinstance(outcome, PromotionRequest), outcome
    assert outcome.status is RequestStatus.OPEN, outcome
    return outcome


def _with_canaries(t: Team, *envs: str) -> Team:
    serve_canary(t.root, *envs)
    t.reopen()
    return t


def _primary(t: Team, version: int) -> None:
    """credit@``version`` becomes the primary of production: omar asks, amal approves."""
    request = _open(t["omar"].promote(MODEL, version, "production"))
    assert t["amal"].approve(request.id).status is RequestStatus.PROMOTED


@pytest.mark.over_http
def test_a_canary_passes_its_environments_gates_and_approval(project: Project) -> None:
    with team(project, versions=2, environments=GATED, evaluation_data="loans",
              metrics={"roc_auc": {"min": 0.6}}) as t:
        _with_canaries(t, "staging", "production")
        t["omar"].promote(MODEL, 1, "staging")
        staged = t["omar"].promote(MODEL, 2, "staging", slot="canary")
        assert isinstance(staged, Deployment)
        assert (staged.environment, staged.slot, staged.version) == (
            "staging:canary", Slot.CANARY, 2)
        request = t["vic"].request(staged.request_id or 0)
        assert (request.environment, request.slot, request.status) == (
            "staging:canary", Slot.CANARY, RequestStatus.PROMOTED)
        # The gates of staging, the champion being staging's primary.
        assert request.gates.environment == "staging"
        assert {g.gate: g.status for g in request.gates.gates} == {
            "metrics": GateStatus.PASSED, "champion": GateStatus.PASSED}
        champion = request.gates.gate("champion")
        assert champion is not None and champion.evidence["champion"] == f"{MODEL}@1"
        assert request.gates.evidence_key["champion"] == f"{MODEL}@1"
        assert request.message.endswith("passed its gates and deployed; staging needs no "
                                        "approval.")
        event = t.admin.audit_log(action="model.promotion")[-1]
        assert (event.details["environment"], event.details["slot"],
                event.details["request_id"]) == ("staging:canary", "canary", request.id)

        _primary(t, 1)
        later_primary = _open(t["omar"].promote(MODEL, 2, "production"))
        canary = _open(t["omar"].promote(MODEL, 2, "production", slot="canary"))
        assert (canary.environment, canary.approvals_required, canary.approver_roles) == (
            "production:canary", 1, ["approver"])
        assert canary.gates.evidence_key["champion"] == f"{MODEL}@1"
        # Another slot's request: the primary's request stays open.
        assert t["vic"].request(later_primary.id).status is RequestStatus.OPEN
        (requested,) = [e for e in t.admin.audit_log(action="promotion.requested")
                        if e.details["request_id"] == canary.id]
        assert requested.details["environment"] == "production:canary"

        before = snapshot(t.admin)
        with pytest.raises(ConflictError, match="'dana' may not approve .* trained run"):
            t["dana"].approve(canary.id)
        with pytest.raises(PermissionDenied, match="'vic'"):
            t["vic"].approve(canary.id)
        assert snapshot(t.admin) == before
        approved = t["bilal"].approve(canary.id, comment="ten percent, watch the log")
        assert approved.status is RequestStatus.PROMOTED and approved.approved_by == ["bilal"]
        assert t.admin.model(MODEL).deployed == {
            "staging": 1, "staging:canary": 2, "production": 1, "production:canary": 2}

        statuses = t["vic"].environment_status(MODEL)
        assert [(s.environment, s.slot, s.version) for s in statuses] == [
            ("dev", Slot.PRIMARY, None), ("staging", Slot.PRIMARY, 1),
            ("staging:canary", Slot.CANARY, 2), ("production", Slot.PRIMARY, 1),
            ("production:canary", Slot.CANARY, 2)]
        assert (statuses[-1].request_id, statuses[-1].approvers, statuses[-1].gates_passed) == (
            canary.id, ["bilal"], True)

        # The canary did well: its version becomes the primary, and the canary is retired
        # in the same transaction.
        assert t["amal"].approve(later_primary.id).status is RequestStatus.PROMOTED
        assert t.admin.model(MODEL).deployed == {
            "staging": 1, "staging:canary": 2, "production": 2}
        tail = [(e.action, e.details.get("environment")) for e in t.admin.audit_log()[-2:]]
        assert tail == [("model.promotion", "production"), ("model.retire", "production:canary")]
        assert t.admin.verify_audit().ok


@pytest.mark.over_http
def test_a_canary_needs_its_traffic_share_and_nothing_is_recorded_without(
        project: Project) -> None:
    with team(project, versions=2) as t:
        t["omar"].promote(MODEL, 1, "staging")
        before = snapshot(t.admin)
        with pytest.raises(InputError, match=r"staging has no canary traffic share: set "
                                             r"serving.environments.staging.canary in "
                                             r"rasad.yaml"):
            t["omar"].promote(MODEL, 2, "staging", slot="canary")
        with pytest.raises(InputError, match="serving.environments.staging.canary"):
            t["ada"].force_promote(MODEL, 2, "staging", justification="INC-1", slot="canary")
        with pytest.raises(InputError, match="'green' is not a deployment slot"):
            t["omar"].promote(MODEL, 2, "staging", slot="green")
        assert snapshot(t.admin) == before


def test_a_canary_request_is_stale_once_the_primary_changes(project: Project) -> None:
    with team(project, versions=3) as t:
        _with_canaries(t, "production")
        _primary(t, 1)
        canary = _open(t["omar"].promote(MODEL, 2, "production", slot="canary"))
        newer = _open(t["omar"].promote(MODEL, 3, "production", slot="canary"))
        assert t["vic"].request(canary.id).status is RequestStatus.SUPERSEDED
        primary = _open(t["omar"].promote(MODEL, 2, "production"))
        t["amal"].approve(primary.id)
        seen = t["vic"].request(newer.id)
        assert seen.stale is not None and "production is now served by credit@2" in seen.stale
        assert "`rasad promote credit 3 --to production --slot canary`" in seen.message
        before = snapshot(t.admin)
        with pytest.raises(ConflictError, match=r"is stale: .* `rasad promote credit 3 --to "
                                                r"production --slot canary` opens a new"):
            t["bilal"].approve(newer.id)
        assert snapshot(t.admin) == before


def test_break_glass_reject_and_review_work_on_a_slot(project: Project) -> None:
    with team(project, versions=3) as t:
        _with_canaries(t, "production")
        _primary(t, 1)
        before = snapshot(t.admin)
        with pytest.raises(ConflictError, match=r"credit@1 is the primary of production; it "
                                                r"cannot also be its shadow"):
            t["ada"].force_promote(MODEL, 1, "production", justification="INC-2", slot="shadow")
        assert snapshot(t.admin) == before

        forced = t["ada"].force_promote(MODEL, 2, "production", justification="INC-3",
                                        slot="shadow")
        assert (forced.status, forced.environment, forced.break_glass) == (
            RequestStatus.FORCED, "production:shadow", True)
        marked = {s.environment: s.unreviewed for s in t["vic"].environment_status(MODEL)}
        assert marked == {"dev": [], "staging": [], "production": [],
                          "production:shadow": [forced.id]}
        assert t["amal"].review(forced.id, comment="incident closed").reviewed is not None
        assert not any(s.break_glass_unreviewed for s in t["vic"].environment_status(MODEL))

        canary = _open(t["omar"].promote(MODEL, 3, "production", slot="canary"))
        rejected = t["amal"].reject(canary.id, comment="not before the shadow report")
        assert rejected.status is RequestStatus.REJECTED
        assert t.admin.model(MODEL).deployed == {"production": 1, "production:shadow": 2}
        assert t.admin.verify_audit().ok


@pytest.mark.over_http
def test_retire_and_a_slot_rollback_need_model_promote(project: Project) -> None:
    with team(project, versions=3) as t:
        _with_canaries(t, "staging")
        t["omar"].promote(MODEL, 1, "staging")
        t["omar"].promote(MODEL, 2, "staging", slot="canary")
        t["omar"].promote(MODEL, 3, "staging", slot="canary")
        before = snapshot(t.admin)
        with pytest.raises(PermissionDenied, match="'vic'.*model.promote"):
            t["vic"].retire(MODEL, "staging", "canary")
        with pytest.raises(PermissionDenied, match="'vic'.*model.promote"):
            t["vic"].rollback(MODEL, "staging", slot="canary")
        assert snapshot(t.admin) == before
        assert t["paul"].rollback(MODEL, "staging", slot="canary").version == 2
        retired = t["paul"].retire(MODEL, "staging", Slot.CANARY, reason="enough data")
        assert (retired.retired_by, retired.version) == ("paul", 2)
        (event,) = t.admin.audit_log(action="model.retire")
        assert (event.actor, event.details["auth"]) == ("paul", t.auth("paul"))
        assert t.admin.verify_audit().ok
