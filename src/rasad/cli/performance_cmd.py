"""``rasad performance track`` (with labels) and ``rasad performance estimate`` (without).

Both sides are two files (no project needed: the pure engines run on them) or two
dataset versions of the project, ``NAME[@VERSION]`` (the Project verbs run, on the server
when ``RASAD_URL`` is set, and ``--save`` keeps the report). ``track --from-log MODEL``
takes the current side from the prediction log instead: MODEL's logged predictions
joined with their feedback labels (docs/prediction-log.md; a local project only).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rasad._files import check_outputs, write_text_atomic
from rasad.cli._context import URL_ENV, state
from rasad.cli._inputs import resolve_side
from rasad.cli._output import HtmlFile, JsonFlag, OutputFile, clean, emit_json, say, table
from rasad.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from rasad.datasets import DatasetVersion
    from rasad.drift import Chunker
    from rasad.monitoring import EstimationReport, PerformanceReport
    from rasad.monitoring.results import MonitorResult
    from rasad.serving.predlog import LogWindow

app = typer.Typer(help="Model performance over time: realized (labels) or estimated.",
                  no_args_is_help=True)

Reference = Annotated[str, typer.Argument(
    help="Reference data: a CSV/Parquet file, or a project dataset NAME[@VERSION].")]
Current = Annotated[str, typer.Argument(
    help="Current data: a CSV/Parquet file, or a project dataset NAME[@VERSION].")]
Target = Annotated[str, typer.Option(help="Label column.")]
Prediction = Annotated[str, typer.Option(help="Predicted class or value column.")]
Score = Annotated[str | None, typer.Option(help="Score (probability) column.")]
Task = Annotated[str, typer.Option(help="classification | regression")]
ChunkSize = Annotated[int | None, typer.Option(help="Chunk by rows.")]
ChunkNumber = Annotated[int | None, typer.Option(help="Chunk into N equal parts.")]
ChunkPeriod = Annotated[str | None, typer.Option(help="day | week | month")]
TimeColumn = Annotated[str | None, typer.Option(help="Time column (for periods).")]
FailOnAlert = Annotated[bool, typer.Option(help="Exit 1 on any alert.")]
Save = Annotated[bool, typer.Option(
    help="Save the report in the project, with its audit event (datasets only).")]
FromLog = Annotated[str | None, typer.Option(
    "--from-log", metavar="MODEL",
    help="Take the current data from MODEL's prediction log (with its feedback labels "
         "for performance), instead of CURRENT.")]
Since = Annotated[str | None, typer.Option(
    help="With --from-log: from this time on (ISO 8601, or an age such as 7d or 12h).")]
Until = Annotated[str | None, typer.Option(
    help="With --from-log: before this time (ISO 8601, or an age such as 1d).")]
LogEnv = Annotated[str | None, typer.Option(
    "--env", help="With --from-log: only this environment's log (default: every one).")]


def log_window(from_log: str | None, since: str | None, until: str | None,
               env: str | None) -> LogWindow | None:
    """The window of the prediction log that ``--from-log`` and its options name, if any."""
    if from_log is None:
        given = [name for name, value in (("--since", since), ("--until", until),
                                          ("--env", env)) if value is not None]
        if given:
            raise InputError(f"{', '.join(given)} select(s) a window of the prediction log; "
                             "add --from-log MODEL.")
        return None
    if os.environ.get(URL_ENV, "").strip():
        raise InputError(f"--from-log reads the prediction log of a local project; it is not "
                         f"available over the server ({URL_ENV} is set). Run it where the "
                         f"project is (unset {URL_ENV} and give the project folder).")
    from rasad.serving.predlog import LogWindow

    return LogWindow.parse(from_log, environment=env, since=since, until=until)


def check_current(current: str | None, window: LogWindow | None) -> None:
    """Refuse both CURRENT and --from-log, or neither."""
    if window is not None and current is not None:
        raise InputError(f"Give CURRENT ({current}) or --from-log {window.model}, not both: "
                         "--from-log takes the current data from the prediction log.")
    if window is None and current is None:
        raise InputError("Give the CURRENT data (a file or NAME[@VERSION]), or --from-log "
                         "MODEL to take it from MODEL's prediction log.")


def _chunker(size: int | None, number: int | None, period: str | None,
             time_column: str | None) -> Chunker:
    from rasad.drift import Chunker

    return Chunker(size=size, number=number, period=period,  # type: ignore[arg-type]
                   time_column=time_column)


def _sides(ctx: typer.Context, reference: str, current: str, save: bool
           ) -> tuple[Path, Path] | tuple[DatasetVersion, DatasetVersion]:
    """Both sides as files, or both as project dataset versions; a mix is refused."""
    ref, cur = resolve_side(ctx, reference), resolve_side(ctx, current)
    if isinstance(ref, Path) and isinstance(cur, Path):
        if save:
            raise InputError("--save keeps results of a project's datasets; give both sides "
                             "as NAME[@VERSION] (add files with `rasad data add`).")
        return ref, cur
    if isinstance(ref, Path) or isinstance(cur, Path):
        raise InputError("Give both sides as files, or both as project datasets "
                         "NAME[@VERSION] (add a file with `rasad data add PATH --name NAME`).")
    return ref, cur


def _frames(reference: Path, current: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from rasad.tables import read_table

    return read_table(reference).to_pandas(), read_table(current).to_pandas()


def _check_monitor(save: bool, monitor: str | None) -> None:
    # The service checks the name itself, before it reads any data.
    if monitor is not None and not save:
        raise InputError("--monitor names where --save keeps the report; add --save.")


def _output(report: PerformanceReport | EstimationReport, title: str, *, as_json: bool,
            output: Path | None, html: Path | None, saved: MonitorResult | None) -> None:
    if output is not None:
        write_text_atomic(output, report.to_json(indent=2))
    if html is not None:
        from rasad.reports.performance import render_performance

        write_text_atomic(html, render_performance(report, title=title))
    if as_json:
        emit_json(report)
        return
    _render(report)
    if saved is not None:
        say(f"Saved as result {saved.id} of monitor [bold]{clean(saved.monitor)}[/].")
    for label, path in (("JSON", output), ("HTML", html)):
        if path is not None:
            say(f"{label} report: {clean(path)}")


def _render(report: PerformanceReport | EstimationReport) -> None:
    from rasad.monitoring import EstimatedMetric

    rows = []
    for chunk in report.current:
        values = []
        for metric in report.metrics:
            entry = chunk.metrics.get(metric)
            value = None if entry is None else (
                entry.estimate if isinstance(entry, EstimatedMetric) else entry.value)
            mark = "!" if entry is not None and entry.alert else ""
            values.append("-" if value is None else f"{value:.4f}{mark}")
        rows.append([chunk.key, chunk.rows, *values])
    table(None, ["chunk", "rows", *report.metrics], rows)
    summary = report.summary
    say(f"{summary.alerts} alert(s) in {summary.chunks_alerting} of {summary.chunks} chunks "
        "(! marks a value outside its threshold).")


@app.command("track")
def track_cmd(ctx: typer.Context, reference: Reference, target: Target, prediction: Prediction,
              current: Annotated[str | None, typer.Argument(
                  metavar="CURRENT", help="Current data: a CSV/Parquet file, or a project dataset "
                       "NAME[@VERSION]; omitted with --from-log.")] = None,
              score: Score = None, task: Task = "classification",
              chunk_size: ChunkSize = None, chunk_number: ChunkNumber = None,
              chunk_period: ChunkPeriod = None, time_column: TimeColumn = None,
              as_json: JsonFlag = False, output: OutputFile = None, html: HtmlFile = None,
              save: Save = False,
              monitor: Annotated[str | None, typer.Option(
                  help="Monitor name for --save (default: performance).")] = None,
              fail_on_alert: FailOnAlert = False, from_log: FromLog = None,
              since: Since = None, until: Until = None, env: LogEnv = None) -> None:
    """Realized metrics per chunk, with thresholds from the reference chunks."""
    window = log_window(from_log, since, until, env)
    check_current(current, window)
    check_outputs([output, html], inputs=[reference] + ([current] if current else []))
    _check_monitor(save, monitor)
    chunker = _chunker(chunk_size, chunk_number, chunk_period, time_column)
    saved = None
    if window is not None:
        from rasad.monitoring import tracking

        ref = resolve_side(ctx, reference)
        if isinstance(ref, Path):
            raise InputError("With --from-log the reference is a project dataset NAME[@VERSION] "
                             f"(add the file with `rasad data add {reference} --name NAME`).")
        checked = state(ctx).project().track_performance(
            ref, window, target=target, prediction=prediction, task=task, score=score,
            chunker=chunker, save=save, monitor=monitor or tracking.TRACKING_MONITOR)
        report, label, saved = checked.report, checked.current, checked.saved
    elif current is not None:
        sides = _sides(ctx, reference, current, save)
        if isinstance(sides[0], Path) and isinstance(sides[1], Path):
            from rasad.monitoring import track

            ref_frame, cur_frame = _frames(sides[0], sides[1])
            report = track(ref_frame, cur_frame, task=task, target=target,
                           prediction=prediction, score=score, chunker=chunker)
            label = sides[1].name
        else:
            from rasad.monitoring import tracking

            # A Project verb, not the service: with RASAD_URL set it runs on the server.
            checked = state(ctx).project().track_performance(
                sides[0], sides[1], target=target, prediction=prediction, task=task,
                score=score, chunker=chunker, save=save,
                monitor=monitor or tracking.TRACKING_MONITOR)
            report, label, saved = checked.report, checked.current, checked.saved
    _output(report, f"Performance: {label}", as_json=as_json, output=output, html=html,
            saved=saved)
    if fail_on_alert and report.alerts:
        raise typer.Exit(1)


@app.command("estimate")
def estimate_cmd(ctx: typer.Context, reference: Reference, current: Current, target: Target,
                 prediction: Prediction, score: Score = None, task: Task = "classification",
                 features: Annotated[str | None, typer.Option(
                     help="Comma-separated feature columns: what DLE learns the error from "
                          "(regression); adaptive calibration for CBPE (classification).")]
                 = None,
                 chunk_size: ChunkSize = None, chunk_number: ChunkNumber = None,
                 chunk_period: ChunkPeriod = None, time_column: TimeColumn = None,
                 as_json: JsonFlag = False, output: OutputFile = None, html: HtmlFile = None,
                 save: Save = False,
                 monitor: Annotated[str | None, typer.Option(
                     help="Monitor name for --save (default: estimation).")] = None,
                 fail_on_alert: FailOnAlert = False) -> None:
    """Estimated metrics per chunk without labels (CBPE; DLE for regression)."""
    from rasad.monitoring import tracking

    check_outputs([output, html], inputs=[reference, current])
    _check_monitor(save, monitor)
    sides = _sides(ctx, reference, current, save)
    chunker = _chunker(chunk_size, chunk_number, chunk_period, time_column)
    names = [f.strip() for f in features.split(",") if f.strip()] if features else None
    saved = None
    if isinstance(sides[0], Path) and isinstance(sides[1], Path):
        ref, cur = _frames(sides[0], sides[1])
        report = tracking.estimate_frames(ref, cur, target=target, prediction=prediction,
                                          task=task, score=score, features=names,
                                          chunker=chunker)
        label = sides[1].name
    else:
        checked = state(ctx).project().estimate_performance(
            sides[0], sides[1], target=target, prediction=prediction, task=task, score=score,
            features=names, chunker=chunker, save=save,
            monitor=monitor or tracking.ESTIMATION_MONITOR)
        report, label, saved = checked.report, checked.current, checked.saved
    _output(report, f"Estimated performance: {label}", as_json=as_json, output=output,
            html=html, saved=saved)
    if fail_on_alert and report.alerts:
        raise typer.Exit(1)
