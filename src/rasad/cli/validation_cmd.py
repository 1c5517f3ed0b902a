"""``rasad schema``, ``rasad validate`` and ``rasad quality``.

Each command parses, calls one :class:`rasad.Project` verb for a project dataset (so it
runs against a server when ``RASAD_URL`` is set) or a pure function for a file, which
needs no project, and renders. ``--json`` prints the result on
stdout and nothing else; ``-o FILE`` writes the same JSON to a file. Validation examples
are masked in everything printed or written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rasad._files import check_outputs, write_text_atomic
from rasad.cli._context import state
from rasad.cli._inputs import resolve_side
from rasad.cli._output import JsonFlag, OutputFile, emit_json, say, table
from rasad.errors import InputError

schema_app = typer.Typer(help="Dataset schemas: infer, show, save.", no_args_is_help=True)

Data = Annotated[str, typer.Argument(help="CSV/Parquet file or NAME[@VERSION].")]


@schema_app.command("infer")
def infer(ctx: typer.Context, data: Data,
          output: Annotated[Path | None, typer.Option("--output", "-o",
                                                      help="Write the YAML here.")] = None,
          tolerance: Annotated[float, typer.Option(help="Range tolerance, a share of the "
                                                        "observed span.")] = 0.1,
          as_json: JsonFlag = False) -> None:
    """Infer a schema; for a project dataset it is stored as the name's next schema version.

    Without ``-o`` or ``--json``, the schema of a file is printed as YAML.
    """
    from rasad.validation.service import infer_data_schema

    check_outputs([output], inputs=[data])
    side = resolve_side(ctx, data)
    version = None if isinstance(side, Path) else side
    label = str(side) if isinstance(side, Path) else side.ref
    if isinstance(side, Path):
        stored = infer_data_schema(side, label=label, tolerance=tolerance)
    else:
        stored = state(ctx).project().infer_schema(side.ref, tolerance=tolerance)
    if output is not None:
        write_text_atomic(output, stored.table_schema.to_yaml())
    if as_json:
        emit_json(stored)
        return
    if version is not None:
        say(f"Stored {stored.label} ({len(stored.table_schema.columns)} columns), inferred "
            f"from {label}.")
    if output is not None:
        say(f"Wrote {output}.")
    elif version is None:
        sys.stdout.write(stored.table_schema.to_yaml())


@schema_app.command("show")
def show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Dataset name.")],
         version: Annotated[int | None, typer.Option(help="Schema version.")] = None,
         as_json: JsonFlag = False) -> None:
    """Show the schema in force for a dataset (declared in rasad.yaml, else the latest)."""
    stored = state(ctx).project().schema(name, version)
    if as_json:
        emit_json(stored)
        return
    sys.stdout.write(f"# {stored.label} ({stored.source})\n" + stored.table_schema.to_yaml())


@schema_app.command("save")
def save(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Dataset name.")],
         path: Annotated[Path, typer.Argument(help="An edited schema YAML file.")],
         as_json: JsonFlag = False) -> None:
    """Store an edited schema file as the dataset's next schema version."""
    stored = state(ctx).project().save_schema(name, path)
    if as_json:
        emit_json(stored)
        return
    say(f"Stored {stored.label} from {path}.")


def validate_cmd(
    ctx: typer.Context,
    data: Data,
    schema_path: Annotated[Path | None, typer.Option("--schema", help="Schema YAML file "
                                                     "(default: the dataset's schema).")] = None,
    as_json: JsonFlag = False,
    output: OutputFile = None,
    junit_path: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML.")] = None,
) -> None:
    """Validate data against a schema; exit 1 on errors (for CI), 0 otherwise.

    A project dataset's validation is stored with its audit event.
    """
    from rasad.validation import to_junit
    from rasad.validation.service import summary_line, validate_file

    check_outputs([output, junit_path], inputs=[data, schema_path])
    side = resolve_side(ctx, data)
    label = str(side) if isinstance(side, Path) else side.ref
    if not isinstance(side, Path):
        report = state(ctx).project().validate(side.ref, schema=schema_path)
    elif schema_path is not None:
        report = validate_file(side, schema_path, label=label)
    else:
        raise InputError(f"No schema for {label}: pass --schema FILE (write one with "
                         f"`rasad schema infer {label} -o schema.yaml`).")
    # Examples quote data values, which may be personal: shown and written masked only.
    masked = report.masked()
    if output is not None:
        write_text_atomic(output, masked.to_json(indent=2) + "\n")
    if junit_path is not None:
        write_text_atomic(junit_path, to_junit(report, name=f"rasad validate {label}"))
    if as_json:
        emit_json(masked)
    else:
        failures = masked.failures
        if failures:
            table(None, ["severity", "check", "column", "failing rows", "share",
                         "examples (row)"],
                  [[str(r.severity), r.check.value, r.column or "(table)", f"{r.failing:,}",
                    f"{r.share:.2%}", ", ".join(str(e.row) for e in r.examples)]
                   for r in failures])
        say(f"{label} against {report.schema_label}: {summary_line(report)}")
    if not report.ok:
        raise typer.Exit(1)


def quality_cmd(ctx: typer.Context, data: Data,
                target: Annotated[str | None, typer.Option(help="Target column.")] = None,
                as_json: JsonFlag = False, output: OutputFile = None) -> None:
    """A data quality report: missing values, duplicates, constants, outliers, imbalance,
    leakage."""
    from rasad.validation import quality

    check_outputs([output], inputs=[data])
    side = resolve_side(ctx, data)
    label = str(side) if isinstance(side, Path) else side.ref
    if isinstance(side, Path):
        report = quality(side, target=target).labelled(label)
    else:
        report = state(ctx).project().quality(side.ref, target=target)
    if output is not None:
        write_text_atomic(output, report.to_json(indent=2) + "\n")
    if as_json:
        emit_json(report)
        return
    rows = report.to_rows()
    table(f"Data quality of {label}", list(rows[0]), rows[1:])
    for issue in report.issues():
        say(f"- {issue}")
