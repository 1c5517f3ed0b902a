"""Concurrent promotions from separate processes keep one serving version and one history."""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa

from rasad import Project
from tests._race import race

WRITERS = 8
ROUNDS = 3
ENV = "staging"
TIMEOUT_S = 300  # generous: eight processes import scikit-learn on a shared machine


def _promote_repeatedly(root: str, url: str | None, writer: int, version: int,
                        start: Any, results: Any) -> None:
    if url:
        os.environ["RASAD_DATABASE_URL"] = url
    os.environ["RASAD_USER"] = f"writer-{writer}"
    with Project.open(root) as project:
        candidate = project.model_version("credit", version)  # connect before the race
        # A promotion verifies the artifact (skops, the allow-list): import and build them
        # before the race too, so the race is between promotions, not imports.
        from rasad.registry.models import verify_artifact
        verify_artifact(project, candidate.blob, candidate.trusted_types)
        start.wait(TIMEOUT_S)
        changed = 0
        for i in range(ROUNDS):
            deployment = project.promote("credit", version, ENV, reason=f"w{writer} r{i}")
            changed += deployment.changed
        results.put((writer, changed))


def test_concurrent_promotions_keep_one_current_deployment_and_one_chain(
        project: Project) -> None:
    # Imported here, not at the top: each spawned writer imports this module, and the
    # helpers pull in training code, which a promotion does not need.
    from ._helpers import current_rows, registered

    versions = registered(project, versions=WRITERS)
    from rasad.identity import Role
    for w in range(WRITERS):  # each writer is a deployer: promotion needs model.promote
        project.add_principal(f"writer-{w}", roles=[Role.DEPLOYER])
    url = os.environ.get("RASAD_DATABASE_URL")
    changed: dict[int, int] = race(
        _promote_repeatedly, [(str(project.root), url, w, versions[w].version)
                              for w in range(WRITERS)], timeout=TIMEOUT_S)
    assert sorted(changed) == list(range(WRITERS))
    # A writer's first promotion always changes something: its version was not serving.
    assert all(1 <= count <= ROUNDS for count in changed.values())
    total = sum(changed.values())

    with project.db.read_engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT d.id, d.previous_id, d.kind, v.version FROM deployments d "
            "JOIN model_versions v ON v.id = d.model_version_id "
            "WHERE d.model_name = 'credit' AND d.environment = :env ORDER BY d.id"),
            {"env": ENV}).all()
    assert len(rows) == total
    assert {kind for _, _, kind, _ in rows} == {"promotion"}
    # One chain: each deployment replaced exactly the one before it, none forked.
    assert [previous for _, previous, _, _ in rows] == [None] + [d for d, _, _, _ in rows[:-1]]
    assert all(a[3] != b[3] for a, b in zip(rows, rows[1:], strict=False))
    assert current_rows(project, "credit") == [(ENV, rows[-1][0])]
    assert project.model("credit").deployed == {ENV: rows[-1][3]}

    history = project.model("credit").history
    assert [d.id for d in history] == [d for d, _, _, _ in rows]
    assert [d.previous_version for d in history] == [None] + [d.version for d in history[:-1]]

    events = project.audit_log(action="model.promotion")
    assert len(events) == total
    assert [e.details["version"] for e in events] == [v for _, _, _, v in rows]
    assert [e.details["previous_version"] for e in events] == [None] + [
        e.details["version"] for e in events[:-1]]
    for w in range(WRITERS):
        mine = [e for e in events if e.details["reason"].startswith(f"w{w} ")]
        assert len(mine) == changed[w]
        assert {e.actor for e in mine} == {f"writer-{w}"}
    verification = project.verify_audit()
    assert verification.ok, verification.reason

    # The history the race left behind is still a working rollback chain.
    back = project.rollback("credit", ENV)
    assert back.version == rows[-2][3] and back.previous_version == rows[-1][3]
    assert len(current_rows(project, "credit")) == 1
