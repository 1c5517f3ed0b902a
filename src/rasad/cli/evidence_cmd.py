"""``rasad evidence``: signed evidence packs mapped to a framework's controls.

``rasad evidence --framework F -o DIR`` calls :meth:`rasad.Project.evidence` (the service
:func:`rasad.compliance.evidence.create`); ``rasad evidence verify DIR`` calls
:meth:`rasad.Project.verify_evidence` and exits 1 when the pack does not verify. A pack is
written where the command runs (it is signed with the ledger checkpoint key), so building
one over the server (``RASAD_URL``) is refused; verifying works both ways.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli._context import state
from rasad.cli._output import JsonFlag, clean, emit_json, say, table
from rasad.errors import InputError

if TYPE_CHECKING:
    from rasad.compliance.evidence import EvidencePack, PackVerification

app = typer.Typer(no_args_is_help=False)


@app.callback(invoke_without_command=True)
def evidence(
    ctx: typer.Context,
    framework: Annotated[str | None, typer.Option(
        "--framework", help="gdpr, eu-ai-act, pdpl, nca-ecc or sama-csf (one per control "
                            "catalogue).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The folder to write the pack into (new or empty).")] = None,
    model: Annotated[str | None, typer.Option(
        help="Only this model (default: every registered model).")] = None,
    since: Annotated[str | None, typer.Option(
        help="Start of the period (YYYY-MM-DD or an ISO time; default: the first event).")]
    = None,
    until: Annotated[str | None, typer.Option(
        help="End of the period, inclusive (default: now).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace a non-empty output folder.")] = False,
    key: Annotated[Path | None, typer.Option(
        "--key", help="Signing key file (default: $RASAD_CHECKPOINT_KEY_FILE, else the key "
                      "itself in $RASAD_CHECKPOINT_KEY), as for `rasad audit checkpoint`.")]
    = None,
    as_json: JsonFlag = False,
) -> None:
    """Export a signed evidence pack: every control of a framework with its status and files.

    For each control of the framework's catalogue (ID and title as verified), the evidence
    rasad holds for the models and period: audit events, signed checkpoints, access review,
    inventory, gate reports and approvals, deployments, model cards, datasheets, PII scans,
    validations, fairness, drift and alerts; a status per control; manifest.json with every
    file's sha256, signed with the ledger checkpoint key; index.html for reading
    (docs/evidence.md). `rasad evidence verify DIR` checks a pack.
    """
    if ctx.invoked_subcommand is not None:
        return
    if framework is None or output is None:
        raise InputError("Give --framework F and -o DIR (for example `rasad evidence "
                         "--framework gdpr -o evidence/`), or `rasad evidence verify DIR`.")
    pack = state(ctx).project().evidence(framework, output, model=model, since=since,
                                         until=until, force=force, key=key)
    if as_json:
        emit_json(pack)
        return
    _show(pack)


def _show(pack: EvidencePack) -> None:
    from rasad.compliance.evidence import ControlStatus

    table(f"{pack.framework_name}: {len(pack.controls)} controls",
          ["control", "title", "status", "missing"],
          [[c.id, c.title, c.status.label,
            "; ".join(g.kind.value for g in c.missing) or ""] for c in pack.controls])
    counts = ", ".join(f"{pack.count(s)} {s.label}" for s in ControlStatus)
    say(f"Evidence pack written to {clean(pack.path)}: {len(pack.files)} files, {counts}; "
        f"ledger head {pack.head.seq}; signed by {pack.key_fingerprint[:23]}…")
    say(f"Open {clean(Path(pack.path) / 'index.html')}; check it with `rasad evidence verify "
        f"{clean(pack.path)}`.")


@app.command("verify")
def verify(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="The evidence pack's folder.")],
    public_key: Annotated[list[str] | None, typer.Option(
        "--public-key", help="A trusted public key (base64 or .pub file); repeat for several. "
                             "Default: audit.public_keys, else the first checkpoint key the "
                             "ledger recorded.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check an evidence pack: every file's sha256 and the manifest's signature; exit 1
    naming each problem."""
    result = state(ctx).project().verify_evidence(folder, public_keys=public_key)
    if as_json:
        emit_json(result)
    else:
        _render(result)
    if not result.ok:
        raise typer.Exit(1)


def _render(result: PackVerification) -> None:
    if result.ok:
        head = f" at ledger event {result.head.seq}" if result.head else ""
        say(f"Evidence pack {clean(result.path)} verifies: {result.files} files match the "
            f"manifest, signed{head} by trusted key {clean(result.key_fingerprint)} "
            f"({clean(result.key_source)}).")
        return
    say(f"[red]Evidence pack {clean(result.path)} does not verify[/]: "
        f"{len(result.problems)} problem(s).")
    for problem in result.problems:
        say(f"  {clean(problem)}")


__all__ = ["app", "evidence", "verify"]
