"""Splitting data into chunks: N rows, N equal parts, or calendar periods of a time column.

Every per-chunk figure in rasad (drift over time, performance tracking and
estimation) uses these chunks, so tables and timelines line up.

>>> import pandas as pd
>>> frame = pd.DataFrame({"t": pd.date_range("2025-01-30", periods=5, freq="D"), "x": range(5)})
>>> [(c.key, c.rows) for c in Chunker(period=Period.MONTH, time_column="t").split(frame)]
[('2025-01', 2), ('2025-02', 3)]
>>> [(c.key, c.rows) for c in Chunker(size=2).split(frame)]
[('[0:2]', 2), ('[2:4]', 2), ('[4:5]', 1)]
"""

from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pydantic import PrivateAttr

from rasad.errors import InputError
from rasad.results import Result

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_NUMBER = 10


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


# "W-SUN" is pandas for weeks that end on Sunday, so each week starts on a Monday.
_PANDAS_PERIOD = {Period.DAY: "D", Period.WEEK: "W-SUN", Period.MONTH: "M"}


class Chunk(Result):
    """One chunk: its label, rows and time span when known, and the positions of its rows.

    The positions (:attr:`index`) are working state, not part of the chunk's JSON: a
    chunk read back from JSON has none.

    >>> chunk = Chunk.of("[0:3]", np.arange(3), start=None, end=None)
    >>> chunk.rows, chunk.index.tolist(), chunk.to_dict()
    (3, [0, 1, 2], {'key': '[0:3]', 'rows': 3, 'start': None, 'end': None})
    """

    key: str
    rows: int
    start: str | None = None
    end: str | None = None
    _index: npt.NDArray[np.intp] | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, key: str, index: npt.NDArray[np.intp], *, start: str | None,
           end: str | None) -> Chunk:
        """The chunk of the rows at ``index``."""
        chunk = cls(key=key, rows=int(len(index)), start=start, end=end)
        chunk._index = index
        return chunk

    @property
    def index(self) -> npt.NDArray[np.intp]:
        """Positions of the chunk's rows in the data it was cut from."""
        if self._index is None:
            raise InputError(f"Chunk {self.key!r} was read from JSON and has no row positions; "
                             "split the data again with its Chunker.")
        return self._index


@dataclass(frozen=True)
class Chunker:
    """How to chunk: exactly one of ``size`` (rows), ``number`` (equal parts) or ``period``.

    With none given, the data is split into ``DEFAULT_NUMBER`` (10) equal parts,
    as NannyML does. ``period`` needs ``time_column``; chunks are calendar days,
    weeks (starting Monday) or months, in time order, empty periods left out.
    """

    size: int | None = None
    number: int | None = None
    period: Period | None = None
    time_column: str | None = None

    def __post_init__(self) -> None:
        given = [n for n, v in (("size", self.size), ("number", self.number),
                                ("period", self.period)) if v is not None]
        if len(given) > 1:
            raise InputError(f"Chunk by one of size, number or period, not {' and '.join(given)}.")
        for name, value in (("size", self.size), ("number", self.number)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise InputError(f"Chunk {name} must be a whole number >= 1; got {value!r}.")
        if self.period is not None:
            try:
                object.__setattr__(self, "period", Period(self.period))
            except ValueError:
                raise InputError(f"Chunk period {self.period!r} is not one of "
                                 f"{', '.join(p.value for p in Period)}.") from None
            if not self.time_column:
                raise InputError("Chunking by period needs a time column (--time-column).")

    def split(self, frame: pd.DataFrame) -> list[Chunk]:
        """The chunks of ``frame``, by row position."""
        n = len(frame)
        if n == 0:
            return []
        if self.period is not None:
            return self._by_period(frame)
        if self.size is not None:
            size = self.size
        else:
            number = min(self.number or DEFAULT_NUMBER, n)
            size = -(-n // number)
        times = self._times(frame) if self.time_column else None
        chunks = []
        for start in range(0, n, size):
            stop = min(start + size, n)
            index = np.arange(start, stop, dtype=np.intp)
            span = (_iso(times.iloc[start:stop].min()), _iso(times.iloc[start:stop].max())) \
                if times is not None else (None, None)
            chunks.append(Chunk.of(f"[{start}:{stop}]", index, start=span[0], end=span[1]))
        return chunks

    def _times(self, frame: pd.DataFrame) -> pd.Series:
        assert self.time_column is not None
        if self.time_column not in frame.columns:
            raise InputError(f"Time column {self.time_column!r} is not in the data; columns are "
                             f"{', '.join(map(str, frame.columns))}.")
        return time_values(frame[self.time_column], self.time_column)

    def _by_period(self, frame: pd.DataFrame) -> list[Chunk]:
        assert self.period is not None
        times = self._times(frame)
        if times.dt.tz is not None:
            times = times.dt.tz_convert("UTC").dt.tz_localize(None)
        periods = times.dt.to_period(_PANDAS_PERIOD[self.period])
        chunks = []
        for key, positions in sorted(periods.groupby(periods, sort=True).indices.items()):
            index = np.asarray(positions, dtype=np.intp)
            label = _label(key, self.period)
            chunks.append(Chunk.of(label, index, start=_iso(times.iloc[index].min()),
                                   end=_iso(times.iloc[index].max())))
        return chunks


def time_values(values: pd.Series, name: str) -> pd.Series:
    """A time column's values as timestamps: dates and times as they are, text parsed.

    Numbers are not times: read as nanoseconds since 1970 they would put every row
    in one chunk labelled 1970-01, so they are refused, as is text that does not
    read as dates or times.

    Raises
    ------
    InputError
        If the column holds numbers or booleans, or text that is not dates or times;
        the message names the column and what it holds.

    Examples
    --------
    >>> import pandas as pd
    >>> time_values(pd.Series(["2025-01-05", None]), "day").dt.month.tolist()
    [1.0, nan]
    >>> time_values(pd.Series([3.5, 4.0]), "income")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Time column 'income' holds numbers (float64), not dates or times;
    name a column of dates or timestamps (or ISO 8601 text such as 2025-01-05).
    """
    import pandas as pd  # loads with the first split, not with the chunk types

    advice = "name a column of dates or timestamps (or ISO 8601 text such as 2025-01-05)."
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype) \
            or pd.api.types.is_timedelta64_dtype(dtype):
        what = "durations" if pd.api.types.is_timedelta64_dtype(dtype) else (
            "true/false values" if pd.api.types.is_bool_dtype(dtype) else "numbers")
        raise InputError(f"Time column {name!r} holds {what} ({dtype}), not dates or times; "
                         f"{advice}")
    if isinstance(dtype, pd.PeriodDtype):
        return values.dt.to_timestamp()
    present = values.notna()
    if not pd.api.types.is_datetime64_any_dtype(dtype):
        kinds = {type(v) for v in values[present].iloc[:1000]}
        if any(issubclass(k, (int, float, bool, np.number, np.bool_)) for k in kinds):
            raise InputError(f"Time column {name!r} holds numbers, not dates or times; "
                             f"{advice}")
    with warnings.catch_warnings():
        # Text in no one format is parsed value by value; the bad values are counted below.
        warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
        try:
            times = pd.to_datetime(values, errors="coerce", utc=False)
        except (TypeError, ValueError):  # offsets of several time zones: read all as UTC
            try:
                times = pd.to_datetime(values, errors="coerce", utc=True)
            except (TypeError, ValueError) as error:
                raise InputError(f"Time column {name!r} cannot be read as dates or times "
                                 f"({error}); {advice}") from None
    bad = present & times.isna()
    if bad.any():
        examples = ", ".join(repr(v) for v in pd.unique(values[bad])[:3])
        raise InputError(
            f"Time column {name!r} holds text that is not dates or times: {int(bad.sum())} of "
            f"{int(present.sum())} value(s) do not parse (e.g. {examples}); {advice}")
    return times


def _label(period: pd.Period, kind: Period) -> str:
    if kind is Period.MONTH:
        return period.strftime("%Y-%m")
    if kind is Period.WEEK:
        return period.start_time.strftime("%Y-%m-%d")
    return period.strftime("%Y-%m-%d")


def _iso(value: Any) -> str | None:
    import pandas as pd

    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).isoformat()
