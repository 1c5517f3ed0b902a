"""Rollback refusals, word for word: they tell the operator what state the model is in.

Written against the mutants mutation testing left alive (docs/testing.md).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.config import CONFIG_FILE
from rasad.errors import ConflictError, InputError, PermissionDenied
from rasad.identity import Role
from rasad.registry import promotion

from ._helpers import CUSTOM_ESTIMATOR, registered, train, without_approval


def with_canary(project: Project) -> None:
    """Declare a canary for ``dev`` in rasad.yaml (reopen the project to read it)."""
    config = project.root / CONFIG_FILE
    config.write_text(config.read_text(encoding="utf-8") + (
        "serving:\n  environments:\n    dev: {canary: {share: 0.1, key: application_id}}\n"),
        encoding="utf-8")


def test_rollback_refusals_say_why_and_write_nothing(project: Project) -> None:
    with without_approval(project, "production") as project:
        registered(project)
        before = len(project.audit_log())
        with pytest.raises(ConflictError) as caught:
            project.rollback("credit", "production")
        assert str(caught.value) == ("Model 'credit' has nothing deployed in 'production'; "
                                     "there is nothing to roll back.")
        project.promote("credit", 1, "production")
        with pytest.raises(ConflictError) as caught:
            project.rollback("credit", "production")
        assert str(caught.value) == ("Model 'credit' in 'production' has no earlier deployment "
                                     "to roll back to.")
        assert len(project.audit_log()) == before + 1  # the promotion only


def test_a_rollback_to_a_version_trusted_by_the_project_records_that_trust(
        project: Project) -> None:
    config = project.root / CONFIG_FILE
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("  trusted_types: []\n",
                                   f"  trusted_types: [{CUSTOM_ESTIMATOR}]\n"), encoding="utf-8")
    with Project.open(project.root) as trusting:
        for _ in range(2):
            trusting.register(train(trusting, estimator=CUSTOM_ESTIMATOR).id, "custom")
        trusting.promote("custom", 1, "dev")
        trusting.promote("custom", 2, "dev")
        back = trusting.rollback("custom", "dev", reason="regression")
        assert (back.version, back.previous_version, back.kind) == (1, 2, "rollback")
    trust = project.audit_log(action="registry.trust")
    assert [(e.subject, e.details["use"]) for e in trust][-3:] == [
        ("model:custom@1", "promotion to dev"), ("model:custom@2", "promotion to dev"),
        ("model:custom@1", "rollback in dev")]
    assert trust[-1].details == {"types": [CUSTOM_ESTIMATOR], "use": "rollback in dev",
                                 "source": f"registry.trusted_types in {config}",
                                 "auth": "os-user"}
    rollback = project.audit_log(action="model.rollback")[-1]
    assert trust[-1].seq == rollback.seq + 1  # in the rollback's transaction


def test_promoting_the_serving_version_again_reports_no_change(project: Project) -> None:
    registered(project)
    first = project.promote("credit", 1, "dev")
    again = project.promote("credit", 1, "dev")
    assert first.changed is True and again.changed is False
    assert again.to_dict()["changed"] is False
    with project.db.read() as session:
        active = session.execute(sa.text("SELECT active FROM current_deployments")).scalars()
        assert [bool(a) for a in active] == [True]


def test_the_bare_deploy_step_records_its_reason_and_the_trust_it_relies_on(
        project: Project) -> None:
    config = project.root / CONFIG_FILE
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("  trusted_types: []\n",
                                   f"  trusted_types: [{CUSTOM_ESTIMATOR}]\n"), encoding="utf-8")
    with Project.open(project.root) as trusting:
        trusting.register(train(trusting, estimator=CUSTOM_ESTIMATOR).id, "custom")
        deployed = promotion.promote(trusting.context, "custom", 1, "dev", reason="set-up")
    assert (deployed.version, deployed.reason, deployed.changed) == (1, "set-up", True)
    event = project.audit_log(action="model.promotion")[-1]
    assert event.details["reason"] == "set-up"
    trust = project.audit_log(action="registry.trust")[-1]
    assert (trust.subject, trust.details["use"], trust.seq) == (
        "model:custom@1", "promotion to dev", event.seq + 1)


def test_promote_and_rollback_name_the_action_they_refuse(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    registered(project)
    project.add_principal("vic", roles=[Role.VIEWER])
    before = len(project.audit_log())
    monkeypatch.setenv("RASAD_USER", "vic")
    with Project.open(project.root) as vic:
        with pytest.raises(PermissionDenied, match=r"may not promote credit@1 to dev: "):
            promotion.promote(vic.context, "credit", 1, "dev")
        with pytest.raises(PermissionDenied, match=r"may not roll back credit in dev: "):
            promotion.rollback(vic.context, "credit", "dev")
    assert len(project.audit_log()) == before


def test_a_role_revoked_after_the_first_check_is_refused_under_the_lock(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployer's roles are read once when its context first needs them; revoked a
    moment later, the promotion and the rollback are refused once the write lock is held,
    naming the action, and nothing is deployed."""
    registered(project, versions=2)
    project.promote("credit", 1, "dev")
    project.promote("credit", 2, "dev")
    project.add_principal("dee", roles=[Role.DEPLOYER])
    monkeypatch.setenv("RASAD_USER", "dee")
    with Project.open(project.root) as dee:
        assert Role.DEPLOYER in dee.context.principal.roles  # the first check's view
        project.revoke_role("dee", Role.DEPLOYER)
        before = len(project.audit_log())
        with pytest.raises(PermissionDenied, match=r"may not promote credit@1 to dev: "):
            promotion.promote(dee.context, "credit", 1, "dev")
        with pytest.raises(PermissionDenied, match=r"may not roll back credit in dev: "):
            promotion.rollback(dee.context, "credit", "dev")
    assert len(project.audit_log()) == before
    assert project.model("credit").deployed == {"dev": 2}


def test_a_promotion_to_a_slot_lands_in_that_slot(project: Project) -> None:
    with_canary(project)
    with Project.open(project.root) as canaried:
        registered(canaried, versions=2)
        promotion.promote(canaried.context, "credit", 1, "dev")
        canary = promotion.promote(canaried.context, "credit", 2, "dev", slot="canary")
        assert canary.environment == "dev:canary"
        assert canaried.model("credit").deployed == {"dev": 1, "dev:canary": 2}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_prediction_servers_are_told_each_change_with_its_version(project: Project) -> None:
    """On PostgreSQL every deployment change is NOTIFYed on commit, naming the model, the
    stored target and the version now there (none once a canary is retired)."""
    import json

    import psycopg

    from rasad.registry.promotion import DEPLOYMENTS_CHANNEL

    with_canary(project)
    url = project.db.url.replace("postgresql+psycopg://", "postgresql://")
    with Project.open(project.root) as canaried, \
            psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {DEPLOYMENTS_CHANNEL}")
        # The channel is the server's, not the schema's: other tests' projects on the same
        # PostgreSQL notify on it too, so this model has a name of its own.
        registered(canaried, name="notified", versions=2)
        promotion.promote(canaried.context, "notified", 1, "dev")
        promotion.promote(canaried.context, "notified", 2, "dev", slot="canary")
        promotion.retire(canaried.context, "notified", "dev", "canary")
        told = []
        for note in listener.notifies(timeout=10):
            payload = json.loads(note.payload)
            if payload["model"] == "notified":
                told.append(payload)
            if len(told) == 3:
                break
    assert told == [{"environment": "dev", "model": "notified", "version": 1},
                    {"environment": "dev:canary", "model": "notified", "version": 2},
                    {"environment": "dev:canary", "model": "notified", "version": None}]


def test_retire_refuses_the_primary_and_names_what_it_refuses(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """The primary is never retired (the message says what to do instead); a viewer, and a
    deployer whose role is revoked after the first check (refused once the write lock is
    held), are told which retirement they may not do; nothing is recorded."""
    with_canary(project)
    with Project.open(project.root) as canaried:
        registered(canaried, versions=2)
        canaried.promote("credit", 1, "dev")
        canaried.promote("credit", 2, "dev", slot="canary")
        with pytest.raises(InputError) as caught:
            promotion.retire(canaried.context, "credit", "dev", "primary")
        assert str(caught.value) == (
            "The primary of dev is not retired: it answers the requests. Promote another "
            "version (`rasad promote credit VERSION --to dev`) or roll back (`rasad rollback "
            "credit --env dev`); retire takes --slot canary or --slot shadow.")
        canaried.add_principal("vic", roles=[Role.VIEWER])
        canaried.add_principal("dee", roles=[Role.DEPLOYER])
    before = len(project.audit_log())
    refused = r"may not retire the canary of credit in dev: "
    monkeypatch.setenv("RASAD_USER", "vic")
    with Project.open(project.root) as vic, pytest.raises(PermissionDenied, match=refused):
        promotion.retire(vic.context, "credit", "dev", "canary")
    monkeypatch.setenv("RASAD_USER", "dee")
    with Project.open(project.root) as dee:
        assert Role.DEPLOYER in dee.context.principal.roles  # the first check's view
        project.revoke_role("dee", Role.DEPLOYER)
        before += 1
        with pytest.raises(PermissionDenied, match=refused):
            promotion.retire(dee.context, "credit", "dev", "canary")
    assert len(project.audit_log()) == before
    assert project.model("credit").deployed == {"dev": 1, "dev:canary": 2}


def test_retire_records_the_artifact_and_tells_servers_the_slot_is_empty(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``model.retire`` event names the artifact that stops serving; the servers'
    notifications (PostgreSQL's NOTIFY, captured here on any database) name each version a
    promotion or rollback puts in place, and the emptied slot with no version."""
    with_canary(project)
    with Project.open(project.root) as canaried:
        versions = registered(canaried, versions=2)
        told: list[object] = []
        monkeypatch.setattr(promotion, "_notify", lambda tx, payload: told.append(payload))
        canaried.promote("credit", 2, "dev")
        canaried.promote("credit", 1, "dev")
        canaried.rollback("credit", "dev")
        canaried.promote("credit", 1, "dev")
        canary = canaried.promote("credit", 2, "dev", slot="canary")
        promotion.retire(canaried.context, "credit", "dev", "canary", reason="done")
    assert told == [{"model": "credit", "environment": "dev", "version": v} for v in (2, 1, 2, 1)
                    ] + [{"model": "credit", "environment": "dev:canary", "version": 2},
                         {"model": "credit", "environment": "dev:canary", "version": None}]
    event = project.audit_log(action="model.retire")[-1]
    assert event.details == {"environment": "dev:canary", "slot": "canary", "version": 2,
                             "artifact_sha256": versions[1].blob,
                             "deployment_id": canary.id, "reason": "done", "auth": "os-user"}


class _Session:
    """Just enough of a PostgreSQL session for ``_notify``: it records what it executes."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.executed: list[tuple[str, dict[str, object]]] = []

    def get_bind(self) -> object:
        return type("Bind", (), {"dialect": type("Dialect", (), {"name": self.dialect})})()

    def execute(self, statement: object, params: dict[str, object]) -> None:
        self.executed.append((str(statement), params))


# ids without the word "postgresql": mutation runs deselect every test id that holds it.
@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"], ids=["pg-dialect", "lite-dialect"])
def test_the_notification_is_this_pg_notify_call(dialect: str) -> None:
    """What PostgreSQL receives, checked without a server (the test above checks it with
    one, but mutation runs use SQLite only): one ``pg_notify`` on rasad's channel with the
    canonical JSON payload; nothing at all on SQLite."""
    session = _Session(dialect)
    tx = type("Tx", (), {"session": session})()
    promotion._notify(tx, {"version": 2, "model": "credit", "environment": "dev"})  # type: ignore[arg-type]
    assert session.executed == ([] if dialect == "sqlite" else [(
        "SELECT pg_notify(:channel, :payload)",
        {"channel": promotion.DEPLOYMENTS_CHANNEL,
         "payload": '{"environment":"dev","model":"credit","version":2}'})])
    assert promotion.DEPLOYMENTS_CHANNEL == "rasad_deployments"


def test_the_bare_deploy_step_leaves_the_serving_version_as_it_is(project: Project) -> None:
    """The registry's own promote (no request, no gates) called for the version already
    serving: no new deployment, event or trust record."""
    registered(project)
    first = promotion.promote(project.context, "credit", 1, "dev")
    before = len(project.audit_log())
    again = promotion.promote(project.context, "credit", 1, "dev")
    assert (first.changed, again.changed, again.version, again.id) == (True, False, 1, first.id)
    assert len(project.audit_log()) == before
    with project.db.read() as session:
        assert session.execute(sa.text("SELECT count(*) FROM deployments")).scalar() == 1
