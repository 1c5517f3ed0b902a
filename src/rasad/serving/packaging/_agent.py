"""The automation agent's Kubernetes manifests: a CronJob, or a long-running Deployment.

``rasad agent`` (docs/automation.md) runs from the serving image, with its entry point
replaced: either a CronJob that starts ``rasad agent --once`` on a schedule (one pass over
due work per run), or a Deployment of one pod running ``rasad agent --health-port PORT``
with probes on ``/healthz``. Both share the serving workload's ConfigMap and Secret and
its hardening (non-root, read-only root filesystem with an ``emptyDir`` at ``/tmp``).

Each pod passes its own name as ``--owner``: claims are held per owner, so two pods
never share one, and the work of a killed pod is taken over by another once its lease
runs out.

The agent acts as its own principal (``RASAD_USER``: the workload's name with
``-agent``), not as the prediction server's, so its changes are told apart in the audit
trail and its roles granted on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rasad.config import (
    CONFIG_FILE,
    AutomationConfig,
    EmailChannel,
    FileChannel,
    FileSourceConfig,
    ProjectConfig,
    WebhookChannel,
)
from rasad.errors import InputError
from rasad.ledger.keys import KEY_ENV as CHECKPOINT_KEY_ENV
from rasad.serving.packaging._dockerfile import WORKDIR
from rasad.serving.packaging._manifests import (
    Manifest,
    ServingSpec,
    config_digest,
    container_security,
    pod_security,
    secret_env,
)
from rasad.serving.packaging._requirements import distributions_of_types

HEALTHZ = "/healthz"
OWNER_ENV = "RASAD_AGENT_POD"
"""The variable holding the pod's name, passed on as ``--owner``."""
AGENT_NEEDS = "agent"
"""How ``requirements.txt`` names what only the agent needs."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SET_HERE = frozenset({"RASAD_USER", OWNER_ENV})


class AgentKind(StrEnum):
    """How the agent runs in the cluster."""

    CRONJOB = "cronjob"
    """``rasad agent --once`` on a schedule."""
    DEPLOYMENT = "deployment"
    """``rasad agent --health-port PORT``, one long-running pod."""


AGENT_CHOICES = ("cronjob", "deployment", "none")
"""What ``--agent`` takes."""


def choose(value: AgentKind | str | None, automation: AutomationConfig) -> AgentKind | None:
    """The agent workload to write: ``value``, or by default (``"auto"``) a CronJob when
    ``automation`` watches something (a source or a monitor), else none.

    >>> from rasad.config import AutomationConfig
    >>> choose("auto", AutomationConfig()), choose("deployment", AutomationConfig())
    (None, <AgentKind.DEPLOYMENT: 'deployment'>)
    >>> choose("none", AutomationConfig()) is None is choose(None, AutomationConfig())
    True
    >>> choose("daemonset", AutomationConfig())
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: --agent 'daemonset' is not one of cronjob, deployment, none; \
leave it out to write a CronJob when rasad.yaml has automation sources or monitors.
    """
    if value == "auto":
        return AgentKind.CRONJOB if automation.sources or automation.monitors else None
    if value is None or value == "none":
        return None
    try:
        return AgentKind(value)
    except ValueError:
        raise InputError(f"--agent {value!r} is not one of {', '.join(AGENT_CHOICES)}; leave "
                         "it out to write a CronJob when rasad.yaml has automation sources or "
                         "monitors.") from None


def secret_keys(config: ProjectConfig) -> dict[str, str]:
    """The variables the agent reads credentials from, each with the ``rasad.yaml`` key
    that names it: alert channels' signing secrets and SMTP passwords, and the
    checkpoint signing key when the agent writes checkpoints.

    Raises
    ------
    InputError
        A named variable is not a variable name, or is one the manifests set themselves.

    Examples
    --------
    >>> config = ProjectConfig.model_validate({"name": "c", "automation": {"alerts": {
    ...     "channels": {"ops": {"kind": "webhook", "url": "https://h.example/in",
    ...                          "secret_env": "OPS_HOOK_SECRET"}}}}})
    >>> secret_keys(config)
    {'OPS_HOOK_SECRET': 'automation.alerts.channels.ops.secret_env'}
    """
    automation = config.automation
    found: dict[str, str] = {}
    for name, channel in automation.alerts.channels.items():
        where = f"automation.alerts.channels.{name}"
        variable = None
        if isinstance(channel, WebhookChannel):
            variable, where = channel.secret_env, f"{where}.secret_env"
        elif isinstance(channel, EmailChannel):
            variable, where = channel.password_env, f"{where}.password_env"
        if variable is None:
            continue
        if not _ENV_NAME.fullmatch(variable) or variable in _SET_HERE:
            raise InputError(
                f"{CONFIG_FILE}: {where} is {variable!r}, which cannot be a key of the "
                "Secret passed to the agent as a variable: use letters, digits and '_' "
                f"(not starting with a digit), and not {' or '.join(sorted(_SET_HERE))}; "
                "then package again.")
        found.setdefault(variable, where)
    if automation.agent.checkpoints is not None:
        found.setdefault(CHECKPOINT_KEY_ENV, "automation.agent.checkpoints")
    return found


def _local(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


def _in_pod(path: str) -> str:
    path = path.removeprefix("file://")
    return path if path.startswith("/") else f"{WORKDIR}/{path}"


def warnings(config: ProjectConfig) -> list[str]:
    """What the agent reads or writes on this machine's disk, which its pods cannot reach
    (or where what they write is lost)."""
    found = []
    automation = config.automation
    for name, source in sorted(automation.sources.items()):
        if isinstance(source, FileSourceConfig) and _local(source.path):
            found.append(
                f"automation.sources.{name} watches {source.path} on this machine; the "
                f"agent's pods look for it at {_in_pod(source.path)}: mount the folder there, "
                "or give an object store URL (s3://...) and package again.")
    for name, channel in sorted(automation.alerts.channels.items()):
        if isinstance(channel, FileChannel):
            found.append(
                f"automation.alerts.channels.{name} appends alerts to {channel.path}, which in "
                "the agent's pod is on a read-only or throw-away filesystem: add a webhook, "
                "slack or email channel for the cluster, or mount a volume at "
                f"{_in_pod(channel.path).rsplit('/', 1)[0]}.")
    checkpoints = config.audit.checkpoints
    if automation.agent.checkpoints is not None and checkpoints and _local(checkpoints):
        found.append(
            f"The agent writes signed checkpoints to audit.checkpoints, the folder "
            f"{checkpoints}; in its pod that is {_in_pod(checkpoints)}, on a read-only "
            "filesystem: mount a volume there or give an object store URL.")
    return found


def libraries(config: ProjectConfig) -> list[str]:
    """Distributions the agent needs beyond rasad's own: the library of the estimator it
    retrains with (``training.estimator.class``), and the fsspec implementation of each
    files source's URL (``s3fs`` for ``s3://``).

    Raises
    ------
    InputError
        One of them is not installed here, so it cannot be pinned for the image.

    Examples
    --------
    >>> libraries(ProjectConfig.model_validate({"name": "c", "automation": {
    ...     "sources": {"in": {"kind": "files", "dataset": "loans", "path": "in/*.csv"}},
    ...     "retraining": {"credit": {}}}}))
    ['scikit-learn']
    """
    automation = config.automation
    found: set[str] = set()
    retrains = automation.retraining or any("retrain" in m.actions
                                            for m in automation.monitors.values())
    if retrains:
        estimator = config.training.estimator.class_path
        try:
            found.update(distributions_of_types([estimator]).values())
        except InputError:
            raise InputError(
                f"{CONFIG_FILE}: training.estimator.class is {estimator!r}, whose module no "
                "installed distribution provides; the agent retrains with it, so install "
                "its library here (its version is pinned for the image) and package "
                "again.") from None
    for name, source in sorted(automation.sources.items()):
        if isinstance(source, FileSourceConfig) and not _local(source.path):
            found.update(_filesystem_distributions(source.path, f"automation.sources.{name}"))
    return sorted(found)


def _filesystem_distributions(url: str, where: str) -> set[str]:
    import fsspec

    found: set[str] = set()
    for part in url.split("::"):
        if "://" not in part:
            continue
        protocol = part.split("://", 1)[0]
        try:
            cls = fsspec.get_filesystem_class(protocol)
        except ValueError:
            raise InputError(f"{CONFIG_FILE}: {where}.path {url!r} uses {protocol}://, which "
                             "fsspec does not know; give a folder or a URL fsspec reads "
                             "(s3://, gs://, az://...).") from None
        except ImportError as exc:
            raise InputError(f"{CONFIG_FILE}: {where}.path {url!r} needs the fsspec "
                             f"implementation of {protocol}://, which is not installed here "
                             f"({exc}); install it so it is pinned for the image, then "
                             "package again.") from None
        found.update(distributions_of_types([f"{cls.__module__}.{cls.__name__}"]).values())
    return found


@dataclass(frozen=True)
class AgentSpec:
    """What the agent's manifests are made from: the serving workload they share the
    image, ConfigMap and Secret with, how the agent runs, and the Secret's keys it
    requires (the server's and its own)."""

    serving: ServingSpec
    kind: AgentKind
    schedule: str
    secret_keys: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.serving.name}-agent"

    @property
    def principal(self) -> str:
        """Who the agent acts as (``RASAD_USER``)."""
        return self.name

    @property
    def selector(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": "rasad-agent", "app.kubernetes.io/instance": self.name}

    @property
    def labels(self) -> dict[str, str]:
        return {**self.selector, "app.kubernetes.io/component": "automation-agent",
                "app.kubernetes.io/part-of": "rasad"}

    def metadata(self) -> dict[str, Any]:
        serving = self.serving
        return {"name": self.name, "labels": dict(self.labels),
                "annotations": {"rasad.io/project": serving.project,
                                "rasad.io/environment": serving.env, **serving.annotations}}


def _container(spec: AgentSpec, args: list[str]) -> dict[str, Any]:
    serving, policy = spec.serving, spec.serving.policy
    return {
        "name": "agent",
        "image": serving.image,
        "imagePullPolicy": "IfNotPresent",
        # The image's entry point is the prediction server; the agent replaces it.
        "command": ["rasad"],
        "args": [*args, "--owner", f"$({OWNER_ENV})"],
        # Set here, these win over the ConfigMap's keys of the same name (RASAD_USER).
        "env": [{"name": "RASAD_USER", "value": spec.principal},
                {"name": OWNER_ENV, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                *secret_env(serving.secret_name, spec.secret_keys)],
        "envFrom": [{"configMapRef": {"name": serving.config_name}},
                    {"secretRef": {"name": serving.secret_name}}],
        "resources": {"requests": {"cpu": policy.agent_cpu_request,
                                   "memory": policy.agent_memory_request},
                      "limits": {"cpu": policy.agent_cpu_limit,
                                 "memory": policy.agent_memory_limit}},
        "securityContext": container_security(policy),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def _pod(spec: AgentSpec, container: dict[str, Any], **extra: Any) -> dict[str, Any]:
    policy = spec.serving.policy
    return {
        "metadata": {"labels": dict(spec.labels),
                     "annotations": {"rasad.io/config-sha256":
                                     config_digest(spec.serving.config)}},
        "spec": {"automountServiceAccountToken": False, "enableServiceLinks": False,
                 **extra,
                 "securityContext": pod_security(policy),
                 "containers": [container],
                 "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": policy.agent_tmp_size}}]},
    }


def cronjob(spec: AgentSpec) -> Manifest:
    """A ``batch/v1`` CronJob running ``rasad agent --once`` on ``spec.schedule`` (UTC).

    ``concurrencyPolicy: Forbid``: a pass still running when the next is due makes the
    next one wait, rather than two passes of one schedule competing for claims.
    """
    policy = spec.serving.policy
    pod = _pod(spec, _container(spec, ["agent", "--once"]), restartPolicy="Never")
    return Manifest("agent-cronjob.yaml", {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": spec.metadata(),
        "spec": {"schedule": spec.schedule,
                 "timeZone": "Etc/UTC",  # rasad's cron expressions are UTC
                 "concurrencyPolicy": "Forbid",
                 "startingDeadlineSeconds": policy.agent_starting_deadline_seconds,
                 "successfulJobsHistoryLimit": 3,
                 "failedJobsHistoryLimit": 3,
                 "jobTemplate": {
                     "metadata": {"labels": dict(spec.labels)},
                     "spec": {"backoffLimit": policy.agent_backoff_limit,
                              "activeDeadlineSeconds": policy.agent_pass_deadline_seconds,
                              "template": pod}}}})


def _probe(*, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": HEALTHZ, "port": "health"}, "periodSeconds": period,
            "timeoutSeconds": 2, "failureThreshold": failures}


def deployment(spec: AgentSpec) -> Manifest:
    """An ``apps/v1`` Deployment of one long-running agent, probed on ``/healthz``.

    A rollout starts the new pod before the old one stops: two agents at once are safe
    (each piece of work is claimed by one), a gap in watching is not needed.
    """
    policy = spec.serving.policy
    container = _container(spec, ["agent", "--health-port", str(policy.agent_health_port)])
    container["ports"] = [{"name": "health", "containerPort": policy.agent_health_port,
                           "protocol": "TCP"}]
    container["startupProbe"] = _probe(period=2, failures=30)
    container["readinessProbe"] = _probe(period=10, failures=3)
    # /healthz answers 503 from a failed pass until one succeeds: one failure in between
    # passes is no reason to restart, a pod failing for 2.5 minutes is (the new process
    # makes a pass at once).
    container["livenessProbe"] = _probe(period=30, failures=5)
    pod = _pod(spec, container, terminationGracePeriodSeconds=policy.agent_grace_seconds)
    return Manifest("agent-deployment.yaml", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": spec.metadata(),
        "spec": {"replicas": 1, "revisionHistoryLimit": 5,
                 "selector": {"matchLabels": dict(spec.selector)},
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                 "template": pod}})


def agent_manifests(spec: AgentSpec) -> list[Manifest]:
    """The agent's manifest: its CronJob or its Deployment."""
    return [cronjob(spec) if spec.kind is AgentKind.CRONJOB else deployment(spec)]


__all__ = ["AGENT_CHOICES", "AGENT_NEEDS", "HEALTHZ", "OWNER_ENV", "AgentKind", "AgentSpec",
           "agent_manifests", "choose", "cronjob", "deployment", "libraries", "secret_keys",
           "warnings"]
