"""``rasad inventory``: the model inventory (docs/governance.md).

Calls :meth:`rasad.Project.inventory` (local, or the server's ``GET /inventory`` with
``RASAD_URL``) and renders it: one row per model, then what needs attention (open
requests, break-glass promotions awaiting review, open triggers), then the controls the
register evidences.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from rasad.cli._context import state
from rasad.cli._output import JsonFlag, emit_json, say, table
from rasad.cli._release import when

if TYPE_CHECKING:
    from rasad.governance.inventory import Inventory, InventoryEntry

MISSING = "missing"
"""What the table shows for a declaration ``rasad.yaml`` does not make."""


def inventory(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the model inventory: owner, risk tier, serving versions, approvals, open items.

    Every registered model with its declared owner and risk tier (governance.models in
    rasad.yaml; what is not declared shows as missing), the versions serving each
    environment (primary, canary, shadow), the last validation of its training data and
    its last approval, open promotion requests, break-glass promotions awaiting review,
    the automation loop's open triggers and last retraining, and its monitors' last alert.
    """
    found = state(ctx).project().inventory()
    if as_json:
        emit_json(found.to_dict())
        return
    _show(found)


def _show(found: Inventory) -> None:
    if not found.models:
        say("No registered models yet; register one with `rasad models register RUN "
            "--name NAME`.")
    else:
        table(f"Model inventory of {found.project} ({when(found.generated_at)} UTC)",
              ["model", "owner", "risk tier", "serving", "data validated", "last approval",
               "open requests", "break-glass unreviewed", "open triggers", "last alert"],
              [_row(entry) for entry in found.models])
    for entry in found.models:
        for request in entry.open_requests:
            say(f"{entry.model}: request #{request.id} ({entry.model}@{request.version} -> "
                f"{request.environment}) has {request.approvals} of "
                f"{request.approvals_required} approval(s)"
                + (f"; stale: {request.stale}" if request.stale else "") + ".")
        for forced in entry.break_glass_unreviewed:
            say(f"{entry.model}: break-glass #{forced.request_id} ({entry.model}@"
                f"{forced.version} -> {forced.environment}) by {forced.forced_by} awaits "
                f"review: `rasad requests review {forced.request_id} --comment TEXT`.")
        for trigger in entry.open_triggers:
            steps = ", ".join(trigger.retraining) or "not started"
            say(f"{entry.model}: trigger #{trigger.id} ({trigger.monitor}, {trigger.kind}) "
                f"open since {when(trigger.fired_at)}; retraining: {steps}.")
        for flag in entry.retrain_required:
            say(f"{entry.model}@{flag.version}: retrain required by {when(flag.due_at)}"
                + (" (overdue)" if flag.overdue else "")
                + f": trained on data of a subject erased by erasure #{flag.erasure_id}.")
    for name in found.orphan_declarations:
        say(f"governance.models.{name} in rasad.yaml names no registered model.")
    if found.not_tracked:
        say("Not tracked yet: " + "; ".join(found.not_tracked))
    say("Evidence for: " + "; ".join(f"{c.id} {c.title}" for c in found.controls) + ".")


def _row(entry: InventoryEntry) -> list[object]:
    serving = "; ".join(
        f"{s.environment} v{s.primary}" + (f" canary v{s.canary}" if s.canary else "")
        + (f" shadow v{s.shadow}" if s.shadow else "") for s in entry.serving) or "nowhere"
    validated = "; ".join(
        f"{d.dataset} {when(d.last_validated_at) or 'never'}"
        + ("" if d.ok is None else " ok" if d.ok else " errors")
        for d in entry.training_data) or None
    approval = entry.last_approval
    alert = entry.last_alert
    return [entry.model, entry.owner or MISSING, entry.risk_tier or MISSING, serving,
            validated,
            f"{when(approval.approved_at)} by {approval.approver}" if approval else None,
            ", ".join(f"#{r.id}" for r in entry.open_requests) or None,
            ", ".join(f"#{b.request_id}" for b in entry.break_glass_unreviewed) or None,
            ", ".join(f"#{t.id}" for t in entry.open_triggers) or None,
            f"{alert.monitor} {when(alert.created_at)}" if alert else None]
