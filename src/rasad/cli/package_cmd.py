"""``rasad package``: the serving image's build context and Kubernetes manifests.

A thin door over the service :func:`rasad.serving.packaging.package` (what
:meth:`rasad.Project.package` calls): parse, call, print what was written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli._context import state
from rasad.cli._output import (
    JsonFlag,
    clean,
    emit_json,
    err_console,
    say,
    say_command,
    table,
)
from rasad.errors import InputError

if TYPE_CHECKING:
    from rasad.serving.packaging import PackageResult


def package(
    ctx: typer.Context,
    env: Annotated[str, typer.Option(
        "--env", metavar="ENV", help="The environment whose deployed models the server serves.")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", metavar="DIR",
        help="The folder to write (new or empty; written whole or not at all).")],
    image: Annotated[str | None, typer.Option(
        "--image", metavar="NAME:TAG",
        help="The image the Deployment runs, [REGISTRY/]NAME:TAG. Default: the workload's "
             "name tagged with the build context's digest.")] = None,
    replicas: Annotated[int, typer.Option(
        min=1, max=1000, help="The fewest pods; the autoscaler may add more on CPU.")] = 2,
    port: Annotated[int, typer.Option(
        min=1, max=65535, help="The server's port in the container, and the Service's.")]
    = 8080,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace DIR if an earlier `rasad package` wrote it.")] = False,
    base_image: Annotated[str | None, typer.Option(
        "--base-image", metavar="IMAGE",
        help="The Dockerfile's FROM, e.g. a digest-pinned python:3.11.7-slim-bookworm@sha256:... "
             "Default: the slim image of the Python running here, pinned to its patch "
             "release.")] = None,
    agent: Annotated[str | None, typer.Option(
        "--agent", metavar="cronjob|deployment|none",
        help="Also write the automation agent's manifest (`rasad agent`, same image): a "
             "CronJob running one pass on a schedule, or a Deployment of one long-running "
             "agent. Default: cronjob when rasad.yaml has automation sources or monitors, "
             "else none.")] = None,
    agent_schedule: Annotated[str | None, typer.Option(
        "--agent-schedule", metavar="CRON",
        help="The agent CronJob's schedule, five-field cron in UTC. Default: every 5 "
             "minutes ('*/5 * * * *').")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write a Dockerfile and Kubernetes manifests that run `rasad serve` for an environment.

    DIR gets requirements.txt (pinned: rasad's serving dependencies and the libraries of
    the models deployed to ENV, nothing else), a Dockerfile (slim pinned base, non-root,
    HEALTHCHECK, no secret), the project's rasad.yaml without storage URLs, k8s/
    (ConfigMap, Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget, the
    automation agent's CronJob or Deployment, kustomization.yaml; each checked against the
    Kubernetes schemas) and a README with the steps. The image is not built here. No
    Secret is written: the README shows the `kubectl create secret` command. Recorded as
    a model.package audit event with every file's SHA-256. See docs/packaging.md.
    """
    from rasad.project import Project
    from rasad.serving import packaging

    project = state(ctx).project()
    if not isinstance(project, Project):
        raise InputError("`rasad package` runs where the project is, not over a server: it "
                         "pins the packages installed here. Unset RASAD_URL and give the "
                         "project folder.")
    result = packaging.package(project.context, env, output, image=image, replicas=replicas,
                               port=port, force=force, base_image=base_image,
                               agent="auto" if agent is None else agent,
                               agent_schedule=agent_schedule)
    if as_json:
        emit_json(result)
        return
    _show(result)


def _show(result: PackageResult) -> None:
    table(f"Packaged the {result.environment} environment into {result.output}",
          ["model", "slot", "libraries"],
          [[m.ref, m.slot, m.libraries] for m in result.models])
    say(f"Image {clean(result.image)} (FROM {clean(result.base_image)}); rasad from "
        f"{clean(result.rasad)}; {len(result.requirements)} pinned packages; manifests "
        f"checked against Kubernetes {clean(result.kubernetes_version)}.")
    for warning in result.warnings:
        err_console().print(f"[yellow]warning:[/] {clean(warning)}")
    say("The image was not built (no Docker engine here). Next, in that folder:")
    say_command(f"docker build -t {result.image} . && docker push {result.image}")
    say(f"Create the Secret {clean(result.secret)} with {clean(', '.join(result.secret_keys))} "
        "(README.md, step 2), then:")
    say_command("kubectl apply -k k8s/")
    if result.agent == "cronjob":
        say(f"The automation agent runs `rasad agent --once` as {clean(result.agent_principal)}"
            f" on the schedule {clean(result.agent_schedule)} (UTC); README.md, step 5.")
    elif result.agent == "deployment":
        say(f"The automation agent runs as {clean(result.agent_principal)} in one "
            "long-running pod; README.md, step 5.")
    say(f"Details: {clean(Path(result.output) / 'README.md')}")


__all__ = ["package"]
