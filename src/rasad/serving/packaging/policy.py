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
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
# What both croniter and the Kubernetes CronJob controller read the same way: numbers,
# `*`, ranges, steps and lists, and names in the month and weekday fields (no `L`, `W`,
# `#`, `H` or time zone prefix, which croniter knows and Kubernetes refuses or misreads).
_CRON_FIELDS = tuple(re.compile(rf"(?:[0-9*/,-]{extra})+", re.IGNORECASE)
                     for extra in ("", "", "", f"|{_MONTHS}", f"|{_DAYS}"))


def check_schedule(value: str, what: str) -> str:
    """``value`` if it is a five-field cron expression a Kubernetes CronJob runs as rasad
    reads it (UTC).

    >>> check_schedule("*/5 * * * MON-FRI", "--agent-schedule")
    '*/5 * * * MON-FRI'
    >>> check_schedule("0 6 L * *", "--agent-schedule")
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: --agent-schedule '0 6 L * *' is not a five-field cron \
expression a Kubernetes CronJob runs (minute hour day-of-month month day-of-week, UTC, with \
numbers, *, ranges, steps, lists and names), such as '*/5 * * * *' or '0 6 * * MON'.
    """
    from croniter import croniter

    fields = value.split(" ")
    if (len(fields) != len(_CRON_FIELDS) or not croniter.is_valid(value)
            or not all(p.fullmatch(f) for p, f in zip(_CRON_FIELDS, fields, strict=True))):
        raise InputError(f"{what} {value!r} is not a five-field cron expression a Kubernetes "
                         "CronJob runs (minute hour day-of-month month day-of-week, UTC, with "
                         "numbers, *, ranges, steps, lists and names), such as '*/5 * * * *' "
                         "or '0 6 * * MON'.")
    return value


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
    agent_schedule : str
        When the automation agent's CronJob runs ``rasad agent --once`` (five-field cron,
        UTC): every five minutes, so a file that lands is ingested and judged within
        minutes while an idle pass costs well under a second.
    agent_starting_deadline_seconds : int
        A run that could not start within this long (the controller was down, the cluster
        full) is skipped, not started late; with a deadline the controller also counts
        only the runs missed within it, where without one more than 100 missed runs stop
        the CronJob for good.
    agent_backoff_limit : int
        Retries of a failed pass within one run (each in a new pod); the next scheduled
        run tries again anyway, and claimed work is taken over after its lease.
    agent_pass_deadline_seconds : int
        ``activeDeadlineSeconds`` of one run: a pass that hangs is stopped, since with
        ``concurrencyPolicy: Forbid`` it would otherwise hold back every later run.
        An hour leaves room for a retraining; a stopped one resumes from its last
        finished step.
    agent_cpu_request, agent_memory_request, agent_cpu_limit, agent_memory_limit : str
        The agent's pod: it retrains models, so it may need more memory than a server.
    agent_tmp_size : str
        The agent's ``/tmp``: datasets and models being built pass through it.
    agent_health_port : int
        The port of the long-running agent's ``/healthz`` (``rasad agent --health-port``).
    agent_grace_seconds : int
        The long-running agent's ``terminationGracePeriodSeconds``: time to finish the
        step under way after SIGTERM (a step cut short is redone by the next pass).
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
    agent_schedule: str = "*/5 * * * *"
    agent_starting_deadline_seconds: int = 120
    agent_backoff_limit: int = 2
    agent_pass_deadline_seconds: int = 3600
    agent_cpu_request: str = "250m"
    agent_memory_request: str = "512Mi"
    agent_cpu_limit: str = "2"
    agent_memory_limit: str = "4Gi"
    agent_tmp_size: str = "2Gi"
    agent_health_port: int = 8081
    agent_grace_seconds: int = 60

    def __post_init__(self) -> None:
        for name in ("cpu_request", "memory_request", "cpu_limit", "memory_limit", "tmp_size",
                     "agent_cpu_request", "agent_memory_request", "agent_cpu_limit",
                     "agent_memory_limit", "agent_tmp_size"):
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
        for name in ("agent_starting_deadline_seconds", "agent_pass_deadline_seconds",
                     "agent_grace_seconds"):
            if getattr(self, name) < 1:
                raise InputError(f"PackagePolicy.{name} = {getattr(self, name)} must be 1 "
                                 "second or more.")
        if not 0 <= self.agent_backoff_limit <= 100:
            raise InputError(f"PackagePolicy.agent_backoff_limit = {self.agent_backoff_limit} "
                             "must be 0 to 100.")
        check_schedule(self.agent_schedule, "PackagePolicy.agent_schedule")
        if not 1 <= self.agent_health_port <= 65535:
            raise InputError(f"PackagePolicy.agent_health_port = {self.agent_health_port} is "
                             "not a TCP port; give 1 to 65535, such as 8081.")

    def max_replicas(self, replicas: int) -> int:
        """The autoscaler's ``maxReplicas`` for ``replicas`` pods at least."""
        return max(replicas * self.replicas_factor, replicas + 1)


DEFAULT_POLICY = PackagePolicy()
"""The policy ``rasad package`` uses."""

__all__ = ["DEFAULT_POLICY", "PackagePolicy", "check_schedule"]
