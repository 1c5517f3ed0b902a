"""Audit events appended per second, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/audit.py --events 2000 --repeats 3 \
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Each event is its own serialised write transaction (lock, read head, insert,
advance head, commit), as a service function makes it. Prints one JSON line
with the median events per second per backend.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit, median  # noqa: E402


def once(events: int, url: str | None) -> float:
    from rasad import Project

    with tempfile.TemporaryDirectory() as tmp:
        if url:
            os.environ["RASAD_DATABASE_URL"] = url
        else:
            os.environ.pop("RASAD_DATABASE_URL", None)
        with Project.init(Path(tmp) / "p") as project:
            started = time.perf_counter()
            for i in range(events):
                with project.transaction() as tx:
                    tx.record("bench.event", f"bench:{i % 10}", {"i": i})
            rate = events / (time.perf_counter() - started)
            assert project.verify_audit().ok
    return rate


def pg_schema(base: str) -> tuple[str, sa.Engine, str]:
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    return f"{base}?options=-csearch_path%3D{schema}", engine, schema


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    sqlite = [once(args.events, None) for _ in range(args.repeats)]
    out: dict[str, object] = {"bench": "audit_append", "events": args.events,
                              "sqlite_events_per_s_median": median(sqlite)}
    pg_rates = []
    for _ in range(args.repeats):
        url, engine, schema = pg_schema(args.pg)
        try:
            pg_rates.append(once(args.events, url))
        finally:
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()
    out["postgresql_events_per_s_median"] = median(pg_rates)
    emit(out)


if __name__ == "__main__":
    main()
