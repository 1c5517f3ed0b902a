"""A ledger that never names its first admin (written before the name was recorded, or
rewritten): the replay takes the one principal that created itself as that admin, and
names exactly what was changed around it. Pins the survivors of the mutation run in
``GovernanceReplay._unnamed_first_admin`` (docs/testing.md)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rasad import Project
from rasad.identity import Role
from rasad.ledger._governance import _ACTOR_BATCH, Facts, GovernanceReplay, _actors
from rasad.ledger.problems import Problem
from rasad.store._tables import AuditEventRow

from . import _attacks as attack


def _replay_without_the_name(project: Project) -> list[str]:
    """Replay the project's identity events as an old ledger would hold them: the
    ``project.init`` event without ``first_admin``; the messages of every difference."""
    replay = GovernanceReplay()
    for event in project.audit_log():
        details = {k: v for k, v in event.details.items() if k != "first_admin"}
        replay.feed(event.seq, event.action, event.subject, details)
    assert not replay.first_admin_named
    problems: list[Problem] = []
    with project.context.read() as session:
        replay.compare(session, problems)
    return [p.message for p in problems]


def test_the_self_created_principal_is_taken_as_the_first_admin(project: Project) -> None:
    project.add_principal("amal", roles=[Role.APPROVER])
    assert _replay_without_the_name(project) == []


def test_a_deleted_first_admin_is_named_with_the_init_event(project: Project) -> None:
    admin = project.principal.name
    attack.execute(project, "DELETE FROM role_grants WHERE principal_id = "
                            "(SELECT id FROM principals WHERE name = :n)", n=admin)
    assert _replay_without_the_name(project) == [
        f"role_grants ({admin}, admin) is missing: the ledger recorded it (project.init, "
        "event 0)."]


def test_only_the_first_self_created_principal_is_the_admin(project: Project) -> None:
    # A second principal that "created itself" (only the bootstrap does) is a forgery.
    attack.execute(project, """
        INSERT INTO principals (name, kind, created_by, created_at)
        VALUES ('mallory', 'person', 'mallory', '2026-01-01T00:00:00Z')""")
    assert _replay_without_the_name(project) == [
        "principals (mallory) exists, but the ledger records no such principal."]


def test_no_self_created_principal_adds_no_admin(project: Project) -> None:
    admin = project.principal.name
    attack.execute(project, "UPDATE principals SET created_by = 'someone' WHERE name = :n",
                   n=admin)
    assert _replay_without_the_name(project) == [
        f"principals ({admin}) exists, but the ledger records no such principal.",
        f"role_grants ({admin}, admin) exists, but the ledger records no grant of that role "
        "in force."]


def test_a_principal_the_events_added_is_not_taken_as_the_admin(project: Project) -> None:
    # The bootstrap row no longer looks self-created and amal's does: amal, whom the events
    # added, must not be made the admin (the real admin's rows are then the unrecorded ones).
    admin = project.principal.name
    project.add_principal("amal", roles=[Role.APPROVER])
    attack.execute(project, "UPDATE principals SET created_by = 'someone' WHERE name = :n",
                   n=admin)
    attack.execute(project, "UPDATE principals SET created_by = 'amal' WHERE name = 'amal'")
    assert _replay_without_the_name(project) == [
        f"principals ({admin}) exists, but the ledger records no such principal.",
        f"role_grants ({admin}, admin) exists, but the ledger records no grant of that role "
        "in force."]


def test_a_principal_deleted_or_disabled_by_sql_is_named_with_its_event(
        project: Project) -> None:
    """A principal the events added is compared as added (enabled) by that event: deleted
    by SQL it is missing, disabled by SQL it is named, each with ``principal.add``'s seq."""
    project.add_principal("amal", roles=[Role.APPROVER])
    project.add_principal("omar", roles=[Role.VIEWER])
    seqs = {e.subject: e.seq for e in project.audit_log(action="principal.add")}
    attack.execute(project, "UPDATE principals SET disabled_at = '2026-01-01T00:00:00Z' "
                            "WHERE name = 'amal'")
    attack.execute(project, "DELETE FROM role_grants WHERE principal_id = "
                            "(SELECT id FROM principals WHERE name = 'omar')")
    attack.execute(project, "DELETE FROM principals WHERE name = 'omar'")
    assert [p.message for p in project.verify_audit().problems] == [
        f"principals (amal): disabled is True, but the ledger (principal.add, event "
        f"{seqs['principal:amal']}) recorded False.",
        f"principals (omar) is missing: the ledger recorded it (principal.add, event "
        f"{seqs['principal:omar']}).",
        f"role_grants (omar, viewer) is missing: the ledger recorded it (principal.add, event "
        f"{seqs['principal:omar']})."]


def test_actors_are_read_in_batches_that_cover_every_event() -> None:
    """Decisions are looked up _ACTOR_BATCH events at a time: a ledger with more than two
    batches of them still finds every decision's actor."""
    engine = sa.create_engine("sqlite://")
    AuditEventRow.__table__.create(engine)
    count = 2 * _ACTOR_BATCH + 7
    with Session(engine) as session:
        session.add_all(AuditEventRow(
            seq=seq, occurred_at="2026-01-01T00:00:00Z", actor=f"user{seq % 3}",
            action="promotion.approved", subject="model:credit", details="{}",
            prev_hash="0" * 64, hash="0" * 64) for seq in range(1, count + 1))
        session.flush()
        assert _actors(session, list(range(1, count + 1))) == {
            seq: f"user{seq % 3}" for seq in range(1, count + 1)}


def test_identity_events_are_read_word_for_word() -> None:
    """Each principal and grant keeps the event that made it; a principal added without
    roles gets none; revoking a role never granted is not an error."""
    replay = GovernanceReplay()
    replay.feed(1, "project.init", "project:demo", {"first_admin": "tester"})
    replay.feed(2, "principal.add", "principal:ci", {"kind": "service"})
    replay.feed(3, "principal.add", "principal:amal", {"kind": "person", "roles": ["viewer"]})
    replay.feed(4, "principal.grant", "principal:amal", {"role": "approver"})
    replay.feed(5, "principal.revoke", "principal:amal", {"role": "deployer"})
    replay.feed(6, "principal.disable", "principal:amal", {})
    replay.feed(7, "principal.disable", "principal:ghost", {})  # its add is not replayed

    def added(seq: int, action: str, kind: str) -> Facts:
        return Facts(seq, action, {"kind": (seq, action, kind), "disabled": (seq, action, False)})

    disabled = added(3, "principal.add", "person")
    disabled.set(6, "principal.disable", disabled=True)
    assert replay.principals == {"tester": added(1, "project.init", "person"),
                                 "ci": added(2, "principal.add", "service"),
                                 "amal": disabled,
                                 "ghost": Facts(7, "principal.disable", {
                                     "disabled": (7, "principal.disable", True)})}
    assert replay.grants == {("tester", "admin"): Facts(1, "project.init"),
                             ("amal", "viewer"): Facts(3, "principal.add"),
                             ("amal", "approver"): Facts(4, "principal.grant")}


def test_token_events_are_read_word_for_word() -> None:
    replay = GovernanceReplay()
    replay.feed(1, "token.create", "token:t1",
                {"principal": "amal", "roles": ["viewer", "approver"], "expires_at": "2027"})
    replay.feed(2, "token.create", "token:t2", {"principal": "ci"})  # no roles, no expiry
    replay.feed(3, "token.revoke", "token:t1", {})
    replay.feed(4, "token.revoke", "token:t3", {})  # a token whose creation is not replayed

    def created(seq: int, principal: str, roles: list[str], expires: str | None) -> Facts:
        return Facts(seq, "token.create", {
            column: (seq, "token.create", value) for column, value in (
                ("principal", principal), ("roles", roles), ("expires_at", expires),
                ("revoked", False))})

    revoked = created(1, "amal", ["approver", "viewer"], "2027")
    revoked.set(3, "token.revoke", revoked=True)
    assert replay.tokens == {
        "t1": revoked, "t2": created(2, "ci", [], None),
        "t3": Facts(4, "token.revoke", {"revoked": (4, "token.revoke", True)})}


def test_only_a_principal_added_as_first_admin_names_the_first_admin() -> None:
    """A ledger whose project.init names no admin (an older one) learns it from the
    principal.add that says ``first_admin: true``, and from no other."""
    replay = GovernanceReplay()
    replay.feed(1, "project.init", "project:demo", {})
    replay.feed(2, "principal.add", "principal:amal", {"kind": "person", "first_admin": False})
    assert not replay.first_admin_named
    replay.feed(3, "principal.add", "principal:tester",
                {"kind": "person", "roles": ["admin"], "first_admin": True})
    assert replay.first_admin_named


def test_request_events_are_read_word_for_word() -> None:
    """Each column of a promotion request is tied to the event that set it, so a missing
    row or an edited column is named with that event (``compare_rows``'s message)."""
    replay = GovernanceReplay()
    replay.feed(5, "promotion.requested", "model:credit", {
        "request_id": 4, "version": 2, "environment": "production",
        "gates": {"report_sha256": "r1", "passed": True},
        "approvals_required": 2, "expires_at": "2027"})
    replay.feed(6, "promotion.approved", "model:credit", {
        "request_id": 4, "version": 2, "environment": "production", "auth": "os-user"})
    replay.feed(7, "promotion.rejected", "model:credit", {
        "request_id": 4, "version": 2, "environment": "production", "auth": "os-user"})

    asked, rejected = (5, "promotion.requested"), (7, "promotion.rejected")
    expected = Facts(*asked, {column: (*asked, value) for column, value in (
        ("model_name", "credit"), ("version", 2), ("environment", "production"),
        ("gates_blob", "r1"), ("gates_passed", True), ("approvals_required", 2),
        ("expires_at", "2027"))})
    expected.set(*rejected, status="rejected", break_glass=False)
    assert replay.requests == {4: expected}


def test_break_glass_is_set_by_the_event_that_decided_it() -> None:
    """``break_glass`` names the event that set it: the break-glass event itself (before any
    promotion follows), else the promotion, forced or not."""
    replay = GovernanceReplay()
    request = {"version": 2, "environment": "production", "approvals_required": 1}
    replay.feed(1, "promotion.requested", "model:credit", {"request_id": 1, **request})
    replay.feed(2, "promotion.break_glass", "model:credit", {"request_id": 1, **request})
    forced = replay.requests[1].columns
    assert (forced["status"], forced["break_glass"]) == (
        (2, "promotion.break_glass", "forced"), (2, "promotion.break_glass", True))
    replay.feed(3, "model.promotion", "model:credit",
                {"request_id": 1, "break_glass": True, **request})
    assert forced["break_glass"] == (3, "model.promotion", True)

    replay.feed(4, "promotion.requested", "model:credit", {"request_id": 2, **request})
    assert replay.requests[2].columns["break_glass"] == (4, "promotion.requested", False)
    replay.feed(5, "model.promotion", "model:credit", {"request_id": 2, **request})
    assert replay.requests[2].columns["break_glass"] == (5, "model.promotion", False)
