"""``rasad fairness``: group metrics, disparities with intervals, and verdicts.

Two ways in. ``--model NAME@VERSION --data NAME@VERSION`` scores a project dataset with
a registered model and stores the report (the service
:func:`rasad.governance.fairness.service.assess_model`). A file (or dataset) that
already holds labels and predictions is assessed by the pure engine, with no project
needed and nothing stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from rasad._files import check_outputs, write_text_atomic
from rasad.cli._context import state
from rasad.cli._inputs import resolve_data
from rasad.cli._output import HtmlFile, JsonFlag, OutputFile, clean, emit_json, say, table
from rasad.errors import InputError, NotFoundError

if TYPE_CHECKING:  # the engine (Fairlearn) is imported only when the command runs
    from rasad import Project
    from rasad.governance.fairness.report import FairnessAssessment
    from rasad.governance.fairness.terms import Label

FAVORABLE_OPTION = "the --favorable option"


def _bins(specs: list[str]) -> dict[str, list[float]]:
    bins: dict[str, list[float]] = {}
    for spec in specs:
        column, sep, edges = spec.partition("=")
        try:
            values = [float(e) for e in edges.split(",") if e.strip()]
        except ValueError:
            values = []
        if not sep or not column or len(values) < 2:
            raise InputError(f"--bins {spec!r} must look like COLUMN=EDGE,EDGE,..., as in "
                             "--bins age=18,25,35,50,65,120.")
        bins[column] = values
    return bins


def _flag(favorable: str | None) -> str | None:
    if favorable is not None and not favorable.strip():
        raise InputError("--favorable needs a label value, such as --favorable 0.")
    return None if favorable is None else favorable.strip()


def _declared(ctx: typer.Context, target: str, flag: str | None
              ) -> tuple[Label | None, str | None]:
    """The favourable outcome of ``target`` and where it was declared (None, None: nowhere).

    ``--favorable`` wins over ``governance.fairness.favorable_outcomes`` in the project's
    rasad.yaml (when there is a project: the data may be a plain file).
    """
    from rasad.governance.fairness.service import FAVORABLE_FROM_CONFIG

    if flag is not None:
        return flag, FAVORABLE_OPTION
    try:
        outcomes = state(ctx).project(check=False).config.governance.fairness.favorable_outcomes
    except NotFoundError:
        return None, None
    if target in outcomes:
        return outcomes[target], FAVORABLE_FROM_CONFIG
    return None, None


def _assess_file(ctx: typer.Context, data: str, *, target: str, prediction: str,
                 score: str | None, favorable: str | None, columns: list[str],
                 bins: dict[str, list[float]], intersections: bool, n_boot: int,
                 seed: int) -> FairnessAssessment:
    """Labels and predictions already in a file (or dataset): the pure engine, no storage."""
    from rasad.governance.fairness import FairnessAssessment, assess

    source, label, _ = resolve_data(ctx, data)
    if isinstance(source, pd.DataFrame):
        frame = source
    else:
        from rasad.tables import read_table

        frame = read_table(source).to_pandas()
    outcome, declared_in = _declared(ctx, target, favorable)
    needed = [("--target", target), ("--prediction", prediction),
              *(("--sensitive", c) for c in columns), *([("--score", score)] if score else [])]
    missing = [f"{option} {column!r}" for option, column in needed
               if column not in frame.columns]
    if missing:
        raise InputError(f"{', '.join(missing)}: no such column in {label}; its columns are "
                         f"{', '.join(map(str, frame.columns))}.")
    report = assess(frame[target], frame[prediction], frame[columns],
                    frame[score] if score else None, favorable=outcome,
                    intersections=intersections, bins=bins, n_boot=n_boot, seed=seed)
    return FairnessAssessment(data=label, declared_in=declared_in, report=report)


def _assess_model(project: Project, model: str, dataset: str, *, target: str | None,
                  protected: list[str] | None, favorable: str | None,
                  bins: dict[str, list[float]], intersections: bool, n_boot: int, seed: int,
                  save: bool, monitor: str) -> FairnessAssessment:
    """The model's assessment through the project's verb: on the server with RASAD_URL."""
    from rasad.remote._checks import CheckVerbs

    opened: object = project
    if isinstance(opened, CheckVerbs):
        return opened.assess_fairness(
            model, dataset, target=target, protected=protected, favorable=favorable,
            favorable_source=FAVORABLE_OPTION, bins=dict(bins), intersections=intersections,
            n_boot=n_boot, seed=seed, save=save, monitor=monitor)
    # Project.assess_fairness does not take bins or the favourable outcome's source yet:
    # the service, on the local project's context, until it does.
    from rasad.governance.fairness import service

    return service.assess_model(
        project.context, model, dataset, target=target, protected=protected,
        favorable=favorable, favorable_source=FAVORABLE_OPTION, bins=bins,
        intersections=intersections, n_boot=n_boot, seed=seed, save=save, monitor=monitor)


def fairness(
    ctx: typer.Context,
    data: Annotated[str | None, typer.Argument(help="CSV/Parquet with labels and predictions, "
                                                    "or a dataset NAME or NAME@VERSION.")] = None,
    target: Annotated[str | None, typer.Option(
        help="Label column (two values). With --model: default the column the model "
             "predicts.")] = None,
    prediction: Annotated[str | None, typer.Option(help="Prediction column (the same two "
                                                        "values).")] = None,
    score: Annotated[str | None, typer.Option(help="Score column: probability of the "
                                                   "favourable outcome.")] = None,
    favorable: Annotated[str | None, typer.Option(
        "--favorable", metavar="VALUE",
        help="The label value that favours the person (0 when 1 means a default). "
             "Default: governance.fairness.favorable_outcomes in rasad.yaml, else 1.")] = None,
    sensitive: Annotated[str, typer.Option(
        help="Comma-separated sensitive columns. With --model: default "
             "data.protected_attributes in rasad.yaml.")] = "",
    bins: Annotated[list[str] | None, typer.Option(help="COLUMN=EDGE,EDGE,... for a numeric "
                                                        "attribute (repeatable).")] = None,
    intersections: Annotated[bool, typer.Option(help="Also assess intersections.")] = False,
    model: Annotated[str | None, typer.Option(help="NAME@VERSION: score --data with it.")]
    = None,
    dataset: Annotated[str | None, typer.Option("--data", help="NAME@VERSION to score with "
                                                               "--model.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option()] = 0,
    save: Annotated[bool, typer.Option(
        help="With --model: store the report as a monitor result (with its audit "
             "event).")] = True,
    monitor: Annotated[str, typer.Option(help="With --model: the monitor name to store "
                                              "the report under.")] = "fairness",
    as_json: JsonFlag = False,
    output: OutputFile = None,
    html: HtmlFile = None,
) -> None:
    """Assess fairness by group; exit 1 when any verdict fails, 0 otherwise."""
    check_outputs([output, html], inputs=[data, dataset])
    columns = [c.strip() for c in sensitive.split(",") if c.strip()]
    flag = _flag(favorable)
    if model is not None or dataset is not None:
        if model is None or dataset is None:
            raise InputError("--model and --data go together: the model scores the dataset.")
        project = state(ctx).project()
        assessment = _assess_model(
            project, model, dataset, target=target or None,
            protected=columns or None, favorable=flag, bins=_bins(bins or []),
            intersections=intersections, n_boot=n_boot, seed=seed, save=save,
            monitor=monitor)
        from rasad.cli._release import warn_break_glass

        warn_break_glass(project, model)
    else:
        if not target:
            raise InputError("Give the label column with --target.")
        if not columns:
            raise InputError("Give the sensitive columns with --sensitive COL[,COL...].")
        if data is None or prediction is None:
            raise InputError("Give DATA and --prediction (or --model NAME@VERSION with --data "
                             "NAME@VERSION).")
        assessment = _assess_file(ctx, data, target=target, prediction=prediction,
                                  score=score, favorable=flag, columns=columns,
                                  bins=_bins(bins or []), intersections=intersections,
                                  n_boot=n_boot, seed=seed)
    _write(assessment, output, html)
    if as_json:
        emit_json(assessment)
    else:
        _show(assessment, output, html)
    if assessment.failed:
        raise typer.Exit(1)


def _write(assessment: FairnessAssessment, output: Path | None, html: Path | None) -> None:
    from rasad.reports.fairness import render_assessment

    if output is not None:
        write_text_atomic(output, assessment.to_json(indent=2))
    if html is not None:
        write_text_atomic(html, render_assessment(assessment))


def _show(assessment: FairnessAssessment, output: Path | None, html: Path | None) -> None:
    from rasad.governance.fairness.terms import finite

    report = assessment.report
    rows = []
    for attribute in report.attributes:
        for d in attribute.disparities:
            value, interval = finite(d.value), d.interval
            rows.append([attribute.name, str(d.measure),
                         "-" if value is None else f"{value:.3f}",
                         "-" if interval is None else f"[{interval[0]:.3f}, {interval[1]:.3f}]",
                         "-" if d.threshold is None else d.threshold,
                         "-" if d.verdict is None else str(d.verdict)])
    measured = report.outcome
    table(f"Fairness of {assessment.data}: rates of {measured.target} = {measured.favorable}",
          ["attribute", "measure", "value", "interval", "threshold", "verdict"], rows)
    where = assessment.declared_in
    say(f"Outcome measured: {clean(measured.describe())}"
        + (f"; declared in {clean(where)}." if where else "."))
    if not measured.declared:
        say(f"  If {clean(measured.favorable)} is the adverse outcome (a default, a refusal), "
            f"pass --favorable {clean(measured.unfavorable)} or declare it in rasad.yaml under "
            f"governance.fairness.favorable_outcomes.")
    say(f"Overall: {report.verdict} ({clean(report.reason)})")
    if assessment.result_id is not None:
        say(f"Stored as monitor result {assessment.result_id} (kind fairness).")
    for name, path in (("JSON", output), ("HTML", html)):
        if path is not None:
            say(f"{name} report: {clean(path)}")
