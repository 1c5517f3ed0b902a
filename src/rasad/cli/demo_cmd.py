"""``rasad demo``."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated

import typer

from rasad.cli._output import JsonFlag, emit_json, err_console, escape_controls, say, say_command


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Folder for the demo project.")]
    = Path("rasad-demo"),
    force: Annotated[bool, typer.Option(help="Replace an earlier demo project there.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the generated portfolio.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Run the end-to-end demo: data, training, registry, promotion, scoring, audit."""
    from rasad.cli._progress import RichSteps
    from rasad.demo import next_steps, run_demo

    def narrate(message: str) -> None:
        # Under --json the story goes to stderr: stdout holds only the summary.
        err_console().print(escape_controls(message))

    summary = run_demo(directory, force=force, seed=seed, say=narrate if as_json else say,
                       progress=RichSteps(enabled=sys.stderr.isatty()))
    if as_json:
        emit_json({**dataclasses.asdict(summary), "next_steps": next_steps(summary)})
        return
    say("")
    say(f"[bold]Done in {summary.seconds:.1f}s.[/] Everything is in {summary.project_dir}:")
    say("  rasad.yaml            the project configuration")
    say("  .rasad/rasad.db       metadata (SQLite): datasets, runs, models, audit ledger")
    say("  .rasad/artifacts/     content-addressed blobs (Parquet data, skops models)")
    say("  data/                 the generated CSV files")
    say(f"  predictions/          {summary.predictions.name if summary.predictions else '-'}")
    say(f"  reports/              {summary.drift_html.name if summary.drift_html else '-'}")
    say("Try next:")
    for command in next_steps(summary):
        say_command(command)
