"""The ``rasad`` command: one Typer app, one place that maps errors to exit codes.

Fast start. ``rasad --help`` must not pay for pandas, scikit-learn or the database
layer, so no command module is imported up front. :data:`COMMANDS` is a static table
(name, module, attribute, one-line help); :class:`LazyGroup`, the root group's class,
lists it for ``--help`` through light placeholders and imports a command's module only
when that command is resolved to run (``rasad data list``, or ``rasad data --help``).
A test keeps each one-line help equal to the first paragraph of the command's own help.

Errors. :func:`run` turns every failure into an exit code (0 ok, 1 a check failed,
2 usage or input error; docs/errors.md) and one line on stderr; when ``--json`` is among
the arguments it also prints the error as one JSON object on stdout (docs/cli.md).
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from rasad.cli._context import State
from rasad.cli._output import ConsoleLog, clean, emit_error, err_console, json_emitted
from rasad.errors import RasadError

try:  # Typer 0.2x ships its own copy of click; earlier versions use click itself.
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - depends on the installed Typer
    from click import exceptions as click_errors  # type: ignore[no-redef]


@dataclass(frozen=True)
class Entry:
    """One command of ``rasad``: where it lives and what ``rasad --help`` says of it.

    ``attribute`` is a command function or a :class:`typer.Typer` group of commands.
    """

    name: str
    module: str
    attribute: str
    help: str

    def load(self) -> Any:
        """Import the module and return the click command built from the attribute."""
        target = getattr(importlib.import_module(self.module), self.attribute)
        # A host app without completion options, as `app.add_typer` / `app.command` would
        # have built the command on the root app.
        host = typer.Typer(add_completion=False)
        if isinstance(target, typer.Typer):
            host.add_typer(target, name=self.name)
            group = typer.main.get_command(host)
            assert isinstance(group, TyperGroup)
            return group.commands[self.name]
        host.command(self.name)(target)
        return typer.main.get_command(host)


COMMANDS: tuple[Entry, ...] = (
    Entry("init", "rasad.cli.project_cmds", "init",
          "Create a project: a commented rasad.yaml, .rasad/ and the metadata tables."),
    Entry("demo", "rasad.cli.demo_cmd", "demo",
          "Run the end-to-end demo: data, training, registry, promotion, scoring, audit."),
    Entry("data", "rasad.cli.data", "app", "Versioned datasets."),
    Entry("schema", "rasad.cli.validation_cmd", "schema_app",
          "Dataset schemas: infer, show, save."),
    Entry("validate", "rasad.cli.validation_cmd", "validate_cmd",
          "Validate data against a schema; exit 1 on errors (for CI), 0 otherwise."),
    Entry("quality", "rasad.cli.validation_cmd", "quality_cmd",
          "A data quality report: missing values, duplicates, constants, outliers, imbalance, "
          "leakage."),
    Entry("pii", "rasad.cli.pii_cmd", "app", "Personal data detection."),
    Entry("train", "rasad.cli.runs", "train",
          "Train from rasad.yaml's training section; options override it."),
    Entry("runs", "rasad.cli.runs", "app", "Training runs."),
    Entry("models", "rasad.cli.models", "app", "The model registry."),
    Entry("promote", "rasad.cli.models", "promote",
          "Run the environment's gates, then deploy the version or open a request for "
          "approval."),
    Entry("requests", "rasad.cli.requests_cmd", "app",
          "Promotion requests: list, show, review a break-glass promotion."),
    Entry("approve", "rasad.cli.requests_cmd", "approve",
          "Approve a promotion request; the last approval it needs deploys the version."),
    Entry("reject", "rasad.cli.requests_cmd", "reject",
          "Reject a promotion request, with a comment saying why."),
    Entry("rollback", "rasad.cli.models", "rollback",
          "Return an environment to the version its current deployment replaced."),
    Entry("retire", "rasad.cli.models", "retire",
          "End a model's canary or shadow in an environment; the primary keeps serving."),
    Entry("predict", "rasad.cli.models", "predict",
          "Score a file with a model version, checking the input against its signature first."),
    Entry("drift", "rasad.cli.drift_cmd", "drift",
          "Compare CURRENT with REFERENCE: per-column tests, a dataset verdict, optional "
          "reports."),
    Entry("performance", "rasad.cli.performance_cmd", "app",
          "Model performance over time: realized (labels) or estimated."),
    Entry("monitor", "rasad.cli.monitor_cmd", "app",
          "Saved monitor results: list them, show one."),
    Entry("fairness", "rasad.cli.fairness_cmd", "fairness",
          "Assess fairness by group; exit 1 when any verdict fails, 0 otherwise."),
    Entry("test", "rasad.cli.test_cmd", "model_test",
          "Run the model tests of rasad.yaml (promotion.tests) on a version; exit 1 when any "
          "fails."),
    Entry("datasheet", "rasad.cli.datasheet_cmd", "datasheet",
          "A dataset version's datasheet: profile, schema, validations, PII, lineage, models."),
    Entry("card", "rasad.cli.card_cmd", "card",
          "A model version's card: details, intended use, data, metrics, fairness, gates, "
          "drift."),
    Entry("evidence", "rasad.cli.evidence_cmd", "app",
          "Export a signed evidence pack: every control of a framework with its status and "
          "files."),
    Entry("audit", "rasad.cli.audit", "app", "The tamper-evident audit ledger."),
    Entry("lineage", "rasad.cli.lineage_cmd", "app",
          "OpenLineage events for dataset versions, runs, registrations and deployments."),
    Entry("users", "rasad.cli.users_cmd", "app",
          "Principals (people and service accounts) and their roles."),
    Entry("tokens", "rasad.cli.tokens_cmd", "app", "API tokens for the HTTP API and remote mode."),
    Entry("server", "rasad.cli.server_cmd", "server",
          "Serve the management HTTP API for the project (token authentication)."),
    Entry("serve", "rasad.cli.serve_cmd", "serve",
          "Serve the models deployed to an environment over HTTP: Open Inference Protocol V2 "
          "and MLflow scoring."),
    Entry("predictions", "rasad.cli.predictions_cmd", "app",
          "The prediction log: compare the versions serving a model, purge old segments."),
    Entry("package", "rasad.cli.package_cmd", "package",
          "Write a Dockerfile and Kubernetes manifests that run `rasad serve` for an "
          "environment."),
    Entry("subject", "rasad.cli.subject_cmd", "app",
          "Data subjects: find a person in the data, models and prediction log; erase them."),
    Entry("inventory", "rasad.cli.inventory_cmd", "inventory",
          "Show the model inventory: owner, risk tier, serving versions, approvals, open "
          "items."),
    Entry("agent", "rasad.cli.agent_cmd", "app",
          "Run the automation agent: ingest new files, run due monitors, alert, retrain."),
    Entry("db", "rasad.cli.project_cmds", "db_app",
          "The metadata database: migrate and inspect."),
    Entry("gc", "rasad.cli.project_cmds", "gc",
          "List (--dry-run) or remove artifact blobs that nothing refers to, and temporary "
          "files left by killed writes."),
)
"""Every command of ``rasad``, in the order ``rasad --help`` lists them."""


class _Placeholder(TyperCommand):
    """Stands for a command in help listings; never parses or runs anything itself."""

    def __init__(self, entry: Entry) -> None:
        super().__init__(entry.name, help=entry.help, short_help=entry.help)
        self.entry = entry


class LazyGroup(TyperGroup):
    """The root group: commands from :data:`COMMANDS`, each imported when it is resolved.

    ``--help`` lists placeholders built from the table (no import); ``resolve_command``,
    which picks the command that will parse and run, swaps in the real one.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for entry in COMMANDS:
            self.commands.setdefault(entry.name, _Placeholder(entry))

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, _Placeholder):
            entry = command.entry
            command = self.commands[entry.name] = entry.load()
        return name, command, rest


app = typer.Typer(
    name="rasad",
    cls=LazyGroup,
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


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return the exit code (0 ok, 1 check failed, 2 bad input).

    A failure prints one line on stderr (``--debug`` adds the traceback); with ``--json``
    among the arguments it also prints ``{"error": {"type", "message", "exit_code"}}`` on
    stdout, unless the command already printed its JSON result there.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    # rasad's own notices (e.g. waiting for the database write lock) go to stderr.
    logger, handler = logging.getLogger("rasad"), ConsoleLog(logging.INFO)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    emitted = json_emitted.set(False)
    try:
        code = app(args=args, prog_name="rasad", standalone_mode=False)
    except RasadError as exc:
        if "--debug" in args:
            traceback.print_exc()
        return _fail(type(exc).__name__, str(exc), exc.exit_code, as_json)
    except click_errors.ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `rasad` or `rasad data` alone
            exc.show()
            return exc.exit_code
        kind = "UsageError" if isinstance(exc, click_errors.UsageError) else type(exc).__name__
        message = exc.format_message()
        context = getattr(exc, "ctx", None)
        if context is not None:
            message += ("" if message.endswith((".", "?")) else ".") + \
                f" See `{context.command_path} --help`."
        return _fail(kind, message, exc.exit_code, as_json)
    except typer.Abort:
        return _fail("Aborted", "Aborted.", 1, as_json)
    except SystemExit as exc:  # Typer exits on its own when stdout is a closed pipe
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:
        return _fail("Interrupted", "Interrupted.", 130, as_json)
    finally:
        json_emitted.reset(emitted)
        logger.removeHandler(handler)
        logger.propagate = propagate
    # Typer returns the code of `typer.Exit(code)`, else the command's return value.
    return code if isinstance(code, int) else 0


def _fail(kind: str, message: str, exit_code: int, as_json: bool) -> int:
    # One line whatever the message holds: names and paths in it are cleaned.
    err_console().print(f"[red]error:[/] {clean(message)}", highlight=False)
    if as_json and not json_emitted.get():
        emit_error(kind, message, exit_code)
    return exit_code


def main() -> None:
    sys.exit(run())
