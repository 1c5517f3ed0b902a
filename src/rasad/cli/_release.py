"""How the CLI shows governed promotion: gate tables, requests, and what a promotion did.

Shared by ``rasad promote`` (:mod:`rasad.cli.models`) and ``rasad requests | approve |
reject`` (:mod:`rasad.cli.requests_cmd`). Rendering only: every decision (whether a gate
blocks, whether a request is stale or expired, who may approve) is the service's, read
from the typed results.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from rasad.cli._output import clean, fmt, say, table

if TYPE_CHECKING:
    from rasad.registry import Deployment
    from rasad.release.report import GateReport
    from rasad.release.requests import PromotionRequest

BREAK_GLASS: Final = "BREAK-GLASS (unreviewed)"
"""The marker a forced promotion carries everywhere until an approver reviews it."""

MAX_FIGURES: Final = 24
"""Figures shown per gate in ``requests show``; the rest are in its ``--json``."""
_HASH: Final = re.compile(r"[0-9a-f]{64}")


def warn_break_glass(project: Any, model: str) -> None:
    """On stderr (so ``--json`` output stays one document): every environment where
    ``model`` serves through a break-glass promotion nobody has reviewed yet.

    Shown by every command that reports on a model (``predict``, ``test``, ``fairness
    --model``) until an approver runs ``rasad requests review``.
    """
    from rasad.cli._output import err_console
    from rasad.names import parse_ref

    name = parse_ref(model)[0]
    for status in project.environment_status(name):
        for request_id in status.unreviewed:
            err_console().print(
                f"[bold red]warning:[/] {clean(name)} serves {clean(status.environment)} "
                f"through {BREAK_GLASS} request #{request_id}; an approver reviews it with "
                f"`rasad requests review {request_id} --comment TEXT`.")


def when(stamp: str | None) -> str | None:
    """A stored UTC timestamp as ``YYYY-MM-DD HH:MM:SS``.

    >>> when("2026-12-06T10:00:00.123456Z"), when(None)
    ('2026-12-06 10:00:00', None)
    """
    return None if stamp is None else stamp[:19].replace("T", " ")


def approvals_given(request: PromotionRequest) -> int:
    """How many distinct approvals the request holds."""
    return len({a.principal for a in request.approvals if a.decision == "approve"})


def needs(request: PromotionRequest) -> str:
    """``2 approval(s) from approver`` (or ``..., admin``): the request's rule in words."""
    return (f"{request.approvals_required} approval(s) from "
            f"{' or '.join(request.approver_roles) or 'any approver'}")


def unreviewed(request: PromotionRequest) -> bool:
    """A break-glass promotion nobody has reviewed after the fact yet."""
    return request.break_glass and request.reviewed is None


def state_notes(request: PromotionRequest) -> list[str]:
    """What a reader must notice: break-glass not reviewed, stale evidence."""
    notes = []
    if unreviewed(request):
        notes.append(BREAK_GLASS)
    if request.stale:
        notes.append(f"stale: {request.stale}")
    return notes


def gates_table(report: GateReport, title: str | None = None, *,
                figures: bool = False) -> None:
    """The gates a policy ran: gate, status, summary (and the figures behind each).

    An environment whose policy runs no gates (dev, by default) shows nothing, unless the
    figures are asked for (``requests show``), where the absence is said.
    """
    if not report.gates:
        if figures:
            say(f"No gates: the policy of {clean(report.environment)} lists none.")
        return
    columns = ["gate", "status", "summary"] + (["figures"] if figures else [])
    rows = []
    for result in report.gates:
        status = str(result.status) + (" (blocks)" if result.gate in report.blocking else "")
        row: list[Any] = [result.gate, status, result.summary]
        if figures:
            row.append(figure_text(result.evidence))
        rows.append(row)
    table(title or f"gates for {report.model} -> {report.environment}", columns, rows)


def figure_text(evidence: Mapping[str, Any]) -> str:
    """A gate's evidence as ``key value`` pairs: nested keys dotted, list items numbered,
    hashes shortened, the first :data:`MAX_FIGURES` only (``--json`` has every one).

    >>> figure_text({"roc_auc": {"estimate": 0.81234, "lower": 0.77}, "n": 500,
    ...              "thresholds": [{"metric": "brier", "passed": True}],
    ...              "sha256": "ab" * 32})
    'roc_auc.estimate 0.8123; roc_auc.lower 0.77; n 500; thresholds[0].metric brier; \
thresholds[0].passed True; sha256 abababababab...'
    """
    pairs = list(_flatten(evidence))
    shown = [f"{key} {_short(value)}" for key, value in pairs[:MAX_FIGURES]]
    if len(pairs) > MAX_FIGURES:
        shown.append(f"... {len(pairs) - MAX_FIGURES} more (--json)")
    return "; ".join(shown) or "-"


def _short(value: Any) -> str:
    if isinstance(value, str) and _HASH.fullmatch(value):
        return value[:12] + "..."
    return fmt(value)


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


def opened(request: PromotionRequest) -> str:
    """What ``promote`` says when it opened a request instead of deploying."""
    return (f"Opened request #{request.id}: needs {needs(request)}. An approver runs "
            f"`rasad approve {request.id}`; see it with `rasad requests show {request.id}`.")


def deployed(d: Deployment) -> str:
    """One sentence for a deployment: what serves where now, and what it replaced."""
    from rasad.registry.slots import Slot, split

    env, slot = split(d.environment)
    if not d.changed:
        serves = f"serves {env}" if slot is Slot.PRIMARY else f"is the {slot} of {env}"
        return f"{d.model_name} v{d.version} already {serves}; nothing changed."
    was = f" (replacing v{d.previous_version})" if d.previous_version is not None else ""
    serves = f"now serves {env}" if slot is Slot.PRIMARY else f"is now the {slot} of {env}"
    return f"{d.model_name} v{d.version} {serves}{was}."


def forced(request: PromotionRequest) -> str:
    """What ``promote --break-glass`` says: it deployed, and it stays marked until reviewed."""
    failed = ", ".join(request.gates.blocking)
    despite = f" despite failed gates ({failed})" if failed else ""
    return (f"[bold red]BREAK-GLASS[/]: {clean(request.model)} v{request.version} now serves "
            f"{clean(request.environment)}{despite}, without approval (request "
            f"#{request.id}). It is marked {BREAK_GLASS} until an approver runs `rasad "
            f"requests review {request.id} --comment TEXT`.")


def decided(request: PromotionRequest, verb: str) -> str:
    """What ``approve``, ``reject`` and ``requests review`` say about the request after."""
    head = f"{verb} request #{request.id} ({clean(request.model)} v{request.version} -> " \
        f"{clean(request.environment)})"
    if request.status == "promoted":
        return (f"{head}: approved by {approvals_given(request)} of "
                f"{request.approvals_required}; {clean(request.model)} v{request.version} "
                f"now serves {clean(request.environment)}.")
    if request.status == "open":
        missing = request.approvals_required - approvals_given(request)
        return (f"{head}: {approvals_given(request)} of {request.approvals_required} "
                f"approval(s); waiting for {missing} more from "
                f"{' or '.join(request.approver_roles)}.")
    if request.break_glass and request.reviewed is not None:
        return f"{head}: break-glass promotion reviewed by {clean(request.reviewed.principal)}."
    return f"{head}: {request.status}."


def show_request(request: PromotionRequest) -> None:
    """Everything ``requests show`` prints: the request, its gates with figures, approvals."""
    given = approvals_given(request)
    lines = [
        f"[bold]Request #{request.id}[/]: {clean(request.model)} v{request.version} -> "
        f"{clean(request.environment)}, {request.status}",
        f"  opened by {clean(request.opened_by)} at {when(request.opened_at)} UTC; expires "
        f"{when(request.expires_at)} UTC",
        f"  approvals: {given} of {request.approvals_required} from "
        f"{' or '.join(request.approver_roles) or '-'}",
    ]
    if request.deployment_id is not None:
        lines.append(f"  deployment: #{request.deployment_id}")
    if request.stale:
        from rasad.registry.slots import to_options

        lines.append(f"  [yellow]stale[/]: {clean(request.stale)}; open a new request with "
                     f"`rasad promote {clean(request.model)} {request.version} "
                     f"{clean(to_options(request.environment))}`")
    if request.break_glass:
        review = ("reviewed by " + clean(request.reviewed.principal)
                  + (f": {clean(request.reviewed.comment)}" if request.reviewed.comment
                     else "")) if request.reviewed is not None else BREAK_GLASS
        lines.append(f"  [bold red]break-glass[/] by {clean(request.opened_by)}: "
                     f"{clean(request.justification)}; {review}")
    for line in lines:
        say(line)
    verdict = ("passed" if request.gates.passed
               else "blocking: " + ", ".join(request.gates.blocking))
    gates_table(request.gates, f"gates ({verdict})", figures=True)
    if request.approvals:
        table("decisions", ["who", "decision", "comment", "when (UTC)"],
              [[a.principal, a.decision, a.comment, when(a.created_at)]
               for a in request.approvals])
    else:
        say("No decisions yet.")
    say(clean(request.message))


__all__ = ["BREAK_GLASS", "approvals_given", "decided", "deployed", "figure_text", "forced",
           "gates_table", "needs", "opened", "show_request", "state_notes", "unreviewed",
           "warn_break_glass", "when"]
