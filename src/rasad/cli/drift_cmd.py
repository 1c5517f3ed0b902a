"""``rasad drift REFERENCE CURRENT``: works on files alone, or on a project's datasets.

The command parses, resolves each side (a path as given, else a project dataset
version), calls the drift check (:meth:`rasad.Project.check_drift` on a project, which
runs on the server when ``RASAD_URL`` is set; :func:`rasad.monitoring.drift_check.evaluate`
on files alone) and renders. With ``--from-log MODEL`` the current data is the inputs
MODEL's prediction log holds (docs/prediction-log.md), and REFERENCE may be left out
for the model's training data.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rasad._files import check_outputs, write_text_atomic
from rasad.cli._context import state
from rasad.cli._inputs import resolve_side
from rasad.cli._output import HtmlFile, JsonFlag, OutputFile, clean, emit_json, say, table
from rasad.cli.performance_cmd import FromLog, LogEnv, Since, Until, check_current, log_window
from rasad.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

    from rasad.drift import Chunker
    from rasad.monitoring.drift_check import DriftCheck


def drift(
    ctx: typer.Context,
    reference: Annotated[str | None, typer.Argument(
        metavar="REFERENCE", help="CSV/Parquet file or NAME[@VERSION]; with --from-log, by "
                                  "default the model's training data.")] = None,
    current: Annotated[str | None, typer.Argument(
        metavar="CURRENT",
        help="CSV/Parquet file or NAME[@VERSION]; omitted with --from-log.")] = None,
    columns: Annotated[str | None, typer.Option(help="Comma-separated columns to compare.")]
    = None,
    as_json: JsonFlag = False,
    output: OutputFile = None,
    html_path: HtmlFile = None,
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
    from_log: FromLog = None,
    since: Since = None,
    until: Until = None,
    env: LogEnv = None,
) -> None:
    """Compare CURRENT with REFERENCE: per-column tests, a dataset verdict, optional reports."""
    for target in (output, html_path):
        if target is not None and target.is_dir():
            raise InputError(f"{target} is a folder; give a file name.")
    window = log_window(from_log, since, until, env)
    check_current(current, window)
    check_outputs([output, html_path], inputs=[side for side in (reference, current) if side])
    chunker = _chunker(chunk_size, chunk_period, time_column)
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    if window is not None:
        result = state(ctx).project().check_drift(
            None if reference is None else resolve_side(ctx, reference), window,
            columns=names, chunker=chunker, multivariate=multivariate,
            use_profile=use_profile, save=save, monitor=monitor)
        _finish(result, as_json=as_json, output=output, html_path=html_path,
                fail_on_drift=fail_on_drift)
        return
    if reference is None or current is None:
        raise InputError("Give the REFERENCE and CURRENT data (files or NAME[@VERSION]).")
    ref_side, cur_side = resolve_side(ctx, reference), resolve_side(ctx, current)
    if isinstance(ref_side, Path) and isinstance(cur_side, Path):
        # Files alone need no project. Arrow reads both in its own threads while Python
        # imports the drift engine on one core: on two cores the reading costs little wall
        # time. The options a project needs are refused before any result is used.
        with ThreadPoolExecutor(max_workers=1) as pool:
            tables = pool.submit(_read_sides, ref_side, cur_side)
            from rasad.monitoring import drift_check

            drift_check.check_options(ref_side, cur_side, multivariate=multivariate,
                                      use_profile=use_profile, save=save, monitor=monitor)
            ref_table, cur_table = tables.result()
        result = drift_check.evaluate(ref_table, cur_table, reference_label=str(ref_side),
                                      current_label=str(cur_side), columns=names,
                                      chunker=chunker, multivariate=multivariate)
    else:
        # A Project verb, not the service: with RASAD_URL set it runs on the server.
        result = state(ctx).project().check_drift(
            ref_side, cur_side, columns=names, chunker=chunker, multivariate=multivariate,
            use_profile=use_profile, save=save, monitor=monitor)
    _finish(result, as_json=as_json, output=output, html_path=html_path,
            fail_on_drift=fail_on_drift)


def _finish(result: DriftCheck, *, as_json: bool, output: Path | None, html_path: Path | None,
            fail_on_drift: bool) -> None:
    """Write the reports asked for, print the result, and exit 1 on drift if asked."""
    if output is not None:
        write_text_atomic(output, json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
                          + "\n")
    if html_path is not None:
        from rasad.reports.drift import render_drift

        write_text_atomic(html_path, render_drift(
            result.drift.to_dict(), multivariate=[m.to_dict() for m in result.multivariate],
            title=f"Drift: {result.current} against {result.reference}"))
    if as_json:
        emit_json(result)
    else:
        _render(result, output, html_path)
    if fail_on_drift and result.drifted:
        raise typer.Exit(1)


def _read_sides(reference: Path, current: Path) -> tuple[pa.Table, pa.Table]:
    """Both files as Arrow tables, read as :func:`rasad.drift.compare` reads a path (the
    current side first), with its errors naming the side."""
    from rasad.tables import read_table

    tables = {}
    for side, path in (("current", current), ("reference", reference)):
        try:
            tables[side] = read_table(path)
        except InputError as error:
            raise InputError(f"{side.capitalize()} data: {error}") from None
    return tables["reference"], tables["current"]


def _chunker(size: int | None, period: str | None, time_column: str | None) -> Chunker | None:
    if time_column is not None and size is None and period is None:
        raise InputError("--time-column says how to chunk the current data; add --chunk-period "
                         "(day, week or month) or --chunk-size.")
    if size is None and period is None:
        return None
    from rasad.drift import Chunker

    return Chunker(size=size, period=period, time_column=time_column)  # type: ignore[arg-type]


def _render(result: DriftCheck, json_path: Path | None, html_path: Path | None) -> None:
    report = result.drift
    extra = [item.to_dict() for item in result.multivariate]
    if result.profile_built is not None:
        say(f"{'Built and stored' if result.profile_built else 'Using the stored'} reference "
            f"profile of {clean(result.reference)}.")
    say(f"[bold]{clean(result.current)}[/] against [bold]{clean(result.reference)}[/]: "
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
    if result.saved is not None:
        say(f"Saved as monitor result {result.saved.id} of {clean(result.saved.monitor)}; "
            f"show it with `rasad monitor show {result.saved.id}`.")


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
