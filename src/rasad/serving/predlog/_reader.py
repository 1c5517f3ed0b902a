"""Reading the prediction log back: a window of one model's predictions, with its labels.

Segments are found by listing only the day folders the window touches (partition
pruning), read with ``pyarrow.dataset`` over the artifact store's filesystem, filtered by
time and role in Arrow, and joined with the feedback sent for them on
``(request_id, row)``: the latest label wins.

Segments written at different times may disagree on a column's type (an input sent as
whole numbers one day and decimals the next); the read takes the wider type (integers
widen to floats), and text where no type holds both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from rasad.artifacts import ArtifactStore
from rasad.errors import InputError, IntegrityError
from rasad.serving.predlog._segments import (
    Segment,
    SegmentKind,
    environments_with,
    list_segments,
)
from rasad.serving.predlog._tables import MASKED_METADATA, TIME_TYPE
from rasad.serving.predlog._window import LogWindow

MASKED_ATTR = "masked_columns"
"""``frame.attrs`` key: the input columns (without ``input.``) that hold keyed hashes."""
KEYS = ["request_id", "row"]


def read_window(store: ArtifactStore, window: LogWindow, *,
                with_feedback: bool = True) -> pd.DataFrame:
    """The predictions in ``window``, oldest first, with a ``label`` column when asked.

    Raises
    ------
    InputError
        There is no log of the model (in that environment), or none in the window; the
        message says what there is and how to get a log.
    """
    segments = list_segments(
        store, SegmentKind.PREDICTIONS, environment=window.environment, model=window.model,
        first_day=_day(window.since), last_day=_day(window.until))
    if not segments:
        raise InputError(_nothing(store, window))
    filter_ = _time_filter(window)
    if window.role is not None:
        filter_ = filter_ & (ds.field("role") == window.role)
    table, masked = _read(store, segments, filter_)
    if table.num_rows == 0:
        raise InputError(_nothing(store, window))
    frame = table.to_pandas()
    if with_feedback:
        frame = _join_labels(store, window, frame)
    frame = frame.sort_values(["time", "request_id", "row"], kind="mergesort",
                              ignore_index=True)
    frame.attrs[MASKED_ATTR] = sorted(masked)
    return frame


def _join_labels(store: ArtifactStore, window: LogWindow, frame: pd.DataFrame) -> pd.DataFrame:
    # Labels arrive after their predictions: no upper bound, and a day of slack for
    # clocks that disagree between the machines that scored and took the feedback.
    first = None if window.since is None else (window.since - timedelta(days=1)).date()
    segments = list_segments(store, SegmentKind.FEEDBACK, environment=window.environment,
                             model=window.model, first_day=first)
    if not segments:
        return frame.assign(label=float("nan"))
    ids = pa.array(frame["request_id"].unique(), type=pa.string())
    table, _ = _read(store, segments, ds.field("request_id").isin(ids))
    labels = table.select([*KEYS, "label", "time"]).to_pandas()
    labels = (labels.sort_values("time", kind="mergesort")
              .drop_duplicates(KEYS, keep="last").drop(columns="time"))
    labels["row"] = labels["row"].astype(frame["row"].dtype)
    return frame.merge(labels, on=KEYS, how="left", validate="many_to_one")


def _read(store: ArtifactStore, segments: Sequence[Segment],
          filter_: ds.Expression) -> tuple[pa.Table, set[str]]:
    """The rows of ``segments`` that pass ``filter_``, in one schema; and the masked columns."""
    filesystem = _arrow_filesystem(store)
    paths = [segment.path for segment in segments]
    try:
        found = ds.dataset(paths, filesystem=filesystem, format="parquet")
        schemas = [fragment.physical_schema for fragment in found.get_fragments()]
        masked: set[str] = set()
        for schema in schemas:
            listed = (schema.metadata or {}).get(MASKED_METADATA)
            if listed:
                masked.update(json.loads(listed))
        unified = ds.dataset(paths, schema=_unify(schemas), filesystem=filesystem,
                             format="parquet")
        return unified.to_table(filter=filter_), masked
    except (pa.ArrowInvalid, OSError, ValueError) as exc:
        # Arrow's message names the file and what is wrong with it, never a row's values.
        raise IntegrityError(
            f"The prediction log cannot be read: {exc}. A segment was changed or truncated "
            "outside rasad (rasad moves only whole segments into place); move that file "
            "away, its rows are lost, and read again.") from None


def _unify(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for every segment: the wider type where they differ, else text."""
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    types: dict[str, list[pa.DataType]] = {}
    for schema in schemas:
        for field in schema:
            types.setdefault(field.name, []).append(field.type)
    fields = []
    for name, kinds in types.items():
        try:
            fields.append(pa.unify_schemas([pa.schema([pa.field(name, kind)]) for kind in kinds],
                                           promote_options="permissive").field(name))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            fields.append(pa.field(name, pa.string()))
    return pa.schema(fields)


def _arrow_filesystem(store: ArtifactStore) -> pafs.FileSystem:
    if store.is_local:
        return pafs.LocalFileSystem()
    return pafs.PyFileSystem(pafs.FSSpecHandler(store.fs))


def _time_filter(window: LogWindow) -> ds.Expression:
    expression = ds.scalar(True)
    if window.since is not None:
        expression = expression & (ds.field("time") >= pa.scalar(window.since, TIME_TYPE))
    if window.until is not None:
        expression = expression & (ds.field("time") < pa.scalar(window.until, TIME_TYPE))
    return expression


def _day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.date()


def _nothing(store: ArtifactStore, window: LogWindow) -> str:
    """Why a read found no prediction, and what to do about it."""
    how = ("`rasad serve --env ENV` logs every prediction it answers (serving.log.enabled in "
           "rasad.yaml), in segments written within serving.log.flush_seconds")
    held = list_segments(store, SegmentKind.PREDICTIONS, environment=window.environment,
                         model=window.model)
    if held:
        first, last = min(s.day for s in held), max(s.day for s in held)
        return (f"The prediction log holds no predictions of {window.describe()}. Its "
                f"segments span {first} to {last} (UTC days): widen --since/--until"
                + (" or choose another role." if window.role is not None else "."))
    elsewhere = environments_with(store, SegmentKind.PREDICTIONS, window.model)
    if elsewhere:
        return (f"The prediction log has no predictions of {window.describe()}; it has some "
                f"in {', '.join(elsewhere)}: give --env {elsewhere[0]}.")
    return f"The prediction log has no predictions of model {window.model!r}. {how}."
