"""``rasad drift REFERENCE CURRENT``: works on files alone, or on a project's datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from rasad._files import check_outputs, write_text_atomic
from rasad.cli._context import state
from rasad.cli._inputs import resolve_data
from rasad.cli._output import clean, say, table
from rasad.errors import InputError


def drift(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="CSV/Parquet file or NAME[@VERSION].")],
    current: Annotated[str, typer.Argument(help="CSV/Parquet file or NAME[@VERSION].")],
    columns: Annotated[str | None, typer.Option(help="Comma-separated columns to compare.")]
    = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON report.")]
    = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write the HTML report.")]
    = None,
    chunk_size: Annotated[int | None, typer.Option(help="Chunk the current data by rows.")]
    = None,
    chunk_period: Annotated[str | None, typer.Option(help="day | week | month")] = None,
    time_column: Annotated[str | None, typer.Option(help="Time column for chunk periods.")]
    = None,
    multivariate: Annotated[bool, typer.Option(help="Also run the domain classifier and PCA "
                                                    "reconstruction.")] = False,
    fail_on_drift: Annotated[bool, typer.Option(help="Exit 1 when the verdict is drift.")]
    = False,
    save: Annotated[bool, typer.Option(help="Save the result in the project (datasets only).")]
    = False,
    use_profile: Annotated[bool, typer.Option(
        "--use-profile", help="Compare against the reference dataset version's stored profile "
                              "(built on first use) instead of its rows.")] = False,
    monitor: Annotated[str, typer.Option(help="Monitor name for --save.")] = "drift",
) -> None:
    """Compare CURRENT with REFERENCE: per-column tests, a dataset verdict, optional reports."""
    from rasad.drift import Chunker, compare

    for target in (json_path, html_path):
        if target is not None and target.is_dir():
            raise InputError(f"{target} is a folder; give a file name.")
    check_outputs([json_path, html_path], inputs=[reference, current])
    if save:
        from rasad.names import check_name

        # Before any work: a bad name must not leave report files behind.
        check_name(monitor, "Monitor")
    chunker = None
    if time_column is not None and chunk_size is None and chunk_period is None:
        raise InputError("--time-column says how to chunk the current data; add --chunk-period "
                         "(day, week or month) or --chunk-size.")
    if chunk_size is not None or chunk_period is not None:
        chunker = Chunker(size=chunk_size, period=chunk_period,  # type: ignore[arg-type]
                          time_column=time_column)
    if use_profile:
        if multivariate:
            raise InputError("--multivariate needs the reference rows; drop --use-profile.")
        ref_data, ref_label, ref_version = _profile(ctx, reference)
    else:
        ref_data, ref_label, ref_version = resolve_data(ctx, reference)
    cur_data, cur_label, cur_version = resolve_data(ctx, current)
    if save and (ref_version is None or cur_version is None):
        raise InputError("--save keeps results of a project's datasets; give both sides as "
                         "NAME[@VERSION] (add files with `rasad data add`).")
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    # A stored profile fixed its kinds (the version's) when it was built.
    kinds = None if use_profile else _declared_kinds(ctx, ref_version, names, chunker)
    report = compare(ref_data, cur_data, columns=names, chunker=chunker, kinds=kinds)
    if report.n_counted == 0:
        reasons = "; ".join(f"{c.name}: {c.reason}" for c in report.columns)
        raise InputError(f"No column could be compared ({reasons}). Check that both files "
                         "hold the same kind of data.")
    extra: list[dict[str, Any]] = []
    if multivariate:
        # The kinds the univariate check used, so both leave out the same columns.
        used = {c.name: c.kind for c in report.columns if c.kind is not None}
        extra = _multivariate(ref_data, cur_data, names, chunker, used)
    payload: dict[str, Any] = {"reference": ref_label, "current": cur_label,
                               "drift": report.to_dict(),
                               "multivariate": extra}
    if json_path is not None:
        write_text_atomic(json_path, json.dumps(payload, indent=2, default=str))
    if html_path is not None:
        from rasad.reports.drift import render_drift

        write_text_atomic(html_path, render_drift(payload["drift"], multivariate=extra,
                                            title=f"Drift: {cur_label} against {ref_label}"))
    if save:
        project = state(ctx).project()
        project.save_monitor_result(
            monitor=monitor, kind="drift", reference=ref_label, current=cur_label,
            alert=report.drifted or any(bool(m.get("drifted")) for m in extra),
            summary={"drifted": report.drifted, "reason": report.reason,
                     "drifted_columns": list(report.drifted_columns),
                     "multivariate": {str(m.get("method")): bool(m.get("drifted"))
                                      for m in extra}},
            payload=payload)
    _render(report, extra, ref_label, cur_label, json_path, html_path)
    if fail_on_drift and (report.drifted or any(m.get("drifted") for m in extra)):
        raise typer.Exit(1)


def _profile(ctx: typer.Context, reference: str) -> tuple[Any, str, Any]:
    """The stored reference profile of a project dataset version, built on first use."""
    from rasad.monitoring.reference import reference_profile
    from rasad.names import parse_ref

    if Path(reference).exists():
        raise InputError("--use-profile works with a project dataset as the reference "
                         "(NAME[@VERSION]), not a file.")
    name, number = parse_ref(reference)
    project = state(ctx).project()
    version = project.dataset(name, number)
    profile, built = reference_profile(project.context, version)
    say(f"{'Built and stored' if built else 'Using the stored'} reference profile of "
        f"{version.ref}.")
    return profile, version.ref, version


def _declared_kinds(ctx: typer.Context, version: Any, names: list[str] | None,
                    chunker: Any) -> dict[str, Any] | None:
    """Identifier, time and free-text columns of a project dataset: those its version
    recorded when it was added, and those ``rasad.yaml`` declares now.

    The other columns' kinds are inferred from the rows, as for files.
    """
    if version is None:
        return None
    from rasad.drift.reference import TESTED_KINDS
    from rasad.tables import ColumnKind

    kinds = {name: kind for name, kind in version.kinds.items() if kind not in TESTED_KINDS}
    data = state(ctx).project().config.data
    kinds.update({name: ColumnKind.IDENTIFIER for name in data.id_columns})
    kinds.update({name: ColumnKind.DATETIME for name in data.time_columns})
    skip = chunker.time_column if chunker is not None else None
    return {name: kind for name, kind in kinds.items()
            if name in version.kinds and name != skip and (names is None or name in names)}


def _multivariate(reference: Any, current: Any, columns: list[str] | None,
                  chunker: Any, kinds: dict[str, Any]) -> list[dict[str, Any]]:
    from rasad.drift.multivariate import domain_classifier, pca_reconstruction
    from rasad.tables import read_table

    ref = reference if isinstance(reference, pd.DataFrame) else read_table(reference).to_pandas()
    cur = current if isinstance(current, pd.DataFrame) else read_table(current).to_pandas()
    if chunker is not None and chunker.time_column is not None:
        kinds = {**kinds, chunker.time_column: "datetime"}
    return [domain_classifier(ref, cur, columns=columns, kinds=kinds).to_dict(),
            pca_reconstruction(ref, cur, columns=columns, kinds=kinds,
                               chunker=chunker).to_dict()]


def _render(report: Any, extra: list[dict[str, Any]], ref: str, cur: str,
            json_path: Path | None, html_path: Path | None) -> None:
    say(f"[bold]{clean(cur)}[/] against [bold]{clean(ref)}[/]: "
        + ("[red]drift[/]" if report.drifted else "[green]no drift[/]")
        + f" ({clean(report.reason)})")
    rows = [[column.name, str(column.kind or "-"), str(column.status),
             "yes" if column.drifted else "no", column.reason] for column in report.columns]
    rows.sort(key=lambda r: (r[3] != "yes", r[0]))
    table(None, ["column", "kind", "status", "drifted", "reason"], rows)
    for item in extra:
        flag = "[red]drift[/]" if item.get("drifted") else "[green]no drift[/]"
        say(f"{clean(item.get('method'))}: {flag} ({clean(_figure(item))})")
    for reason, names in _left_out(extra).items():
        say(f"  left out of multivariate drift: {clean(', '.join(names))} ({clean(reason)})")
    if report.chunks:
        _timeline(report, extra)
    for label, path in (("JSON", json_path), ("HTML", html_path)):
        if path is not None:
            say(f"{label} report: {clean(path)}")


def _figure(item: dict[str, Any]) -> str:
    """The figure that decided a multivariate result, with its threshold or band."""
    if "roc_auc" in item:
        text = (f"ROC AUC {item['roc_auc']:.3f}, threshold {item['threshold']:g}, "
                f"p={item['p_value']:.3g}")
        top = item.get("top_features") or []
        return text + (f"; separated most by {', '.join(map(str, top))}" if top else "")
    chunks = item.get("chunks") or []
    if chunks:
        outside = sum(bool(chunk.get("drifted")) for chunk in chunks)
        return (f"reconstruction error {item['current_error']:.4g}; {outside} of "
                f"{len(chunks)} chunks outside their band")
    return (f"reconstruction error {item['current_error']:.4g}, band "
            f"{item['lower_threshold']:.4g} to {item['upper_threshold']:.4g}")


def _left_out(extra: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Columns the multivariate methods left out, grouped by the reason."""
    grouped: dict[str, list[str]] = {}
    for item in extra:
        for left in item.get("excluded") or []:
            names = grouped.setdefault(str(left["reason"]), [])
            if left["column"] not in names:
                names.append(str(left["column"]))
    return grouped


MAX_NAMES = 5
"""Drifted columns a timeline row names; the rest are counted."""


def _timeline(report: Any, extra: list[dict[str, Any]]) -> None:
    """One row per chunk: rows, verdict, drifted columns, and PCA's error where it ran."""
    pca = next((item for item in extra if item.get("method") == "pca_reconstruction"), None)
    per_chunk = {str(c["key"]): c for c in (pca or {}).get("chunks") or []}
    spans = any(c.key.startswith("[") and c.start for c in report.chunks)
    header = ["chunk", *(["from", "to"] if spans else []), "rows", "drift", "drifted columns"]
    if pca is not None:
        header.append("pca reconstruction error")
    rows = []
    for chunk in report.chunks:
        names = [column.name for column in chunk.columns if column.drifted]
        shown = ", ".join(names[:MAX_NAMES]) + (
            f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else "")
        row = [chunk.key, *([_day(chunk.start), _day(chunk.end)] if spans else []),
               f"{chunk.rows:,}", "yes" if chunk.drifted else "no",
               f"{chunk.n_drifted} of {chunk.n_counted}" + (f": {shown}" if names else "")]
        if pca is not None:
            found = per_chunk.get(chunk.key)
            row.append("-" if found is None else (
                f"{found['error']:.4g} {'outside' if found['drifted'] else 'within'} "
                f"{found['lower_threshold']:.4g} to {found['upper_threshold']:.4g}"))
        rows.append(row)
    table(f"Over time: {len(report.chunks)} chunks of the current data", header, rows)


def _day(stamp: str | None) -> str:
    return stamp[:10] if stamp else "-"
