"""A burst of files, and two agent processes ingesting the same folder at once: every
file once, never twice, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

from sqlalchemy import select

from rasad import Project
from rasad.automation.sources import FileStatus, ingest, list_new
from rasad.datasets.service import get, load_frame
from rasad.store._tables import AuditEventRow
from tests._race import race

from .test_sources import incoming, ingest_all, proj, recorded, versions, write_csv

__all__ = ["proj"]  # the fixture, imported for pytest

TIMEOUT_S = 180


def test_a_burst_of_100_files_is_ingested_once_each(proj: Project) -> None:
    ctx = proj.context
    for i in range(100):
        write_csv(incoming(proj), f"f{i:03d}.csv", [(i, float(i), "r")])
    assert len(list_new(ctx, "incoming")) == 100
    outcomes = ingest_all(ctx, "incoming")
    assert [o.status for o in outcomes] == [FileStatus.INGESTED] * 100
    assert sorted(o.version or 0 for o in outcomes) == list(range(1, 101))
    assert list_new(ctx, "incoming") == []
    assert ingest_all(ctx, "incoming") == []  # a second pass finds nothing
    assert len(versions(proj)) == 100
    rows = recorded(proj)
    assert len({r.fingerprint for r in rows}) == 100
    assert sorted(r.dataset_version_id or 0 for r in rows) == sorted(v.id for v in versions(proj))


def _agent(root: str, url: str | None, owner: str, source: str, start: Any,
           results: Any) -> None:
    if url:
        os.environ["RASAD_DATABASE_URL"] = url
    with Project.open(root) as project:
        ctx = project.context
        _ = ctx.principal  # connect before the race
        list_new(ctx, source)
        start.wait(TIMEOUT_S)
        done: list[tuple[str, str, int | None]] = []
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            arrived = list_new(ctx, source)
            if not arrived:
                break
            for file in arrived:
                outcome = ingest(ctx, source, file, owner=owner)
                if outcome is not None:
                    done.append((file.fingerprint, outcome.status.value, outcome.version))
            time.sleep(0.05)  # files another agent holds: look again shortly
        results.put((owner, done))


def _race(project: Project, source: str) -> dict[str, list[tuple[str, str, int | None]]]:
    owners = ["agent-a", "agent-b"]
    url = os.environ.get("RASAD_DATABASE_URL")
    outcomes: dict[str, list[tuple[str, str, int | None]]] = race(
        _agent, [(str(project.root), url, owner, source) for owner in owners],
        timeout=TIMEOUT_S)
    assert sorted(outcomes) == owners
    return outcomes


def test_two_agent_processes_never_ingest_a_file_twice(proj: Project) -> None:
    for i in range(30):
        write_csv(incoming(proj), f"f{i:02d}.csv", [(i, float(i), "r")])
    (incoming(proj) / "bad.csv").write_bytes(b"\x00garbage")
    outcomes = _race(proj, "incoming")
    handled = Counter(fp for done in outcomes.values() for fp, _, _ in done)
    assert len(handled) == 31 and set(handled.values()) == {1}, handled
    assert len(versions(proj)) == 30
    assert sorted(r.status for r in recorded(proj)) == ["ingested"] * 30 + ["rejected"]
    with proj.read() as session:
        events = session.execute(select(AuditEventRow).where(
            AuditEventRow.action == "source.file")).scalars().all()
    assert len(events) == 31


def test_two_agent_processes_append_every_file_once(proj: Project) -> None:
    folder = proj.root / "monthly"
    for i in range(8):
        write_csv(folder, f"2026-{i + 1:02d}.csv", [(i * 10 + k, float(k), "r") for k in range(3)])
    outcomes = _race(proj, "monthly")
    handled = [fp for done in outcomes.values() for fp, _, _ in done]
    assert len(handled) == len(set(handled)) == 8
    assert [v.version for v in versions(proj, "book")] == list(range(1, 9))
    final = load_frame(proj.context, get(proj.context, "book"))
    assert sorted(final["id"]) == sorted(i * 10 + k for i in range(8) for k in range(3))
    assert not final["id"].duplicated().any()
    assert ingest_all(proj.context, "monthly") == []
