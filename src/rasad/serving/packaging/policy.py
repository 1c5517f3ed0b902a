"""How ``rasad package`` sizes, guards and checks the serving pods: one explicit policy.

Every default is here with its reason, not buried in a template. The Python API takes
another policy (``package(..., policy=PackagePolicy(memory_limit="4Gi"))``); the CLI
uses :data:`DEFAULT_POLICY`.

>>> DEFAULT_POLICY.kubernetes_version, DEFAULT_POLICY.uid
('1.30', 10001)
>>> DEFAULT_POLICY.max_replicas(2), DEFAULT_POLICY.max_replicas(1)
(8, 4)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rasad.errors import InputError

_QUANTITY = re.compile(r"\d+(\.\d+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?")


@dataclass(frozen=True)
class PackagePolicy:
    """The fixed choices of the generated image and manifests.

    Parameters
    ----------
    kubernetes_version : str
        The Kubernetes release whose API schemas every manifest is checked against (strict:
        an unknown field is an error). 1.30: still in its providers' support windows, and
        every API used here (``autoscaling/v2``, ``policy/v1``, ``seccompProfile``) is GA
        there and in every later release.
    uid : int
        The image's non-root user and group id, fixed so ``runAsUser`` in the Deployment
        and the image agree; above 10000 so it maps to no user of a typical host.
    cpu_request, memory_request : str
        What the scheduler reserves per pod: a loaded scikit-learn or LightGBM model
        and the server fit in a few hundred MiB.
    cpu_limit, memory_limit : str
        The most a pod may use; a model that needs more memory is killed, not swapped:
        raise ``memory_limit`` for large models.
    target_cpu_percent : int
        The HorizontalPodAutoscaler adds pods when the average CPU use passes this share
        of the request; 70 leaves room for a burst while a new pod starts.
    replicas_factor : int
        The autoscaler's ``maxReplicas`` is this many times ``--replicas``.
    grace_seconds : int
        ``terminationGracePeriodSeconds``: time for in-flight requests and the prediction
        log's last flush after SIGTERM.
    drain_seconds : int
        The ``preStop`` pause before SIGTERM, while the Service stops routing to the pod,
        so no request arrives at a server that is shutting down.
    tmp_size : str
        The ``emptyDir`` mounted at ``/tmp`` (the root filesystem is read-only).
    """

    kubernetes_version: str = "1.30"
    uid: int = 10001
    cpu_request: str = "250m"
    memory_request: str = "512Mi"
    cpu_limit: str = "2"
    memory_limit: str = "2Gi"
    target_cpu_percent: int = 70
    replicas_factor: int = 4
    grace_seconds: int = 30
    drain_seconds: int = 5
    tmp_size: str = "256Mi"

    def __post_init__(self) -> None:
        for name in ("cpu_request", "memory_request", "cpu_limit", "memory_limit", "tmp_size"):
            value = getattr(self, name)
            if not _QUANTITY.fullmatch(value):
                raise InputError(f"PackagePolicy.{name} = {value!r} is not a Kubernetes "
                                 "quantity; write it as 500m, 2, 512Mi or 1Gi.")
        if not 1 <= self.uid <= 2_147_483_647:
            raise InputError(f"PackagePolicy.uid = {self.uid} must be a non-root user id "
                             "(1 or more).")
        if not 1 <= self.target_cpu_percent <= 100 or self.replicas_factor < 1:
            raise InputError("PackagePolicy.target_cpu_percent must be 1-100 and "
                             "replicas_factor at least 1.")
        if self.drain_seconds < 0 or self.grace_seconds <= self.drain_seconds:
            raise InputError("PackagePolicy.grace_seconds must be longer than drain_seconds "
                             "(the pause before SIGTERM is part of the grace period).")

    def max_replicas(self, replicas: int) -> int:
        """The autoscaler's ``maxReplicas`` for ``replicas`` pods at least."""
        return max(replicas * self.replicas_factor, replicas + 1)


DEFAULT_POLICY = PackagePolicy()
"""The policy ``rasad package`` uses."""

__all__ = ["DEFAULT_POLICY", "PackagePolicy"]
