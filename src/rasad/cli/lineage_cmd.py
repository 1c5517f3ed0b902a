"""``rasad lineage emit``: send the ledger's OpenLineage events again (docs/lineage.md).

Calls :meth:`rasad.Project.lineage_emit` and renders what it sent; exit 1 when a send
failed, naming the entry to resume from. Local only: a server sends its own events.
"""

from __future__ import annotations

from typing import Annotated

import typer

from rasad.cli._context import state
from rasad.cli._output import JsonFlag, clean, emit_json, say

app = typer.Typer(help="OpenLineage events for dataset versions, runs, registrations and "
                       "deployments.", no_args_is_help=True)


@app.command("emit")
def emit(
    ctx: typer.Context,
    since: Annotated[int | None, typer.Option(
        "--since", min=1, help="The first ledger entry to send (`rasad audit log` numbers "
                               "them); default: the first.")] = None,
    until: Annotated[int | None, typer.Option(
        "--until", min=1, help="The last ledger entry to send; default: the newest.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send the OpenLineage events of ledger entries again, e.g. after the endpoint was down.

    Reads the audit ledger from --since to --until (inclusive) and sends the events of its
    dataset versions, training runs, registrations and deployments through the transport
    of rasad.yaml's lineage section. Run ids come from the ledger, so an event the
    endpoint already has updates its run instead of adding one. Needs audit.read. Exit 1
    when a send fails (the message names the entry to resume from).
    """
    result = state(ctx).project().lineage_emit(since=since, until=until)
    if as_json:
        emit_json(result.to_dict() | {"ok": result.ok, "message": result.message})
    else:
        say(clean(result.message))
    if not result.ok:
        raise typer.Exit(1)
