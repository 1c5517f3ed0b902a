"""``rasad predictions compare`` and ``rasad predictions purge``: the prediction log.

``compare`` reports how the primary, canary and shadow of a model compared over a window
of the log (:meth:`rasad.Project.compare_serving`); ``purge`` deletes segments past the
retention (:meth:`rasad.Project.purge_predictions`). Both read the project's artifact
store, so they run on a local project only (docs/prediction-log.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rasad._files import check_outputs, write_text_atomic
from rasad.cli._context import state
from rasad.cli._output import JsonFlag, OutputFile, clean, emit_json, fmt, say, table
from rasad.errors import InputError

if TYPE_CHECKING:
    from rasad.serving.compare import ServingComparison, VersionReport
    from rasad.serving.predlog import PurgeReport

app = typer.Typer(help="The prediction log: compare the versions serving a model, purge old "
                       "segments.", no_args_is_help=True)


@app.command("compare")
def compare(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The model.")],
    env: Annotated[str, typer.Option("--env", help="The environment whose log to read.")],
    since: Annotated[str | None, typer.Option(
        help="From this time on (ISO 8601, or an age such as 7d or 12h).")] = None,
    until: Annotated[str | None, typer.Option(
        help="Before this time (ISO 8601, or an age such as 1d).")] = None,
    as_json: JsonFlag = False,
    output: OutputFile = None,
) -> None:
    """Compare the primary, canary and shadow of NAME in ENV from the prediction log:
    traffic, latency, predictions, metrics once labels arrived, the shadow's agreement."""
    if output is not None and output.is_dir():
        raise InputError(f"{output} is a folder; give a file name for the JSON report.")
    check_outputs([output])
    from rasad.serving.predlog import parse_moment

    now = datetime.now(UTC)
    result = state(ctx).project().compare_serving(
        name, env, since=None if since is None else parse_moment(since, "--since", now=now),
        until=None if until is None else parse_moment(until, "--until", now=now))
    if output is not None:
        write_text_atomic(output, json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
                          + "\n")
    if as_json:
        emit_json(result)
        return
    _render(result, output)


def _render(result: ServingComparison, output: Path | None) -> None:
    span = (f" from {result.since}" if result.since else "") + \
        (f" until {result.until}" if result.until else "")
    share = (f"; canary share {result.canary_share:g} configured"
             if result.canary_share is not None else "")
    say(f"Model [bold]{clean(result.model)}[/] in {clean(result.environment)}{clean(span)}: "
        f"{result.requests:,} answered request(s){share}.")
    table(None, ["role", "version", "requests", "share", "rows", "p50 ms", "p99 ms",
                 "predictions", "labelled", "metrics"],
          [[v.role, v.version, v.requests, v.answered_share, v.rows, v.latency_p50_ms,
            v.latency_p99_ms, _predictions(v), v.labelled, _metrics(v)]
           for v in result.versions])
    if result.agreement:
        table("Shadow agreement (same requests)",
              ["shadow", "against", "rows", "equal predictions", "mean |score diff|",
               "score rows", "mean |prediction diff|"],
              [[a.shadow_version, f"{a.against_role} {a.against_version}", a.rows,
                a.agreement, a.mean_abs_score_difference, a.score_rows,
                a.mean_abs_prediction_difference] for a in result.agreement])
    if result.unmatched_shadow_rows:
        say(f"{result.unmatched_shadow_rows:,} shadow row(s) have no answer in the log "
            "(dropped, or outside the window).")
    if not any(v.labelled for v in result.versions):
        say("No feedback labels yet: metrics appear once labels arrive "
            "(POST /v2/models/NAME/feedback).")
    if output is not None:
        say(f"Report written to {clean(output)}")


def _predictions(version: VersionReport) -> str:
    if version.labels is not None:
        return ", ".join(f"{label}: {count}" for label, count in version.labels.items())
    if version.values is not None:
        return f"mean {fmt(version.values.mean)}, p50 {fmt(version.values.p50)}"
    return "-"


def _metrics(version: VersionReport) -> str:
    shown = [f"{name} {fmt(value)}" for name, value in version.metrics.items()
             if value is not None]
    if version.metrics.get("roc_auc") is not None:
        shown.append(f"(auc over {version.scored_labelled})")
    return ", ".join(shown) or "-"


@app.command("purge")
def purge(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list.")] = False,
    older_than_days: Annotated[float | None, typer.Option(
        help="Delete segments older than this many days (default: "
             "serving.log.retention_days).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete prediction log segments older than the retention (serving.log.retention_days,
    or --older-than-days); --dry-run only lists them."""
    report = state(ctx).project().purge_predictions(older_than_days=older_than_days,
                                                    dry_run=dry_run)
    if as_json:
        emit_json(report.to_dict())
        return
    say_purge(report, dry_run=dry_run)


def say_purge(report: PurgeReport, *, dry_run: bool) -> None:
    """What a purge removed (or would), one line per model, then the total."""
    for where, count in report.by_model().items():
        say(f"{clean(where)}  {count} segment(s)")
    for path in report.failed:
        say(f"could not delete {clean(path)} (tried again at the next purge)")
    verb = "Would remove" if dry_run else "Removed"
    cutoff = report.to_dict()["cutoff"]
    say(f"{verb} {len(report.segments)} prediction log segment(s), {report.bytes:,} bytes, "
        f"older than "
        f"{report.older_than_days:g} day(s) (before {cutoff}).")
