"""What an insider with database write access does: SQL against the tables, then the whole
chain and the head recomputed with rasad's own ``event_hash``."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from rasad import Project
from rasad.ledger import GENESIS_HASH, canonical_json, event_hash
from rasad.ledger.keys import generate_key

SHIFT = 1_000_000


def execute(project: Project, sql: str, **params: object) -> None:
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def rechain(conn: sa.Connection) -> None:
    """Recompute every prev_hash and hash from the genesis, then the head row."""
    rows = conn.execute(sa.text(
        "SELECT seq, occurred_at, actor, action, subject, details FROM audit_events "
        "ORDER BY seq")).all()
    prev = GENESIS_HASH
    for seq, occurred_at, actor, action, subject, details in rows:
        digest = event_hash(seq, occurred_at, actor, action, subject, details, prev)
        conn.execute(sa.text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                     {"p": prev, "h": digest, "s": seq})
        prev = digest
    conn.execute(sa.text("UPDATE ledger_head SET seq = :s, hash = :h WHERE id = 1"),
                 {"s": rows[-1][0] if rows else 0, "h": prev})


def drop_detail(conn: sa.Connection, action: str, key: str) -> None:
    """The first ``action`` event as an older rasad wrote it, without ``key`` in its
    details, and the chain recomputed."""
    seq, details = conn.execute(sa.text(
        "SELECT seq, details FROM audit_events WHERE action = :a ORDER BY seq LIMIT 1"),
        {"a": action}).one()
    old = json.loads(details)
    del old[key]
    conn.execute(sa.text("UPDATE audit_events SET details = :d WHERE seq = :s"),
                 {"d": canonical_json(old), "s": seq})
    rechain(conn)


def renumber(conn: sa.Connection, above: int, by: int) -> None:
    """Shift every event with seq > ``above`` by ``by`` (two steps: the key stays unique)."""
    conn.execute(sa.text("UPDATE audit_events SET seq = seq + :big WHERE seq > :above"),
                 {"big": SHIFT, "above": above})
    conn.execute(sa.text("UPDATE audit_events SET seq = seq - :big + :by WHERE seq > :big"),
                 {"big": SHIFT, "by": by})


def insert_event(conn: sa.Connection, seq: int, action: str, subject: str,
                 details: dict[str, object], occurred_at: str = "2026-01-01T00:00:00.000000Z",
                 actor: str = "mallory") -> None:
    conn.execute(sa.text(
        "INSERT INTO audit_events (seq, occurred_at, actor, action, subject, details, "
        "prev_hash, hash) VALUES (:s, :t, :a, :ac, :su, :d, :p, :h)"),
        {"s": seq, "t": occurred_at, "a": actor, "ac": action, "su": subject,
         "d": canonical_json(details), "p": GENESIS_HASH, "h": GENESIS_HASH})


def edit(project: Project, seq: int) -> None:
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET details = :d WHERE seq = :s"),
                     {"d": canonical_json({"i": 999, "note": "forged"}), "s": seq})
        rechain(conn)


def delete(project: Project, seq: int) -> None:
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq = :s"), {"s": seq})
        renumber(conn, seq, -1)
        rechain(conn)


def insert(project: Project, seq: int) -> None:
    with project.db.write_engine.begin() as conn:
        renumber(conn, seq - 1, 1)
        insert_event(conn, seq, "test.event", "thing:forged", {"forged": True})
        rechain(conn)


def swap(project: Project, a: int, b: int) -> None:
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET seq = :big WHERE seq = :a"),
                     {"big": SHIFT, "a": a})
        conn.execute(sa.text("UPDATE audit_events SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
        conn.execute(sa.text("UPDATE audit_events SET seq = :b WHERE seq = :big"),
                     {"b": b, "big": SHIFT})
        rechain(conn)


def truncate(project: Project, keep: int) -> None:
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq > :k"), {"k": keep})
        rechain(conn)


def append(project: Project, action: str, subject: str, details: dict[str, object],
           occurred_at: str) -> int:
    with project.db.write_engine.begin() as conn:
        last = conn.execute(sa.text("SELECT max(seq) FROM audit_events")).scalar_one()
        insert_event(conn, last + 1, action, subject, details, occurred_at)
        rechain(conn)
    return int(last) + 1


def forge_deployment(project: Project, env: str, version: int, kind: str = "promotion",
                     *, current: bool = False) -> None:
    """Insert a deployment of credit@``version`` to ``env`` with no event; ``current``
    also points the environment's current deployment at it."""
    execute(project, """
        INSERT INTO deployments (model_name, environment, model_version_id, kind,
                                 deployed_by, deployed_at)
        SELECT 'credit', :env, id, :kind, 'mallory', '2026-01-01T00:00:00Z'
        FROM model_versions WHERE version = :version""", env=env, kind=kind, version=version)
    if current:
        execute(project, """
            INSERT INTO current_deployments (model_name, environment, deployment_id, active)
            SELECT 'credit', :env, max(id), :t FROM deployments""", env=env, t=True)


def new_key(folder: Path, name: str = "signing") -> Path:
    path = folder / name
    generate_key(path)
    return path
