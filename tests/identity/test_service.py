"""Principals and roles on a project (SQLite and PostgreSQL): changes, refusals, audit."""

from __future__ import annotations

import pytest
from alembic import command

from rasad import Project
from rasad.core import Context
from rasad.errors import ConflictError, InputError, NotFoundError, PermissionDenied
from rasad.identity import (
    OS_USER,
    Principal,
    PrincipalKind,
    Role,
    add_principal,
    bootstrap_admin,
    create_token,
    disable,
    grant,
    list_principals,
    local_principal,
    principal_info,
    revoke_role,
)
from rasad.identity.service import is_claimed
from rasad.store import migrate

from ._helpers import local_as, snapshot


def _events(project: Project, subject: str) -> list[tuple[str, dict[str, object]]]:
    return [(e.action, dict(e.details)) for e in project.audit_log(subject=subject)]


def test_the_local_creator_is_an_admin(admin: Principal) -> None:
    assert admin == Principal(name="tester", kind=PrincipalKind.PERSON, roles=(Role.ADMIN,),
                              auth=OS_USER)


def test_add_grant_revoke_disable_each_record_their_event(project: Project, ctx: Context,
                                                          admin: Principal) -> None:
    bob = add_principal(ctx, "bob", roles=[Role.VIEWER], by=admin)
    assert (bob.name, bob.kind, bob.roles, bob.created_by, bob.disabled_at) == \
        ("bob", PrincipalKind.PERSON, (Role.VIEWER,), "tester", None)
    assert grant(ctx, "bob", Role.DATA_SCIENTIST, Role.VIEWER, by=admin).roles == \
        (Role.VIEWER, Role.DATA_SCIENTIST)
    assert revoke_role(ctx, "bob", Role.VIEWER, by=admin).roles == (Role.DATA_SCIENTIST,)
    gone = disable(ctx, "bob", by=admin)
    assert gone.disabled_at is not None and principal_info(ctx, "bob") == gone
    by = {"auth": "os-user"}  # the actor, tester, is the event's own
    assert {e.actor for e in project.audit_log(subject="principal:bob")} == {"tester"}
    assert _events(project, "principal:bob") == [
        ("principal.add", {"kind": "person", "roles": ["viewer"], **by}),
        ("principal.grant", {"role": "data_scientist", **by}),  # viewer was held: no event
        ("principal.revoke", {"role": "viewer", **by}),
        ("principal.disable", by),
    ]
    assert project.verify_audit().ok


def test_service_accounts_and_the_listing(ctx: Context, admin: Principal) -> None:
    add_principal(ctx, "ci-bot", kind=PrincipalKind.SERVICE, roles=[Role.DATA_SCIENTIST],
                  by=admin)
    add_principal(ctx, "amal@bank.example", roles=[Role.APPROVER, Role.AUDITOR], by=admin)
    listed = {p.name: p for p in list_principals(ctx)}
    assert sorted(listed) == ["amal@bank.example", "ci-bot", "tester"]
    assert listed["ci-bot"].kind is PrincipalKind.SERVICE
    assert listed["tester"].roles == (Role.ADMIN,)
    assert listed["amal@bank.example"].to_dict()["roles"] == ["approver", "auditor"]


def test_the_local_principal_carries_its_granted_roles(ctx: Context, admin: Principal,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    add_principal(ctx, "bob", roles=[Role.DEPLOYER], by=admin)
    as_bob = Context.build(ctx.root, ctx.config, actor="bob")
    as_stranger = Context.build(ctx.root, ctx.config, actor="mallory")
    try:
        assert local_principal(as_bob).roles == (Role.DEPLOYER,)
        assert local_principal(as_stranger).roles == (Role.VIEWER,)  # reads only
        disable(ctx, "bob", by=admin)
        with pytest.raises(PermissionDenied, match="'bob' was disabled at"):
            local_principal(as_bob)
    finally:
        as_bob.close()
        as_stranger.close()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DATA_SCIENTIST, Role.APPROVER,
                                  Role.DEPLOYER, Role.AUDITOR])
def test_only_identity_managers_change_identities_and_a_refusal_changes_nothing(
        project: Project, ctx: Context, admin: Principal, role: Role) -> None:
    add_principal(ctx, "bob", roles=[role], by=admin)
    add_principal(ctx, "carol", roles=[Role.VIEWER], by=admin)
    bob = local_as(ctx, "bob")
    before = snapshot(project)
    attempts = [
        lambda: add_principal(ctx, "eve", roles=[Role.ADMIN], by=bob),
        lambda: grant(ctx, "bob", Role.ADMIN, by=bob),
        lambda: revoke_role(ctx, "carol", Role.VIEWER, by=bob),
        lambda: disable(ctx, "tester", by=bob),
        lambda: create_token(ctx, "tester", by=bob),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied, match=rf"'bob' \(os-user; roles: {role}\) may "
                                                   r"not .*identity\.manage"):
            attempt()
    assert snapshot(project) == before


def test_names_are_unique_and_checked(ctx: Context, admin: Principal) -> None:
    add_principal(ctx, "bob", by=admin)
    with pytest.raises(ConflictError, match="'bob' is a principal already"):
        add_principal(ctx, "bob", by=admin)
    disable(ctx, "bob", by=admin)
    with pytest.raises(ConflictError, match="'bob' is a disabled principal already"):
        add_principal(ctx, "bob", by=admin)
    with pytest.raises(InputError, match="Principal name 'no spaces'"):
        add_principal(ctx, "no spaces", by=admin)
    with pytest.raises(NotFoundError, match=r"No principal named 'nobody'; principals: "
                                            r"bob, tester\."):
        grant(ctx, "nobody", Role.VIEWER, by=admin)


def test_disabled_principals_keep_their_roles_frozen(ctx: Context, admin: Principal) -> None:
    add_principal(ctx, "bob", roles=[Role.VIEWER], by=admin)
    disable(ctx, "bob", by=admin)
    for change in (lambda: grant(ctx, "bob", Role.ADMIN, by=admin),
                   lambda: disable(ctx, "bob", by=admin),
                   lambda: create_token(ctx, "bob", by=admin)):
        with pytest.raises(ConflictError, match="'bob' is disabled"):
            change()


def test_revoking_a_role_not_held_is_refused(ctx: Context, admin: Principal) -> None:
    add_principal(ctx, "bob", roles=[Role.VIEWER], by=admin)
    with pytest.raises(ConflictError, match=r"'bob' does not hold the role auditor "
                                            r"\(roles: viewer\)"):
        revoke_role(ctx, "bob", Role.AUDITOR, by=admin)
    with pytest.raises(InputError, match="at least one role"):
        grant(ctx, "bob", by=admin)


def test_the_last_admin_cannot_be_removed(project: Project, ctx: Context,
                                          admin: Principal) -> None:
    before = snapshot(project)
    with pytest.raises(ConflictError, match="without an enabled admin"):
        revoke_role(ctx, "tester", Role.ADMIN, by=admin)
    with pytest.raises(ConflictError, match="without an enabled admin"):
        disable(ctx, "tester", by=admin)
    assert snapshot(project) == before
    add_principal(ctx, "second", roles=[Role.ADMIN], by=admin)
    assert revoke_role(ctx, "tester", Role.ADMIN, by=admin).roles == ()
    second = Principal(name="second", kind=PrincipalKind.PERSON, roles=(Role.ADMIN,),
                       auth=OS_USER)
    with pytest.raises(ConflictError, match="without an enabled admin"):
        disable(ctx, "second", by=second)


def _unclaimed(project: Project) -> None:
    """Make the project look like one created before identities: empty identity tables."""
    config = migrate._config()
    for revision in ("0004", "head"):
        with project.db.read_engine.begin() as conn:
            config.attributes["connection"] = conn
            (command.downgrade if revision == "0004" else command.upgrade)(config, revision)


def test_the_first_identity_change_on_an_unclaimed_project_records_its_admin(
        project: Project, ctx: Context) -> None:
    _unclaimed(project)
    me = local_principal(ctx)
    assert me.roles == (Role.ADMIN,) and me.auth == OS_USER  # as before identities existed
    add_principal(ctx, "bob", roles=[Role.VIEWER], by=me)
    assert {p.name: p.roles for p in list_principals(ctx)} == {
        "bob": (Role.VIEWER,), "tester": (Role.ADMIN,)}
    assert _events(project, "principal:tester") == [
        ("principal.add", {"kind": "person", "roles": ["admin"], "first_admin": True,
                           "auth": "os-user"})]
    assert local_principal(ctx).roles == (Role.ADMIN,)  # now from its grant


def test_bootstrap_admin_makes_the_first_admin_only(project: Project, ctx: Context) -> None:
    _unclaimed(project)
    with ctx.transaction() as tx:
        assert not is_claimed(tx.session)
        founder = bootstrap_admin(tx, "founder", now=ctx.clock())
    assert founder.roles == (Role.ADMIN,) and founder.created_by == "founder"
    with pytest.raises(ConflictError, match="first admin exists"), ctx.transaction() as tx:
        bootstrap_admin(tx, "usurper", now=ctx.clock())
    assert [p.name for p in list_principals(ctx)] == ["founder"]
    # The local user is no longer implicitly admin once the project is claimed: a
    # name that is not a principal may only read.
    assert local_principal(ctx).roles == (Role.VIEWER,)


def test_a_stale_principal_is_checked_again_under_the_lock(project: Project, ctx: Context,
                                                           admin: Principal) -> None:
    add_principal(ctx, "bob", roles=[Role.ADMIN], by=admin)
    bob = local_as(ctx, "bob")  # built while bob was an admin
    revoke_role(ctx, "bob", Role.ADMIN, by=admin)
    before = snapshot(project)
    with pytest.raises(PermissionDenied, match=r"'bob' \(os-user; roles: none\) may not add"):
        add_principal(ctx, "eve", roles=[Role.ADMIN], by=bob)
    grant(ctx, "bob", Role.ADMIN, by=admin)
    disable(ctx, "bob", by=admin)
    with pytest.raises(PermissionDenied, match=r"roles: none\) may not create a token"):
        create_token(ctx, "tester", by=bob)
    assert len(snapshot(project)["audit_events"]) == len(before["audit_events"]) + 2


def test_the_implicit_admin_of_an_unclaimed_project_ends_when_it_is_claimed(
        project: Project, ctx: Context) -> None:
    _unclaimed(project)
    mallory = local_as(ctx, "mallory")  # looked up while nobody had claimed the project
    assert mallory.roles == (Role.ADMIN,)
    add_principal(ctx, "bob", by=local_principal(ctx))  # tester claims it first
    with pytest.raises(PermissionDenied, match=r"'mallory' \(os-user; roles: none\)"):
        grant(ctx, "mallory", Role.ADMIN, by=mallory)
    assert [p.name for p in list_principals(ctx)] == ["bob", "tester"]


def test_the_first_admin_keeps_the_name_the_system_gives(project: Project,
                                                         ctx: Context) -> None:
    _unclaimed(project)
    windows_user = local_as(ctx, "John Smith")
    add_principal(ctx, "bob", by=windows_user)
    assert {p.name: p.roles for p in list_principals(ctx)} == {
        "John Smith": (Role.ADMIN,), "bob": ()}
    assert grant(ctx, "bob", Role.VIEWER, by=local_as(ctx, "John Smith")).roles == (
        Role.VIEWER,)
