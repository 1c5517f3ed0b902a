"""``rasad train`` and ``rasad runs list | show | compare``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rasad.cli._context import state
from rasad.cli._output import JsonFlag, clean, emit_json, fmt, say, short, table
from rasad.errors import InputError

if TYPE_CHECKING:
    from rasad.training import Run

app = typer.Typer(help="Training runs.", no_args_is_help=True)


def _parse_params(pairs: list[str]) -> dict[str, Any] | None:
    if not pairs:
        return None
    from rasad.config import load_yaml

    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--param {pair!r} must look like KEY=VALUE, as in "
                             "--param max_iter=200.")
        # Bounded like rasad.yaml: aliases cannot expand a value past the YAML limit.
        params[key] = load_yaml(value, f"--param {key}")
    return params


def train(
    ctx: typer.Context,
    dataset: Annotated[str | None, typer.Option(help="Dataset name (or NAME@VERSION).")] = None,
    target: Annotated[str | None, typer.Option(help="Target column.")] = None,
    features: Annotated[str | None, typer.Option(help="Comma-separated feature columns.")]
    = None,
    estimator: Annotated[str | None, typer.Option(help="Import path of the estimator class.")]
    = None,
    param: Annotated[list[str] | None, typer.Option(help="Estimator parameter KEY=VALUE "
                                                        "(repeatable).")] = None,
    split: Annotated[str | None, typer.Option(help="random | stratified | time")] = None,
    time_column: Annotated[str | None, typer.Option(help="Time column for a time split.")]
    = None,
    seed: Annotated[int | None, typer.Option()] = None,
    register_as: Annotated[str | None, typer.Option(help="Register the model under this "
                                                          "name.")] = None,
    name: Annotated[str | None, typer.Option(help="A name for the run.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Train from rasad.yaml's training section; options override it."""
    from rasad.cli._progress import RichSteps
    from rasad.names import parse_ref

    project = state(ctx).project()
    version = None
    if dataset is not None:
        dataset, version = parse_ref(dataset)
    result = project.train(
        dataset=dataset, version=version, target=target,
        features=[f.strip() for f in features.split(",") if f.strip()] if features else None,
        estimator=estimator, params=_parse_params(param or []), split=split,
        time_column=time_column, seed=seed, register_as=register_as, name=name,
        progress=RichSteps(enabled=not as_json and sys.stderr.isatty()))
    if as_json:
        emit_json(result.to_dict())
        return
    run = result.run
    say(f"Run [bold]{run.id}[/] {run.status} in {run.duration_s:.1f}s")
    _metrics_table(run)
    if result.model_version is not None:
        say(f"Registered as {result.model_version.ref}")
    else:
        say(f"Register it with `rasad models register {short(run.id)} --name NAME`")


def _metrics_table(run: Run) -> None:
    parts = [p for p in ("train", "validation", "test") if isinstance(run.metrics.get(p), dict)]
    if not parts:
        return
    names = list(run.metrics[parts[0]])
    table(None, ["metric", *parts], [[m, *(run.metrics[p].get(m) for p in parts)]
                                     for m in names])


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="running | finished | failed")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List runs, newest first."""
    runs = state(ctx).project().runs(status=status)
    if as_json:
        emit_json([r.to_dict() for r in runs])
        return
    table(None, ["run", "name", "status", "dataset", "estimator", "test metric", "started",
                 "duration"],
          [[short(r.id), r.name, str(r.status), ", ".join(d["dataset"] for d in r.datasets),
            str(r.params.get("estimator", "-")).rsplit(".", 1)[-1], _headline(r),
            r.started_at[:19].replace("T", " "),
            f"{r.duration_s:.1f}s" if r.duration_s is not None else "-"] for r in runs])


def _headline(run: Run) -> str:
    test = run.metrics.get("test")
    if isinstance(test, dict):
        for key in ("roc_auc", "r2", "accuracy", "rmse"):
            if test.get(key) is not None:
                return f"{key} {fmt(test[key])}"
    return "-"


@app.command("show")
def show(ctx: typer.Context, run_id: Annotated[str, typer.Argument(metavar="ID")],
         as_json: JsonFlag = False) -> None:
    """Show one run: parameters, metrics, environment, lineage."""
    run = state(ctx).project().run(run_id)
    if as_json:
        emit_json(run.to_dict())
        return
    say(f"[bold]Run {run.id}[/] {clean(run.name or '')}  status {run.status}")
    if run.error:
        say(f"[red]error:[/] {clean(run.error)}")
    say(f"by {clean(run.created_by)} on {clean(run.host)} at {run.started_at}; duration "
        f"{fmt(run.duration_s)}s; seed {fmt(run.seed)}")
    say("datasets: " + (", ".join(f"{d['dataset']} ({d['role']})" for d in run.datasets)
                        or "-"))
    code = run.code_version
    say("code: " + (f"git {code['git_commit'][:12]}{' (dirty)' if code.get('git_dirty') else ''}"
                    if code else "not in a git checkout"))
    env = run.environment
    say(f"environment: Python {env.get('python')} on {env.get('platform')}; "
        + ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items()))
    table("parameters", ["parameter", "value"], sorted(run.params.items()))
    _metrics_table(run)
    if run.model_blob:
        say(f"model artifact: sha256 {run.model_blob}")


@app.command("compare")
def compare(ctx: typer.Context,
            run_ids: Annotated[list[str], typer.Argument(metavar="ID ID...")],
            as_json: JsonFlag = False) -> None:
    """Compare runs side by side: parameters (differences marked) and metrics."""
    comparison = state(ctx).project().compare_runs(*run_ids)
    if as_json:
        emit_json(comparison.to_dict())
        return
    heads = [short(r.id) for r in comparison.runs]
    table("parameters (* differs)", ["parameter", *heads],
          [[("* " if k in comparison.differing_params else "  ") + k, *values]
           for k, values in comparison.params.items()])
    table("metrics", ["metric", *heads], [[k, *v] for k, v in comparison.metrics.items()])
