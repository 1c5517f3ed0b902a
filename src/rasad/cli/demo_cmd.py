"""``rasad demo``."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli._output import (
    JsonFlag,
    clean,
    emit_json,
    err_console,
    escape_controls,
    say,
    say_command,
)

if TYPE_CHECKING:
    from rasad.training.progress import Progress


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Folder for the demo project.")]
    = Path("rasad-demo"),
    force: Annotated[bool, typer.Option(help="Replace an earlier demo project there.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the generated portfolio.")] = 0,
    loop: Annotated[bool, typer.Option(
        "--loop", help="Run twelve simulated months through the automation agent instead: "
                       "drift alerts, a retraining, an approval (docs/automation.md).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run the end-to-end demo: data, training, registry, promotion, scoring, audit."""
    from rasad.cli._progress import RichSteps

    def narrate(message: str) -> None:
        # Under --json the story goes to stderr: stdout holds only the summary.
        err_console().print(escape_controls(message))

    if loop:
        # The loop's lines quote monitor summaries ("log:credit-risk@production[...]"):
        # printed as they are, not read as markup.
        _loop(directory, force=force, seed=seed, as_json=as_json,
              narrate=(lambda line: err_console().print(clean(line), highlight=False))
              if as_json else (lambda line: say(clean(line))),
              progress=RichSteps(enabled=sys.stderr.isatty()))
        return
    from rasad.demo import next_steps, run_demo

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


def _loop(directory: Path, *, force: bool, seed: int, as_json: bool,
          narrate: Callable[[str], None], progress: Progress) -> None:
    """``rasad demo --loop``: run the loop, then print its summary (or its JSON)."""
    from rasad.demo_loop import run_loop_demo

    summary = run_loop_demo(directory, force=force, seed=seed, say=narrate, progress=progress)
    if as_json:
        emit_json(summary.to_dict())
        return
    root = Path(summary.project_dir)
    say("")
    say(f"[bold]Done in {summary.seconds:.1f}s.[/] Everything is in {clean(root)}:")
    say(f"  timeline.html          months {summary.months[0].month - 1}-12: monitors, alerts, "
        "retrainings, approvals, deployments")
    say("  .rasad/alerts.jsonl    the alerts the agent sent (the file channel)")
    say("  incoming/              the files that arrived: applications, outcomes, holdout")
    say(f"Drift alerts in months: {', '.join(map(str, summary.drift_alert_months)) or 'none'}; "
        "performance alerts in months: "
        f"{', '.join(map(str, summary.performance_alert_months)) or 'none'}; "
        f"credit-risk v{summary.serving_version} serves production.")
    say("Try next:")
    import shutil

    # Not on PATH (a fresh `make demo` installs into .venv): show the full command.
    rasad = "rasad" if shutil.which("rasad") else str(Path(sys.executable).parent / "rasad")
    p = f"--project {root}"
    for command in (f"{rasad} {p} agent status", f"{rasad} {p} requests list",
                    f"{rasad} {p} monitor results --monitor realized-auc",
                    f"{rasad} {p} audit log --action automation.retrain"):
        say_command(command)
