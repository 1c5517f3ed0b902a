"""``rasad users add | list | grant | revoke | disable``: principals and their roles.

On a local project the acting principal is the local user (``RASAD_USER``, else the
operating-system user) with the roles granted to that name (docs/identity.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli._context import state
from rasad.cli._output import JsonFlag, clean, emit_json, say, table

if TYPE_CHECKING:
    from rasad.identity import PrincipalInfo

app = typer.Typer(help="Principals (people and service accounts) and their roles.",
                  no_args_is_help=True)

RoleOption = Annotated[list[str] | None, typer.Option(
    "--role", "-r", help="A role: viewer, data_scientist, approver, deployer, auditor, "
                         "predictor, admin, or the preset model_risk_officer (approver + "
                         "auditor). Repeat for several.")]


def _done(info: PrincipalInfo, what: str, as_json: bool) -> None:
    if as_json:
        emit_json(info)
        return
    roles = ", ".join(info.roles) or "no roles"
    say(f"{what} {info.kind} {clean(info.name)}: {roles}.")


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The principal's name (a user name or e-mail).")],
    service: Annotated[bool, typer.Option(
        "--service", help="A service account (a pipeline, CI, the server), not a person.")]
    = False,
    role: RoleOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a person (or, with --service, a service account) with the given roles."""
    from rasad import identity

    roles = identity.parse_roles(role or [])
    kind = identity.PrincipalKind.SERVICE if service else identity.PrincipalKind.PERSON
    info = state(ctx).project().add_principal(name, kind=kind, roles=roles)
    _done(info, "Added", as_json)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List principals, their roles, and whether they are disabled."""
    principals = state(ctx).project().principals()
    if as_json:
        emit_json([p.to_dict() for p in principals])
        return
    table(None, ["name", "kind", "roles", "created by", "created (UTC)", "disabled (UTC)"],
          [[p.name, p.kind, list(p.roles), p.created_by, _when(p.created_at),
            _when(p.disabled_at)] for p in principals])


def _when(stamp: str | None) -> str | None:
    return None if stamp is None else stamp[:19].replace("T", " ")


@app.command("grant")
def grant(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The principal.")],
    role: Annotated[str, typer.Argument(help="The role (or preset) to grant.")],
    as_json: JsonFlag = False,
) -> None:
    """Grant a role (or the roles of a preset) to a principal."""
    from rasad import identity

    roles = identity.parse_roles([role])
    info = state(ctx).project().grant(name, *roles)
    _done(info, "Roles of", as_json)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The principal.")],
    role: Annotated[str, typer.Argument(help="The role (or preset) to take away.")],
    as_json: JsonFlag = False,
) -> None:
    """Take a role from a principal; its tokens lose it too."""
    from rasad import identity

    roles = identity.parse_roles([role])
    info = state(ctx).project().revoke_role(name, *roles)
    _done(info, "Roles of", as_json)


@app.command("disable")
def disable(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The principal.")],
    as_json: JsonFlag = False,
) -> None:
    """Disable a principal: it can no longer act and its tokens stop working."""
    info = state(ctx).project().disable_principal(name)
    if as_json:
        emit_json(info)
        return
    say(f"Disabled {info.kind} {clean(info.name)}; its tokens no longer work.")
