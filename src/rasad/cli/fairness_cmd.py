"""``rasad fairness``: group metrics, disparities with intervals, and verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
import typer

from rasad._files import check_outputs, write_text_atomic
from rasad.cli._context import state
from rasad.cli._inputs import resolve_data
from rasad.cli._output import say, table
from rasad.errors import InputError, NotFoundError

if TYPE_CHECKING:  # the engine (Fairlearn) is imported only when the command runs
    from rasad.governance.fairness.report import Label


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


def _declared(ctx: typer.Context, target: str, flag: str | None
              ) -> tuple[Label | None, str | None]:
    """The favourable outcome of ``target`` and where it was declared (None, None: nowhere).

    ``--favorable`` wins over ``governance.fairness.favorable_outcomes`` in the project's
    rasad.yaml (when there is a project: the data may be a plain file).
    """
    if flag is not None:
        if not flag.strip():
            raise InputError("--favorable needs a label value, such as --favorable 0.")
        return flag.strip(), "the --favorable option"
    try:
        outcomes = state(ctx).project(check=False).config.governance.fairness.favorable_outcomes
    except NotFoundError:
        return None, None
    if target in outcomes:
        return outcomes[target], "rasad.yaml (governance.fairness.favorable_outcomes)"
    return None, None


def _favorable_class(classes: list[Any], favorable: Label | None, model: str) -> Any:
    """The model class that is the favourable outcome (class 1 when none is declared)."""
    if favorable is None:
        return classes[1]
    for value in classes:
        if str(value) == str(favorable):
            return value
        try:
            if float(value) == float(favorable):
                return value
        except (TypeError, ValueError):
            continue
    raise InputError(f"The favourable outcome {favorable!r} is not a class of model {model} "
                     f"(classes: {', '.join(map(str, classes))}); set --favorable or "
                     f"governance.fairness.favorable_outcomes to one of them.")


def _frame_from_model(ctx: typer.Context, model: str, data: str, target: str,
                      favorable: Label | None) -> tuple[pd.DataFrame, str, str]:
    """Score a project dataset with a registered model: (frame, prediction col, score col).

    The predictions are the model's classes as they are; the score is the probability of
    the favourable class, so that roc_auc is computed on the outcome measured.
    """
    from rasad.names import parse_ref

    project = state(ctx).project()
    name, version = parse_ref(model)
    frame, _, _ = resolve_data(ctx, data)
    if not isinstance(frame, pd.DataFrame):
        from rasad.tables import read_table

        frame = read_table(frame).to_pandas()
    if target not in frame.columns:
        raise InputError(f"Target {target!r} is not a column of {data}.")
    scored = project.predict(name, frame, version=version)
    assert scored.frame is not None
    classes = project.model_version(name, version=version).classes or []
    if len(classes) != 2:
        raise InputError(f"Model {model} is not a binary classifier (classes: {classes}); "
                         "fairness compares two outcomes, one of them favourable.")
    chosen = _favorable_class(classes, favorable, model)
    frame = frame.reset_index(drop=True)
    prediction, score = f"{model} prediction", f"{model} probability of {chosen}"
    frame[prediction] = np.asarray(scored.frame["prediction"])
    frame[score] = np.asarray(scored.frame[f"proba_{chosen}"], dtype=float)
    return frame, prediction, score


def fairness(
    ctx: typer.Context,
    data: Annotated[str | None, typer.Argument(help="CSV/Parquet with labels and predictions, "
                                                    "or NAME[@VERSION].")] = None,
    target: Annotated[str, typer.Option(help="Label column (two values).")] = "",
    prediction: Annotated[str | None, typer.Option(help="Prediction column (the same two "
                                                        "values).")] = None,
    score: Annotated[str | None, typer.Option(help="Score column: probability of the "
                                                   "favourable outcome.")] = None,
    favorable: Annotated[str | None, typer.Option(
        "--favorable", metavar="VALUE",
        help="The label value that favours the person (0 when 1 means a default). "
             "Default: governance.fairness.favorable_outcomes in rasad.yaml, else 1.")] = None,
    sensitive: Annotated[str, typer.Option(help="Comma-separated sensitive columns.")] = "",
    bins: Annotated[list[str] | None, typer.Option(help="COLUMN=EDGE,EDGE,... for a numeric "
                                                        "attribute (repeatable).")] = None,
    intersections: Annotated[bool, typer.Option(help="Also assess intersections.")] = False,
    model: Annotated[str | None, typer.Option(help="NAME@VERSION: score --data with it.")]
    = None,
    dataset: Annotated[str | None, typer.Option("--data", help="NAME@VERSION to score with "
                                                               "--model.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option()] = 0,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON report.")]
    = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write the HTML report.")]
    = None,
) -> None:
    """Assess fairness by group; exit 1 when any verdict fails, 0 otherwise."""
    from rasad.governance.fairness import assess
    from rasad.reports.fairness import render_fairness

    if not target:
        raise InputError("Give the label column with --target.")
    check_outputs([json_path, html_path], inputs=[data, dataset])
    columns = [c.strip() for c in sensitive.split(",") if c.strip()]
    if not columns:
        raise InputError("Give the sensitive columns with --sensitive COL[,COL...].")
    if model is not None or dataset is not None:
        if model is None or dataset is None:
            raise InputError("--model and --data go together: the model scores the dataset.")
        outcome, declared_in = _declared(ctx, target, favorable)
        frame, prediction, score = _frame_from_model(ctx, model, dataset, target, outcome)
        label = f"{dataset} scored by {model}"
    else:
        if data is None or prediction is None:
            raise InputError("Give DATA and --prediction (or --model NAME@VERSION with --data "
                             "NAME@VERSION).")
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
                    intersections=intersections, bins=_bins(bins or []), n_boot=n_boot,
                    seed=seed)
    data_dict: dict[str, Any] = {"data": label, **report.to_dict()}
    data_dict["outcome"]["declared_in"] = declared_in
    if json_path is not None:
        write_text_atomic(json_path, json.dumps(data_dict, indent=2))
    if html_path is not None:
        write_text_atomic(html_path, render_fairness(data_dict, title=f"Fairness: {label}"))
    rows = []
    for attribute in data_dict["attributes"]:
        for d in attribute["disparities"]:
            interval = ("-" if d["lower"] is None else f"[{d['lower']:.3f}, {d['upper']:.3f}]")
            value = "-" if d["value"] is None else f"{d['value']:.3f}"
            rows.append([attribute["name"], d["measure"], value, interval,
                         "-" if d["threshold"] is None else d["threshold"],
                         d["verdict"] or "-"])
    measured = report.outcome
    table(f"Fairness of {label}: rates of {measured.target} = {measured.favorable}",
          ["attribute", "measure", "value", "interval", "threshold", "verdict"], rows)
    say(f"Outcome measured: {measured.describe()}"
        + (f"; declared in {declared_in}." if declared_in else "."))
    if not measured.declared:
        say(f"  If {measured.favorable} is the adverse outcome (a default, a refusal), pass "
            f"--favorable {measured.unfavorable} or declare it in rasad.yaml under "
            f"governance.fairness.favorable_outcomes.")
    say(f"Overall: {data_dict['verdict']} ({data_dict['reason']})")
    for name, path in (("JSON", json_path), ("HTML", html_path)):
        if path is not None:
            say(f"{name} report: {path}")
    if data_dict["verdict"] == "fail":
        raise typer.Exit(1)
