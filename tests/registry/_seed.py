"""A large registry made fast: one real run, then its rows copied with their audit events.

Training and registering a thousand models takes minutes, and the registry's reads do not
care how a row came to be. So one run is trained and registered for real (its artifact
verified by :func:`rasad.registry.models.register`), and every further version is a copy
of that run (a fresh id, the same model bytes, the same dataset lineage) registered as the
next version of its model. Each copied row is written with the audit events the real
services write for it (``run.start``, ``run.use_dataset``, ``run.finish``,
``model.register``), and deployments go through the registry's own ``_deploy``, so the
ledger replays to exactly this state (``rasad audit verify`` passes on it). Everything is
one transaction: seconds, not minutes.

The benchmark ``benchmarks/registry.py`` seeds its registry with this module too.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from rasad.core import Context
from rasad.ledger.replay import step_metrics_digest
from rasad.registry import ModelVersion
from rasad.registry.models import register
from rasad.registry.promotion import _deploy
from rasad.registry.version import DeploymentKind
from rasad.store._tables import DatasetVersionRow, ModelVersionRow, RunDatasetRow, RunRow


@dataclass(frozen=True)
class Seeded:
    """What :func:`seed_registry` wrote."""

    models: int
    versions_per_model: int
    deployments: int

    @property
    def versions(self) -> int:
        return self.models * self.versions_per_model


def model_name(index: int) -> str:
    return f"model-{index:03d}"


def seed_registry(ctx: Context, base_run_id: str, *, models: int, versions: int,
                  environments: tuple[str, ...] = ("dev", "staging")) -> Seeded:
    """Grow the registry to ``models`` models of ``versions`` versions each.

    Versions are copies of the finished run ``base_run_id``; on an empty registry that
    run itself is registered for real as ``model-000`` version 1. Versions already there
    are kept, so a test can measure a small registry, grow it, and measure again. In each
    model, the first version and then the newest are promoted to every environment of
    ``environments``, so every model has a deployment history and a version serving in
    each environment (the newest).
    """
    with ctx.read() as session:
        have = dict(session.execute(select(ModelVersionRow.name, func.max(ModelVersionRow.version))
                                    .group_by(ModelVersionRow.name)).all())
    if not have:
        first = register(ctx, base_run_id, model_name(0)).version
        have = {first.name: first.version}
    with ctx.read() as session:
        base = session.get(RunRow, base_run_id)
        assert base is not None
        lineage = session.execute(
            select(RunDatasetRow.dataset_version_id, RunDatasetRow.role,
                   DatasetVersionRow.name, DatasetVersionRow.version,
                   DatasetVersionRow.content_hash)
            .join(DatasetVersionRow, DatasetVersionRow.id == RunDatasetRow.dataset_version_id)
            .where(RunDatasetRow.run_id == base_run_id)).all()
        template = session.execute(select(ModelVersionRow).where(
            ModelVersionRow.run_id == base_run_id).limit(1)).scalar_one()
    empty_digest, _ = step_metrics_digest([])
    deployments = 0
    with ctx.transaction() as tx:
        session = tx.session
        for m in range(models):
            name = model_name(m)
            rows: list[ModelVersionRow] = []
            for v in range(have.get(name, 0) + 1, versions + 1):
                run_id = uuid.uuid4().hex
                session.add(RunRow(
                    id=run_id, name=f"{name}-v{v}", status="finished", params=base.params,
                    metrics=base.metrics, environment=base.environment,
                    code_version=base.code_version, seed=base.seed,
                    model_blob=base.model_blob, model_info=base.model_info, host=base.host,
                    pid=base.pid, created_by=tx.actor, started_at=ctx.clock(),
                    ended_at=ctx.clock(), duration_s=base.duration_s))
                session.flush()  # the run row before the rows that point at it
                tx.record("run.start", f"run:{run_id}", {
                    "name": f"{name}-v{v}", "params": json.loads(base.params),
                    "seed": base.seed, "code_version": json.loads(base.code_version)})
                for dataset_id, role, ds_name, ds_version, content_hash in lineage:
                    session.add(RunDatasetRow(run_id=run_id, dataset_version_id=dataset_id,
                                              role=role))
                    tx.record("run.use_dataset", f"run:{run_id}", {
                        "dataset": f"{ds_name}@{ds_version}", "content_hash": content_hash,
                        "role": role})
                tx.record("run.finish", f"run:{run_id}", {
                    "status": "finished", "error": None, "duration_s": base.duration_s,
                    "metrics": json.loads(base.metrics), "model_blob": base.model_blob,
                    "step_metrics": 0, "step_metrics_sha256": empty_digest})
                row = ModelVersionRow(
                    name=name, version=v, run_id=run_id, blob=template.blob,
                    task=template.task, signature=template.signature,
                    trusted_types=template.trusted_types, metrics=template.metrics,
                    classes=template.classes, created_by=tx.actor, created_at=ctx.clock())
                session.add(row)
                session.flush()
                tx.record("model.register", f"model:{name}@{v}", {
                    "run_id": run_id, "artifact_sha256": template.blob,
                    "datasets": [{"dataset": f"{n}@{ver}", "content_hash": h, "role": r}
                                 for _, r, n, ver, h in lineage],
                    "trusted_types": json.loads(template.trusted_types),
                    "metrics": json.loads(template.metrics)})
                rows.append(row)
            if not rows:
                continue
            first_row = session.execute(select(ModelVersionRow).where(
                ModelVersionRow.name == name, ModelVersionRow.version == 1)).scalar_one()
            for env in environments:
                for row in {first_row.id: first_row, rows[-1].id: rows[-1]}.values():
                    deployed = _deploy(tx, ModelVersion.from_row(row, []), env,
                                       kind=DeploymentKind.PROMOTION, reason="seeded")
                    deployments += deployed.changed
    return Seeded(models=models, versions_per_model=versions, deployments=deployments)
