"""``rasad agent``: the automation loop (docs/automation.md); ``rasad agent status``.

``rasad agent --once`` makes one pass over the due work and exits (for cron or a
Kubernetes CronJob); without ``--once`` it makes a pass every
``automation.agent.interval_seconds`` until SIGTERM, with ``GET /healthz`` on
``--health-port``. Both call :mod:`rasad.automation.agent`; ``status`` calls
:func:`rasad.automation.status.status`. The agent acts as the local principal
(``RASAD_USER``, a service account such as ``agent``), on a local project only.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli._context import URL_ENV, state
from rasad.cli._output import JsonFlag, clean, emit_json, err_console, say, table
from rasad.errors import InputError

if TYPE_CHECKING:
    from rasad.automation.agent import PassReport
    from rasad.automation.status import AgentStatus

app = typer.Typer(no_args_is_help=False)


def default_owner() -> str:
    """``host:pid``: unique among running agents, so each holds its own claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


@app.callback(invoke_without_command=True)
def agent(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option(
        "--once", help="Make one pass over the due work and exit (for cron or a Kubernetes "
                       "CronJob).")] = False,
    owner: Annotated[str | None, typer.Option(
        help="This agent's name on its claims (default: HOST:PID).")] = None,
    health_port: Annotated[int | None, typer.Option(
        min=0, max=65535, help="Serve GET /healthz on this port while running (0: any "
                               "free one).")] = None,
    health_host: Annotated[str, typer.Option(
        help="Address of the health endpoint.")] = "0.0.0.0",
    interval: Annotated[float | None, typer.Option(
        min=0.0, help="Seconds between passes (default: automation.agent.interval_seconds)."
    )] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the automation agent: ingest new files, run due monitors, alert, retrain.

    What it watches and does is the automation section of rasad.yaml (docs/automation.md).
    Several agents may run at once: each piece of work is claimed by one of them. With
    --once, exit 1 when a piece of work failed (it is listed), else 0. Without it, run
    until SIGTERM or Ctrl-C, which stop after the current pass.
    """
    if ctx.invoked_subcommand is not None:
        return
    if os.environ.get(URL_ENV, "").strip():
        raise InputError(f"`rasad agent` runs where the project is, not over the server "
                         f"({URL_ENV} is set): unset {URL_ENV} and give the project folder.")
    from rasad.automation.agent import run_pass, serve_forever

    project = state(ctx).project()
    name = owner or default_owner()
    if once:
        report = run_pass(project.context, owner=name)
        _show(report, as_json)
        if not report.ok:
            raise typer.Exit(1)
        return
    seconds = interval if interval is not None else \
        project.config.automation.agent.interval_seconds
    err_console().print(f"Agent {clean(name)} of project {clean(project.config.name)}: a pass "
                        f"every {seconds:g} s"
                        + (f", health at http://{clean(health_host)}:{health_port}/healthz"
                           if health_port is not None else "")
                        + ". Stop with Ctrl-C or SIGTERM.", highlight=False)
    serve_forever(project.context, name, seconds, health_port, health_host=health_host,
                  on_pass=lambda report: _show(report, as_json, quiet_if_idle=True))


@app.command("status")
def status_cmd(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the monitors (last and next runs), open triggers, pending requests and alerts."""
    from rasad.automation.status import status

    found = status(state(ctx).project().context)
    if as_json:
        emit_json(found.to_dict())
        return
    _status(found)


def _show(report: PassReport, as_json: bool, *, quiet_if_idle: bool = False) -> None:
    idle = not (report.ingested or report.monitors or report.triggers or report.deliveries
                or report.checkpoint or report.problems or report.deferred)
    if idle and quiet_if_idle:  # a service prints what it did, not every idle pass
        return
    if as_json:
        emit_json(report.to_dict())
        return
    fired = [run for run in report.monitors if run.fired]
    say(f"Pass by {clean(report.owner)} at {clean(report.started_at)}: "
        f"{_count(len(report.ingested), 'file')} ingested, "
        f"{_count(len(report.monitors), 'monitor run')} ({len(fired)} fired), "
        f"{_count(len(report.deliveries), 'alert delivery', 'alert deliveries')}.")
    for item in report.ingested:
        say(f"  file {clean(item['path'])}: {clean(item['status'])}"
            + (f" as {clean(item['dataset'])}@{item['version']}" if item.get("version") else ""))
    for run in report.monitors:
        say(f"  monitor {clean(run.monitor)}: {run.status.value}, {clean(run.summary)}")
    for line in report.cooled + report.deferred:
        say(f"  {clean(line)}")
    for trigger in report.triggers:
        say(f"  trigger {trigger.id} ({clean(trigger.monitor)}): {trigger.status}")
    if report.checkpoint is not None:
        say(f"  checkpoint: event {report.checkpoint.get('seq')}")
    for problem in report.problems:
        err_console().print(f"[red]problem:[/] {clean(problem)}", highlight=False)


def _count(n: int, one: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``.

    >>> _count(1, "file"), _count(3, "alert delivery", "alert deliveries")
    ('1 file', '3 alert deliveries')
    """
    return f"{n} {one if n == 1 else many or one + 's'}"


def _status(found: AgentStatus) -> None:
    if not found.monitors:
        say("No monitors: declare them under automation.monitors in rasad.yaml "
            "(docs/automation.md).")
    else:
        table("Monitors", ["monitor", "kind", "source", "schedule", "last run", "last status",
                           "next run", "last fired"],
              [[m.name, m.kind, m.source, m.schedule, m.last_run_at or "never",
                m.last_status or "", m.next_run_at or
                ("on arrival" if m.schedule == "on_arrival" else "next pass"),
                m.last_fired_at or ""] for m in found.monitors])
    if found.open_triggers:
        table("Open triggers", ["id", "monitor", "fired at", "actions", "summary"],
              [[t.id, t.monitor, t.fired_at, ", ".join(t.actions), t.summary]
               for t in found.open_triggers])
    else:
        say("No open triggers.")
    if found.pending_requests:
        table("Pending promotion requests", ["id", "model", "environment", "approvals",
                                             "opened by", "expires"],
              [[r.id, f"{r.model}@{r.version}", r.environment,
                f"{r.approvals}/{r.approvals_required}", r.opened_by, r.expires_at or ""]
               for r in found.pending_requests])
    else:
        say("No pending promotion requests.")
    if found.retrain_required:
        table("Retrain required (data-subject erasures)",
              ["model", "erasure", "due", "overdue"],
              [[f.ref, f"#{f.erasure_id}", f.due_at[:10], "yes" if f.overdue else ""]
               for f in found.retrain_required])
    if found.alerts:
        table("Recent alerts", ["id", "monitor", "severity", "created at", "title",
                                "deliveries"],
              [[a.id, a.monitor, a.severity, a.created_at, a.title,
                ", ".join(f"{c}: {s}" for c, s in sorted(a.deliveries.items()))]
               for a in found.alerts])
    else:
        say("No alerts.")
