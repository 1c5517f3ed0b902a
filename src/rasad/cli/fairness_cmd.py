"""``rasad fairness``: group metrics, disparities with intervals, and verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from rasad._files import write_text_atomic
from rasad.cli._context import state
from rasad.cli._inputs import resolve_data
from rasad.cli._output import say, table
from rasad.errors import InputError


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


def _frame_from_model(ctx: typer.Context, model: str, data: str, target: str
                      ) -> tuple[pd.DataFrame, str, str]:
    """Score a project dataset with a registered model: (frame, prediction col, score col)."""
    from rasad.datasets import parse_ref

    project = state(ctx).project()
    name, version = parse_ref(model)
    frame, _, _ = resolve_data(ctx, data)
    if not isinstance(frame, pd.DataFrame):
        from rasad.datasets import read_table

        frame = read_table(frame).to_pandas()
    if target not in frame.columns:
        raise InputError(f"Target {target!r} is not a column of {data}.")
    scored = project.predict(name, frame, version=version)
    assert scored.frame is not None
    classes = project.model_version(name, version=version).classes or []
    if len(classes) != 2:
        raise InputError(f"Model {model} is not a binary classifier (classes: {classes}); "
                         "fairness verdicts need 0/1 predictions.")
    positive = classes[1]
    frame = frame.reset_index(drop=True)
    frame["__prediction"] = (np.asarray(scored.frame["prediction"]) == positive).astype(int)
    frame["__score"] = np.asarray(scored.frame[f"proba_{positive}"], dtype=float)
    return frame, "__prediction", "__score"


def fairness(
    ctx: typer.Context,
    data: Annotated[str | None, typer.Argument(help="CSV/Parquet with labels and predictions, "
                                                    "or NAME[@VERSION].")] = None,
    target: Annotated[str, typer.Option(help="Label column (0/1).")] = "",
    prediction: Annotated[str | None, typer.Option(help="Prediction column (0/1).")] = None,
    score: Annotated[str | None, typer.Option(help="Score column (probability of 1).")]
    = None,
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
    columns = [c.strip() for c in sensitive.split(",") if c.strip()]
    if not columns:
        raise InputError("Give the sensitive columns with --sensitive COL[,COL...].")
    if model is not None or dataset is not None:
        if model is None or dataset is None:
            raise InputError("--model and --data go together: the model scores the dataset.")
        frame, prediction, score = _frame_from_model(ctx, model, dataset, target)
        label = f"{dataset} scored by {model}"
    else:
        if data is None or prediction is None:
            raise InputError("Give DATA and --prediction (or --model NAME@VERSION with --data "
                             "NAME@VERSION).")
        source, label, _ = resolve_data(ctx, data)
        if isinstance(source, pd.DataFrame):
            frame = source
        else:
            from rasad.datasets import read_table

            frame = read_table(source).to_pandas()
    needed = [target, prediction, *columns, *([score] if score else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"Column(s) {', '.join(map(repr, missing))} are not in {label}; "
                         f"columns are {', '.join(map(str, frame.columns))}.")
    report = assess(frame[target], frame[prediction], frame[columns],
                    frame[score] if score else None, intersections=intersections,
                    bins=_bins(bins or []), n_boot=n_boot, seed=seed)
    data_dict: dict[str, Any] = {"data": label, **report.to_dict()}
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
    table(f"Fairness of {label}", ["attribute", "measure", "value", "interval", "threshold",
                                   "verdict"], rows)
    say(f"Overall: {data_dict['verdict']} ({data_dict['reason']})")
    for name, path in (("JSON", json_path), ("HTML", html_path)):
        if path is not None:
            say(f"{name} report: {path}")
    if data_dict["verdict"] == "fail":
        raise typer.Exit(1)
