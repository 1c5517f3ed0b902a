"""Registering runs as model versions, looking them up, and loading them safely."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session, aliased

from rasad.config import CONFIG_FILE
from rasad.errors import ConflictError, InputError, NotFoundError
from rasad.identity import Permission
from rasad.ledger import Tx, canonical_json
from rasad.names import check_name
from rasad.registry.slots import Slot, parse_slot, split, target
from rasad.registry.version import (
    Deployment,
    ModelDetail,
    ModelVersion,
    Registration,
    ServingSet,
)
from rasad.store._tables import CurrentDeploymentRow, DeploymentRow, ModelVersionRow
from rasad.store.lineage import run_datasets, run_row

if TYPE_CHECKING:
    from rasad.artifacts.skops import TrustDecision
    from rasad.core import Context
    from rasad.tables.signature import Signature


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
    registered twice: that version comes back with ``created=False``. Needs
    ``model.register``.
    """
    check_name(name, "Model")
    action = f"register run {run_id} as model {name!r}"
    ctx.require(Permission.MODEL_REGISTER, action)
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
    with ctx.transaction(Permission.MODEL_REGISTER, action) as tx:
        existing = tx.session.execute(
            select(ModelVersionRow).where(ModelVersionRow.name == name,
                                          ModelVersionRow.run_id == run.id)
            .order_by(ModelVersionRow.version).limit(1)).scalar_one_or_none()
        if existing is not None:
            return Registration(version=ModelVersion.from_row(existing, datasets),
                                created=False)
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
        return Registration(version=ModelVersion.from_row(row, datasets), created=True)


def _known_models(session: Session) -> str:
    names = session.execute(select(ModelVersionRow.name).distinct()
                            .order_by(ModelVersionRow.name)).scalars().all()
    if not names:
        return ("The registry is empty; register a run with "
                "`rasad models register RUN --name NAME`.")
    return "Registered models: " + ", ".join(names) + "."


def check_environment(ctx: Context, env: str) -> str:
    """``env`` if it is one of the project's environments, else a NotFoundError listing them."""
    envs = ctx.config.registry.environments
    if env not in envs:
        raise NotFoundError(f"No environment {env!r}; environments are {', '.join(envs)} "
                            "(registry.environments in rasad.yaml).")
    return env


def check_target(ctx: Context, env: str, slot: Slot | str = Slot.PRIMARY) -> str:
    """The stored target of ``slot`` in ``env`` (:func:`rasad.registry.slots.target`),
    once both are known to the project.

    Raises
    ------
    NotFoundError
        ``env`` is not one of ``registry.environments``.
    InputError
        ``slot`` is not a slot, or it is the canary and ``serving.environments.ENV.canary``
        is not set: without a share, no request would reach it.
    """
    check_environment(ctx, env)
    chosen = parse_slot(slot)
    if chosen is Slot.CANARY:
        serving = ctx.config.serving.environments.get(env)
        if serving is None or serving.canary is None:
            raise InputError(
                f"{env} has no canary traffic share: set serving.environments.{env}.canary "
                f"in {CONFIG_FILE} (for example `serving: {{environments: {{{env}: {{canary: "
                "{share: 0.1, key: customer_id}}}}}`: a tenth of the requests, the same "
                "customer always to the same version), then promote the canary.")
    return target(env, chosen)


def _serving_version(name: str, env: str) -> ScalarSelect[int]:
    """The number of the version serving ``name`` in ``env``, as a subquery."""
    served = aliased(ModelVersionRow)
    return (select(served.version)
            .join(DeploymentRow, DeploymentRow.model_version_id == served.id)
            .join(CurrentDeploymentRow, CurrentDeploymentRow.deployment_id == DeploymentRow.id)
            .where(CurrentDeploymentRow.model_name == name,
                   CurrentDeploymentRow.environment == env)
            .scalar_subquery())


def resolve(ctx: Context, name: str, *, version: int | None = None,
            env: str | None = None) -> ModelVersion:
    """A model version by number, by environment, or the latest when neither is given.

    Two queries whatever the size of the registry: the one version (chosen in SQL) and
    the datasets its run used. Only a lookup that fails asks more, to list the options.

    Raises
    ------
    InputError
        Both ``version`` and ``env`` are given.
    NotFoundError
        No such model, environment, version, or nothing serves ``env``; the message
        lists what there is.
    """
    ctx.require(Permission.READ, f"read model {name!r}")
    if version is not None and env is not None:
        raise InputError("Give either a version or an environment, not both.")
    if env is not None:
        check_environment(ctx, env)
    query = select(ModelVersionRow).where(ModelVersionRow.name == name)
    if env is not None:
        query = query.where(ModelVersionRow.version == _serving_version(name, env))
    elif version is not None:
        query = query.where(ModelVersionRow.version == version)
    else:
        query = query.order_by(ModelVersionRow.version.desc()).limit(1)
    with ctx.db.read() as session:
        row = session.execute(query).scalar_one_or_none()
        if row is None:
            raise _missing(session, name, version, env)
        return ModelVersion.from_row(row, run_datasets(session, [row.run_id])[row.run_id])


def _missing(session: Session, name: str, version: int | None,
             env: str | None) -> NotFoundError:
    """Why :func:`resolve` found nothing, with the valid options."""
    numbers = session.execute(select(ModelVersionRow.version)
                              .where(ModelVersionRow.name == name)
                              .order_by(ModelVersionRow.version)).scalars().all()
    if not numbers:
        return NotFoundError(f"No model named {name!r}. {_known_models(session)}")
    if env is not None:
        version = session.execute(select(_serving_version(name, env))).scalar()
        if version is None:
            return NotFoundError(f"Model {name!r} has no version in {env!r}; promote one "
                                 f"with `rasad promote {name} VERSION --to {env}`.")
    return NotFoundError(f"Model {name!r} has no version {version}; versions are "
                         f"{', '.join(str(n) for n in numbers)}.")


def history(ctx: Context, name: str) -> list[Deployment]:
    """Every deployment of model ``name``, oldest first, in one query.

    Raises
    ------
    NotFoundError
        No model is named ``name``; the message lists the models.
    """
    ctx.require(Permission.READ, f"read model {name!r}")
    with ctx.db.read() as session:
        found = _histories(session, name).get(name, [])
        if not found and session.execute(select(ModelVersionRow.id).where(
                ModelVersionRow.name == name).limit(1)).first() is None:
            raise NotFoundError(f"No model named {name!r}. {_known_models(session)}")
        return found


def _histories(session: Session, name: str | None) -> dict[str, list[Deployment]]:
    """The deployments of one model (or of all when ``name`` is None), by model."""
    query = (select(DeploymentRow.__table__, ModelVersionRow.version)
             .join(ModelVersionRow, ModelVersionRow.id == DeploymentRow.model_version_id)
             .order_by(DeploymentRow.id))
    if name is not None:
        query = query.where(DeploymentRow.model_name == name)
    serving: dict[tuple[str, str], int] = {}
    versions: dict[int, int] = {}
    out: dict[str, list[Deployment]] = {}
    for row in session.execute(query).all():
        key = (row.model_name, row.environment)
        # A promotion names what it replaced (none after a canary was retired); a rollback
        # names what came before its target, so for it, in order, "previous" is what
        # served just before in that environment.
        previous = (versions.get(row.previous_id) if row.kind == "promotion"
                    else serving.get(key))
        out.setdefault(row.model_name, []).append(
            Deployment.from_row(row, int(row.version), previous))
        serving[key] = versions[row.id] = int(row.version)
    return out


def _deployed(session: Session, name: str | None,
              order: list[str]) -> dict[str, dict[str, int]]:
    """The version serving each environment, by model, environments in project order."""
    query = (select(CurrentDeploymentRow.model_name, CurrentDeploymentRow.environment,
                    ModelVersionRow.version)
             .join(DeploymentRow, DeploymentRow.id == CurrentDeploymentRow.deployment_id)
             .join(ModelVersionRow, ModelVersionRow.id == DeploymentRow.model_version_id))
    if name is not None:
        query = query.where(CurrentDeploymentRow.model_name == name)
    found: dict[str, dict[str, int]] = {}
    for model, env, v in session.execute(query).all():
        found.setdefault(model, {})[env] = int(v)
    return {model: dict(sorted(envs.items(), key=lambda kv: _rank(kv[0], order)))
            for model, envs in found.items()}


def _rank(stored: str, order: list[str]) -> tuple[int, int]:
    """Where a stored target sorts: by its environment in project order, then by slot."""
    env, slot = split(stored)
    slots = list(Slot)
    return (order.index(env) if env in order else len(order), slots.index(slot))


def _details(ctx: Context, session: Session, name: str | None) -> list[ModelDetail]:
    """One model's detail (or every model's, by name): four queries in all."""
    # Plain rows, not mapped objects: a listing builds every version, and the values are
    # all it needs.
    versions = select(ModelVersionRow.__table__)
    runs = select(ModelVersionRow.run_id)
    if name is not None:
        versions = versions.where(ModelVersionRow.name == name)
        runs = runs.where(ModelVersionRow.name == name)
    rows = session.execute(versions.order_by(ModelVersionRow.name, ModelVersionRow.version)
                           ).all()
    if not rows:
        return []
    # The runs are named by a subquery, not a list of ids: one statement of fixed size.
    lineage = run_datasets(session, runs)
    deployed = _deployed(session, name, ctx.config.registry.environments)
    histories = _histories(session, name)
    by_model: dict[str, list[ModelVersion]] = {}
    signatures: dict[str, Signature] = {}
    for row in rows:
        by_model.setdefault(row.name, []).append(ModelVersion.from_row(
            row, lineage.get(row.run_id, []), signatures=signatures))
    return [ModelDetail(name=model, versions=found, deployed=deployed.get(model, {}),
                        history=histories.get(model, []))
            for model, found in by_model.items()]


def detail(ctx: Context, name: str) -> ModelDetail:
    """Model ``name``: its versions with lineage, where each serves, its deployment history.

    Four queries whatever the number of versions and deployments.

    Raises
    ------
    NotFoundError
        No model is named ``name``; the message lists the models.
    """
    ctx.require(Permission.READ, f"read model {name!r}")
    with ctx.db.read() as session:
        found = _details(ctx, session, name)
        if not found:
            raise NotFoundError(f"No model named {name!r}. {_known_models(session)}")
        return found[0]


def list_models(ctx: Context) -> list[ModelDetail]:
    """Every model, by name, as :func:`detail` gives it: four queries in all."""
    ctx.require(Permission.READ, "list models")
    with ctx.db.read() as session:
        return _details(ctx, session, None)


def serving_versions(ctx: Context, env: str) -> dict[str, ServingSet]:
    """What serves each model in ``env``: its primary, canary and shadow, by model name.

    For a prediction server. Two queries whatever the number of models (the versions,
    chosen in SQL, and the datasets their runs used). A model with nothing primary in
    ``env`` is left out: a canary or shadow only ever runs beside a primary.

    Raises
    ------
    NotFoundError
        ``env`` is not one of ``registry.environments``.
    """
    ctx.require(Permission.READ, f"read what serves {env!r}")
    check_environment(ctx, env)
    targets = {target(env, slot): slot for slot in Slot}
    pointed = (select(CurrentDeploymentRow.model_name, CurrentDeploymentRow.environment,
                      ModelVersionRow.__table__)
               .join(DeploymentRow, DeploymentRow.id == CurrentDeploymentRow.deployment_id)
               .join(ModelVersionRow, ModelVersionRow.id == DeploymentRow.model_version_id)
               .where(CurrentDeploymentRow.environment.in_(list(targets)))
               .order_by(CurrentDeploymentRow.model_name))
    runs = (select(ModelVersionRow.run_id)
            .join(DeploymentRow, DeploymentRow.model_version_id == ModelVersionRow.id)
            .join(CurrentDeploymentRow, CurrentDeploymentRow.deployment_id == DeploymentRow.id)
            .where(CurrentDeploymentRow.environment.in_(list(targets))))
    with ctx.db.read() as session:
        rows = session.execute(pointed).all()
        lineage = run_datasets(session, runs) if rows else {}
    signatures: dict[str, Signature] = {}
    slots: dict[str, dict[Slot, ModelVersion]] = {}
    for row in rows:
        version = ModelVersion.from_row(row, lineage.get(row.run_id, []),
                                        signatures=signatures)
        slots.setdefault(row.model_name, {})[targets[row.environment]] = version
    return {model: ServingSet(primary=found[Slot.PRIMARY], canary=found.get(Slot.CANARY),
                              shadow=found.get(Slot.SHADOW))
            for model, found in slots.items() if Slot.PRIMARY in found}


def trained_target(ctx: Context, version: ModelVersion) -> str | None:
    """The column ``version`` was trained to predict, from its run's record (None if the
    run does not say: a model logged by hand without a target)."""
    with ctx.read() as session:
        info = json.loads(run_row(session, version.run_id).model_info or "{}")
    target = info.get("target")
    return target if isinstance(target, str) and target else None


def load(ctx: Context, version: ModelVersion) -> Any:
    """Load a version's pipeline: hash checked first, then only trusted types are built."""
    ctx.require(Permission.READ, f"load model {version.name!r}")
    from rasad.artifacts.skops import load_model

    data = ctx.artifacts.get_bytes(version.blob)
    return load_model(data, trusted=version.trusted_types, user_trusted=user_trusted(ctx))
