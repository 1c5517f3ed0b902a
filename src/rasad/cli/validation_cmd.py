"""``rasad schema``, ``rasad validate`` and ``rasad quality``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from rasad._files import check_outputs, write_text_atomic
from rasad.cli._context import state
from rasad.cli._inputs import resolve_data
from rasad.cli._output import emit_json, say, table
from rasad.errors import InputError

schema_app = typer.Typer(help="Dataset schemas: infer, show, save.", no_args_is_help=True)

Data = Annotated[str, typer.Argument(help="CSV/Parquet file or NAME[@VERSION].")]


@schema_app.command("infer")
def infer(ctx: typer.Context, data: Data,
          output: Annotated[Path | None, typer.Option("--output", "-o",
                                                      help="Write the YAML here.")] = None,
          tolerance: Annotated[float, typer.Option(help="Range tolerance, a share of the "
                                                        "observed span.")] = 0.1) -> None:
    """Infer a schema; for a project dataset it is stored as the name's next schema version."""
    from rasad.validation import infer_schema

    check_outputs([output], inputs=[data])
    source, label, version = resolve_data(ctx, data)
    ids: list[str] = []
    times: list[str] = []
    project = None
    if version is not None:
        project = state(ctx).project()
        ids = list(project.config.data.id_columns)
        times = list(project.config.data.time_columns)
    columns = set(version.kinds) if version is not None else None
    schema = infer_schema(source, tolerance=tolerance, source=label,
                          id_columns=[c for c in ids if columns is None or c in columns],
                          time_columns=[c for c in times if columns is None or c in columns])
    if output is not None:
        write_text_atomic(output, schema.to_yaml())
    if project is not None and version is not None:
        from rasad.validation.service import save_schema

        stored = save_schema(project.context, version.name, schema, source=f"inferred from {label}")
        say(f"Stored {stored.label} ({len(schema.columns)} columns), inferred from {label}.")
    if output is not None:
        say(f"Wrote {output}.")
    elif version is None:
        sys.stdout.write(schema.to_yaml())


@schema_app.command("show")
def show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Dataset name.")],
         version: Annotated[int | None, typer.Option(help="Schema version.")] = None,
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show the schema in force for a dataset (declared in rasad.yaml, else the latest)."""
    from rasad.validation.service import get_schema

    stored = get_schema(state(ctx).project().context, name, version)
    if as_json:
        emit_json(stored.to_dict())
        return
    sys.stdout.write(f"# {stored.label} ({stored.source})\n" + stored.schema.to_yaml())


@schema_app.command("save")
def save(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Dataset name.")],
         path: Annotated[Path, typer.Argument(help="An edited schema YAML file.")]) -> None:
    """Store an edited schema file as the dataset's next schema version."""
    from rasad.validation import TableSchema
    from rasad.validation.service import save_schema

    schema = TableSchema.read(path)
    project = state(ctx).project()
    latest = project.dataset(name)  # the dataset must exist
    unknown = [c.name for c in schema.columns if c.name not in latest.kinds]
    if unknown:
        raise InputError(f"{path} names column(s) {', '.join(map(repr, unknown))} that "
                         f"{latest.ref} does not have; its columns are "
                         f"{', '.join(latest.kinds)}.")
    stored = save_schema(project.context, name, schema, source=f"saved from {path}")
    say(f"Stored {stored.label} from {path}.")


def validate_cmd(
    ctx: typer.Context,
    data: Data,
    schema_path: Annotated[Path | None, typer.Option("--schema", help="Schema YAML file "
                                                     "(default: the dataset's schema).")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the report.")] = None,
    junit_path: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML.")] = None,
) -> None:
    """Validate data against a schema; exit 1 on errors (for CI), 0 otherwise."""
    from rasad.validation import to_junit, validate
    from rasad.validation.service import file_schema, get_schema, summary_line, validate_version

    check_outputs([json_path, junit_path], inputs=[data, schema_path])
    source, label, version = resolve_data(ctx, data)
    if schema_path is not None:
        stored = file_schema(schema_path, version.name if version else label)
    elif version is not None:
        stored = get_schema(state(ctx).project().context, version.name)
    else:
        raise InputError(f"No schema for {label}: pass --schema FILE (write one with "
                         f"`rasad schema infer {label} -o schema.yaml`).")
    present = set(version.kinds) if version is not None else set(_columns(source))
    if not any(c.name in present for c in stored.schema.columns):
        raise InputError(f"The schema {stored.label} names none of {label}'s columns; it is "
                         "the schema of other data. Pass the right --schema.")
    if version is not None:
        report, _ = validate_version(state(ctx).project().context, version, stored)
    else:
        report = validate(source, stored.schema)
    if json_path is not None:
        write_text_atomic(json_path, json.dumps({"data": label, "schema": stored.label,
                                           **report.to_dict(mask=True)}, indent=2, default=str))
    if junit_path is not None:
        write_text_atomic(junit_path, to_junit(report, name=f"rasad validate {label}"))
    failures = report.failures
    if failures:
        table(None, ["severity", "check", "column", "failing rows", "share", "examples (row)"],
              [[str(r.severity), r.check.value, r.column or "(table)", f"{r.failing:,}",
                f"{r.share:.2%}", ", ".join(str(e.row) for e in r.examples)]
               for r in failures])
    say(f"{label} against {stored.label}: {summary_line(report)}")
    if not report.ok:
        raise typer.Exit(1)


def quality_cmd(ctx: typer.Context, data: Data,
                target: Annotated[str | None, typer.Option(help="Target column.")] = None,
                as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A data quality report: missing values, duplicates, constants, outliers, imbalance,
    leakage."""
    from rasad.validation import quality

    source, label, version = resolve_data(ctx, data)
    ids: list[str] = []
    times: list[str] = []
    if version is not None:
        config = state(ctx).project().config
        ids = [c for c in config.data.id_columns if c in version.kinds]
        times = [c for c in config.data.time_columns if c in version.kinds]
    report = quality(source, target=target, id_columns=tuple(ids), time_columns=tuple(times))
    if as_json:
        emit_json({"data": label, **report.to_dict()})
        return
    rows = report.to_rows()
    table(f"Data quality of {label}", list(rows[0]), rows[1:])
    for issue in report.issues():
        say(f"- {issue}")


def _columns(source: Any) -> list[str]:
    from rasad.tables import read_table

    return list(read_table(source).column_names)
