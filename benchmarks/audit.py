"""The audit ledger on SQLite and PostgreSQL: appends, checkpoints, and full verification.

    .venv/bin/python benchmarks/audit.py --events 5000 --repeats 3 --verify-events 100000 \
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

1. Events appended per second, each its own serialised write transaction (lock,
   read head, insert, advance head, commit) as a service function makes it:
   without checkpoints, and with ``Project.checkpoint`` (Ed25519, a local folder)
   after every 1,000 events. Runs alternate so both see the same machine load, and
   the share of the checkpointed run's time spent signing is reported too (on a busy
   machine the rates of two runs differ by more than a checkpoint costs).
2. ``audit verify`` with signed checkpoints and state replay over a ledger of
   ``--verify-events`` events: real dataset versions, runs with step metrics,
   registered models and promotions, padded with plain events; a checkpoint every
   10,000 events. Seconds, median of ``--repeats``.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit, median  # noqa: E402

CHECKPOINT_EVERY = 1000


@contextmanager
def backend(url: str | None) -> Iterator[None]:
    """RASAD_DATABASE_URL set to a fresh PostgreSQL schema (or unset for SQLite)."""
    if url is None:
        os.environ.pop("RASAD_DATABASE_URL", None)
        yield
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    os.environ["RASAD_DATABASE_URL"] = f"{url}?options=-csearch_path%3D{schema}"
    try:
        yield
    finally:
        os.environ.pop("RASAD_DATABASE_URL", None)
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def append_rate(events: int, url: str | None, checkpoint: bool) -> tuple[float, float]:
    """Events per second, and the share of that time spent in checkpoints (percent)."""
    from rasad import Project
    from rasad.ledger.keys import generate_key

    with tempfile.TemporaryDirectory() as tmp, backend(url):
        key = Path(tmp) / "key"
        generate_key(key)
        store = str(Path(tmp) / "checkpoints")
        with Project.init(Path(tmp) / "p") as project:
            started = time.perf_counter()
            signing = 0.0
            for i in range(events):
                with project.transaction() as tx:
                    tx.record("bench.event", f"bench:{i % 10}", {"i": i})
                if checkpoint and (i + 1) % CHECKPOINT_EVERY == 0:
                    before = time.perf_counter()
                    project.checkpoint(to=store, key=key)
                    signing += time.perf_counter() - before
            elapsed = time.perf_counter() - started
            rate = events / elapsed
            result = project.verify_audit(checkpoints=store if checkpoint else None)
            assert result.ok, result.reason
    return rate, 100 * signing / elapsed


def build_ledger(project: object, total: int, key: Path, store: str) -> dict[str, int]:
    """A ledger of ``total`` events whose state tables replay: data, runs, models, deploys."""
    from rasad import Project
    from rasad.examples import generate_portfolio

    assert isinstance(project, Project)
    frame = generate_portfolio(months=2, rows_per_month=300, seed=1)
    project.add_dataset(frame, "loans")
    project.add_dataset(generate_portfolio(months=2, rows_per_month=300, seed=2), "loans")
    for i in range(2):
        project.train(dataset="loans", target="default",
                      features=["income", "age", "employment_type", "debt_to_income"],
                      estimator="sklearn.linear_model.LogisticRegression",
                      params={"max_iter": 200 + i}, register_as="credit")
    runs = 20
    for r in range(runs):
        with project.start_run(f"curves-{r}") as run:
            for step in range(500):
                run.log_metric("loss", 1.0 / (step + 1), step=step)
    promotions = 2000
    for i in range(promotions):
        project.promote("credit", 1 + i % 2, ("dev", "staging")[i // 2 % 2])
    count = project.checkpoint(to=store, key=key).checkpoint.seq  # records the key too
    padded, next_checkpoint = 0, (count // 10_000 + 1) * 10_000
    while count < total:
        batch = min(1000, total - count)
        with project.transaction() as tx:
            for i in range(batch):
                tx.record("bench.event", f"bench:{i % 10}", {"i": i})
        count += batch
        padded += batch
        if count >= next_checkpoint:
            project.checkpoint(to=store, key=key)
            next_checkpoint += 10_000
    return {"dataset_versions": 2, "model_versions": 2, "runs": runs + 2,
            "step_metrics": runs * 500, "promotions": promotions, "padding_events": padded}


def verify_seconds(total: int, url: str | None, repeats: int) -> dict[str, object]:
    from rasad import Project
    from rasad.ledger.keys import generate_key

    with tempfile.TemporaryDirectory() as tmp, backend(url):
        key = Path(tmp) / "key"
        generate_key(key)
        store = str(Path(tmp) / "checkpoints")
        with Project.init(Path(tmp) / "p") as project:
            mix = build_ledger(project, total, key, store)
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                result = project.verify_audit(checkpoints=store)
                times.append(time.perf_counter() - started)
                assert result.ok, result.reason
            return {"seconds_median": median(times), "events": result.events,
                    "checkpoints": result.checkpoints, "mix": mix}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--verify-events", type=int, default=100_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    out: dict[str, object] = {"bench": "audit", "events": args.events,
                              "checkpoint_every": CHECKPOINT_EVERY}
    for name, url in (("sqlite", None), ("postgresql", args.pg)):
        plain, signed, share = [], [], []
        for _ in range(args.repeats):  # alternate, so both see the same load
            plain.append(append_rate(args.events, url, checkpoint=False)[0])
            rate, pct = append_rate(args.events, url, checkpoint=True)
            signed.append(rate)
            share.append(pct)
        out[f"{name}_events_per_s_median"] = median(plain)
        out[f"{name}_events_per_s_checkpointed_median"] = median(signed)
        out[f"{name}_checkpoint_slowdown_pct"] = round(
            100 * (1 - median(signed) / median(plain)), 2)
        # Measured inside the same run, so it does not drift with the machine's load.
        out[f"{name}_time_in_checkpoints_pct_median"] = round(median(share), 2)
        out[f"{name}_verify_{args.verify_events}"] = verify_seconds(
            args.verify_events, url, args.repeats)
    emit(out)


if __name__ == "__main__":
    main()
