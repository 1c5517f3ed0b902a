"""``rasad init``, ``rasad db``, ``rasad gc``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli._context import state
from rasad.cli._output import JsonFlag, clean, emit_json, say, table

if TYPE_CHECKING:
    from rasad.serving.predlog import PurgeReport

db_app = typer.Typer(help="The metadata database: migrate and inspect.", no_args_is_help=True)


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the project.")] = Path("."),
    name: Annotated[str | None, typer.Option(help="Project name (default: folder name).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a project: a commented rasad.yaml, .rasad/ and the metadata tables.

    Whoever creates it (RASAD_USER, else the operating-system user) is its first admin.
    """
    from rasad.config import CONFIG_FILE
    from rasad.project import Project

    with Project.init(directory, name=name) as project:
        created = {"name": project.config.name, "root": str(project.root),
                   "config": str(project.root / CONFIG_FILE),
                   "database": project.db.safe_url, "artifacts": project.artifacts.url,
                   "admin": project.actor}
    if as_json:
        emit_json(created)
        return
    say(f"Created project [bold]{clean(created['name'])}[/] in {clean(created['root'])}")
    say(f"  configuration: {clean(created['config'])}")
    say(f"  database:      {clean(created['database'])}")
    say(f"  artifacts:     {clean(created['artifacts'])}")
    say(f"  first admin:   {clean(created['admin'])} (`rasad users add NAME --role ROLE` "
        "for the others)")
    say("Next: `rasad data add data.csv --name NAME`")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Migrate the metadata database to this rasad's schema."""
    from rasad.store import migrate

    project = state(ctx).project(check=False)
    before, after = migrate.upgrade(project.db)
    if as_json:
        emit_json({"url": project.db.safe_url, "before": before, "after": after,
                   "changed": before != after})
    elif before == after:
        say(f"The database is already at revision {after}.")
    else:
        say(f"Migrated the database from {before or 'empty'} to {after}.")


@db_app.command("status")
def db_status(ctx: typer.Context,
              as_json: JsonFlag = False) -> None:
    """Show the database URL and its schema revision."""
    from rasad.store import migrate

    project = state(ctx).project(check=False)
    info = {"url": project.db.safe_url, "revision": migrate.current_revision(project.db),
            "expected": migrate.head_revision()}
    if as_json:
        emit_json(info)
    else:
        table(None, ["url", "revision", "expected"], [list(info.values())])


def gc(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list.")] = False,
    min_age: Annotated[float, typer.Option(help="Keep blobs and temporary files younger "
                                                "than this (seconds).")]
    = 3600.0,
    as_json: JsonFlag = False,
) -> None:
    """List (--dry-run) or remove artifact blobs that nothing refers to, and temporary files
    left by killed writes.

    In a local project it also deletes the prediction log's segments older than
    serving.log.retention_days (as `rasad predictions purge` does), and says so when there
    were any (``prediction_log`` under --json: null when there were none).
    """
    from rasad.remote import RemoteProject

    project = state(ctx).project()
    report = project.gc(dry_run=dry_run, min_age_s=min_age)
    # The prediction log past its retention goes too. It is read where the project's
    # artifact store is, so not over a server (there `rasad serve` purges it daily).
    purged: PurgeReport | None = (None if isinstance(project, RemoteProject)
                                  else project.purge_predictions(dry_run=dry_run))
    if purged is not None and not (purged.segments or purged.failed):
        purged = None  # nothing past the retention: nothing said, null under --json
    if as_json:
        emit_json({**report.to_dict(),
                   "prediction_log": purged.to_dict() if purged is not None else None})
        return
    for blob in report.unreferenced:
        say(f"{blob.digest}  {blob.size:>12,} bytes")
    for temp in report.temporary:
        say(f"temporary {clean(temp.path)}  {temp.size:>12,} bytes")
    verb = "Would remove" if dry_run else "Removed"
    say(f"{verb} {len(report.unreferenced)} unreferenced blob(s), {report.bytes:,} bytes"
        + (f"; kept {report.kept_young} younger than {min_age:g}s" if report.kept_young else "")
        + ".")
    if report.temporary:
        say(f"{verb} {len(report.temporary)} temporary file(s) left by interrupted writes, "
            f"{report.temporary_bytes:,} bytes.")
    if purged is not None:
        from rasad.cli.predictions_cmd import say_purge

        say_purge(purged, dry_run=dry_run)
