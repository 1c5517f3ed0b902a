"""``rasad card NAME@VERSION``: a model version's card, generated from the records.

A thin door over :meth:`rasad.Project.card` (the service
:func:`rasad.compliance.card.model_card`), rendered as Markdown, a self-contained HTML page
or JSON (rasad's card, whose sections follow the Model Card Toolkit's field names; the
toolkit-only JSON is :meth:`~rasad.governance.card_result.ModelCard.to_mct`). Nothing is
written when the version does not exist (exit 2).
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


def card(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(
        metavar="NAME@VERSION", help="The model version (NAME alone: the latest).")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the card to this file instead of stdout.")] = None,
    form: Annotated[DocumentFormat | None, typer.Option(
        "--format", help="md, html or json; default from the -o suffix (.html, .json), "
                         "else md.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A model version's card: details, intended use, data, metrics, fairness, gates, drift.

    Generated from the registry, the run, the datasets, the release records and the
    monitors, never typed by hand; what only people can declare comes from
    governance.models.NAME in rasad.yaml or is listed as missing (docs/cards.md).
    """
    from rasad.config import CONFIG_FILE, STATE_DIR
    from rasad.names import parse_ref
    from rasad.project import Project

    name, version = parse_ref(model)
    chosen = document_format(form, as_json, output)
    project = state(ctx).project()
    if isinstance(project, Project):  # a local project's own files must not be overwritten
        check_outputs([output], inputs=[project.root / CONFIG_FILE, project.root / STATE_DIR])
    found = project.card(name, version)
    if chosen is DocumentFormat.JSON:
        text = found.to_json(indent=2) + "\n"
    elif chosen is DocumentFormat.HTML:
        from rasad.reports.card import render_card
        text = render_card(found)
    else:
        text = found.to_markdown()
    if output is not None:
        write_text_atomic(output, text)
    if as_json:
        emit_json(found)
    elif output is not None:
        required = [g.key for g in found.missing if g.required]
        say(f"Model card of {clean(found.model)} written to {clean(output)} ({chosen}); "
            + ("complete." if found.complete else
               f"incomplete, missing {clean(', '.join(required))}."))
    else:
        # Line by line: the newlines stay, a control character in a value does not.
        typer.echo("\n".join(escape_controls(line) for line in text.split("\n")), nl=False)


__all__ = ["card"]
