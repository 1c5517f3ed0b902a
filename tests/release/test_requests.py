"""Promotion requests: a promotion runs the gates, then deploys or opens a request; failed,
superseded, rejected and expired requests; the stored report; the tables (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from rasad import Project
from rasad.errors import (
    ConflictError,
    GatesFailed,
    InputError,
    IntegrityError,
    NotFoundError,
)
from rasad.registry import Deployment
from rasad.release import service
from rasad.release.report import GateReport, GateStatus
from rasad.release.requests import PromotionRequest, RequestStatus
from rasad.store._tables import Base
from tests.identity._helpers import snapshot
from tests.registry._helpers import blob_path, flip_one_byte

from ._requests_seed import MODEL, after, at, metrics_policy, team

# Every test also runs with each member acting through the API with their own token
# (conftest's http backend), so each remote verb and refusal is proven to give what the
# local one gives; those marked local_only reach the service or the database directly.
pytestmark = pytest.mark.over_http


@pytest.mark.local_only(reason="compares the database with the table declarations")
def test_the_migrations_build_the_tables_the_models_declare(project: Project) -> None:
    with project.db.read_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_staging_passes_its_gates_and_deploys_with_its_request(project: Project) -> None:
    with team(project, versions=1, environments=metrics_policy(),
              evaluation_data="loans", metrics={"roc_auc": {"min": 0.6}}) as t:
        deployment = t["omar"].promote(MODEL, 1, "staging", reason="first")
        assert isinstance(deployment, Deployment) and deployment.changed
        assert (deployment.environment, deployment.version, deployment.deployed_by) == (
            "staging", 1, "omar")
        assert deployment.request_id is not None
        assert t.admin.model(MODEL).history == [deployment]  # the history carries it too

        request = t["vic"].request(deployment.request_id)
        assert (request.status, request.opened_by, request.reason) == (
            RequestStatus.PROMOTED, "omar", "first")
        assert request.deployment_id == deployment.id and request.expires_at is None
        assert request.approvals_required == 0 and request.approvals == []
        (metrics,) = request.gates.gates
        assert metrics.gate == "metrics" and metrics.status is GateStatus.PASSED
        assert "passed its gates and deployed" in request.message

        # One event: the deployment, naming its request and the stored report's hash.
        (event,) = t.admin.audit_log(action="model.promotion")
        assert (event.actor, event.details["auth"]) == ("omar", t.auth("omar"))
        assert event.details["request_id"] == request.id
        assert event.details["approvers"] == [] and event.details["break_glass"] is False
        sha = event.details["gates"]["report_sha256"]
        assert event.details["gates"]["results"] == {"metrics": "passed"}
        assert GateReport.from_json(t.admin.artifacts.get_bytes(sha)) == request.gates
        assert not t.admin.audit_log(action="promotion.requested")
        assert t.admin.verify_audit().ok


def test_production_opens_a_request_and_deploys_nothing(project: Project) -> None:
    with team(project, versions=1) as t:
        request = t["omar"].promote(MODEL, 1, "production", reason="quarterly")
        assert isinstance(request, PromotionRequest)
        assert (request.status, request.model, request.version, request.environment) == (
            RequestStatus.OPEN, MODEL, 1, "production")
        assert (request.approvals_required, request.approver_roles) == (1, ["approver"])
        assert request.expires_at == after(request.opened_at, days=14)
        assert request.deployment_id is None and request.stale is None
        assert "has 0 of 1 approval(s) from approver" in request.message
        assert t.admin.model(MODEL).deployed == {}
        assert t["vic"].request(request.id) == request
        assert t["vic"].requests() == [request]
        assert t["vic"].requests(model=MODEL, environment="production", status="open") == [
            request]
        assert t["vic"].requests(environment="staging") == []
        assert t["vic"].requests(status=RequestStatus.PROMOTED) == []

        (event,) = t.admin.audit_log(action="promotion.requested")
        assert (event.actor, event.details["auth"], event.subject) == (
            "omar", t.auth("omar"), f"model:{MODEL}")
        assert (event.details["request_id"], event.details["approvals_required"],
                event.details["expires_at"]) == (request.id, 1, request.expires_at)
        assert not t.admin.audit_log(action="model.promotion")


def test_a_version_already_serving_is_left_alone(project: Project) -> None:
    with team(project, versions=1) as t:
        first = t["omar"].promote(MODEL, 1, "staging")
        before = snapshot(t.admin)
        again = t["omar"].promote(MODEL, 1, "staging")
        assert isinstance(again, Deployment) and not again.changed and again.id == first.id
        assert snapshot(t.admin) == before


def test_a_blocking_gate_records_a_failed_request_and_deploys_nothing(
        project: Project) -> None:
    with team(project, environments=metrics_policy(), evaluation_data="loans",
              metrics={"roc_auc": {"min": 0.999}}) as t:
        with pytest.raises(GatesFailed) as caught:
            t["omar"].promote(MODEL, 1, "staging")
        failed = caught.value.request
        assert caught.value.exit_code == 1 and isinstance(failed, PromotionRequest)
        assert failed.status is RequestStatus.FAILED and failed.gates.blocking == ["metrics"]
        assert f"request #{failed.id} (failed)" in str(caught.value)
        assert "roc_auc" in str(caught.value)
        assert t["vic"].request(failed.id) == failed
        assert t.admin.model(MODEL).deployed == {}
        (event,) = t.admin.audit_log(action="promotion.gates_failed")
        assert event.actor == "omar" and event.details["gates"]["blocking"] == ["metrics"]

        # An approval cannot revive it.
        with pytest.raises(ConflictError, match=r"is failed: its gates blocked it"):
            t["amal"].approve(failed.id)


def test_a_newer_request_supersedes_the_older_one(project: Project) -> None:
    with team(project) as t:
        older = t["omar"].promote(MODEL, 1, "production")
        newer = t["omar"].promote(MODEL, 2, "production")
        assert isinstance(older, PromotionRequest) and isinstance(newer, PromotionRequest)
        assert t["vic"].request(older.id).status is RequestStatus.SUPERSEDED
        assert t["vic"].request(newer.id).status is RequestStatus.OPEN
        (event,) = t.admin.audit_log(action="promotion.superseded")
        assert (event.details["request_id"], event.details["superseded_by"]) == (
            older.id, newer.id)
        before = snapshot(t.admin)
        with pytest.raises(ConflictError, match=rf"superseded: a newer request \(#{newer.id}\)"):
            t["amal"].approve(older.id)
        assert snapshot(t.admin) == before
        assert t["amal"].approve(newer.id).status is RequestStatus.PROMOTED
        assert t.admin.model(MODEL).deployed == {"production": 2}


def test_a_request_in_another_environment_is_not_superseded(project: Project) -> None:
    with team(project, environments={
            "staging": {"gates": [], "approval": {"approvals": 1}},
            "production": {"gates": [], "approval": {"approvals": 1}}}) as t:
        staging = t["omar"].promote(MODEL, 1, "staging")
        t["omar"].promote(MODEL, 2, "production")
        assert isinstance(staging, PromotionRequest)
        assert t["vic"].request(staging.id).status is RequestStatus.OPEN


def test_reject_closes_the_request_with_its_reason(project: Project) -> None:
    with team(project) as t:
        request = t["omar"].promote(MODEL, 1, "production")
        assert isinstance(request, PromotionRequest)
        before = snapshot(t.admin)
        for empty in ("", "   "):
            with pytest.raises(InputError, match="comment"):
                t["amal"].reject(request.id, comment=empty)
        assert snapshot(t.admin) == before

        rejected = t["amal"].reject(request.id, comment="evidence too thin")
        assert rejected.status is RequestStatus.REJECTED and rejected.closed_at is not None
        assert [(a.principal, a.decision, a.comment) for a in rejected.approvals] == [
            ("amal", "reject", "evidence too thin")]
        assert rejected.message.endswith("was rejected by amal.")
        (event,) = t.admin.audit_log(action="promotion.rejected")
        assert (event.actor, event.details["comment"]) == ("amal", "evidence too thin")
        with pytest.raises(ConflictError, match="is rejected: it was rejected; run `rasad "
                                                "promote credit 1 --to production`"):
            t["bilal"].approve(request.id)
        assert t.admin.model(MODEL).deployed == {}


def test_the_opener_may_withdraw_a_request_by_rejecting_it(project: Project) -> None:
    with team(project) as t:
        request = t["omar"].promote(MODEL, 1, "production")
        assert isinstance(request, PromotionRequest)
        withdrawn = t["omar"].reject(request.id, comment="wrong version")
        assert withdrawn.status is RequestStatus.REJECTED


@pytest.mark.local_only(reason="sets the clock of a member's context")
def test_a_request_expires_after_its_time_to_live(project: Project) -> None:
    with team(project, versions=1, request_ttl_days=2) as t:
        request = t["omar"].promote(MODEL, 1, "production")
        assert isinstance(request, PromotionRequest)
        assert request.expires_at == after(request.opened_at, days=2)
        late = at(t["amal"].context, after(request.opened_at, days=2, seconds=1))
        seen = service.get_request(late, request.id)
        assert seen.status is RequestStatus.EXPIRED and "expired at" in seen.message
        assert [r.id for r in service.list_requests(late, status="expired")] == [request.id]
        assert service.list_requests(late, status="open") == []
        before = snapshot(t.admin)
        with pytest.raises(ConflictError, match=r"is expired: it expired at .* "
                                                r"\(promotion.request_ttl_days\)"):
            service.approve(late, request.id)
        assert snapshot(t.admin) == before
        # A minute before, the same approval goes through.
        early = at(t["amal"].context, after(request.opened_at, days=2, seconds=-60))
        assert service.approve(early, request.id).status is RequestStatus.PROMOTED


def test_lookups_name_what_there_is(project: Project) -> None:
    with team(project, versions=1) as t:
        with pytest.raises(NotFoundError, match="the project has no promotion requests yet"):
            t["vic"].request(1)
        request = t["omar"].promote(MODEL, 1, "production")
        assert isinstance(request, PromotionRequest)
        with pytest.raises(NotFoundError, match=rf"No promotion request #99; ids run up to "
                                                rf"{request.id}"):
            t["vic"].request(99)
        with pytest.raises(NotFoundError):
            t["amal"].approve(99)
        with pytest.raises(InputError, match="'pending' is not one of open, promoted"):
            t["vic"].requests(status="pending")


def test_the_stored_report_is_checked_against_its_hash(project: Project) -> None:
    with team(project, versions=1) as t:
        request = t["omar"].promote(MODEL, 1, "production")
        assert isinstance(request, PromotionRequest)
        with t.admin.db.read_engine.connect() as conn:
            row = conn.execute(sa.text("SELECT gates_blob, evidence_key FROM promotion_requests "
                                       "WHERE id = :id"), {"id": request.id}).one()
        assert json.loads(row.evidence_key) == request.gates.evidence_key
        assert GateReport.from_json(t.admin.artifacts.get_bytes(row.gates_blob)) == \
            request.gates
        flip_one_byte(blob_path(t.admin, row.gates_blob))
        with pytest.raises(IntegrityError):
            t["vic"].request(request.id)


def test_garbage_collection_keeps_every_gate_report(project: Project) -> None:
    with team(project, versions=1) as t:
        request = t["omar"].promote(MODEL, 1, "production")
        assert isinstance(request, PromotionRequest)
        report = t.admin.gc(dry_run=False, min_age_s=0.0)
        assert report.removed and report.unreferenced == []
        assert t["vic"].request(request.id).gates == request.gates


DOCS = Path(__file__).resolve().parents[2] / "docs" / "promotion.md"


def test_the_documented_python_flow_runs(capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASAD_USER", "tester")  # the example sets it; restored afterwards
    section = DOCS.read_text(encoding="utf-8").split(
        "## Requests, approvals and break-glass", 1)[1]
    example = re.search(r"```python\n(.*?)```\n\n```\n(.*?)```", section, flags=re.S)
    assert example is not None
    exec(compile(example.group(1), str(DOCS), "exec"), {})
    assert capsys.readouterr().out == example.group(2)
