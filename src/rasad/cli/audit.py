"""``rasad audit``: log, verify, checkpoint and keygen."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli._context import state
from rasad.cli._output import JsonFlag, clean, emit_json, say, table

if TYPE_CHECKING:
    from rasad.ledger import Verification

app = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)


@app.command("log")
def log(
    ctx: typer.Context,
    subject: Annotated[str | None, typer.Option(
        help="Only this subject: 'model:credit' (and its versions), 'model:credit@2', or "
             "'model:*' for a prefix.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. model.promotion.")]
    = None,
    limit: Annotated[int | None, typer.Option(min=1)] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show audit events in order."""
    from rasad.ledger import canonical_json

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
def verify(
    ctx: typer.Context,
    checkpoints: Annotated[str | None, typer.Option(
        "--checkpoints", help="Checkpoint store (folder or fsspec URL); default: "
                              "audit.checkpoints in rasad.yaml.")] = None,
    public_key: Annotated[list[str] | None, typer.Option(
        "--public-key", help="A trusted checkpoint public key (base64 or .pub file); "
                             "repeat for several. Default: audit.public_keys, else the first "
                             "key the ledger recorded.")] = None,
    no_replay: Annotated[bool, typer.Option(
        "--no-replay", help="Skip comparing the state tables with the ledger.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check the chain, every signed checkpoint and the state tables; exit 1 naming each
    problem."""
    result = state(ctx).project().verify_audit(checkpoints=checkpoints, public_keys=public_key,
                                               replay=not no_replay)
    if as_json:
        emit_json(result.to_dict())
    else:
        _render(result)
    if not result.ok:
        raise typer.Exit(1)


def _render(result: Verification) -> None:
    kind = result.problems[0].kind if result.problems else "chain"
    if result.ok:
        say(f"Audit chain intact: {result.events} events.")
    elif result.first_bad_seq is not None:
        say(f"[red]Audit chain broken at event {result.first_bad_seq}[/] "
            f"({kind}): {clean(result.reason)}")
    else:
        say(f"[red]Audit check failed[/] ({kind}): {clean(result.reason)}")
    if len(result.problems) > 1:
        say(f"{len(result.problems)} problems:")
        for problem in result.problems:
            say(f"  \\[{problem.kind}] {clean(problem.message)}")
    if result.key_source is not None or result.checkpoints:
        keys = ", ".join(k[:23] + "…" for k in result.trusted_keys) or "none"
        latest = f", the latest at event {result.latest_checkpoint}" \
            if result.latest_checkpoint is not None else ""
        say(f"Checkpoints: {result.checkpoints} reproduced{latest}; trusted key {keys} "
            f"({clean(result.key_source)}).")
    for note in result.notes:
        say(f"Note: {clean(note)}.")
    if result.state is not None and result.ok:
        counts = ", ".join(f"{n} {table_name}" for table_name, n in result.state.items())
        say(f"State tables match the ledger ({counts}).")


@app.command("checkpoint")
def checkpoint(
    ctx: typer.Context,
    to: Annotated[str | None, typer.Option(
        "--to", help="Checkpoint store: a folder or fsspec URL (default: audit.checkpoints "
                     "in rasad.yaml).")] = None,
    key: Annotated[Path | None, typer.Option(
        "--key", help="Signing key file (default: $RASAD_CHECKPOINT_KEY_FILE, else the key "
                      "itself in $RASAD_CHECKPOINT_KEY).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Sign the ledger's head (sequence number, head hash, time) into the checkpoint store."""
    result = state(ctx).project().checkpoint(to=to, key=key)
    if as_json:
        emit_json(result.to_dict())
        return
    cp = result.checkpoint
    if result.key_recorded_seq is not None:
        say(f"Recorded checkpoint key {cp.key_fingerprint} in the ledger (event "
            f"{result.key_recorded_seq}).")
    if result.created:
        say(f"Signed checkpoint of event {cp.seq} (head {cp.head_hash[:16]}…) with key "
            f"{cp.key_fingerprint[:23]}…: {clean(cp.location)}")
    else:
        say(f"Event {cp.seq} is already checkpointed: {clean(cp.location)}")


@app.command("keygen")
def keygen(
    path: Annotated[Path, typer.Argument(help="Where to write the private key (mode 0600); "
                                              "the public key goes to PATH.pub.")],
    as_json: JsonFlag = False,
) -> None:
    """Create an Ed25519 checkpoint signing key; never overwrites."""
    from rasad.ledger.keys import fingerprint, generate_key, public_key_text

    public = generate_key(path)
    text = public_key_text(public)
    if as_json:
        # The private key stays in its file: only where it is, never its bytes.
        emit_json({"private_key_file": str(path), "public_key_file": f"{path}.pub",
                   "public_key": text, "fingerprint": fingerprint(public)})
        return
    say(f"Wrote the signing key to {clean(path)} (keep it off the database host) and the "
        f"public key to {clean(path)}.pub.")
    say(f"Public key:  {text}")
    say(f"Fingerprint: {fingerprint(public)}")
    say(clean("Trust it in rasad.yaml:  audit: {public_keys: [" + text + "]}"))
