"""What permission checks cost on local writes: `data add` and `promote`.

    .venv/bin/python benchmarks/identity.py [--repeats 200] [--backend sqlite|postgresql]

Each operation runs ``--repeats`` times on a claimed project (its creator is the admin,
as after ``rasad init``). The time spent inside the permission checks (the check before
the work, :func:`rasad.identity.principal.require`, and the one under the write lock,
:func:`rasad.identity.service.authorize`, which reads the principal's roles again) is
measured inside the same run and reported as a share of the operation's time, like the
checkpoint cost in ``benchmarks/audit.py``: on a shared machine, two separate runs differ
by more than the checks cost. The principal itself is looked up once per process (the
context caches it), and that lookup is timed too.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit, median  # noqa: E402

from rasad import Project  # noqa: E402
from rasad.identity import service as identity_service  # noqa: E402

PG_URL = os.environ.get("RASAD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class Meter:
    """Wall time accumulated inside the wrapped functions."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
        return timed


@contextmanager
def metered() -> Iterator[Meter]:
    meter = Meter()
    from rasad.core import context as context_module

    saved = (identity_service.authorize, context_module.require)
    identity_service.authorize = meter.wrap(saved[0])  # looked up at call time
    context_module.require = meter.wrap(saved[1])  # the check before the work
    try:
        yield meter
    finally:
        identity_service.authorize, context_module.require = saved


def _project(backend: str, folder: str) -> Project:
    os.environ.pop("RASAD_DATABASE_URL", None)
    if backend == "postgresql":
        import uuid

        import sqlalchemy as sa

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        os.environ["RASAD_DATABASE_URL"] = f"{PG_URL}?options=-csearch_path%3D{schema}"
    return Project.init(folder, name="bench")


def run(repeats: int, backend: str) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="rasad-bench-identity-")
    _project(backend, folder).close()
    project = Project.open(folder)  # as a command does: the principal not looked up yet
    start = time.perf_counter()
    principal = project.context.principal
    lookup_s = time.perf_counter() - start
    frames = [pd.DataFrame({"x": [i, i + 1, i + 2], "y": [0.5, 1.5, float(i)]})
              for i in range(repeats)]
    with metered() as meter:
        add_times = []
        for frame in frames:
            t0 = time.perf_counter()
            project.add_dataset(frame, "bench")
            add_times.append(time.perf_counter() - t0)
        add_checks = meter.seconds
    versions = _register_two(project)  # promoted back and forth below
    with metered() as meter:
        promote_times = []
        for i in range(repeats):
            t0 = time.perf_counter()
            project.promote("bench-model", versions[i % 2], "staging")
            promote_times.append(time.perf_counter() - t0)
        promote_checks = meter.seconds
    project.close()
    return {
        "backend": backend, "repeats": repeats, "principal": principal.name,
        "principal_lookup_ms": round(lookup_s * 1000, 3),
        "data_add_ms_median": round(median(add_times) * 1000, 2),
        "data_add_check_share": round(add_checks / sum(add_times), 4),
        "promote_ms_median": round(median(promote_times) * 1000, 2),
        "promote_check_share": round(promote_checks / sum(promote_times), 4),
        "check_ms_per_promote": round(promote_checks / repeats * 1000, 3),
    }


def _register_two(project: Project) -> list[int]:
    """Two registered versions, trained for real on a tiny frame."""
    frame = pd.DataFrame({"a": [float(i) for i in range(40)],
                          "target": [i % 2 for i in range(40)]})
    project.add_dataset(frame, "tiny")
    out = []
    for seed in (0, 1):
        result = project.train(dataset="tiny", target="target", seed=seed,
                               register_as="bench-model")
        assert result.model_version is not None
        out.append(result.model_version.version)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    emit({"bench": "identity", "load_average_1m": os.getloadavg()[0],
          "results": [run(args.repeats, b) for b in backends]})


if __name__ == "__main__":
    main()
