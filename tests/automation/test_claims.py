"""Work claims: one owner at a time, expired leases taken over once, finished work never
again; raced by threads and by processes on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from rasad import Project
from rasad.automation.claims import (
    RELEASED,
    claim,
    finish,
    get_claim,
    is_finished,
    lease_end,
    release,
    renew,
)
from rasad.core import Context
from rasad.errors import ConflictError, InputError
from tests._race import race

PAST = "2001-01-01T00:00:00.000000Z"
TIMEOUT_S = 120


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: str = "2026-12-06T12:00:00.000000Z") -> None:
        self.now = now

    def __call__(self) -> str:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now = lease_end(self.now, seconds)


def at(project: Project, clock: Callable[[], str]) -> Context:
    return dataclasses.replace(project.context, clock=clock)


def test_one_owner_at_a_time_and_renewal_keeps_the_claim(project: Project) -> None:
    ctx = at(project, Clock())
    assert claim(ctx, "k", owner="a", lease_seconds=60)
    assert not claim(ctx, "k", owner="b", lease_seconds=60)
    assert claim(ctx, "k", owner="a", lease_seconds=120)  # renewed, not a second attempt
    held = get_claim(ctx, "k")
    assert held is not None
    assert (held.owner, held.attempts, held.lease_until) == (
        "a", 1, "2026-12-06T12:02:00.000000Z")
    assert get_claim(ctx, "other") is None and not is_finished(ctx, "other")


def test_an_expired_lease_is_taken_over_once(project: Project) -> None:
    clock = Clock()
    ctx = at(project, clock)
    assert claim(ctx, "k", owner="dead", lease_seconds=30)
    clock.advance(30)  # lease_until == now: not expired yet
    assert not claim(ctx, "k", owner="b", lease_seconds=30)
    clock.advance(0.001)
    assert claim(ctx, "k", owner="b", lease_seconds=30)
    assert not claim(ctx, "k", owner="c", lease_seconds=30)
    assert not renew(ctx, "k", owner="dead", lease_seconds=30)  # it lost the work
    with pytest.raises(ConflictError, match="'dead' cannot finish 'k'.*'b' does"):
        finish(ctx, "k", owner="dead", outcome="done")
    held = get_claim(ctx, "k")
    assert held is not None
    assert (held.owner, held.attempts, held.claimed_at) == ("b", 2, clock.now)


def test_renew_keeps_a_lease_from_expiring(project: Project) -> None:
    clock = Clock()
    ctx = at(project, clock)
    assert claim(ctx, "k", owner="a", lease_seconds=30)
    clock.advance(20)
    assert renew(ctx, "k", owner="a", lease_seconds=30)
    clock.advance(20)  # 40 s after the claim, 20 after the renewal
    assert not claim(ctx, "k", owner="b", lease_seconds=30)
    assert not renew(ctx, "k", owner="b", lease_seconds=30)


def test_finished_work_is_never_claimed_again(project: Project) -> None:
    clock = Clock()
    ctx = at(project, clock)
    assert claim(ctx, "k", owner="a", lease_seconds=30)
    finish(ctx, "k", owner="a", outcome="ingested")
    finish(ctx, "k", owner="a", outcome="ingested")  # twice is harmless
    clock.advance(3600)
    assert not claim(ctx, "k", owner="a", lease_seconds=30)
    assert not claim(ctx, "k", owner="b", lease_seconds=30)
    assert not renew(ctx, "k", owner="a", lease_seconds=30)
    release(ctx, "k", owner="a")  # no-op on finished work
    held = get_claim(ctx, "k")
    assert held is not None and held.finished and held.outcome == "ingested"
    assert is_finished(ctx, "k")


def test_finish_without_a_claim_is_refused(project: Project) -> None:
    ctx = project.context
    with pytest.raises(ConflictError, match="nobody does"):
        finish(ctx, "never", owner="a", outcome="done")
    assert get_claim(ctx, "never") is None


def test_released_work_is_claimable_at_once(project: Project) -> None:
    ctx = at(project, Clock())
    assert claim(ctx, "k", owner="a", lease_seconds=600)
    release(ctx, "k", owner="b")  # not b's: nothing happens
    assert not claim(ctx, "k", owner="b", lease_seconds=60)
    release(ctx, "k", owner="a")
    held = get_claim(ctx, "k")
    assert held is not None and held.lease_until == RELEASED
    assert claim(ctx, "k", owner="b", lease_seconds=60)


@pytest.mark.parametrize(("key", "owner", "lease", "message"), [
    ("", "a", 1.0, "needs a key"),
    ("k", " ", 1.0, "needs an owner"),
    ("k" * 401, "a", 1.0, "at most 400 fit"),
    ("k", "a" * 201, 1.0, "at most 200 fit"),
    ("k", "a", 0.0, "positive number of seconds"),
    ("k", "a", -5.0, "positive number of seconds"),
    ("k", "a", float("nan"), "positive number of seconds"),
    ("k", "a", float("inf"), "positive number of seconds"),
])
def test_bad_claims_are_refused(project: Project, key: str, owner: str, lease: float,
                                message: str) -> None:
    with pytest.raises(InputError, match=message):
        claim(project.context, key, owner=owner, lease_seconds=lease)
    with project.read() as session:
        from sqlalchemy import func, select

        from rasad.store._tables import WorkClaimRow

        assert session.execute(select(func.count()).select_from(WorkClaimRow)).scalar() == 0


def test_claims_write_no_audit_event(project: Project) -> None:
    from rasad.ledger.chain import read_head

    with project.read() as session:
        before = read_head(session).seq
    claim(project.context, "k", owner="a", lease_seconds=5)
    finish(project.context, "k", owner="a", outcome="x")
    with project.read() as session:
        assert read_head(session).seq == before


# -- races ----------------------------------------------------------------------------------

KEYS = [f"file:race:{i}" for i in range(40)]


def _prepare(ctx: Context) -> None:
    """Expired claims on the keys 10-19, finished work on 20-29, nothing on the rest."""
    dead = dataclasses.replace(ctx, clock=lambda: PAST)
    for key in KEYS[10:20]:
        assert claim(dead, key, owner="dead", lease_seconds=1)
    for key in KEYS[20:30]:
        assert claim(ctx, key, owner="done", lease_seconds=1)
        finish(ctx, key, owner="done", outcome="ok")


def _check_winners(ctx: Context, wins: dict[str, list[str]]) -> None:
    claimable = KEYS[:10] + KEYS[10:20] + KEYS[30:]
    for key in KEYS:
        winners = wins.get(key, [])
        assert len(winners) == (1 if key in claimable else 0), (key, winners)
        held = get_claim(ctx, key)
        assert held is not None
        if winners:
            assert held.owner == winners[0]
            assert held.attempts == (2 if key in KEYS[10:20] else 1)


def test_threads_racing_for_the_same_keys(project: Project) -> None:
    ctx = project.context
    _prepare(ctx)
    owners = [f"agent-{i}" for i in range(4)]
    start = threading.Barrier(len(owners))
    wins: dict[str, list[str]] = {}
    lock = threading.Lock()

    def agent(owner: str) -> None:
        start.wait(TIMEOUT_S)
        for key in KEYS:
            if claim(ctx, key, owner=owner, lease_seconds=300):
                with lock:
                    wins.setdefault(key, []).append(owner)

    threads = [threading.Thread(target=agent, args=(owner,)) for owner in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT_S)
    _check_winners(ctx, wins)


def _agent(root: str, url: str | None, owner: str, start: Any, results: Any) -> None:
    if url:
        os.environ["RASAD_DATABASE_URL"] = url
    with Project.open(root) as project:
        ctx = project.context
        get_claim(ctx, KEYS[0])  # connect before the race
        _ = ctx.principal
        start.wait(TIMEOUT_S)
        won = [key for key in KEYS if claim(ctx, key, owner=owner, lease_seconds=300)]
        results.put((owner, won))


def test_processes_racing_for_the_same_keys(project: Project) -> None:
    ctx = project.context
    _prepare(ctx)
    owners = ["agent-a", "agent-b"]
    url = os.environ.get("RASAD_DATABASE_URL")
    outcomes: dict[str, list[str]] = race(
        _agent, [(str(project.root), url, owner) for owner in owners], timeout=TIMEOUT_S)
    wins: dict[str, list[str]] = {}
    for owner, won in outcomes.items():
        for key in won:
            wins.setdefault(key, []).append(owner)
    _check_winners(ctx, wins)
