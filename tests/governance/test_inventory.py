"""The model inventory (``Project.inventory``, SQLite, PostgreSQL and over the API): every
figure compared with what the registry, the requests, the validations and the automation
tables hold.

The project: ``credit`` (two versions; v1 the primary of staging and production, v2 the
canary of staging, an open request for v2 to production, an owner and risk tier declared)
and ``scorecard`` (one version forced into production, its break-glass not reviewed, no
declaration).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rasad import Project
from rasad.automation import claims
from rasad.automation.agent import run_pass
from rasad.automation.inventory import inventory
from rasad.governance.inventory import CONTROLS, Inventory, InventoryEntry
from rasad.registry import models as registry
from rasad.release.requests import PromotionRequest, RequestStatus
from tests._http import local
from tests.automation.test_monitors import as_agent, automation, loans_file, make_project
from tests.registry._helpers import serve_canary, train
from tests.release._requests_seed import MODEL, Team, after, at, team

pytestmark = pytest.mark.over_http

T0 = "2026-05-05T00:00:00.000000Z"


def declare(root: Path, models: dict[str, Any]) -> None:
    """Set ``governance.models`` of rasad.yaml."""
    path = root / "rasad.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config.setdefault("governance", {})["models"] = models
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def entry(found: Inventory, name: str) -> InventoryEntry:
    (one,) = [m for m in found.models if m.model == name]
    return one


@pytest.fixture
def governed(project: Project) -> Iterator[Team]:
    with team(project, versions=2) as t:
        declare(t.root, {MODEL: {"owner": "model-risk@bank", "risk_tier": "high"},
                         "ghost": {"owner": "nobody"}})
        serve_canary(t.root, "staging")
        t.reopen()
        t["omar"].promote(MODEL, 1, "staging")
        t["omar"].promote(MODEL, 2, "staging", slot="canary")
        first = t["omar"].promote(MODEL, 1, "production")
        assert isinstance(first, PromotionRequest)
        t["amal"].approve(first.id)
        opened = t["omar"].promote(MODEL, 2, "production")
        assert isinstance(opened, PromotionRequest) and opened.status is RequestStatus.OPEN
        run = train(t["dana"])
        t["rami"].register(run.id, "scorecard")
        t["ada"].force_promote("scorecard", 1, "production", justification="INC-42 outage")
        yield t


def test_every_figure_matches_the_registry(governed: Team) -> None:
    t = governed
    found = t["vic"].inventory()  # a viewer may read it
    assert [m.model for m in found.models] == [MODEL, "scorecard"]
    assert found.orphan_declarations == ["ghost"]
    assert found.controls == list(CONTROLS)
    assert found.not_tracked == []  # retrain_required is tracked (test_subjects_retention)
    assert all(e.retrain_required == [] for e in found.models)  # no erasure here

    credit, scorecard = entry(found, MODEL), entry(found, "scorecard")
    # Declarations: as written, and missing ones shown as missing, never filled in.
    assert (credit.declared, credit.owner, credit.risk_tier, credit.missing) == (
        True, "model-risk@bank", "high", [])
    assert (scorecard.declared, scorecard.owner, scorecard.risk_tier, scorecard.missing) == (
        False, None, None, ["owner", "risk_tier"])
    assert (credit.versions, credit.latest_version) == (2, 2)

    # Serving: what the registry's serving_versions gives for each environment.
    ctx = local(t["tester"]).context
    for model in (credit, scorecard):
        expected = []
        for env in ctx.config.registry.environments:
            held = registry.serving_versions(ctx, env).get(model.model)
            if held is not None:
                expected.append((env, held.primary.version,
                                 held.canary.version if held.canary else None,
                                 held.shadow.version if held.shadow else None))
        assert [(s.environment, s.primary, s.canary, s.shadow) for s in model.serving] == \
            expected
    assert [(s.environment, s.primary, s.canary) for s in credit.serving] == [
        ("staging", 1, 2), ("production", 1, None)]

    # Requests: the open one, the approval, the break-glass awaiting review.
    opened = t["tester"].requests(model=MODEL, status="open")
    assert [r.id for r in credit.open_requests] == [r.id for r in opened]
    assert (credit.open_requests[0].version, credit.open_requests[0].environment,
            credit.open_requests[0].approvals_required) == (2, "production", 1)
    assert scorecard.open_requests == []
    approved = [r for r in t["tester"].requests(model=MODEL) if r.approved_by]
    (given,) = [a for r in approved for a in r.approvals]
    assert credit.last_approval is not None
    assert (credit.last_approval.approver, credit.last_approval.approved_at,
            credit.last_approval.request_id) == ("amal", given.created_at, approved[0].id)
    assert scorecard.last_approval is None
    (forced,) = t["tester"].requests(model="scorecard", status="forced")
    assert [(b.request_id, b.forced_by, b.justification, b.environment)
            for b in scorecard.break_glass_unreviewed] == [
        (forced.id, "ada", "INC-42 outage", "production")]
    assert credit.break_glass_unreviewed == []

    # Training data: never validated yet.
    assert [(d.dataset, d.model_versions, d.last_validated_at) for d in credit.training_data] \
        == [("loans@1", [1, 2], None)]


def test_a_review_validation_and_approval_move_the_figures(governed: Team) -> None:
    t = governed
    (forced,) = t["tester"].requests(model="scorecard", status="forced")
    t["amal"].review(forced.id, comment="outage fix checked")
    t["tester"].infer_schema("loans")
    t["tester"].validate("loans")
    (opened,) = t["tester"].requests(model=MODEL, status="open")
    t["bilal"].approve(opened.id)

    found = t["tester"].inventory()
    credit, scorecard = entry(found, MODEL), entry(found, "scorecard")
    assert scorecard.break_glass_unreviewed == []
    (validation,) = t["tester"].validations("loans")
    # v2 now serves production as well: its data counts once, for both versions.
    assert [(d.dataset, d.model_versions, d.last_validated_at, d.ok)
            for d in credit.training_data] == [
        ("loans@1", [1, 2], validation.created_at, validation.ok)]
    assert credit.open_requests == []
    assert credit.last_approval is not None
    assert (credit.last_approval.approver, credit.last_approval.request_id) == (
        "bilal", opened.id)
    assert ("production", 2) in [(s.environment, s.primary) for s in credit.serving]


@pytest.mark.local_only
def test_an_expired_request_is_not_open(governed: Team) -> None:
    ctx = local(governed["tester"]).context
    (opened,) = governed["tester"].requests(model=MODEL, status="open")
    assert opened.expires_at is not None
    just_before = inventory(at(ctx, after(opened.expires_at, seconds=-1)))
    assert [r.id for r in entry(just_before, MODEL).open_requests] == [opened.id]
    expired = inventory(at(ctx, opened.expires_at))
    assert entry(expired, MODEL).open_requests == []
    assert expired.generated_at == opened.expires_at


@pytest.mark.local_only
def test_a_monitor_that_names_no_model_judges_none(backend: str, tmp_path: Path) -> None:
    section = automation()
    # No model, no retraining, a files source: the monitor cannot tell its model.
    section["monitors"]["income-drift"].pop("model")
    section["monitors"]["other-drift"] = {"kind": "drift", "source": "incoming",
                                          "model": "not-registered"}
    with make_project(tmp_path / "p", section) as project:
        found = project.inventory()
        assert [(m.model, m.monitors) for m in found.models] == [("credit", [])]


def test_an_empty_project_and_the_json_round_trip(project: Project) -> None:
    empty = project.inventory()
    assert empty.models == [] and empty.orphan_declarations == []
    assert Inventory.from_dict(empty.to_dict()) == empty


@pytest.mark.local_only
def test_the_loop_state_open_trigger_retraining_and_last_alert(backend: str,
                                                                tmp_path: Path) -> None:
    section = automation(retraining={"credit": {}})
    section["monitors"]["income-drift"]["actions"] = ["alert", "retrain"]
    with make_project(tmp_path / "p", section) as project:
        ctx = as_agent(project)
        # Another agent holds the first trigger's actions: it stays open after the pass.
        assert claims.claim(ctx, "trigger:1", owner="elsewhere", lease_seconds=3600)
        loans_file(project.root, "a.csv", seed=9, income=3.0)
        report = run_pass(ctx, owner="agent-1", now=T0)
        assert report.ok, report.problems
        (fired,) = [run for run in report.monitors if run.fired]

        credit = entry(project.inventory(), "credit")
        assert credit.monitors == ["income-drift"]
        assert [(t.id, t.monitor, t.kind, t.retraining) for t in credit.open_triggers] == [
            (1, "income-drift", "drift", [])]
        assert credit.open_triggers[0].actions == ["alert", "retrain"]
        assert credit.last_retraining is None
        assert credit.last_alert is not None and fired.result is not None
        assert (credit.last_alert.result_id, credit.last_alert.monitor,
                credit.last_alert.kind, credit.last_alert.created_at) == (
            fired.result.id, "income-drift", "drift", fired.result.created_at)

        claims.release(ctx, "trigger:1", owner="elsewhere")
        report = run_pass(ctx, owner="agent-1", now=T0)
        assert report.ok, report.problems
        done = report.triggers[-1]
        credit = entry(project.inventory(), "credit")
        assert credit.open_triggers == []
        assert credit.last_retraining is not None
        assert (credit.last_retraining.trigger_id, credit.last_retraining.status,
                credit.last_retraining.version) == (
            1, done.outcome["retrain"]["status"], done.outcome["retrain"]["version"])
        assert credit.latest_version == 2
        ctx.close()
