"""API tokens on a project (SQLite and PostgreSQL): shown once, stored hashed, refused when
expired, revoked, disabled or forged, and safe to create concurrently."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from rasad import Project
from rasad.core import Context
from rasad.errors import ConflictError, InputError, NotFoundError, PermissionDenied
from rasad.identity import (
    InvalidToken,
    Principal,
    PrincipalKind,
    Role,
    add_principal,
    authenticate,
    create_token,
    disable,
    list_tokens,
    revoke_role,
    revoke_token,
)
from rasad.identity.tokens import hash_secret, parse_token

from ._helpers import at, database_text, snapshot

T0 = "2030-01-01T00:00:00.000000Z"


@pytest.fixture
def bob(ctx: Context, admin: Principal) -> str:
    add_principal(ctx, "bob", roles=[Role.VIEWER, Role.DATA_SCIENTIST], by=admin)
    return "bob"


def test_a_token_is_shown_once_and_only_its_hash_is_stored(project: Project, ctx: Context,
                                                           admin: Principal, bob: str) -> None:
    created = create_token(ctx, bob, by=admin)
    secret = parse_token(created.token).secret
    assert created.token.startswith(f"rsd_{created.info.id}_")
    assert secret not in repr(created) and secret not in created.info.to_json()
    stored = database_text(project)
    assert secret not in stored
    assert hash_secret(secret) in stored  # what the database compares against
    log = json.dumps([event.to_dict() for event in project.audit_log()], default=str)
    assert secret not in log and hash_secret(secret) not in log
    assert project.audit_log(subject=f"token:{created.info.id}")[0].details == {
        "principal": "bob", "roles": ["viewer", "data_scientist"],
        "expires_at": created.info.expires_at, "auth": "os-user"}
    listed = list_tokens(ctx)
    assert [t.id for t in listed] == [created.info.id] and listed[0] == created.info
    assert secret not in repr(listed)
    if project.db.backend == "sqlite":  # the bytes on disk too, WAL included
        for path in (project.root / ".rasad").rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


def test_a_token_authenticates_as_its_principal_within_its_scope(ctx: Context,
                                                                 admin: Principal,
                                                                 bob: str) -> None:
    full = create_token(ctx, bob, by=admin)
    reader = create_token(ctx, bob, roles=[Role.VIEWER], by=admin)
    builder = create_token(ctx, bob, roles=[Role.DATA_SCIENTIST], by=admin)
    assert authenticate(ctx, full.token) == Principal(
        name="bob", kind=PrincipalKind.PERSON, roles=(Role.VIEWER, Role.DATA_SCIENTIST),
        auth=f"token:{full.info.id}")
    assert authenticate(ctx, reader.token).roles == (Role.VIEWER,)
    assert authenticate(ctx, builder.token).roles == (Role.DATA_SCIENTIST,)
    # A role taken from the principal is taken from its tokens too.
    revoke_role(ctx, bob, Role.DATA_SCIENTIST, by=admin)
    assert authenticate(ctx, full.token).roles == (Role.VIEWER,)
    assert authenticate(ctx, reader.token).roles == (Role.VIEWER,)
    assert authenticate(ctx, builder.token).roles == ()


def test_a_token_may_narrow_to_a_role_its_principals_roles_cover(ctx: Context,
                                                                 admin: Principal) -> None:
    # An admin's read-only token: viewer's permissions are all an admin's.
    token = create_token(ctx, "tester", roles=[Role.VIEWER, Role.AUDITOR], by=admin)
    assert authenticate(ctx, token.token).roles == (Role.VIEWER, Role.AUDITOR)


def test_a_service_account_authenticates_with_its_token(ctx: Context,
                                                        admin: Principal) -> None:
    add_principal(ctx, "ci", kind=PrincipalKind.SERVICE, roles=[Role.DEPLOYER], by=admin)
    token = create_token(ctx, "ci", lifetime=None, by=admin)
    assert token.info.expires_at is None
    principal = authenticate(at(ctx, "2999-01-01T00:00:00.000000Z"), token.token)
    assert (principal.kind, principal.roles) == (PrincipalKind.SERVICE, (Role.DEPLOYER,))


def test_a_token_expires_at_its_time(ctx: Context, admin: Principal, bob: str) -> None:
    created = create_token(at(ctx, T0), bob, lifetime=timedelta(hours=1), by=admin)
    assert created.info.expires_at == "2030-01-01T01:00:00.000000Z"
    assert authenticate(at(ctx, "2030-01-01T00:59:59.999999Z"), created.token).name == "bob"
    for later in ("2030-01-01T01:00:00.000000Z", "2031-06-01T00:00:00.000000Z"):
        with pytest.raises(InvalidToken, match=rf"Token {created.info.id} of 'bob' expired at "
                                               r"2030-01-01T01:00:00\.000000Z"):
            authenticate(at(ctx, later), created.token)


def test_the_default_lifetime_is_ninety_days(ctx: Context, admin: Principal, bob: str) -> None:
    created = create_token(at(ctx, T0), bob, by=admin)
    assert created.info.expires_at == "2030-04-01T00:00:00.000000Z"


def test_a_revoked_token_is_refused(project: Project, ctx: Context, admin: Principal,
                                    bob: str) -> None:
    created = create_token(ctx, bob, by=admin)
    kept = create_token(ctx, bob, by=admin)
    revoked = revoke_token(ctx, created.info.id, by=admin)
    assert revoked.revoked_at is not None
    with pytest.raises(InvalidToken, match=rf"Token {created.info.id} of 'bob' was revoked"):
        authenticate(ctx, created.token)
    assert authenticate(ctx, kept.token).name == "bob"
    with pytest.raises(ConflictError, match="revoked already"):
        revoke_token(ctx, created.info.id, by=admin)
    with pytest.raises(NotFoundError, match="No token with id 'feedfacefeedface'"):
        revoke_token(ctx, "feedfacefeedface", by=admin)
    assert [e.action for e in project.audit_log(subject=f"token:{created.info.id}")] == [
        "token.create", "token.revoke"]


def test_a_disabled_principals_tokens_are_refused(ctx: Context, admin: Principal,
                                                  bob: str) -> None:
    created = create_token(ctx, bob, by=admin)
    disable(ctx, bob, by=admin)
    with pytest.raises(InvalidToken, match="'bob' was disabled at .*tokens no longer work"):
        authenticate(ctx, created.token)


def test_forged_tokens_are_refused_alike(ctx: Context, admin: Principal, bob: str) -> None:
    created = create_token(ctx, bob, by=admin)
    other = create_token(ctx, "tester", by=admin)
    token_id, secret = created.info.id, parse_token(created.token).secret
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    forgeries = {
        "wrong secret": f"rsd_{token_id}_{flipped}",
        "another token's secret": f"rsd_{token_id}_{parse_token(other.token).secret}",
        "unknown id": f"rsd_{'0' * 16}_{secret}",
        "the stored hash as secret": f"rsd_{token_id}_{hash_secret(secret)[:43]}",
    }
    for what, forged in forgeries.items():
        with pytest.raises(InvalidToken, match=r"is not valid \(unknown, or the secret is "
                                               r"wrong\)"):
            authenticate(ctx, forged)
            pytest.fail(what)
    with pytest.raises(InvalidToken, match="not a rasad API token"):
        authenticate(ctx, created.token + "x")
    assert authenticate(ctx, created.token).name == "bob"


def test_a_token_scope_is_a_subset_of_its_principals_roles(project: Project, ctx: Context,
                                                           admin: Principal, bob: str) -> None:
    add_principal(ctx, "nobody", by=admin)
    before = snapshot(project)
    with pytest.raises(InputError, match=r"'bob' does not hold admin .*never widen them"):
        create_token(ctx, bob, roles=[Role.VIEWER, Role.ADMIN], by=admin)
    with pytest.raises(InputError, match="'nobody' holds no roles"):
        create_token(ctx, "nobody", by=admin)
    with pytest.raises(InputError, match="lifetime must be positive"):
        create_token(ctx, bob, lifetime=timedelta(0), by=admin)
    assert snapshot(project) == before


def test_a_token_narrowed_to_viewer_cannot_manage_identities(project: Project, ctx: Context,
                                                             admin: Principal) -> None:
    viewer = authenticate(ctx, create_token(ctx, "tester", roles=[Role.VIEWER],
                                            by=admin).token)
    assert viewer.name == "tester" and viewer.roles == (Role.VIEWER,)
    before = snapshot(project)
    with pytest.raises(PermissionDenied, match="this token's scope leaves it out"):
        create_token(ctx, "tester", by=viewer)
    with pytest.raises(PermissionDenied, match="identity.manage"):
        add_principal(ctx, "eve", roles=[Role.ADMIN], by=viewer)
    assert snapshot(project) == before


def test_tokens_listed_per_principal(ctx: Context, admin: Principal, bob: str) -> None:
    mine = create_token(ctx, "tester", by=admin)
    bobs = [create_token(ctx, bob, by=admin) for _ in range(2)]
    assert [t.id for t in list_tokens(ctx, bob)] == [t.info.id for t in bobs]
    assert [t.id for t in list_tokens(ctx, "tester")] == [mine.info.id]
    assert len(list_tokens(ctx)) == 3
    with pytest.raises(NotFoundError, match="No principal named 'ghost'"):
        list_tokens(ctx, "ghost")


def test_concurrent_token_creation(project: Project, ctx: Context, admin: Principal,
                                   bob: str) -> None:
    writers, each = 4, 3
    start = threading.Barrier(writers)
    made: list[str] = []
    failures: list[BaseException] = []

    def create_some() -> None:
        own = Context.build(ctx.root, ctx.config)  # its own engine, like another process
        try:
            start.wait(60)
            for _ in range(each):
                made.append(create_token(own, bob, by=admin).token)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=create_some) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    assert len(made) == len(set(made)) == writers * each
    assert {t.id for t in list_tokens(ctx, bob)} == {parse_token(t).id for t in made}
    assert all(authenticate(ctx, token).name == "bob" for token in made)
    assert project.verify_audit().ok
