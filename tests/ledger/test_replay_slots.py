"""State replay of deployment slots: canaries and shadows deployed, rolled back and retired
replay to the tables, and a slot row forged, deleted or revived by SQL is named (SQLite and
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from rasad import Project
from rasad.ledger import ProblemKind, Verification
from rasad.ledger.replay import StateReplay
from tests.registry._helpers import registered, serve_canary
from tests.release._requests_seed import MODEL, Team, team

from . import _attacks as attack


@dataclass(frozen=True)
class Slotted:
    project: Project
    canary_deployment: int  # credit@2, the canary of staging, retired
    shadow_deployment: int  # credit@3, the shadow of staging, serving


@pytest.fixture
def slotted(project: Project) -> Iterator[Slotted]:
    """staging: primary credit@1, a canary 2 -> 3 rolled back to 2 then retired, a shadow 3."""
    registered(project, versions=3)
    serve_canary(project.root, "staging")
    with Project.open(project.root) as p:
        p.promote(MODEL, 1, "staging")
        canary = p.promote(MODEL, 2, "staging", slot="canary")
        p.promote(MODEL, 3, "staging", slot="canary")
        back = p.rollback(MODEL, "staging", slot="canary")
        assert back.version == canary.version
        shadow = p.promote(MODEL, 3, "staging", slot="shadow")
        p.retire(MODEL, "staging", "canary", reason="done")
        yield Slotted(p, back.id, shadow.id)


def _state_problems(result: Verification) -> list[tuple[str | None, int | None]]:
    assert all(p.kind is ProblemKind.STATE for p in result.problems), result.problems
    return [(p.row, p.seq) for p in result.problems]


def _seq(project: Project, action: str) -> int:
    return project.audit_log(action=action)[-1].seq


def test_slots_rolled_back_and_retired_replay_clean(slotted: Slotted) -> None:
    result = slotted.project.verify_audit()
    assert result.ok, result.problems
    assert result.state is not None
    assert result.state["current_deployments"] == 2  # the primary and the shadow
    assert result.state["deployments"] == 5


def test_a_forged_canary_row_is_named(slotted: Slotted) -> None:
    """The canary was retired: a pointer inserted for it by SQL is caught, with the event
    that emptied the slot."""
    project = slotted.project
    attack.execute(project, """
        INSERT INTO current_deployments (model_name, environment, deployment_id, active)
        VALUES ('credit', 'staging:canary', :d, :t)""", d=slotted.canary_deployment, t=True)
    result = project.verify_audit()
    assert _state_problems(result) == [
        ("current_deployments (credit, staging:canary)", _seq(project, "model.retire"))]
    assert "the ledger retired credit@2 there" in (result.reason or "")


def test_a_canary_row_for_a_slot_never_used_is_named(slotted: Slotted) -> None:
    project = slotted.project
    attack.execute(project, """
        INSERT INTO current_deployments (model_name, environment, deployment_id, active)
        VALUES ('credit', 'production:canary', :d, :t)""", d=slotted.shadow_deployment, t=True)
    result = project.verify_audit()
    assert _state_problems(result) == [("current_deployments (credit, production:canary)",
                                        None)]
    assert "records no deployment of credit to production:canary" in (result.reason or "")


def test_a_deleted_or_repointed_shadow_row_is_named(slotted: Slotted) -> None:
    project = slotted.project
    seq = _seq(project, "model.promotion")  # the shadow's deployment, the last one
    attack.execute(project, "UPDATE current_deployments SET deployment_id = :d "
                            "WHERE environment = 'staging:shadow'", d=slotted.canary_deployment)
    result = project.verify_audit()
    assert _state_problems(result) == [("current_deployments (credit, staging:shadow)", seq)]
    assert "serves credit@2" in (result.reason or "")
    attack.execute(project, "DELETE FROM current_deployments WHERE environment = "
                            "'staging:shadow'")
    assert _state_problems(project.verify_audit()) == [
        ("current_deployments (credit, staging:shadow)", seq)]


def test_a_forged_retirement_event_is_caught_by_replay(slotted: Slotted) -> None:
    """An appended retirement with a fresh time passes every checkpoint; the shadow row that
    still serves does not match it."""
    project = slotted.project
    seq = attack.append(project, "model.retire", "model:credit", {
        "environment": "staging:shadow", "slot": "shadow", "version": 3,
        "deployment_id": slotted.shadow_deployment, "reason": None},
        "2099-01-01T00:00:00.000000Z")
    assert project.verify_audit(replay=False).ok
    assert _state_problems(project.verify_audit()) == [
        ("current_deployments (credit, staging:shadow)", seq)]


def test_a_deployment_after_a_retirement_serves_again() -> None:
    replay = StateReplay()
    replay.feed(1, "model.promotion", "model:credit", '{"environment":"dev:canary","version":2}')
    replay.feed(2, "model.retire", "model:credit", '{"environment":"dev:canary","version":2}')
    assert replay.retired == {("credit", "dev:canary"): (2, 2)}
    replay.feed(3, "model.promotion", "model:credit", '{"environment":"dev:canary","version":3}')
    assert replay.retired == {}
    assert replay.deployments[("credit", "dev:canary")][-1] == (3, 3, "promotion")


@pytest.fixture
def governed_canary(project: Project) -> Iterator[Team]:
    """production: credit@1 approved as the primary, credit@2 approved as the canary."""
    with team(project, versions=2) as t:
        serve_canary(t.root, "production")
        t.reopen()
        primary = t["omar"].promote(MODEL, 1, "production")
        t["amal"].approve(primary.id)
        canary = t["omar"].promote(MODEL, 2, "production", slot="canary")
        t["amal"].approve(canary.id)
        yield t


def test_a_canary_request_replays_and_its_forged_status_is_named(governed_canary: Team
                                                                 ) -> None:
    t = governed_canary
    assert t.admin.verify_audit().ok
    (canary,) = t.admin.requests(environment="production:canary")
    attack.execute(t.admin, "UPDATE promotion_requests SET environment = 'production' "
                            "WHERE id = :i", i=canary.id)
    rows = [row for row, _ in _state_problems(t.admin.verify_audit())]
    assert rows == [f"promotion_requests (#{canary.id})"]
