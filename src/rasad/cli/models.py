"""``rasad models``, ``rasad promote``, ``rasad rollback``, ``rasad predict``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rasad._files import check_outputs
from rasad.cli._context import state
from rasad.cli._output import JsonFlag, clean, emit_json, fmt, say, short, table
from rasad.errors import InputError

if TYPE_CHECKING:
    from rasad.registry import Deployment
    from rasad.release.requests import EnvironmentStatus

app = typer.Typer(help="The model registry.", no_args_is_help=True)


@app.command("register")
def register(ctx: typer.Context, run_id: Annotated[str, typer.Argument(metavar="RUN")],
             name: Annotated[str, typer.Option("--name", "-n")],
             as_json: JsonFlag = False) -> None:
    """Register a finished run's model as the next version of NAME.

    The model's bytes are checked first (hash, skops format, trusted types); a run
    that already is a version of NAME is not registered again.
    """
    from rasad.remote import RemoteProject

    project = state(ctx).project()
    if isinstance(project, RemoteProject):
        registration = project.registration(run_id, name)
    else:
        # Until rasad.Project has the `registration` verb RemoteProject has.
        from rasad.registry.models import register as register_run

        registration = register_run(project.context, run_id, name)
    emit_json(registration.to_dict()) if as_json else say(registration.message)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List models with their latest version and where versions are deployed."""
    from rasad.cli._release import BREAK_GLASS, unreviewed

    project = state(ctx).project()
    models = project.models()
    if as_json:
        emit_json([m.to_dict() for m in models])
        return
    marks: dict[str, list[str]] = {}
    for request in project.requests(status="forced") if models else []:
        if unreviewed(request):
            marks.setdefault(request.model, []).append(
                f"{BREAK_GLASS}: {request.environment} v{request.version} (#{request.id})")
    table(None, ["model", "versions", "latest", "deployed", "notes"],
          [[m.name, len(m.versions), m.versions[-1].version,
            ", ".join(f"{env}: v{v}" for env, v in m.deployed.items()) or "-",
            "; ".join(marks.get(m.name, [])) or None] for m in models])


@app.command("show")
def show(ctx: typer.Context, name: str,
         as_json: JsonFlag = False) -> None:
    """Show a model's versions, where each serves (with its gates and approvers), and the
    deployment history."""
    project = state(ctx).project()
    detail = project.model(name)
    if as_json:
        emit_json(detail.to_dict())
        return
    table(f"model {detail.name}", ["version", "run", "task", "test metrics", "datasets",
                                   "deployed in", "created"],
          [[v.version, short(v.run_id), v.task, _test_metrics(v.metrics),
            ", ".join(d["dataset"] for d in v.datasets),
            ", ".join(detail.environments_of(v.version)) or "-", v.created_at[:19]]
           for v in detail.versions])
    if detail.deployed:
        _environments_table(project.environment_status(detail.name))
    if detail.history:
        _history_table("deployment history", detail.history)


def _environments_table(statuses: list[EnvironmentStatus]) -> None:
    from rasad.cli._release import BREAK_GLASS

    table("serving", ["environment", "version", "request", "gates", "approved by", "notes"],
          [[s.environment, s.version, None if s.request_id is None else f"#{s.request_id}",
            _gates_summary(s), s.approvers or None,
            BREAK_GLASS if s.break_glass_unreviewed else None]
           for s in statuses if s.version is not None])


def _gates_summary(status: EnvironmentStatus) -> str | None:
    if status.request_id is None:
        return None
    if status.blocking:
        return "blocking: " + ", ".join(status.blocking)
    return "passed"


@app.command("history")
def history(ctx: typer.Context, name: str,
            env: Annotated[str | None, typer.Option(help="Only this environment.")] = None,
            as_json: JsonFlag = False) -> None:
    """Show where a model's versions were deployed, rolled back and replaced, oldest first."""
    from rasad.remote import RemoteProject

    project = state(ctx).project()
    if env is not None and not isinstance(project, RemoteProject):
        # An environment not in rasad.yaml is a typo, not an empty history.
        from rasad.registry.models import check_environment

        check_environment(project.context, env)
    detail = project.model(name)
    deployments = [d for d in detail.history if env is None or d.environment == env]
    if as_json:
        emit_json([d.to_dict() for d in deployments])
    elif deployments:
        _history_table(f"deployments of {detail.name}" + (f" in {env}" if env else ""),
                       deployments)
    else:
        say(f"{clean(detail.name)} has never been deployed"
            + (f" in {clean(env)}" if env else "") + ".")


def _history_table(title: str, deployments: list[Deployment]) -> None:
    table(title, ["when", "environment", "version", "replaced", "kind", "by", "reason"],
          [[d.deployed_at[:19], d.environment, d.version, d.previous_version, d.kind,
            d.deployed_by, d.reason] for d in deployments])


def _test_metrics(metrics: dict[str, object]) -> str:
    test = metrics.get("test")
    if not isinstance(test, dict):
        return "-"
    return ", ".join(f"{k} {fmt(v)}" for k, v in list(test.items())[:3])


_SLOT_HELP = ("canary (answers serving.environments.ENV.canary.share of the requests) or "
              "shadow (scores them without answering); default: the primary.")


def promote(
    ctx: typer.Context, name: str, version: int,
    to: Annotated[str, typer.Option("--to", help="Target environment.")],
    reason: Annotated[str | None, typer.Option()] = None,
    slot: Annotated[str | None, typer.Option(
        "--slot", metavar="canary|shadow", help=_SLOT_HELP)] = None,
    break_glass: Annotated[str | None, typer.Option(
        "--break-glass", metavar="JUSTIFICATION",
        help="Admins only: deploy even though gates fail or approvals are missing, with this "
             "written justification; marked until an approver reviews it.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the environment's gates, then deploy the version or open a request for approval.

    Prints the gate results, then what happened: the version serves the environment (or
    its canary or shadow, with --slot), or a request waits for approvals (`rasad approve
    ID`). Exit 1 when a gate blocks.
    """
    from rasad.cli import _release
    from rasad.errors import GatesFailed
    from rasad.registry import Deployment

    project = state(ctx).project()
    # The slot is passed only when given, so a primary promotion asks nothing new of a
    # server.
    where = {} if slot is None else {"slot": slot}
    if break_glass is not None:
        if reason is not None:
            raise InputError("Give --break-glass JUSTIFICATION alone: the justification is "
                             "the reason a forced promotion records; drop --reason.")
        request = project.force_promote(name, version, to, justification=break_glass,
                                        **where)
        if as_json:
            emit_json(request)
            return
        _release.gates_table(request.gates)
        say(_release.forced(request))
        return
    try:
        outcome = project.promote(name, version, to, reason=reason, **where)
    except GatesFailed as failed:
        if as_json:
            emit_json(failed.request)
        else:
            _release.gates_table(failed.request.gates)
            say(f"Not promoted: {len(failed.request.gates.blocking)} gate(s) block "
                f"({', '.join(failed.request.gates.blocking)}); recorded as request "
                f"#{failed.request.id} ({failed.request.status}).")
        raise typer.Exit(1) from None
    if as_json:
        emit_json(outcome)
        return
    if isinstance(outcome, Deployment):
        if outcome.request_id is not None:
            _release.gates_table(project.request(outcome.request_id).gates)
        say(("Promoted: " if outcome.changed else "") + _release.deployed(outcome))
    else:
        _release.gates_table(outcome.gates)
        say(_release.opened(outcome))


def rollback(ctx: typer.Context, name: str,
             env: Annotated[str, typer.Option("--env", help="Environment to roll back.")],
             reason: Annotated[str | None, typer.Option()] = None,
             slot: Annotated[str | None, typer.Option(
                 "--slot", metavar="canary|shadow",
                 help="Roll back the environment's canary or shadow instead.")] = None,
             as_json: JsonFlag = False) -> None:
    """Return an environment to the version its current deployment replaced."""
    from rasad.cli._release import deployed

    where = {} if slot is None else {"slot": slot}
    deployment = state(ctx).project().rollback(name, env, reason=reason, **where)
    emit_json(deployment.to_dict()) if as_json else say("Rolled back: " + deployed(deployment))


def retire(ctx: typer.Context, name: str,
           env: Annotated[str, typer.Option("--env", help="The environment.")],
           slot: Annotated[str, typer.Option(
               "--slot", metavar="canary|shadow", help="Which deployment ends.")],
           reason: Annotated[str | None, typer.Option()] = None,
           as_json: JsonFlag = False) -> None:
    """End a model's canary or shadow in an environment; the primary keeps serving.

    The slot is empty afterwards (its history stays); the ledger records
    `model.retire`. Promoting the canary's version to the primary retires it by itself.
    """
    retirement = state(ctx).project().retire(name, env, slot, reason=reason)
    emit_json(retirement.to_dict()) if as_json else say(clean(retirement.message))


def predict(
    ctx: typer.Context,
    name: str,
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="CSV or Parquet file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV or Parquet to write.")],
    version: Annotated[int | None, typer.Option(help="Model version.")] = None,
    env: Annotated[str | None, typer.Option(help="Use the version serving this environment.")]
    = None,
    strict: Annotated[bool, typer.Option(help="Treat unseen categories as errors.")] = False,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Add each row's reason codes: reason_1..reason_K and reasons "
        "(JSON); docs/explanations.md.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Score a file with a model version, checking the input against its signature first."""
    from rasad.config import CONFIG_FILE, STATE_DIR
    from rasad.remote import RemoteProject

    if (version is None) == (env is None):
        raise InputError("Give exactly one of --version V or --env ENV.")
    project = state(ctx).project()
    inputs: list[object] = [input_path]
    if not isinstance(project, RemoteProject):
        # A local project's own files (config, database, artifacts) are inputs too.
        inputs += [project.root / CONFIG_FILE, project.root / STATE_DIR]
    check_outputs([output], inputs=inputs)
    result = project.predict(name, input_path, version=version, env=env,
                             output=output, strict_categories=strict, explain=explain)
    from rasad.cli._release import warn_break_glass

    warn_break_glass(project, name)
    if as_json:
        emit_json(result.to_dict())
        return
    for warning in result.warnings:
        say(f"[yellow]warning:[/] {clean(warning)}")
    explained = (f", with reason codes ({result.explained_with})"
                 if result.explained_with else "")
    say(f"Scored {result.rows:,} rows with {result.model} v{result.version}{explained}; wrote "
        f"{result.output}.")
