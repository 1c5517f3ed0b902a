"""Turning queued requests and feedback into the Arrow tables a segment holds.

Prediction segments have one row per prediction::

    request_id  row  time  model  version  role  environment  latency_ms  prediction  score
    input.COLUMN ...

``time`` is when the request arrived (UTC, microseconds), ``row`` the prediction's
position in its request, ``score`` the probability of the positive class (null when the
model gives none), and every input column the model received follows, prefixed
``input.``: masked ones hold keyed hashes (:mod:`._masking`), dropped ones are absent. The
names of the masked columns are kept in the schema's metadata (``rasad.masked``).

Feedback segments have one row per label: ``request_id row label time model``.

A column whose values Arrow cannot hold in one type (numbers mixed with text) is written
as text. Nothing here logs a value: an error names the column, never what it held.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from rasad.names import NAME_PATTERN
from rasad.serving.predlog._masking import is_missing, mask_values
from rasad.serving.records import Feedback, Scored

INPUT_PREFIX = "input."
MASKED_METADATA = b"rasad.masked"
TIME_TYPE = pa.timestamp("us", tz="UTC")
LATEST_TIME = 32_503_680_000.0
"""Year 3000 in epoch seconds: a later (or infinite, or NaN) arrival time is refused."""


def problem(item: Scored | Feedback) -> str | None:
    """Why ``item`` cannot be logged (its shape, its model name), or None; never quotes
    its values."""
    if not (isinstance(item.model, str) and NAME_PATTERN.fullmatch(item.model)):
        return f"model name {item.model!r} is not allowed"
    if not (isinstance(item.received_at, float | int)
            and 0.0 <= item.received_at < LATEST_TIME):
        return f"request {item.request_id!r} has no valid arrival time"
    if isinstance(item, Feedback):
        if len(item.rows) != len(item.labels):
            return f"feedback for request {item.request_id!r} has {len(item.rows)} rows but " \
                   f"{len(item.labels)} labels"
        return None
    rows = item.rows
    if np.ndim(item.outputs) != 1:
        return f"the outputs of request {item.request_id!r} are not one value per row"
    if len(item.inputs) != rows:
        return f"request {item.request_id!r} has {len(item.inputs)} input rows and {rows} outputs"
    if item.scores is not None and (np.ndim(item.scores) != 1 or len(item.scores) != rows):
        return f"request {item.request_id!r} has scores that are not one per row"
    return None


def prediction_table(items: Sequence[Scored], environment: str,
                     personal_data: Mapping[str, str], key: bytes | None) -> pa.Table:
    """One table of every prediction in ``items`` (all of one model), masked and dropped
    as ``personal_data`` says; ``key`` is needed when a column is masked."""
    counts = np.fromiter((item.rows for item in items), dtype=np.int64, count=len(items))
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    micros = np.fromiter((round(item.received_at * 1_000_000) for item in items),
                         dtype=np.int64, count=len(items))
    columns: dict[str, pa.Array] = {
        "request_id": pa.array(_repeat([item.request_id for item in items], counts),
                               type=pa.string()),
        "row": pa.array(np.arange(total, dtype=np.int64) - np.repeat(starts, counts),
                        type=pa.int32()),
        "time": pa.array(np.repeat(micros, counts), type=pa.int64()).cast(TIME_TYPE),
        "model": pa.array(_repeat([item.model for item in items], counts), type=pa.string()),
        "version": pa.array(np.repeat(np.fromiter((item.version for item in items),
                                                  dtype=np.int64, count=len(items)), counts)),
        "role": pa.array(_repeat([str(item.role) for item in items], counts),
                         type=pa.string()),
        "environment": pa.array(np.full(total, environment, dtype=object), type=pa.string()),
        "latency_ms": pa.array(np.repeat(np.fromiter((item.latency_ms for item in items),
                                                     dtype=np.float64, count=len(items)),
                                         counts)),
        "prediction": _arrow(np.concatenate([np.asarray(item.outputs).reshape(-1)
                                             for item in items])),
        "score": pa.array(np.concatenate([
            np.full(item.rows, np.nan) if item.scores is None
            else np.asarray(item.scores, dtype=np.float64).reshape(-1) for item in items]),
            type=pa.float64(), from_pandas=True),
    }
    inputs = _concat([item.inputs for item in items])
    masked: list[str] = []
    for name in inputs.columns:
        column = str(name)
        how = personal_data.get(column)
        if how == "drop":
            continue
        values = inputs[name]
        if how == "mask":
            if key is None:  # PredictionLog.open loads the key whenever a column is masked
                raise RuntimeError("a masked column without a masking key")
            columns[INPUT_PREFIX + column] = pa.array(mask_values(key, values.tolist()),
                                                      type=pa.string())
            masked.append(column)
        else:
            columns[INPUT_PREFIX + column] = _arrow(values)
    table = pa.table(columns)
    return table.replace_schema_metadata({MASKED_METADATA: json.dumps(masked).encode()})


def feedback_table(items: Sequence[Feedback]) -> pa.Table:
    """One table of every label in ``items`` (all of one model)."""
    counts = np.fromiter((len(item.rows) for item in items), dtype=np.int64, count=len(items))
    micros = np.fromiter((round(item.received_at * 1_000_000) for item in items),
                         dtype=np.int64, count=len(items))
    rows = [row for item in items for row in item.rows]
    labels = [label for item in items for label in item.labels]
    return pa.table({
        "request_id": pa.array(_repeat([item.request_id for item in items], counts),
                               type=pa.string()),
        "row": pa.array(np.asarray(rows, dtype=np.int64), type=pa.int32()),
        "label": _arrow(np.asarray(labels, dtype=object)),
        "time": pa.array(np.repeat(micros, counts), type=pa.int64()).cast(TIME_TYPE),
        "model": pa.array(_repeat([item.model for item in items], counts), type=pa.string()),
    })


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames one under the other, as ``pd.concat`` gives them.

    Frames of one plain numeric type with the same columns (a model's signature, often the
    very same Index object) are stacked as arrays: several times faster than ``pd.concat``
    for one-row requests, with the same result (every column takes that type either way).
    """
    first = frames[0]
    if len(frames) == 1:
        return first
    columns = first.columns
    dtypes = set(first.dtypes)
    if len(dtypes) == 1 and columns.is_unique:
        (dtype,) = dtypes
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf" and all(
                frame.columns is columns or frame.columns.equals(columns) for frame in frames):
            blocks = [frame.to_numpy() for frame in frames]
            if all(block.dtype == dtype for block in blocks):
                return pd.DataFrame(np.concatenate(blocks), columns=columns)
    return pd.concat(frames, ignore_index=True)


def _repeat(values: list[str], counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(values, dtype=object), counts)


def _arrow(values: pd.Series | np.ndarray) -> pa.Array:
    """``values`` as one Arrow array: its own type when Arrow can hold it in one, else text."""
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return _text(values)
    if pa.types.is_dictionary(array.type):  # a categorical: segments must agree on the type
        array = array.dictionary_decode()
    if pa.types.is_nested(array.type):  # lists or mappings in a cell: kept as their text
        return _text(values)
    return array


def _text(values: pd.Series | np.ndarray) -> pa.Array:
    return pa.array([None if is_missing(v) else str(v) for v in values.tolist()],
                    type=pa.string())
