"""Listing a registry of 1,000 model versions (20 models x 50 versions) on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/registry.py [--models 20] [--versions 50] [--repeats 21]
        [--postgres URL] [--cli]

Prints one JSON line. For each backend: the median (and fastest) wall time of
``rasad.registry.models.list_models`` over ``--repeats`` calls after two warm-up calls,
the SQL statements one call sends (counted on the project's engines), and how long
seeding took. ``--cli`` also times ``rasad models list --json`` as a whole process
(interpreter start and imports included), median of 5.

Seeding: one run is trained and registered for real; the other 999 versions are copies
of its run and model-version rows, each written with the audit events the real services
write for it, in one transaction (``tests/registry/_seed.py``; the ledger replays to
the seeded state). Every model has its first and its newest version promoted to dev and
staging. PostgreSQL runs in a fresh schema, dropped afterwards; it is skipped when the
server cannot be reached (the JSON says why).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
from _common import emit, median  # noqa: E402

DEFAULT_PG = os.environ.get("RASAD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def measure(models: int, versions: int, repeats: int, cli: bool) -> dict[str, Any]:
    """Seed a fresh project (on RASAD_DATABASE_URL if set) and time listing it."""
    from tests.registry._helpers import counted, train
    from tests.registry._seed import seed_registry

    from rasad import Project
    from rasad.registry.models import list_models

    with tempfile.TemporaryDirectory() as tmp, Project.init(Path(tmp) / "p") as project:
        ctx = project.context
        started = time.perf_counter()
        seeded = seed_registry(ctx, train(project).id, models=models, versions=versions)
        seed_s = time.perf_counter() - started
        for _ in range(2):
            listed = list_models(ctx)
        assert sum(len(m.versions) for m in listed) == seeded.versions
        with counted(ctx) as statements:
            list_models(ctx)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            list_models(ctx)
            times.append(time.perf_counter() - started)
        out: dict[str, Any] = {
            "list_models_ms_median": round(median(times) * 1000, 2),
            "list_models_ms_min": round(min(times) * 1000, 2),
            "statements_per_call": len(statements),
            "versions": seeded.versions, "deployments": seeded.deployments,
            "seed_s": round(seed_s, 2),
        }
        if cli:
            out["cli_models_list_json_ms_median"] = round(_cli_ms(project.root), 1)
        return out


def _cli_ms(root: Path, repeats: int = 5) -> float:
    rasad = Path(sys.executable).with_name("rasad")
    command = [str(rasad), "models", "list", "--json"]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"`rasad models list --json` failed: {done.stderr[-500:]}")
    return median(times) * 1000


def on_postgres(base: str, models: int, versions: int, repeats: int,
                cli: bool) -> dict[str, Any]:
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        return {"error": f"PostgreSQL not reachable: {str(exc).splitlines()[0]}"}
    os.environ["RASAD_DATABASE_URL"] = f"{base}?options=-csearch_path%3D{schema}"
    try:
        return measure(models, versions, repeats, cli)
    finally:
        del os.environ["RASAD_DATABASE_URL"]
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--postgres", default=DEFAULT_PG, help="server URL ('' to skip)")
    parser.add_argument("--cli", action="store_true", help="also time the CLI as a process")
    args = parser.parse_args()
    os.environ.pop("RASAD_DATABASE_URL", None)
    out: dict[str, Any] = {
        "bench": "registry", "models": args.models, "versions_per_model": args.versions,
        "repeats": args.repeats, "target_sqlite_ms": 50,
        "seeding": "1 real run registered; the rest copied rows with their audit events",
        "sqlite": measure(args.models, args.versions, args.repeats, args.cli),
    }
    if args.postgres:
        out["postgresql"] = on_postgres(args.postgres, args.models, args.versions,
                                        args.repeats, args.cli)
    try:
        out["load_average_1m"] = os.getloadavg()[0]
    except OSError:
        pass
    emit(out)


if __name__ == "__main__":
    main()
