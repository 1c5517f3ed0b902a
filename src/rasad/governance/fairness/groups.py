"""Groups of sensitive attributes: categories, bins of numeric columns, intersections.

:func:`encode` turns the sensitive features into one :class:`Attribute` per column:
integer group codes, the group labels in display order and, for numeric columns that
were binned, the edges.

How a column becomes groups:

- A column that is not numeric (strings, categories, booleans) is categorical: one
  group per distinct value, labels sorted as strings (Fairlearn's order).
- A numeric column with at most :data:`MAX_NUMERIC_CATEGORIES` (10) distinct values is
  also categorical (a 0/1 flag, a coded region).
- A numeric column with more distinct values, or any column named in ``bins``, is
  binned. With user edges ``bins={"age": [18, 25, 35, 50, 65, 120]}`` the bins are
  ``[18, 25)``, ``[25, 35)``, ..., ``[65, 120]`` (left-closed, the last also closed on
  the right); a value outside the outer edges is an error, so no row is silently
  dropped. Without edges the default is quartiles: edges at the 0, 25, 50, 75 and
  100th percentiles (duplicates merged), giving up to four groups of about equal size.
  rasad does not guess age bands from a column's name; give edges for bands that mean
  something in your jurisdiction.
- Missing values form their own group, labelled ``"(missing)"``.

An intersection (``intersections=True`` in :func:`~rasad.governance.fairness.assess`)
is one extra attribute whose groups are the combinations of every attribute's groups
that occur, labelled ``"F | SA | [25, 35)"``.

>>> import pandas as pd
>>> [a] = encode(pd.DataFrame({"age": [19, 30, 40, 70]}), bins={"age": [18, 35, 120]})
>>> a.labels, a.codes.tolist(), a.bins
(('[18, 35)', '[35, 120]'), [0, 0, 1, 1], (18.0, 35.0, 120.0))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from rasad.errors import InputError
from rasad.governance.fairness.terms import AttributeKind

MAX_NUMERIC_CATEGORIES: Final = 10
"""A numeric column with more distinct values than this is binned."""

DEFAULT_QUANTILES: Final = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Default bin edges of a numeric column, as quantiles (quartiles)."""

MISSING_LABEL: Final = "(missing)"


@dataclass(frozen=True)
class Attribute:
    """One sensitive attribute, encoded.

    ``codes[i]`` is row ``i``'s index into ``labels``; ``bins`` are the edges when the
    column was binned, and ``bins_source`` is ``"user"`` or ``"quartiles"``.
    """

    name: str
    kind: AttributeKind
    labels: tuple[str, ...]
    codes: npt.NDArray[np.intp]
    bins: tuple[float, ...] | None = None
    bins_source: str | None = None


def _edge(value: float) -> str:
    return f"{value:g}"


def as_frame(sensitive_features: Any, rows: int) -> pd.DataFrame:
    """Sensitive features as a DataFrame with string column names and ``rows`` rows."""
    if isinstance(sensitive_features, Mapping):
        sensitive_features = pd.DataFrame(dict(sensitive_features))
    if isinstance(sensitive_features, pd.DataFrame):
        frame = sensitive_features.reset_index(drop=True)
    elif isinstance(sensitive_features, pd.Series):
        name = "sensitive" if sensitive_features.name is None else str(sensitive_features.name)
        frame = sensitive_features.reset_index(drop=True).to_frame(name)
    else:
        values = np.asarray(sensitive_features)
        if values.ndim == 1:
            frame = pd.DataFrame({"sensitive": values})
        elif values.ndim == 2:
            frame = pd.DataFrame(values, columns=[f"sensitive_{i}" for i in
                                                   range(values.shape[1])])
        else:
            raise InputError(f"sensitive_features must be one column or a table; got an "
                             f"array of {values.ndim} dimensions.")
    if frame.shape[1] == 0:
        raise InputError("sensitive_features has no columns; pass at least one sensitive "
                         "attribute (for example gender).")
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) != rows:
        raise InputError(f"sensitive_features has {len(frame)} rows but the labels have "
                         f"{rows}; pass the same rows for both.")
    return frame


def _user_edges(name: str, edges: Sequence[float]) -> npt.NDArray[np.float64]:
    try:
        array = np.asarray(edges, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"bins[{name!r}] must be a list of numbers; got {edges!r}.") from None
    if array.ndim != 1 or len(array) < 2 or not np.all(np.isfinite(array)) \
            or not np.all(np.diff(array) > 0):
        raise InputError(f"bins[{name!r}] must be at least two finite, strictly increasing "
                         f"edges such as [18, 25, 35, 50, 65, 120]; got {list(edges)!r}.")
    return array


def _binned(name: str, column: pd.Series, edges: Sequence[float] | None) -> Attribute:
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        raise InputError(f"bins were given for sensitive column {name!r}, but it is not "
                         f"numeric ({column.dtype}); drop it from bins or pass numbers.")
    values = column.to_numpy(dtype=float, na_value=np.nan)
    present = ~np.isnan(values)
    if edges is not None:
        array, source = _user_edges(name, edges), "user"
        outside = present & ((values < array[0]) | (values > array[-1]))
        if outside.any():
            raise InputError(
                f"{int(outside.sum())} values of sensitive column {name!r} fall outside "
                f"the bins [{_edge(array[0])}, {_edge(array[-1])}] (for example "
                f"{values[outside][0]:g}); widen the first or last edge.")
    else:
        array = np.unique(np.quantile(values[present], DEFAULT_QUANTILES))
        source = "quartiles"
    labels = [f"[{_edge(lo)}, {_edge(hi)})" for lo, hi in zip(array[:-2], array[1:-1],
                                                               strict=True)]
    labels.append(f"[{_edge(array[-2])}, {_edge(array[-1])}]")
    codes = np.clip(np.searchsorted(array, values, side="right") - 1, 0, len(labels) - 1)
    if not present.all():
        labels.append(MISSING_LABEL)
        codes = np.where(present, codes, len(labels) - 1)
    return _compact(name, AttributeKind.BINNED, labels, codes.astype(np.intp),
                    tuple(float(e) for e in array), source)


def _compact(name: str, kind: AttributeKind, labels: Sequence[str],
             codes: npt.NDArray[np.intp], bins: tuple[float, ...] | None = None,
             bins_source: str | None = None) -> Attribute:
    """Drop labels no row has (an empty bin is not a group) and renumber."""
    used = np.bincount(codes, minlength=len(labels)) > 0
    remap = np.cumsum(used) - 1
    kept = tuple(label for label, keep in zip(labels, used, strict=True) if keep)
    return Attribute(name, kind, kept, remap[codes].astype(np.intp), bins, bins_source)


def _categorical(name: str, column: pd.Series) -> Attribute:
    text = column.astype(object).where(column.notna(), MISSING_LABEL).astype(str)
    labels, codes = np.unique(text.to_numpy(dtype=str), return_inverse=True)
    return Attribute(name, AttributeKind.CATEGORICAL, tuple(str(v) for v in labels),
                     codes.astype(np.intp))


def _is_continuous(column: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
            and column.nunique(dropna=True) > MAX_NUMERIC_CATEGORIES)


def intersection(attributes: Sequence[Attribute]) -> Attribute:
    """The attribute whose groups are the combinations of ``attributes``' groups."""
    sizes = [len(a.labels) for a in attributes]
    combined = np.ravel_multi_index([a.codes for a in attributes], sizes)
    used, codes = np.unique(combined, return_inverse=True)
    parts = np.unravel_index(used, sizes)
    labels = tuple(" | ".join(a.labels[int(p[i])] for a, p in zip(attributes, parts,
                                                                   strict=True))
                   for i in range(len(used)))
    name = " & ".join(a.name for a in attributes)
    return Attribute(name, AttributeKind.INTERSECTION, labels, codes.astype(np.intp))


def encode(sensitive_features: Any, *, bins: Mapping[str, Sequence[float] | None] | None
           = None, rows: int | None = None, intersections: bool = False) -> list[Attribute]:
    """Encode the sensitive features into attributes (see the module docstring).

    Parameters
    ----------
    sensitive_features : DataFrame, mapping of name to column, Series or array-like
        One column per attribute.
    bins : mapping of column name to edges (or None for the quartile default), optional
        Columns to bin. A column not named here is binned by quartiles when it is
        numeric with more than ten distinct values.
    rows : int, optional
        The number of rows the features must have.
    intersections : bool
        Whether to add the intersection of all attributes (with two or more).

    Raises
    ------
    InputError
        A column named in ``bins`` is missing or not numeric, edges are not
        increasing, a value lies outside the edges, or a column has one group only.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"g": ["F", "M", "M", "F"], "n": ["SA", "SA", "EG", "EG"]})
    >>> [a.labels for a in encode(frame, intersections=True)]
    [('F', 'M'), ('EG', 'SA'), ('F | EG', 'F | SA', 'M | EG', 'M | SA')]
    """
    frame = as_frame(sensitive_features, len(sensitive_features) if rows is None else rows)
    bins = dict(bins or {})
    unknown = sorted(set(bins) - set(frame.columns))
    if unknown:
        raise InputError(f"Bins were given for {', '.join(map(repr, unknown))}, which "
                         f"{'is' if len(unknown) == 1 else 'are'} not among the sensitive "
                         f"columns ({', '.join(map(repr, frame.columns))}); fix the name or "
                         f"add the column to the sensitive columns.")
    attributes: list[Attribute] = []
    for name in frame.columns:
        column = frame[name]
        if name in bins or _is_continuous(column):
            attribute = _binned(name, column, bins.get(name))
        else:
            attribute = _categorical(name, column)
        if len(attribute.labels) < 2:
            raise InputError(
                f"Sensitive column {name!r} has a single group ({attribute.labels[0]!r}) "
                f"in all {len(column)} rows; fairness compares groups, so it needs at "
                f"least two. Drop the column or pass data that holds more than one group.")
        attributes.append(attribute)
    if intersections and len(attributes) > 1:
        attributes.append(intersection(attributes))
    return attributes
