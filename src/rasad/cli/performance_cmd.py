"""``rasad performance track`` (with labels) and ``rasad performance estimate`` (without)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from rasad._files import check_outputs, write_text_atomic
from rasad.cli._output import say, table
from rasad.errors import InputError

app = typer.Typer(help="Model performance over time: realized (labels) or estimated.",
                  no_args_is_help=True)

Reference = Annotated[Path, typer.Argument(help="Reference data (CSV or Parquet).")]
Current = Annotated[Path, typer.Argument(help="Current data (CSV or Parquet).")]
Target = Annotated[str, typer.Option(help="Label column.")]
Prediction = Annotated[str, typer.Option(help="Predicted class or value column.")]
Score = Annotated[str | None, typer.Option(help="Score (probability) column.")]
ChunkSize = Annotated[int | None, typer.Option(help="Chunk by rows.")]
ChunkNumber = Annotated[int | None, typer.Option(help="Chunk into N equal parts.")]
ChunkPeriod = Annotated[str | None, typer.Option(help="day | week | month")]
TimeColumn = Annotated[str | None, typer.Option(help="Time column (for periods).")]
JsonPath = Annotated[Path | None, typer.Option("--json", help="Write the JSON report.")]
HtmlPath = Annotated[Path | None, typer.Option("--html", help="Write the HTML report.")]


def _chunker(size: int | None, number: int | None, period: str | None,
             time_column: str | None) -> Any:
    from rasad.drift import Chunker

    return Chunker(size=size, number=number, period=period,  # type: ignore[arg-type]
                   time_column=time_column)


def _frames(reference: Path, current: Path) -> tuple[Any, Any]:
    from rasad.tables import read_table

    return read_table(reference).to_pandas(), read_table(current).to_pandas()


def _output(report: Any, title: str, json_path: Path | None, html_path: Path | None) -> None:
    from rasad.reports.performance import render_performance

    data = report.to_dict()
    if json_path is not None:
        write_text_atomic(json_path, json.dumps(data, indent=2))
    if html_path is not None:
        write_text_atomic(html_path, render_performance(data, title=title))
    metrics = data.get("metrics", [])
    estimated = data.get("kind") == "performance_estimation"
    rows = []
    for chunk in data.get("current", []):
        values = []
        for metric in metrics:
            entry = chunk.get("metrics", {}).get(metric, {})
            value = entry.get("estimate" if estimated else "value")
            mark = "!" if entry.get("alert") else ""
            values.append("-" if value is None else f"{value:.4f}{mark}")
        rows.append([chunk.get("key"), chunk.get("rows"), *values])
    table(None, ["chunk", "rows", *metrics], rows)
    summary = data.get("summary", {})
    say(f"{summary.get('alerts', 0)} alert(s) in {summary.get('chunks_alerting', 0)} of "
        f"{summary.get('chunks', 0)} chunks (! marks a value outside its threshold).")
    for label, path in (("JSON", json_path), ("HTML", html_path)):
        if path is not None:
            say(f"{label} report: {path}")


@app.command("track")
def track_cmd(reference: Reference, current: Current, target: Target, prediction: Prediction,
              score: Score = None,
              task: Annotated[str, typer.Option(help="classification | regression")]
              = "classification",
              chunk_size: ChunkSize = None, chunk_number: ChunkNumber = None,
              chunk_period: ChunkPeriod = None, time_column: TimeColumn = None,
              json_path: JsonPath = None, html_path: HtmlPath = None,
              fail_on_alert: Annotated[bool, typer.Option(help="Exit 1 on any alert.")]
              = False) -> None:
    """Realized metrics per chunk, with thresholds from the reference chunks."""
    from rasad.monitoring import track

    check_outputs([json_path, html_path], inputs=[reference, current])
    ref, cur = _frames(reference, current)
    report = track(ref, cur, task=task, target=target, prediction=prediction, score=score,
                   chunker=_chunker(chunk_size, chunk_number, chunk_period, time_column))
    _output(report, f"Performance: {current.name}", json_path, html_path)
    if fail_on_alert and report.to_dict()["alerts"]:
        raise typer.Exit(1)


@app.command("estimate")
def estimate_cmd(reference: Reference, current: Current, target: Target,
                 prediction: Prediction, score: Score = None,
                 task: Annotated[str, typer.Option(help="classification | regression")]
                 = "classification",
                 features: Annotated[str | None, typer.Option(
                     help="Comma-separated feature columns (regression estimation).")] = None,
                 chunk_size: ChunkSize = None, chunk_number: ChunkNumber = None,
                 chunk_period: ChunkPeriod = None, time_column: TimeColumn = None,
                 json_path: JsonPath = None, html_path: HtmlPath = None,
                 fail_on_alert: Annotated[bool, typer.Option(help="Exit 1 on any alert.")]
                 = False) -> None:
    """Estimated metrics per chunk without labels (CBPE; DLE for regression)."""
    from rasad.monitoring import estimate, estimate_regression

    check_outputs([json_path, html_path], inputs=[reference, current])
    ref, cur = _frames(reference, current)
    chunker = _chunker(chunk_size, chunk_number, chunk_period, time_column)
    if task == "classification":
        if score is None:
            raise InputError("Estimating classifier performance needs --score, the column of "
                             "predicted probabilities.")
        report: Any = estimate(ref, cur, target=target, score=score, prediction=prediction,
                               chunker=chunker)
    elif task == "regression":
        if not features:
            raise InputError("Estimating regression error needs --features, the model's "
                             "input columns.")
        report = estimate_regression(ref, cur, target=target, prediction=prediction,
                                     features=[f.strip() for f in features.split(",")],
                                     chunker=chunker)
    else:
        raise InputError(f"--task {task!r} is not classification or regression.")
    _output(report, f"Estimated performance: {current.name}", json_path, html_path)
    if fail_on_alert and report.to_dict()["alerts"]:
        raise typer.Exit(1)
