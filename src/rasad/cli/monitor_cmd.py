"""``rasad monitor``: the results saved by checks (``rasad drift --save`` and others).

``rasad monitor results`` lists them (a table, or a JSON list with ``--json``);
``rasad monitor show ID`` prints one result's saved report, its hash checked. Both call
Project verbs, so with ``RASAD_URL`` set they read the server's results.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rasad._files import write_text_atomic
from rasad.cli._context import state
from rasad.cli._output import JsonFlag, OutputFile, clean, emit_json, say, table
from rasad.errors import InputError

if TYPE_CHECKING:
    from rasad.monitoring.results import MonitorResult
    from rasad.project import Project
    from rasad.remote import RemoteProject

app = typer.Typer(no_args_is_help=True, help="Saved monitor results: list them, show one.")


@app.command("results")
def results(
    ctx: typer.Context,
    monitor: Annotated[str | None, typer.Option(help="Only this monitor's results.")] = None,
    kind: Annotated[str | None, typer.Option(
        help="Only results of this kind: drift, performance, estimation, fairness or "
             "validation.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List saved results, oldest first."""
    found = state(ctx).project().monitor_results(monitor, kind)
    if as_json:
        emit_json([item.to_dict() for item in found])
        return
    if not found:
        say("No saved results" + (f" of monitor {clean(monitor)}" if monitor else "")
            + (f" of kind {clean(kind)}" if kind else "")
            + ". Save one with `rasad drift REF CUR --save`.")
        return
    table(None, ["id", "monitor", "kind", "reference", "current", "alert", "created by",
                 "created at"],
          [[item.id, item.monitor, item.kind.value, item.reference, item.current,
            "yes" if item.alert else "no", item.created_by, item.created_at]
           for item in found])


@app.command("show")
def show(
    ctx: typer.Context,
    result_id: Annotated[int, typer.Argument(metavar="ID", help="The result's id (see "
                                                                 "`rasad monitor results`).")],
    as_json: JsonFlag = False,
    output: OutputFile = None,
) -> None:
    """Print a saved result's report JSON (checked against its hash); -o also writes it."""
    if output is not None and output.is_dir():
        raise InputError(f"{output} is a folder; give a file name.")
    project = state(ctx).project()
    found = project.monitor_result(result_id)
    payload = _payload(project, found)
    if output is not None:
        write_text_atomic(output, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    if as_json or output is None:
        # The report is JSON either way: without --json it is printed too, after a header
        # line, unless -o took it.
        if not as_json:
            say(f"Result {found.id} of {clean(found.monitor)} ({found.kind.value}): "
                f"{clean(found.current)} against {clean(found.reference)}, "
                f"{'alert' if found.alert else 'no alert'}, by {clean(found.created_by)} "
                f"at {clean(found.created_at)}")
        emit_json(payload)
        return
    say(f"Result {found.id} of {clean(found.monitor)} ({found.kind.value}) written to "
        f"{clean(output)}")


def _payload(project: Project | RemoteProject, found: MonitorResult) -> dict[str, Any]:
    """The saved report, checked against its hash (by the server, over one)."""
    from rasad.remote import RemoteProject

    if isinstance(project, RemoteProject):
        return project.monitor_report(found.id)
    from rasad.monitoring.results import load_payload

    return load_payload(project.context, found)
