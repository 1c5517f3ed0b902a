"""The ``rasad`` command: one Typer app, one place that maps errors to exit codes."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from rasad.cli import audit, data, models, performance_cmd, pii_cmd, runs
from rasad.cli._context import State
from rasad.cli._output import ConsoleLog, clean, err_console
from rasad.cli.demo_cmd import demo
from rasad.cli.drift_cmd import drift
from rasad.cli.fairness_cmd import fairness
from rasad.cli.project_cmds import db_app, gc, init
from rasad.cli.validation_cmd import quality_cmd, schema_app, validate_cmd
from rasad.errors import RasadError

app = typer.Typer(
    name="rasad",
    help="MLOps automation with governance built in.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    project: Annotated[Path | None, typer.Option(
        "--project", "-p", help="Project folder (default: found from the current folder up).")]
    = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    ctx.obj = State(project_dir=project, debug=debug)
    # Each command's engines are closed when it ends: in-process callers of `run`
    # (tests, notebooks) and PostgreSQL servers are not left one pool per command.
    ctx.call_on_close(ctx.obj.close)


app.command()(init)
app.command()(demo)
app.command()(gc)
app.command()(drift)
app.command()(fairness)
app.command("validate")(validate_cmd)
app.command("quality")(quality_cmd)
app.command()(runs.train)
app.command()(models.promote)
app.command()(models.rollback)
app.command()(models.predict)
app.add_typer(db_app, name="db")
app.add_typer(audit.app, name="audit")
app.add_typer(data.app, name="data")
app.add_typer(runs.app, name="runs")
app.add_typer(models.app, name="models")
app.add_typer(performance_cmd.app, name="performance")
app.add_typer(pii_cmd.app, name="pii")
app.add_typer(schema_app, name="schema")


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return the exit code (0 ok, 1 check failed, 2 bad input)."""
    args = list(sys.argv[1:] if argv is None else argv)
    # rasad's own notices (e.g. waiting for the database write lock) go to stderr.
    logger, handler = logging.getLogger("rasad"), ConsoleLog(logging.INFO)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        app(args=args, prog_name="rasad", standalone_mode=True)
    except SystemExit as exc:  # Typer exits on its own for help, usage errors and Exit
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    except RasadError as exc:
        if "--debug" in args:
            traceback.print_exc()
        # One line whatever the message holds: names and paths in it are cleaned.
        err_console().print(f"[red]error:[/] {clean(exc)}", highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console().print("Interrupted.")
        return 130
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    return 0


def main() -> None:
    sys.exit(run())
