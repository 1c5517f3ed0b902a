"""``rasad tokens create | list | revoke``: API tokens, shown once and stored hashed."""

from __future__ import annotations

from typing import Annotated

import typer

from rasad.cli._context import state
from rasad.cli._output import JsonFlag, clean, emit_json, err_console, say, table

app = typer.Typer(help="API tokens for the HTTP API and remote mode.", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The principal the token authenticates as.")],
    role: Annotated[list[str] | None, typer.Option(
        "--role", "-r", help="Limit the token to this role (repeat for several); default: "
                             "every role the principal holds.")] = None,
    expires: Annotated[str, typer.Option(
        "--expires", help="Lifetime: 30m, 12h, 90d, 2w, or 'never'.")] = "90d",
    as_json: JsonFlag = False,
) -> None:
    """Create a token and print it once: it is stored hashed and cannot be shown again."""
    from rasad import identity

    roles = identity.parse_roles(role) if role else None
    lifetime = identity.parse_lifetime(expires)
    created = state(ctx).project().create_token(name, roles=roles, lifetime=lifetime)
    warning = ("[yellow]warning:[/] this token is shown once and cannot be shown again; "
               "store it now (for example in a secret manager).")
    err_console().print(warning)
    if as_json:
        emit_json(created)
        return
    info = created.info
    until = info.expires_at[:19].replace("T", " ") + " UTC" if info.expires_at else "never"
    say(f"Token {info.id} for {clean(info.principal)} (roles: {', '.join(info.roles)}; "
        f"expires: {until}):")
    # The token alone on its line, never wrapped or marked up, so it can be copied whole.
    print(created.token)


@app.command("list")
def list_(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this principal's tokens.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List tokens (never their secrets): owner, roles, expiry, revocation."""
    tokens = state(ctx).project().tokens(name)
    if as_json:
        emit_json([t.to_dict() for t in tokens])
        return
    table(None, ["id", "principal", "roles", "created by", "created (UTC)", "expires (UTC)",
                 "revoked (UTC)"],
          [[t.id, t.principal, list(t.roles), t.created_by, _when(t.created_at),
            _when(t.expires_at), _when(t.revoked_at)] for t in tokens])


def _when(stamp: str | None) -> str | None:
    return None if stamp is None else stamp[:19].replace("T", " ")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(
        metavar="ID", help="The token's id (`rasad tokens list`).")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a token: it stops working at once."""
    info = state(ctx).project().revoke_token(token_id)
    if as_json:
        emit_json(info)
        return
    say(f"Revoked token {clean(info.id)} of {clean(info.principal)}.")
