"""Reading one Arrow column as numbers or as category codes, without copying when possible.

Missing values: nulls; in numeric columns also NaN and the infinities, which no
distance can use; in categorical columns NaN.
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rasad.tables.kinds import category_label


class Family(enum.StrEnum):
    """What a column's storage type holds, for telling mismatched sides apart."""

    NUMBER = "number"
    BOOLEAN = "boolean"
    TEXT = "text"
    TEMPORAL = "temporal"
    NULL = "null"
    OTHER = "other"


def family_of(kind: pa.DataType) -> Family:
    """The family of an Arrow type.

    >>> family_of(pa.int32()), family_of(pa.string()), family_of(pa.null())
    (<Family.NUMBER: 'number'>, <Family.TEXT: 'text'>, <Family.NULL: 'null'>)
    """
    types = pa.types
    if types.is_dictionary(kind):
        return family_of(kind.value_type)
    if types.is_integer(kind) or types.is_floating(kind) or types.is_decimal(kind):
        return Family.NUMBER
    if types.is_boolean(kind):
        return Family.BOOLEAN
    if types.is_string(kind) or types.is_large_string(kind) or types.is_string_view(kind):
        return Family.TEXT
    if types.is_temporal(kind):
        return Family.TEMPORAL
    if types.is_null(kind):
        return Family.NULL
    return Family.OTHER


def float_values(column: pa.ChunkedArray) -> npt.NDArray[np.float64]:
    """The column as float64, NaN where a value is missing (a view when it can be).

    >>> float_values(pa.chunked_array([[1, None, 3]]))
    array([ 1., nan,  3.])
    """
    if not pa.types.is_float64(column.type):
        column = column.cast(pa.float64())
    if column.num_chunks == 1:
        array: npt.NDArray[np.float64] = column.chunk(0).to_numpy(zero_copy_only=False)
        return array
    if column.num_chunks == 0:
        return np.empty(0, dtype=np.float64)
    return np.asarray(column.to_numpy(), dtype=np.float64)


def category_codes(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.intp], tuple[str, ...]]:
    """Each row's category as a code into the returned labels, -1 where missing.

    Labels are :func:`~rasad.tables.kinds.category_label` texts; values with the same
    label share a code.

    >>> codes, labels = category_codes(pa.chunked_array([["b", None, "a", "b"]]))
    >>> codes.tolist(), labels
    ([0, -1, 1, 0], ('b', 'a'))
    >>> codes, labels = category_codes(pa.chunked_array([[1.0, float("nan")], [2.0, 1.0]]))
    >>> codes.tolist(), labels
    ([0, -1, 1, 0], ('1', '2'))
    """
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    # One hashing pass (pc.unique then pc.index_in took two): the dictionary holds the
    # distinct values in order of first occurrence, the indices each row's position.
    encoded = pc.dictionary_encode(column)
    if encoded.num_chunks == 0:
        return np.empty(0, dtype=np.intp), ()
    if encoded.num_chunks > 1:
        encoded = encoded.unify_dictionaries()  # chunks may carry dictionaries of their own
    values = encoded.chunk(0).dictionary.to_pylist()
    positions = pa.chunked_array([chunk.indices for chunk in encoded.chunks]).fill_null(-1)
    raw = np.asarray(positions.to_numpy(), dtype=np.intp)
    labels: list[str] = []
    index: dict[str, int] = {}
    mapping = np.empty(len(values) + 1, dtype=np.intp)
    mapping[-1] = -1  # code -1 (missing) maps to itself through mapping[-1]
    for position, value in enumerate(values):
        if value is None or (isinstance(value, float) and value != value):  # null, NaN
            mapping[position] = -1
            continue
        label = category_label(value)
        if label not in index:
            index[label] = len(labels)
            labels.append(label)
        mapping[position] = index[label]
    if len(labels) == len(values):  # nothing missing or merged: the positions are the codes
        return raw, tuple(labels)
    return mapping[raw], tuple(labels)


def count_codes(codes: npt.NDArray[np.intp], n_labels: int) -> npt.NDArray[np.int64]:
    """How many rows carry each code (missing rows, -1, left out).

    >>> count_codes(np.array([0, -1, 1, 0]), 3).tolist()
    [2, 1, 0]
    """
    # Shifted by one so the missing rows land in a bin of their own, dropped after.
    return np.bincount(codes + 1, minlength=n_labels + 1)[1:].astype(np.int64)


def missing_count(column: pa.ChunkedArray) -> int:
    """Nulls, plus NaN in floating-point columns.

    >>> missing_count(pa.chunked_array([[1.0, None, float("nan")]]))
    2
    """
    missing = column.null_count
    if pa.types.is_floating(column.type):
        missing += int(pc.sum(pc.is_nan(column)).as_py() or 0)
    return int(missing)
