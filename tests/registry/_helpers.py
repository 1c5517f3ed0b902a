"""Builders shared by the registry and serving tests: real projects with trained models.

Everything here goes through the public ``Project`` API; nothing of rasad is mocked.
Training is kept small (600 rows, a logistic regression) so a test that needs a
model pays well under a second for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression
from sqlalchemy import event

from rasad import Project
from rasad.core import Context
from rasad.datasets import DatasetVersion
from rasad.examples import generate_portfolio
from rasad.registry import ModelVersion
from rasad.training import Run

DATASET = "loans"
TARGET = "default"
FEATURES = ["income", "age", "employment_type", "debt_to_income"]
ESTIMATOR = "sklearn.linear_model.LogisticRegression"
PARAMS: dict[str, Any] = {"max_iter": 200}


class CustomLogistic(LogisticRegression):
    """A user's own estimator class: its type name is outside rasad's trust policy."""


CUSTOM_ESTIMATOR = f"{CustomLogistic.__module__}.{CustomLogistic.__qualname__}"


def portfolio(seed: int = 7) -> pd.DataFrame:
    """Two months of 300 loan applications."""
    return generate_portfolio(months=2, rows_per_month=300, seed=seed)


def add_loans(project: Project, seed: int = 7) -> DatasetVersion:
    return project.add_dataset(portfolio(seed), DATASET).version


def train(project: Project, *, features: list[str] | None = None, version: int | None = None,
          estimator: str = ESTIMATOR, params: dict[str, Any] | None = None) -> Run:
    """A finished training run on ``loans`` (added first if the project has none)."""
    if not any(v.name == DATASET for v in project.datasets()):
        add_loans(project)
    result = project.train(dataset=DATASET, version=version, target=TARGET,
                           features=features or FEATURES, estimator=estimator,
                           params=PARAMS if params is None else params)
    return result.run


def registered(project: Project, name: str = "credit", versions: int = 1) -> list[ModelVersion]:
    """``versions`` consecutive versions of ``name``, each from its own run.

    A run is registered once per model, so the extra versions come from runs that
    log the first version's fitted pipeline again (same bytes, no refit).
    """
    first = project.register(train(project).id, name)
    out = [first]
    if versions > 1:
        model = project.load_model(name, first.version)
        sample = portfolio()[FEATURES]
        for _ in range(versions - 1):
            with project.start_run() as extra:
                extra.log_model(model, sample, target=TARGET)
            out.append(project.register(extra.id, name))
    return out


# Tests of the deploy step promote to the last environment, which needs an approval by
# default (docs/promotion.md; the approvals are tested in tests/release): there it needs none.
NO_APPROVAL_FOR = ("  environments: {}\n", "  environments: {{{env}: {{approval: null}}}}\n")
"""The ``promotion.environments`` line of a new project's rasad.yaml, and its replacement."""


def without_approval(project: Project, env: str) -> Project:
    """``project`` reopened with ``env`` needing no approval (``promotion.environments``)."""
    config = project.root / "rasad.yaml"
    text = config.read_text(encoding="utf-8")
    assert NO_APPROVAL_FOR[0] in text
    config.write_text(text.replace(NO_APPROVAL_FOR[0], NO_APPROVAL_FOR[1].format(env=env)),
                      encoding="utf-8")
    return Project.open(project.root)


def serve_canary(root: Path, *envs: str, share: float = 0.2, key: str | None = None) -> None:
    """Give each of ``envs`` a canary traffic share (``serving.environments.ENV.canary`` in
    rasad.yaml); reopen the project to read it."""
    import yaml

    path = root / "rasad.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    serving = config.setdefault("serving", None) or {}
    environments = serving.setdefault("environments", {})
    for env in envs:
        environments.setdefault(env, {})["canary"] = {"share": share, "key": key}
    config["serving"] = serving
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def blob_path(project: Project, digest: str) -> Path:
    """Where the local artifact store keeps a blob: ``blobs/<2 hex>/<sha256>``."""
    path = Path(project.artifacts.root) / "blobs" / digest[:2] / digest
    assert path.is_file(), f"no blob at {path}"
    return path


def flip_one_byte(path: Path) -> None:
    """Change exactly one byte in the middle of a file, in place."""
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0xFF
    path.write_bytes(bytes(data))


def audit_count(project: Project, action: str) -> int:
    return len(project.audit_log(action=action))


def current_rows(project: Project, name: str) -> list[tuple[str, int]]:
    """The current_deployments rows of a model: (environment, deployment id)."""
    with project.db.read_engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT environment, deployment_id FROM current_deployments "
            "WHERE model_name = :name ORDER BY environment"), {"name": name}).all()
    return [(env, int(deployment)) for env, deployment in rows]


@contextmanager
def counted(ctx: Context) -> Iterator[list[str]]:
    """Every statement sent on the project's engines while the block runs."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engines = {id(e): e for e in (ctx.db.read_engine, ctx.db.write_engine)}.values()
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
