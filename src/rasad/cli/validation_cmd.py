"""``rasad schema``, ``rasad validate`` and ``rasad quality``.

Each command parses, calls one function of :mod:`rasad.validation.service` (or a pure
function for a file outside a project) and renders. ``--json`` prints the result on
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
from rasad.cli._inputs import resolve_data
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
    from rasad.validation.service import infer_data_schema, infer_dataset_schema

    check_outputs([output], inputs=[data])
    source, label, version = resolve_data(ctx, data)
    if version is not None:
        stored = infer_dataset_schema(state(ctx).project().context, version,
                                      tolerance=tolerance)
    else:
        stored = infer_data_schema(source, label=label, tolerance=tolerance)
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
    from rasad.validation.service import get_schema

    stored = get_schema(state(ctx).project().context, name, version)
    if as_json:
        emit_json(stored)
        return
    sys.stdout.write(f"# {stored.label} ({stored.source})\n" + stored.table_schema.to_yaml())


@schema_app.command("save")
def save(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Dataset name.")],
         path: Annotated[Path, typer.Argument(help="An edited schema YAML file.")],
         as_json: JsonFlag = False) -> None:
    """Store an edited schema file as the dataset's next schema version."""
    from rasad.validation.service import save_schema_file

    stored = save_schema_file(state(ctx).project().context, name, path)
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
    from rasad.validation.service import summary_line, validate_dataset, validate_file

    check_outputs([output, junit_path], inputs=[data, schema_path])
    source, label, version = resolve_data(ctx, data)
    if version is not None:
        report = validate_dataset(state(ctx).project().context, version,
                                  schema_path=schema_path)
    elif schema_path is not None:
        report = validate_file(source, schema_path, label=label)
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
    from rasad.validation.service import dataset_quality

    check_outputs([output], inputs=[data])
    source, label, version = resolve_data(ctx, data)
    if version is not None:
        report = dataset_quality(state(ctx).project().context, version, target=target)
    else:
        report = quality(source, target=target).labelled(label)
    if output is not None:
        write_text_atomic(output, report.to_json(indent=2) + "\n")
    if as_json:
        emit_json(report)
        return
    rows = report.to_rows()
    table(f"Data quality of {label}", list(rows[0]), rows[1:])
    for issue in report.issues():
        say(f"- {issue}")
