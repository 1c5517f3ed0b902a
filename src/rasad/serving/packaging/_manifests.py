"""The Kubernetes manifests of the serving workload, and their offline check.

Each builder returns :class:`Manifest` values (a file name under ``k8s/`` and the
document); :func:`kustomization` lists whatever it is given and :func:`validate` checks
every one of them against the Kubernetes API schemas (``kubernetes-validate``, strict:
an unknown field fails). A new workload, such as the automation agent's CronJob, is one
more builder whose manifests join the same list: it is listed and checked the same way.

No Secret is written. A Secret file holding a placeholder would, once applied with the
rest, overwrite the real one; the README says how to create it (``kubectl create
secret``) and the Deployment refuses to start without it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from rasad.errors import CheckFailed, InputError
from rasad.serving.packaging._dockerfile import HEALTH_PATH
from rasad.serving.packaging.policy import PackagePolicy

LIVE_PATH = "/v2/health/live"
METRICS_PATH = "/metrics"
K8S_DIR = "k8s"
_NAME_LENGTH = 40  # room for suffixes (-config, -secrets, -agent) under the 63 of a label


@dataclass(frozen=True)
class Manifest:
    """One file under ``k8s/``: its name and the Kubernetes object it holds."""

    path: str
    document: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.document["kind"])


def app_name(project: str, env: str) -> str:
    """A DNS label naming the workload: the project's and environment's names, lowercase.

    >>> app_name("Credit Risk", "production")
    'credit-risk-production'
    >>> app_name("2025 models", "dev")
    'rasad-2025-models-dev'
    >>> len(app_name("x" * 80, "production")) <= 40
    True
    """
    def slug(text: str) -> str:
        return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")

    name = "-".join(part for part in (slug(project), slug(env)) if part) or "rasad"
    if not name[0].isalpha():
        name = f"rasad-{name}"
    if len(name) > _NAME_LENGTH:  # a digest keeps two long names that share a prefix apart
        digest = hashlib.sha256(f"{project}\0{env}".encode()).hexdigest()[:8]
        name = f"{name[:_NAME_LENGTH - 9].rstrip('-')}-{digest}"
    return name


@dataclass(frozen=True)
class ServingSpec:
    """What the serving manifests are made from.

    ``config`` is the ConfigMap's data (no secret in it); ``secret_keys`` are the keys the
    Secret must hold, each passed to the container by name so a missing one stops the pod
    from starting instead of letting the server fall back to a default.
    """

    name: str
    env: str
    project: str
    image: str
    port: int
    replicas: int
    config: dict[str, str]
    secret_keys: tuple[str, ...]
    policy: PackagePolicy
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def config_name(self) -> str:
        return f"{self.name}-config"

    @property
    def secret_name(self) -> str:
        return f"{self.name}-secrets"

    @property
    def selector(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": "rasad-serve", "app.kubernetes.io/instance": self.name}

    @property
    def labels(self) -> dict[str, str]:
        return {**self.selector, "app.kubernetes.io/component": "prediction-server",
                "app.kubernetes.io/part-of": "rasad"}

    def metadata(self, name: str) -> dict[str, Any]:
        return {"name": name, "labels": dict(self.labels),
                "annotations": {"rasad.io/project": self.project,
                                "rasad.io/environment": self.env, **self.annotations}}


def _probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period,
            "timeoutSeconds": 2, "failureThreshold": failures}


def config_digest(config: dict[str, str]) -> str:
    """The SHA-256 of a ConfigMap's data: annotated on pod templates so a changed ConfigMap
    changes the template, and the pods roll."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def secret_env(secret_name: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each required key of the Secret as a variable of its own: a missing key stops the
    pod from starting instead of letting rasad fall back to a default."""
    return [{"name": key, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}
            for key in keys]


def container_security(policy: PackagePolicy) -> dict[str, Any]:
    """A container's ``securityContext``: non-root, read-only root, nothing privileged."""
    return {"runAsNonRoot": True, "runAsUser": policy.uid, "runAsGroup": policy.uid,
            "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
            "privileged": False, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def pod_security(policy: PackagePolicy) -> dict[str, Any]:
    """A pod's ``securityContext``, the same user and group as the image's."""
    return {"runAsNonRoot": True, "runAsUser": policy.uid, "runAsGroup": policy.uid,
            "fsGroup": policy.uid, "seccompProfile": {"type": "RuntimeDefault"}}


def deployment(spec: ServingSpec) -> Manifest:
    """The Deployment: hardened pod, probes on the OIP health endpoints, env from the
    ConfigMap and the Secret. ``replicas`` is left to the autoscaler (``minReplicas``), so
    applying the manifests again never resets a scaled-out Deployment."""
    policy = spec.policy
    container = {
        "name": "serve",
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}],
        "env": secret_env(spec.secret_name, spec.secret_keys),
        # Everything else in either object (cloud credentials for the artifact store...)
        # arrives as environment variables too.
        "envFrom": [{"configMapRef": {"name": spec.config_name}},
                    {"secretRef": {"name": spec.secret_name}}],
        "startupProbe": _probe(LIVE_PATH, period=2, failures=60),
        "readinessProbe": _probe(HEALTH_PATH, period=5, failures=3),
        "livenessProbe": _probe(LIVE_PATH, period=10, failures=3),
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(policy.drain_seconds)]}}},
        "resources": {"requests": {"cpu": policy.cpu_request, "memory": policy.memory_request},
                      "limits": {"cpu": policy.cpu_limit, "memory": policy.memory_limit}},
        "securityContext": container_security(policy),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = {
        "metadata": {"labels": dict(spec.labels), "annotations": {
            "prometheus.io/scrape": "true", "prometheus.io/port": str(spec.port),
            "prometheus.io/path": METRICS_PATH,
            # A changed ConfigMap changes the pod template, so the pods roll.
            "rasad.io/config-sha256": config_digest(spec.config)}},
        "spec": {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": policy.grace_seconds,
            "securityContext": pod_security(policy),
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": policy.tmp_size}}],
        },
    }
    return Manifest("deployment.yaml", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": spec.metadata(spec.name),
        "spec": {"revisionHistoryLimit": 5,
                 "selector": {"matchLabels": dict(spec.selector)},
                 # A new pod is ready before an old one goes: no capacity lost in a rollout.
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                 "template": pod}})


def service(spec: ServingSpec) -> Manifest:
    """A ClusterIP Service on the server's port (named ``http``)."""
    return Manifest("service.yaml", {
        "apiVersion": "v1", "kind": "Service", "metadata": spec.metadata(spec.name),
        "spec": {"type": "ClusterIP", "selector": dict(spec.selector),
                 "ports": [{"name": "http", "port": spec.port, "targetPort": "http",
                            "protocol": "TCP"}]}})


def autoscaler(spec: ServingSpec) -> Manifest:
    """An ``autoscaling/v2`` HorizontalPodAutoscaler on average CPU use."""
    policy = spec.policy
    return Manifest("hpa.yaml", {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": spec.metadata(spec.name),
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "name": spec.name},
                 "minReplicas": spec.replicas,
                 "maxReplicas": policy.max_replicas(spec.replicas),
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization",
                                               "averageUtilization": policy.target_cpu_percent}}}],
                 "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}}})


def disruption_budget(spec: ServingSpec) -> Manifest:
    """A ``policy/v1`` PodDisruptionBudget: a node drain takes one pod at a time (never
    ``minAvailable`` equal to the replicas, which would block every drain)."""
    return Manifest("pdb.yaml", {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": spec.metadata(spec.name),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(spec.selector)}}})


def config_map(spec: ServingSpec) -> Manifest:
    """The ConfigMap: the server's settings that are not secret."""
    return Manifest("configmap.yaml", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": spec.metadata(spec.config_name),
        "data": dict(spec.config)})


def serving_manifests(spec: ServingSpec) -> list[Manifest]:
    """Every manifest of the prediction server, in the order they are applied."""
    return [config_map(spec), deployment(spec), service(spec), autoscaler(spec),
            disruption_budget(spec)]


def kustomization(manifests: list[Manifest]) -> Manifest:
    """The ``kustomization.yaml`` listing ``manifests`` (``kubectl apply -k k8s/``)."""
    return Manifest("kustomization.yaml", {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [manifest.path for manifest in manifests]})


def render(manifest: Manifest, header: str) -> str:
    """The manifest as YAML, below a comment ``header``."""
    body = yaml.safe_dump(manifest.document, sort_keys=False, default_flow_style=False,
                          allow_unicode=True)
    return f"{header}\n{body}"


def validate(texts: dict[str, str], version: str) -> None:
    """Check each rendered manifest (file name -> YAML text) against the schemas of
    Kubernetes ``version``, strictly. The text is parsed back, so what is checked is
    what was written.

    Raises
    ------
    InputError
        kubernetes-validate is not installed, or does not know ``version``.
    CheckFailed
        A manifest does not validate; the message names the file, the field and why.
    """
    try:
        import kubernetes_validate
    except ImportError:
        raise InputError("`rasad package` checks the Kubernetes manifests it writes with "
                         "kubernetes-validate, which is not installed: pip install "
                         "'rasad[package]', then package again.") from None
    from kubernetes_validate.utils import all_versions, major_minor

    known = sorted({major_minor(v) for v in all_versions()},
                   key=lambda v: tuple(int(p) for p in v.split(".")))
    if version not in known:
        raise InputError(
            f"The installed kubernetes-validate has no schemas for Kubernetes {version}; it "
            f"has {known[0]} to {known[-1]}. Choose one of those as "
            "PackagePolicy.kubernetes_version, or upgrade it (pip install -U "
            "kubernetes-validate).")
    for path, text in texts.items():
        document = yaml.safe_load(text)
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(part) for part in exc.path) or "(top level)"
            raise CheckFailed(
                f"{K8S_DIR}/{path} ({document.get('kind')}) does not validate against "
                f"Kubernetes {version}: {where}: {exc.message}. Nothing was written; this "
                "is a bug in rasad package (or in a PackagePolicy value), please report "
                "it.") from None
        except kubernetes_validate.SchemaNotFoundError as exc:
            raise CheckFailed(f"{K8S_DIR}/{path}: {exc.message}. Nothing was written.") from None


__all__ = ["K8S_DIR", "LIVE_PATH", "METRICS_PATH", "Manifest", "ServingSpec", "app_name",
           "autoscaler", "config_digest", "config_map", "container_security", "deployment",
           "disruption_budget", "kustomization", "pod_security", "render", "secret_env",
           "serving_manifests", "validate"]
