"""Deployment slots: a canary and a shadow beside each environment's primary, stored under
``ENV:SLOT``, retired, rolled back, and read together for a prediction server (SQLite and
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.config import ProjectConfig
from rasad.errors import ConflictError, InputError, NotFoundError
from rasad.registry import DeploymentKind, Retirement, ServingSet, Slot, models
from rasad.registry.slots import describe, parse_slot, split, target, to_options
from tests.identity._helpers import snapshot

from ._helpers import current_rows, registered, serve_canary

ENV = "staging"  # every gate (none declared: all skipped), no approval


@pytest.fixture
def slotted(project: Project) -> Iterator[Project]:
    """credit@1-3, and staging with a canary share (the project reopened to read it)."""
    registered(project, versions=3)
    serve_canary(project.root, ENV, share=0.25, key="customer_id")
    with Project.open(project.root) as reopened:
        yield reopened


# -- naming ------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["dev", "production", "eu-west_2"])
def test_every_target_splits_back_to_its_environment_and_slot(env: str) -> None:
    for slot in Slot:
        assert split(target(env, slot)) == (env, slot)
        assert to_options(target(env, slot)).startswith(f"--to {env}")
    assert target(env) == target(env, "PRIMARY ") == env  # the primary is the plain name
    assert describe(target(env, "shadow")) == f"the shadow of {env}"


@pytest.mark.parametrize("stored", ["production:primary", "production:blue",
                                    "production:canary:x", "production:"])
def test_a_target_that_names_no_slot_is_refused(stored: str) -> None:
    with pytest.raises(InputError, match="slot|primary is stored as"):
        split(stored)


def test_an_environment_name_cannot_hold_the_separator() -> None:
    # Otherwise 'prod:canary' could be an environment and the canary of 'prod' at once.
    with pytest.raises(InputError, match="letters, digits, '-' and '_' only"):
        ProjectConfig.from_yaml_text("name: x\nregistry:\n  environments: [dev, 'prod:canary']\n")


def test_an_unknown_slot_lists_the_slots() -> None:
    with pytest.raises(InputError, match=r"'blue' is not a deployment slot; slots are "
                                         r"primary, canary, shadow"):
        parse_slot("blue")


# -- deploying beside the primary --------------------------------------------------------


def test_a_canary_and_a_shadow_serve_beside_the_primary(slotted: Project) -> None:
    project = slotted
    project.promote("credit", 1, "dev")
    primary = project.promote("credit", 1, ENV)
    canary = project.promote("credit", 2, ENV, slot="canary", reason="ten percent first")
    shadow = project.promote("credit", 3, ENV, slot=Slot.SHADOW)
    assert (canary.environment, canary.slot, canary.version, canary.previous_version) == (
        "staging:canary", Slot.CANARY, 2, None)
    assert (shadow.environment, shadow.slot) == ("staging:shadow", Slot.SHADOW)
    assert primary.slot is Slot.PRIMARY and canary.changed and shadow.changed

    detail = project.model("credit")
    # Each slot right after its environment, whatever order the rows come in.
    assert list(detail.deployed.items()) == [
        ("dev", 1), ("staging", 1), ("staging:canary", 2), ("staging:shadow", 3)]
    assert detail.to_dict()["versions"][1]["environments"] == ["staging:canary"]
    # Every existing read of (model, environment) still means the primary.
    assert project.model_version("credit", env=ENV).version == 1
    assert [env for env, _ in current_rows(project, "credit")] == [
        "dev", "staging", "staging:canary", "staging:shadow"]

    events = project.audit_log(action="model.promotion")
    assert [(e.details["environment"], e.details.get("slot"), e.details["version"])
            for e in events] == [("dev", None, 1), (ENV, None, 1),
                                 ("staging:canary", "canary", 2), ("staging:shadow", "shadow", 3)]
    assert events[2].details["reason"] == "ten percent first"
    # The same version again is left alone, as for a primary.
    again = project.promote("credit", 2, ENV, slot="canary")
    assert not again.changed and again.id == canary.id
    assert project.verify_audit().ok


def test_a_canary_needs_its_traffic_share_declared(project: Project) -> None:
    registered(project, versions=2)
    project.promote("credit", 1, ENV)
    before = snapshot(project)
    with pytest.raises(InputError) as refused:
        project.promote("credit", 2, ENV, slot="canary")
    message = str(refused.value)
    assert "set serving.environments.staging.canary in rasad.yaml" in message
    assert "share" in message
    assert snapshot(project) == before  # nothing ran, nothing written
    # A shadow answers nobody: it needs no share.
    assert project.promote("credit", 2, ENV, slot="shadow").environment == "staging:shadow"


def test_a_canary_or_shadow_runs_only_beside_another_primary(slotted: Project) -> None:
    project = slotted
    before = snapshot(project)
    with pytest.raises(ConflictError, match=r"no primary in 'staging'.*rasad promote credit "
                                            r"VERSION --to staging"):
        project.promote("credit", 2, ENV, slot="canary")
    project.promote("credit", 1, ENV)
    before = snapshot(project)
    for slot in ("canary", "shadow"):
        with pytest.raises(ConflictError, match=rf"credit@1 is the primary of staging; it "
                                                rf"cannot also be its {slot}"):
            project.promote("credit", 1, ENV, slot=slot)
    assert snapshot(project) == before


def test_the_primary_key_allows_one_canary_per_model_and_environment(
        slotted: Project) -> None:
    project = slotted
    project.promote("credit", 1, ENV)
    canary = project.promote("credit", 2, ENV, slot="canary")
    with pytest.raises(sa.exc.IntegrityError), project.db.write_engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO current_deployments (model_name, environment, deployment_id, active) "
            "VALUES ('credit', 'staging:canary', :d, :t)"), {"d": canary.id, "t": True})


# -- retiring ----------------------------------------------------------------------------


def test_retire_ends_a_canary_and_keeps_its_history(slotted: Project) -> None:
    project = slotted
    project.promote("credit", 1, ENV)
    canary = project.promote("credit", 2, ENV, slot="canary")
    project.promote("credit", 3, ENV, slot="shadow")
    retired = project.retire("credit", ENV, "canary", reason="error rate up")
    assert isinstance(retired, Retirement)
    assert (retired.environment, retired.slot, retired.version, retired.deployment_id,
            retired.reason, retired.retired_by) == (
        "staging:canary", Slot.CANARY, 2, canary.id, "error rate up", "tester")
    assert retired.message == "Retired: credit v2 is no longer the canary of staging."
    assert project.model("credit").deployed == {"staging": 1, "staging:shadow": 3}
    assert canary in project.model("credit").history

    (event,) = project.audit_log(action="model.retire")
    assert event.subject == "model:credit"
    assert {k: event.details[k] for k in ("environment", "slot", "version", "deployment_id",
                                          "reason")} == {
        "environment": "staging:canary", "slot": "canary", "version": 2,
        "deployment_id": canary.id, "reason": "error rate up"}
    assert project.verify_audit().ok

    before = snapshot(project)
    with pytest.raises(ConflictError, match="no canary in 'staging'; there is nothing to"):
        project.retire("credit", ENV, "canary")
    with pytest.raises(InputError, match="primary of staging is not retired"):
        project.retire("credit", ENV, "primary")
    with pytest.raises(InputError, match="not a deployment slot"):
        project.retire("credit", ENV, "blue")
    with pytest.raises(NotFoundError, match="No environment 'qa'"):
        project.retire("credit", "qa", "shadow")
    with pytest.raises(NotFoundError, match="No model named 'nope'"):
        project.retire("nope", ENV, "shadow")
    assert snapshot(project) == before

    # A new canary starts afresh: it replaced nothing, and has nothing to roll back to.
    fresh = project.promote("credit", 3, ENV, slot="canary")
    assert fresh.previous_version is None
    assert project.model("credit").history[-1].previous_version is None
    with pytest.raises(ConflictError, match="as the canary of 'staging' has no earlier"):
        project.rollback("credit", ENV, slot="canary")


def test_the_canary_version_becoming_primary_retires_the_canary(slotted: Project) -> None:
    project = slotted
    project.promote("credit", 1, ENV)
    project.promote("credit", 2, ENV, slot="canary")
    project.promote("credit", 3, ENV, slot="shadow")
    first_new = project.audit_log()[-1].seq + 1
    promoted = project.promote("credit", 2, ENV)
    assert promoted.version == 2 and promoted.previous_version == 1
    assert project.model("credit").deployed == {"staging": 2, "staging:shadow": 3}
    events = [e for e in project.audit_log() if e.seq >= first_new]
    # One transaction: the promotion, then the retirement it implied, nothing else of slots.
    assert [(e.action, e.details.get("environment")) for e in events
            if e.action.startswith("model.")] == [
        ("model.promotion", ENV), ("model.retire", "staging:canary")]
    assert events[-1].details["reason"] == "credit@2 became the primary of staging"
    assert project.verify_audit().ok

    # Rolling the primary back onto the shadow's version retires the shadow the same way.
    project.promote("credit", 3, ENV)  # primary 3, the shadow (3) retired with it
    assert project.model("credit").deployed == {"staging": 3}
    project.promote("credit", 2, ENV, slot="shadow")
    back = project.rollback("credit", ENV)
    assert (back.version, back.kind) == (2, DeploymentKind.ROLLBACK)
    assert project.model("credit").deployed == {"staging": 2}
    assert [e.details["reason"] for e in project.audit_log(action="model.retire")] == [
        "credit@2 became the primary of staging", "credit@3 became the primary of staging",
        "credit@2 became the primary of staging"]
    assert project.verify_audit().ok


def test_a_slot_rolls_back_like_the_primary(slotted: Project) -> None:
    project = slotted
    with pytest.raises(ConflictError, match="nothing deployed as the canary of 'staging'"):
        project.rollback("credit", ENV, slot="canary")
    project.promote("credit", 1, ENV)
    project.promote("credit", 2, ENV, slot="canary")
    third = project.promote("credit", 3, ENV, slot="canary")
    assert third.previous_version == 2
    back = project.rollback("credit", ENV, slot="canary", reason="3 misbehaves")
    assert (back.environment, back.version, back.previous_version, back.kind) == (
        "staging:canary", 2, 3, DeploymentKind.ROLLBACK)
    (event,) = project.audit_log(action="model.rollback")
    assert (event.details["environment"], event.details["slot"], event.details["version"]) == (
        "staging:canary", "canary", 2)
    assert project.model("credit").deployed == {"staging": 1, "staging:canary": 2}
    with pytest.raises(ConflictError, match="has no earlier deployment"):
        project.rollback("credit", ENV, slot="canary")
    assert project.verify_audit().ok


def test_a_slot_never_rolls_back_onto_the_primary_version(slotted: Project) -> None:
    project = slotted
    project.promote("credit", 1, ENV)
    project.promote("credit", 2, ENV, slot="canary")
    project.promote("credit", 3, ENV, slot="canary")
    project.promote("credit", 2, ENV)  # 2 is the primary now (the canary holds 3)
    before = snapshot(project)
    with pytest.raises(ConflictError, match="credit@2 is the primary of staging"):
        project.rollback("credit", ENV, slot="canary")
    assert snapshot(project) == before


# -- what a server loads -----------------------------------------------------------------


def test_serving_versions_gives_each_model_its_primary_canary_and_shadow(
        slotted: Project) -> None:
    project = slotted
    ctx = project.context
    assert models.serving_versions(ctx, ENV) == {}
    project.promote("credit", 1, ENV)
    project.promote("credit", 2, ENV, slot="canary")
    project.promote("credit", 3, ENV, slot="shadow")
    project.promote("credit", 3, "dev")
    other = project.register(project.runs()[-1].id, "other")
    project.promote("other", other.version, ENV)

    found = models.serving_versions(ctx, ENV)
    assert list(found) == ["credit", "other"]
    credit = found["credit"]
    assert isinstance(credit, ServingSet)
    assert credit.primary == project.model_version("credit", 1)  # with its lineage
    assert credit.canary == project.model_version("credit", 2)
    assert credit.shadow == project.model_version("credit", 3)
    assert credit.of(Slot.CANARY) == credit.canary and credit.primary.id is not None
    assert found["other"] == ServingSet(primary=other, canary=None, shadow=None)
    assert models.serving_versions(ctx, "dev") == {
        "credit": ServingSet(primary=project.model_version("credit", 3))}
    assert models.serving_versions(ctx, "production") == {}
    with pytest.raises(NotFoundError, match="No environment 'prod'"):
        models.serving_versions(ctx, "prod")

    project.retire("credit", ENV, "shadow")
    assert models.serving_versions(ctx, ENV)["credit"].shadow is None
