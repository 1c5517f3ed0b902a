"""``rasad datasheet NAME@VERSION``: a dataset version's datasheet, generated from the records.

A thin door over :meth:`rasad.Project.datasheet` (the service
:func:`rasad.governance.datasheet.datasheet`), rendered as Markdown, a self-contained HTML
page or JSON. Nothing is written when the version does not exist (exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rasad._files import check_outputs, write_text_atomic
from rasad.cli._context import state
from rasad.cli._output import (
    DocumentFormat,
    JsonFlag,
    clean,
    document_format,
    emit_json,
    escape_controls,
    say,
)


def datasheet(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(
        metavar="NAME@VERSION", help="The dataset version (NAME alone: the latest).")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the datasheet to this file instead of stdout.")] = None,
    form: Annotated[DocumentFormat | None, typer.Option(
        "--format", help="md, html or json; default from the -o suffix (.html, .json), "
                         "else md.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A dataset version's datasheet: profile, schema, validations, PII, lineage, models.

    Generated from what rasad holds, never typed by hand; the people-only questions of
    "Datasheets for Datasets" come from governance.datasets.NAME in rasad.yaml or are
    listed as open (docs/governance.md, "Datasheets").
    """
    from rasad.config import CONFIG_FILE, STATE_DIR
    from rasad.names import parse_ref
    from rasad.project import Project

    name, version = parse_ref(dataset)
    chosen = document_format(form, as_json, output)
    project = state(ctx).project()
    if isinstance(project, Project):  # a local project's own files must not be overwritten
        check_outputs([output], inputs=[project.root / CONFIG_FILE, project.root / STATE_DIR])
    sheet = project.datasheet(name, version)
    if chosen is DocumentFormat.JSON:
        text = sheet.to_json(indent=2) + "\n"
    elif chosen is DocumentFormat.HTML:
        from rasad.reports.datasheet import render_datasheet
        text = render_datasheet(sheet)
    else:
        text = sheet.to_markdown()
    if output is not None:
        write_text_atomic(output, text)
    if as_json:
        emit_json(sheet)
    elif output is not None:
        say(f"Datasheet of {clean(sheet.dataset)} written to {clean(output)} ({chosen}); "
            f"open questions: {', '.join(sheet.open_questions) or 'none'}.")
    else:
        # Line by line: the newlines stay, a control character in a value does not.
        typer.echo("\n".join(escape_controls(line) for line in text.split("\n")), nl=False)


__all__ = ["datasheet"]
