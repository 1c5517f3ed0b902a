"""``rasad package``: the serving image's build context and its Kubernetes manifests.

One call writes, for one environment, a folder with:

- ``requirements.txt``: rasad (pinned, or its wheel in ``wheels/`` when it runs from a
  source checkout) and, pinned to the versions installed here, only what ``rasad serve``
  and the libraries of the models deployed to the environment need;
- ``Dockerfile`` and ``.dockerignore`` (:mod:`._dockerfile`), ``rasad.yaml`` without
  storage URLs (:mod:`._config`);
- ``k8s/``: ConfigMap, Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget
  and ``kustomization.yaml`` (:mod:`._manifests`), and the automation agent's CronJob or
  Deployment (:mod:`._agent`), each checked against the Kubernetes schemas before
  anything is written;
- ``README.md`` and ``rasad-package.json`` (this result).

The folder appears whole or not at all (:mod:`._folder`), together with the
``model.package`` audit event that records every file's SHA-256.

Permission: ``read``. Packaging changes nothing in the project but its audit trail: the
folder holds no model and no secret (the server loads the governed deployment from the
registry at run time, with the database credentials the cluster gives it), so it
discloses nothing a reader cannot see already, and what serves stays decided by the
promotion flow, which needs ``model.promote`` and its gates and approvals.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from rasad.config import (
    ARTIFACTS_ENV,
    CONFIG_FILE,
    DATABASE_ENV,
    STATE_DIR,
    redact_url,
    resolve_artifacts_url,
    resolve_database_url,
)
from rasad.errors import InputError
from rasad.identity import Permission
from rasad.ledger.keys import KEY_ENV as CHECKPOINT_KEY_ENV
from rasad.registry import Slot, models
from rasad.serving.packaging import _agent, _dockerfile, _manifests, _rasad_source
from rasad.serving.packaging._agent import AgentKind
from rasad.serving.packaging._config import image_config
from rasad.serving.packaging._folder import MARKER, Staging, check_target
from rasad.serving.packaging._readme import readme
from rasad.serving.packaging._requirements import (
    SERVE_EXTRA,
    Pin,
    distributions_of_types,
    pin_closure,
)
from rasad.serving.packaging.policy import DEFAULT_POLICY, PackagePolicy, check_schedule
from rasad.serving.packaging.result import PackagedFile, PackagedModel, PackageResult
from rasad.serving.predlog._masking import KEY_ENV, KEY_FILE
from rasad.store.lineage import run_row

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.registry import ModelVersion

MAX_REPLICAS = 1000
SKLEARN = "scikit-learn"
# The prediction log's masking key, named once where the log reads it.
LOG_KEY_ENV = KEY_ENV
LOG_KEY_FILE = KEY_FILE
"""The prediction log's masking key: its variable, and its file in a project's ``.rasad/``
(as :mod:`rasad.serving.predlog` reads them)."""


def package(ctx: Context, env: str, out: str | os.PathLike[str], *,
            image: str | None = None, replicas: int = 2, port: int = 8080,
            force: bool = False, base_image: str | None = None,
            agent: AgentKind | str | None = "auto", agent_schedule: str | None = None,
            policy: PackagePolicy = DEFAULT_POLICY) -> PackageResult:
    """Write the serving image's build context and Kubernetes manifests for ``env``.

    Parameters
    ----------
    ctx : Context
    env : str
        The environment whose deployed models the server serves.
    out : path
        The folder to write; new or empty (``force``: also one an earlier package wrote).
    image : str, optional
        The image the Deployment runs, ``[REGISTRY/]NAME:TAG``. Default: the workload's
        name tagged with the digest of the build context, so a changed image gets a new tag.
    replicas : int
        The fewest pods (the autoscaler's ``minReplicas``; it may add up to
        ``policy.replicas_factor`` times as many).
    port : int
        The port the server listens on in the container, and the Service's port.
    force : bool
        Replace ``out`` if an earlier ``rasad package`` wrote it.
    base_image : str, optional
        The Dockerfile's ``FROM``, e.g. a digest-pinned ``python:3.11.7-slim-bookworm@sha256:…``.
        Default: the slim Debian image of the Python running here, pinned to its patch release.
    agent : {"auto", "cronjob", "deployment", "none", None}
        The automation agent's manifest (``rasad agent``, from the same image): a CronJob
        running ``rasad agent --once`` on ``agent_schedule``, a Deployment of one
        long-running agent, or none (``"none"`` or ``None``). ``"auto"``: a CronJob when
        ``rasad.yaml`` has automation sources or monitors, else none.
    agent_schedule : str, optional
        The CronJob's schedule, five-field cron in UTC; default ``policy.agent_schedule``
        (every five minutes). Only with the CronJob.
    policy : PackagePolicy
        Sizes, user id, probes' timing, the Kubernetes version checked against.

    Returns
    -------
    PackageResult

    Raises
    ------
    NotFoundError
        No environment ``env``.
    InputError
        Nothing is deployed to ``env``; a bad option; ``out`` is not new or empty (or,
        with ``force``, not an earlier package); a needed library is not installed here
        (the agent's too: its estimator's, its sources' filesystems); a value of
        ``rasad.yaml`` would carry a password into the image, or name a credential's
        variable that cannot be one. Nothing is written.
    CheckFailed
        A generated manifest does not validate (a bug); nothing is written.
    """
    target = Path(os.path.abspath(out))
    action = f"package the {env} environment"
    ctx.require(Permission.READ, action)
    models.check_environment(ctx, env)
    _check_numbers(replicas, port)
    if image is not None:
        _dockerfile.check_image(image, "--image", digest_allowed=False)
    base = _dockerfile.check_image(base_image, "--base-image", digest_allowed=True) \
        if base_image is not None else _dockerfile.default_base_image()
    agent_kind = _agent.choose(agent, ctx.config.automation)
    schedule = _schedule(agent_kind, agent_schedule, policy)
    agent_keys = _agent.secret_keys(ctx.config) if agent_kind else {}
    agent_libraries = _agent.libraries(ctx.config) if agent_kind else []
    check_target(target, force=force, protected=_protected(ctx))
    served = _served(ctx, env)
    packaged = [_libraries(slot, version) for slot, version in served]
    config_text = image_config(ctx.config, f"# rasad.yaml of the project, as `rasad serve` "
                                           f"reads it in the {env} image: storage comes from "
                                           f"the environment ({DATABASE_ENV}, {ARTIFACTS_ENV}).")
    warnings = [*_storage_warnings(ctx), *_trained_with(ctx, served, packaged)]
    base_warning = _dockerfile.check_base_python(base)
    if base_warning:
        warnings.append(base_warning)
    if agent_kind:
        warnings += _agent.warnings(ctx.config)
    name = _manifests.app_name(ctx.config.name, env)
    config, secrets = _runtime_env(ctx, name)
    serving_keys = tuple(secrets)
    for key in agent_keys:
        secrets.setdefault(key, _agent_secret_option(key))
    with Staging(target) as staging:
        root = staging.path
        source = _rasad_source.locate(root / "wheels")
        pins = pin_closure(
            [("rasad", [SERVE_EXTRA], "rasad"),
             *((library, [], model.ref) for model in packaged for library in model.libraries),
             *((library, [], _agent.AGENT_NEEDS) for library in agent_libraries)],
            root_requires={"rasad": source.requires})
        files: dict[str, str] = {
            "requirements.txt": _requirements_text(env, source.line, pins, packaged,
                                                   agent_libraries if agent_kind else None),
            CONFIG_FILE: config_text,
            "Dockerfile": _dockerfile.dockerfile(
                env=env, port=port, base_image=base, uid=policy.uid,
                has_wheels=source.wheel is not None, rasad_version=source.version,
                agent=agent_kind),
            ".dockerignore": _dockerfile.dockerignore(has_wheels=source.wheel is not None),
        }
        _write(root, files)
        image = image or f"{name}:{_context_digest(root)[:12]}"
        spec = _manifests.ServingSpec(
            name=name, env=env, project=ctx.config.name, image=image, port=port,
            replicas=replicas, config=config, secret_keys=serving_keys, policy=policy,
            annotations={"rasad.io/rasad-version": source.version})
        agent_spec = None if agent_kind is None else _agent.AgentSpec(
            serving=spec, kind=agent_kind, schedule=schedule or policy.agent_schedule,
            secret_keys=tuple(secrets))
        manifests = [*_manifests.serving_manifests(spec),
                     *(_agent.agent_manifests(agent_spec) if agent_spec else [])]
        header = (f"# Written by `rasad package --env {env}` (rasad {source.version}); "
                  f"checked against Kubernetes {policy.kubernetes_version}.")
        k8s = {m.path: _manifests.render(m, header)
               for m in [*manifests, _manifests.kustomization(manifests)]}
        _manifests.validate({p: t for p, t in k8s.items() if p != "kustomization.yaml"},
                            policy.kubernetes_version)
        _write(root, {f"{_manifests.K8S_DIR}/{p}": t for p, t in k8s.items()})
        listing = sorted([*_relative_files(root), "README.md", MARKER])
        anonymous = bool(ctx.config.serving.environments.get(env) and
                         ctx.config.serving.environments[env].anonymous)
        _write(root, {"README.md": readme(spec=spec, models=packaged, files=listing,
                                          secrets=secrets, anonymous=anonymous,
                                          warnings=warnings, agent=agent_spec)})
        result = PackageResult(
            environment=env, output=str(target), image=image, base_image=base, port=port,
            replicas=replicas, kubernetes_version=policy.kubernetes_version,
            rasad=source.line, models=packaged,
            requirements={pin.name: pin.version for pin in pins},
            files=_digests(root), secret=spec.secret_name, secret_keys=list(secrets),
            warnings=warnings, agent=agent_spec.kind.value if agent_spec else None,
            agent_schedule=schedule,
            agent_principal=agent_spec.principal if agent_spec else None)
        _write(root, {MARKER: result.to_json(indent=2) + "\n"})
        with ctx.transaction(Permission.READ, action) as tx:
            tx.record("model.package", f"environment:{env}", {
                "output": str(target), "image": image, "base_image": base,
                "rasad": source.line, "replicas": replicas, "port": port,
                "agent": result.agent, "agent_schedule": schedule,
                "models": [{"name": v.name, "version": v.version, "slot": str(slot),
                            "artifact_sha256": v.blob} for slot, v in served],
                "files": {f.path: f.sha256 for f in result.files}})
            staging.commit(force=force)
    return result


def _check_numbers(replicas: int, port: int) -> None:
    if not 1 <= replicas <= MAX_REPLICAS:
        raise InputError(f"--replicas {replicas} is out of range; give 1 to {MAX_REPLICAS} "
                         "(2 or more keeps serving through a node drain).")
    if not 1 <= port <= 65535:
        raise InputError(f"--port {port} is not a TCP port; give 1 to 65535, such as 8080.")


def _schedule(kind: AgentKind | None, given: str | None, policy: PackagePolicy) -> str | None:
    """The CronJob's schedule: ``given`` (checked), else the policy's; none without it."""
    if given is not None and kind is not AgentKind.CRONJOB:
        raise InputError(f"--agent-schedule applies to the agent's CronJob, and "
                         f"{'no agent' if kind is None else 'a long-running agent'} is "
                         "written; add --agent cronjob, or leave --agent-schedule out (a "
                         "long-running agent passes every automation.agent.interval_seconds).")
    if kind is not AgentKind.CRONJOB:
        return None
    return check_schedule(given, "--agent-schedule") if given is not None \
        else policy.agent_schedule


def _agent_secret_option(key: str) -> str:
    """How the README fills a key of the Secret only the agent reads (never the value)."""
    if key == CHECKPOINT_KEY_ENV:  # the PEM file `rasad audit keygen` wrote
        return f"--from-file={key}=PATH/TO/CHECKPOINT-KEY.pem"
    return f"--from-literal={key}='...'"


def _protected(ctx: Context) -> list[Path]:
    found = [ctx.root / CONFIG_FILE, ctx.root / STATE_DIR]
    artifacts = resolve_artifacts_url(ctx.config, ctx.root)
    if "://" not in artifacts:
        found.append(Path(artifacts))
    return found


def _served(ctx: Context, env: str) -> list[tuple[Slot, ModelVersion]]:
    """Every version serving in ``env`` (primaries, canaries and shadows), by model name."""
    served = [(slot, version)
              for _, serving in sorted(models.serving_versions(ctx, env).items())
              for slot in Slot if (version := serving.of(slot)) is not None]
    if not served:
        raise InputError(f"Nothing is deployed to {env!r}, so there is nothing to serve; "
                         f"promote a model first (`rasad promote NAME VERSION --to {env}`), "
                         "then package again.")
    return served


def _libraries(slot: Slot, version: ModelVersion) -> PackagedModel:
    """The distributions a version's stored types come from; scikit-learn always (its
    estimators are types skops trusts without recording them)."""
    found = set(distributions_of_types(version.trusted_types).values()) - {SKLEARN}
    return PackagedModel(name=version.name, version=version.version, slot=str(slot),
                         libraries=[SKLEARN, *sorted(found)])


def _trained_with(ctx: Context, served: Sequence[tuple[Slot, ModelVersion]],
                  packaged: Sequence[PackagedModel]) -> list[str]:
    """Warnings for libraries whose installed version is not the one a model was trained
    with (the run's reproducibility record)."""
    warnings = []
    with ctx.read() as session:
        for (_, version), model in zip(served, packaged, strict=True):
            recorded = json.loads(run_row(session, version.run_id).environment or "{}")
            trained = recorded.get("packages", {}) if isinstance(recorded, dict) else {}
            for library in model.libraries:
                was = trained.get(library)
                try:
                    now = metadata.version(library)
                except metadata.PackageNotFoundError:
                    continue
                if isinstance(was, str) and was != now:
                    warnings.append(
                        f"{model.ref} was trained with {library} {was}; the image gets {now}, "
                        f"installed here. Check it (rasad test {model.ref}), or install "
                        f"{library}=={was} and package again.")
    return warnings


def _storage_warnings(ctx: Context) -> list[str]:
    warnings = []
    if resolve_database_url(ctx.config, ctx.root).startswith("sqlite"):
        warnings.append("The project's database is a SQLite file on this machine; pods need "
                        f"a database server they can reach: put its URL in the Secret "
                        f"({DATABASE_ENV}).")
    artifacts = resolve_artifacts_url(ctx.config, ctx.root)
    if "://" not in artifacts or artifacts.startswith("file://"):
        warnings.append(f"The artifact store is the folder {artifacts} on this machine; "
                        "pods read models from it: mount it at that path in the pods, or "
                        f"set {ARTIFACTS_ENV} in k8s/configmap.yaml to an object store URL.")
    return warnings


def _runtime_env(ctx: Context, name: str) -> tuple[dict[str, str], dict[str, str]]:
    """The ConfigMap's data, and the Secret's required keys with how to fill each one
    (a ``kubectl create secret`` option, never the value).

    The artifact store's URL goes in the ConfigMap unless it carries a password; the
    database URL never does. The prediction log's masking key is required when a column
    is masked: every replica must hash with the project's one key.
    """
    artifacts = resolve_artifacts_url(ctx.config, ctx.root)
    config = {"RASAD_USER": name}
    secrets = {DATABASE_ENV: f"--from-literal={DATABASE_ENV}="
                             "'postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE'"}
    if redact_url(artifacts) == artifacts:
        config[ARTIFACTS_ENV] = artifacts
    else:
        secrets[ARTIFACTS_ENV] = f"--from-literal={ARTIFACTS_ENV}='SCHEME://USER:PASSWORD@...'"
    log = ctx.config.serving.log
    if log.enabled and "mask" in log.personal_data.values():
        key_file = ctx.root / STATE_DIR / LOG_KEY_FILE
        secrets[LOG_KEY_ENV] = f"--from-file={LOG_KEY_ENV}={shlex.quote(str(key_file))}"
    return dict(sorted(config.items())), secrets


def _requirements_text(env: str, rasad_line: str, pins: list[Pin],
                       packaged: list[PackagedModel], agent: list[str] | None) -> str:
    models_line = "\n".join(f"#   {m.described}: {', '.join(m.libraries)}" for m in packaged)
    if agent is not None:
        models_line += (f"\n#   and for the automation agent (rasad agent): "
                        f"{', '.join(agent) or 'nothing more'}")
    lines = [
        f"# What the image of the {env} prediction server installs: pip install -r "
        "requirements.txt,",
        "# run from this folder. Pinned to the versions installed where `rasad package` ran",
        f"# (Python {platform.python_version()}): rasad's serving dependencies and the "
        f"libraries of the models deployed to {env}:",
        models_line,
        rasad_line,
    ]
    for pin in pins:
        models_only = [by for by in pin.needed_by if by != "rasad"]
        lines.append(pin.line if "rasad" in pin.needed_by
                     else f"{pin.line}  # for {', '.join(models_only)}")
    return "\n".join(lines) + "\n"


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _relative_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _digests(root: Path) -> list[PackagedFile]:
    out = []
    for path in _relative_files(root):
        data = (root / path).read_bytes()
        out.append(PackagedFile(path=path, sha256=hashlib.sha256(data).hexdigest(),
                                bytes=len(data)))
    return out


def _context_digest(root: Path) -> str:
    """The SHA-256 of the build context (what the Dockerfile copies, and itself)."""
    total = hashlib.sha256()
    for entry in _digests(root):
        total.update(f"{entry.path}\0{entry.sha256}\n".encode())
    return total.hexdigest()


__all__ = ["package"]
