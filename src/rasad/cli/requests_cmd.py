"""``rasad requests list | show | review``, ``rasad approve``, ``rasad reject``.

Promotion requests: what ``rasad promote`` opens where an environment needs approval
(docs/promotion.md). Who may approve is the service's rule (maker-checker, roles, stale
or expired evidence); a refusal is its message, exit 2.
"""

from __future__ import annotations

from typing import Annotated

import typer

from rasad.cli._context import state
from rasad.cli._output import JsonFlag, emit_json, say, table
from rasad.cli._release import (
    approvals_given,
    decided,
    show_request,
    state_notes,
    when,
)

app = typer.Typer(help="Promotion requests: list, show, review a break-glass promotion.",
                  no_args_is_help=True)

RequestId = Annotated[int, typer.Argument(metavar="ID", min=1, max=2**31 - 1,
                                          help="The request's number (`rasad requests list`).")]


@app.command("list")
def list_(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="Only this status: open, promoted, rejected, superseded, expired, "
                         "failed, forced.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List promotion requests, newest first: status, approvals, gates, staleness."""
    found = state(ctx).project().requests(model=model, environment=env, status=status)
    if as_json:
        emit_json([r.to_dict() for r in found])
        return
    if not found:
        say("No promotion requests" + (" match." if model or env or status else " yet."))
        return
    table(None, ["id", "model", "version", "environment", "status", "opened by",
                 "opened (UTC)", "approvals", "gates", "notes"],
          [[r.id, r.model, r.version, r.environment, r.status, r.opened_by, when(r.opened_at),
            f"{approvals_given(r)}/{r.approvals_required}",
            "passed" if r.gates.passed else "blocking: " + ", ".join(r.gates.blocking),
            "; ".join(state_notes(r)) or None] for r in found])


@app.command("show")
def show(ctx: typer.Context, request_id: RequestId, as_json: JsonFlag = False) -> None:
    """Show a request: its gates with their figures, approvals, staleness and expiry."""
    request = state(ctx).project().request(request_id)
    emit_json(request) if as_json else show_request(request)


@app.command("review")
def review(
    ctx: typer.Context,
    request_id: RequestId,
    comment: Annotated[str, typer.Option("--comment", help="What the review found.")],
    as_json: JsonFlag = False,
) -> None:
    """Review a break-glass promotion after the fact; its marker goes away."""
    request = state(ctx).project().review(request_id, comment=comment)
    emit_json(request) if as_json else say(decided(request, "Reviewed"))


def approve(
    ctx: typer.Context,
    request_id: RequestId,
    comment: Annotated[str | None, typer.Option("--comment", help="Why.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Approve a promotion request; the last approval it needs deploys the version."""
    request = state(ctx).project().approve(request_id, comment=comment)
    emit_json(request) if as_json else say(decided(request, "Approved"))


def reject(
    ctx: typer.Context,
    request_id: RequestId,
    comment: Annotated[str, typer.Option("--comment", help="Why (required).")],
    as_json: JsonFlag = False,
) -> None:
    """Reject a promotion request, with a comment saying why."""
    request = state(ctx).project().reject(request_id, comment=comment)
    emit_json(request) if as_json else say(decided(request, "Rejected"))
