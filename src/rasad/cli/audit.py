"""``rasad audit log`` and ``rasad audit verify``."""

from __future__ import annotations

from typing import Annotated

import typer

from rasad.cli._context import state
from rasad.cli._output import emit_json, say, table
from rasad.ledger import canonical_json

app = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)


@app.command("log")
def log(
    ctx: typer.Context,
    subject: Annotated[str | None, typer.Option(help="Only this subject; 'model:*' for a "
                                                     "prefix.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. model.promotion.")]
    = None,
    limit: Annotated[int | None, typer.Option(min=1)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show audit events in order."""
    events = state(ctx).project().audit_log(subject=subject, action=action, limit=limit)
    if as_json:
        emit_json([e.to_dict() for e in events])
        return
    table(None, ["seq", "time (UTC)", "actor", "action", "subject", "details"],
          [[e.seq, e.occurred_at[:19].replace("T", " "), e.actor, e.action, e.subject,
            _brief(canonical_json(e.details))] for e in events])


def _brief(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@app.command("verify")
def verify(ctx: typer.Context,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the whole chain; exit 1 naming the first bad event."""
    result = state(ctx).project().verify_audit()
    if as_json:
        emit_json(result.to_dict())
    elif result.ok:
        say(f"Audit chain intact: {result.events} events.")
    else:
        say(f"[red]Audit chain broken at event {result.first_bad_seq}[/]: {result.reason}")
    if not result.ok:
        raise typer.Exit(1)
