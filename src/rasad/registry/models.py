"""Registering runs as model versions, looking them up, and loading them safely."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rasad.config import CONFIG_FILE
from rasad.errors import ConflictError, InputError, NotFoundError
from rasad.ledger import Tx, canonical_json
from rasad.names import check_name
from rasad.registry.version import Deployment, ModelDetail, ModelVersion, Registration
from rasad.store._tables import CurrentDeploymentRow, DeploymentRow, ModelVersionRow
from rasad.store.lineage import run_datasets, run_row

if TYPE_CHECKING:
    from rasad.artifacts.skops import TrustDecision
    from rasad.core import Context


def user_trusted(ctx: Context) -> tuple[str, ...]:
    """The project's own trust decisions: ``registry.trusted_types``, exact names."""
    return tuple(ctx.config.registry.trusted_types)


def verify_artifact(ctx: Context, blob: str, recorded: list[str]) -> TrustDecision:
    """Check a model's bytes before anything points at them or serves them.

    The blob must exist and match its hash, be a skops archive, hold no type beyond
    ``recorded``, and every type it holds must pass the trust policy. Nothing is
    built and nothing is written.

    Raises
    ------
    IntegrityError
        The blob is missing, corrupt, or not a skops archive (a pickle, say).
    UntrustedArtifactError
        It holds a type that is not recorded or that the policy refuses.
    """
    # skops (and with it all of scikit-learn) is imported only where model bytes are
    # touched: resolving a version must not pay for it.
    from rasad.artifacts.skops import check_model

    data = ctx.artifacts.get_bytes(blob)
    return check_model(data, recorded, user_trusted(ctx))


def record_trust(tx: Tx, ctx: Context, subject: str, decision: TrustDecision,
                 use: str) -> None:
    """Audit a model relying on names only the project's ``registry.trusted_types`` allows."""
    if decision.user:
        tx.record("registry.trust", subject, {
            "types": list(decision.user), "use": use,
            "source": f"registry.trusted_types in {ctx.root / CONFIG_FILE}"})


def register(ctx: Context, run_id: str, name: str) -> Registration:
    """Make a finished run's fitted pipeline the next version of model ``name``.

    The artifact is verified first (:func:`verify_artifact`); a refused artifact
    leaves no row and no event. A run that already is a version of ``name`` is not
    registered twice: that version comes back with ``created=False``.
    """
    check_name(name, "Model")
    with ctx.db.read() as session:
        run = run_row(session, run_id)
        datasets = run_datasets(session, [run.id])[run.id]
    if run.status != "finished":
        raise ConflictError(f"Run {run.id} is {run.status}; only finished runs can be "
                            "registered.")
    if not run.model_blob or not run.model_info:
        raise ConflictError(f"Run {run.id} stored no model; it cannot be registered.")
    model_info = json.loads(run.model_info)
    metrics = json.loads(run.metrics)
    decision = verify_artifact(ctx, run.model_blob,
                               list(model_info.get("untrusted_types", [])))
    found = decision.types  # what the bytes hold, not what the run row claims
    with ctx.transaction() as tx:
        existing = tx.session.execute(
            select(ModelVersionRow).where(ModelVersionRow.name == name,
                                          ModelVersionRow.run_id == run.id)
            .order_by(ModelVersionRow.version).limit(1)).scalar_one_or_none()
        if existing is not None:
            return Registration(ModelVersion.from_row(existing, datasets), created=False)
        latest = tx.session.execute(
            select(func.max(ModelVersionRow.version)).where(ModelVersionRow.name == name)
        ).scalar()
        row = ModelVersionRow(
            name=name, version=(latest or 0) + 1, run_id=run.id, blob=run.model_blob,
            task=model_info["task"], signature=canonical_json(model_info["signature"]),
            trusted_types=canonical_json(found),
            metrics=canonical_json(metrics),
            classes=canonical_json(model_info["classes"])
            if model_info.get("classes") is not None else None,
            created_by=tx.actor, created_at=ctx.clock())
        tx.session.add(row)
        tx.session.flush()
        subject = f"model:{name}@{row.version}"
        tx.record("model.register", subject, {
            "run_id": run.id, "artifact_sha256": run.model_blob,
            "datasets": datasets, "trusted_types": found,
            "metrics": metrics})
        record_trust(tx, ctx, subject, decision, "register")
        return Registration(ModelVersion.from_row(row, datasets), created=True)


def _versions(session: Session, name: str) -> list[ModelVersion]:
    rows = session.execute(select(ModelVersionRow).where(ModelVersionRow.name == name)
                           .order_by(ModelVersionRow.version)).scalars().all()
    lineage = run_datasets(session, [r.run_id for r in rows])
    return [ModelVersion.from_row(r, lineage[r.run_id]) for r in rows]


def _known_models(session: Session) -> str:
    names = session.execute(select(ModelVersionRow.name).distinct()
                            .order_by(ModelVersionRow.name)).scalars().all()
    if not names:
        return ("The registry is empty; register a run with "
                "`rasad models register RUN --name NAME`.")
    return "Registered models: " + ", ".join(names) + "."


def check_environment(ctx: Context, env: str) -> str:
    envs = ctx.config.registry.environments
    if env not in envs:
        raise NotFoundError(f"No environment {env!r}; environments are {', '.join(envs)} "
                            "(registry.environments in rasad.yaml).")
    return env


def resolve(ctx: Context, name: str, *, version: int | None = None,
            env: str | None = None) -> ModelVersion:
    """A model version by number, by environment, or the latest when neither is given."""
    if version is not None and env is not None:
        raise InputError("Give either a version or an environment, not both.")
    if env is not None:
        check_environment(ctx, env)
    with ctx.db.read() as session:
        versions = _versions(session, name)
        if not versions:
            raise NotFoundError(f"No model named {name!r}. {_known_models(session)}")
        if env is not None:
            current = _current(session, name).get(env)
            if current is None:
                raise NotFoundError(f"Model {name!r} has no version in {env!r}; promote one "
                                    f"with `rasad promote {name} VERSION --to {env}`.")
            version = current
        if version is None:
            return versions[-1]
        for item in versions:
            if item.version == version:
                return item
    raise NotFoundError(f"Model {name!r} has no version {version}; versions are "
                        f"{', '.join(str(v.version) for v in versions)}.")


def _current(session: Session, name: str) -> dict[str, int]:
    rows = session.execute(
        select(CurrentDeploymentRow.environment, ModelVersionRow.version)
        .join(DeploymentRow, DeploymentRow.id == CurrentDeploymentRow.deployment_id)
        .join(ModelVersionRow, ModelVersionRow.id == DeploymentRow.model_version_id)
        .where(CurrentDeploymentRow.model_name == name)).all()
    return {env: int(v) for env, v in rows}


def history(session: Session, name: str) -> list[Deployment]:
    rows = session.execute(
        select(DeploymentRow, ModelVersionRow.version)
        .join(ModelVersionRow, ModelVersionRow.id == DeploymentRow.model_version_id)
        .where(DeploymentRow.model_name == name).order_by(DeploymentRow.id)).all()
    serving: dict[str, int] = {}
    out = []
    for row, v in rows:  # in order, so "previous" is what served just before
        out.append(Deployment.from_row(row, int(v), serving.get(row.environment)))
        serving[row.environment] = int(v)
    return out


def detail(ctx: Context, name: str) -> ModelDetail:
    with ctx.db.read() as session:
        versions = _versions(session, name)
        if not versions:
            raise NotFoundError(f"No model named {name!r}. {_known_models(session)}")
        deployed = _current(session, name)
        order = ctx.config.registry.environments
        deployed = dict(sorted(deployed.items(),
                               key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))
        return ModelDetail(name, versions, deployed, history(session, name))


def list_models(ctx: Context) -> list[ModelDetail]:
    with ctx.db.read() as session:
        names = session.execute(select(ModelVersionRow.name).distinct()
                                .order_by(ModelVersionRow.name)).scalars().all()
    return [detail(ctx, n) for n in names]


def load(ctx: Context, version: ModelVersion) -> Any:
    """Load a version's pipeline: hash checked first, then only trusted types are built."""
    from rasad.artifacts.skops import load_model

    data = ctx.artifacts.get_bytes(version.blob)
    return load_model(data, trusted=version.trusted_types, user_trusted=user_trusted(ctx))
