"""Chunking: rows, equal parts, calendar periods; a time column must hold times."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rasad.drift.chunking import Chunker, Period, time_values
from rasad.errors import InputError


@pytest.mark.parametrize(("values", "fragments"), [
    (pd.Series([1.5e18, 1.6e18]), ("'t' holds numbers (float64)",)),  # epoch nanoseconds
    (pd.Series([20250105, 20250106]), ("'t' holds numbers (int64)",)),
    (pd.Series([True, False]), ("'t' holds true/false values (bool)",)),
    (pd.Series(pd.to_timedelta([1, 2], unit="D")), ("'t' holds durations",)),
    (pd.Series([1, "2025-01-05"], dtype=object), ("'t' holds numbers",)),
    (pd.Series(["north", "south", None]), ("'t' holds text that is not dates or times",
                                           "2 of 2 value(s)", "'north', 'south'")),
    (pd.Series(["2025-01-05", "soon"]), ("1 of 2 value(s)", "'soon'")),
])
def test_a_time_column_that_holds_no_times_is_bad_input(values: pd.Series,
                                                        fragments: tuple[str, ...]) -> None:
    """Numbers read as times would put every row into one chunk labelled 1970-01."""
    for chunker in (Chunker(period=Period.MONTH, time_column="t"),
                    Chunker(size=1, time_column="t")):
        with pytest.raises(InputError) as caught:
            chunker.split(pd.DataFrame({"t": values}))
        for fragment in fragments:
            assert fragment in str(caught.value)
        assert "ISO 8601" in str(caught.value)


def test_times_as_text_dates_and_periods_are_read() -> None:
    month = Chunker(period=Period.MONTH, time_column="t")
    frames = {
        "iso text": pd.DataFrame({"t": ["2025-01-30", "2025-02-01", None]}),
        "month labels": pd.DataFrame({"t": ["2025-01", "2025-02", None]}),
        "dates": pd.DataFrame({"t": [dt.date(2025, 1, 30), dt.date(2025, 2, 1), None]}),
        "periods": pd.DataFrame({"t": pd.period_range("2025-01", periods=2, freq="M")
                                 .append(pd.PeriodIndex([None], freq="M"))}),
    }
    for name, frame in frames.items():
        chunks = month.split(frame)
        assert [(c.key, c.index.tolist()) for c in chunks] == [("2025-01", [0]),
                                                               ("2025-02", [1])], name


def test_mixed_time_zones_are_read_as_utc() -> None:
    times = time_values(pd.Series(["2025-01-31T23:30:00+03:00", "2025-01-31T23:30:00-03:00"]),
                        "t")
    assert [t.isoformat() for t in times] == ["2025-01-31T20:30:00+00:00",
                                              "2025-02-01T02:30:00+00:00"]
    chunks = Chunker(period=Period.MONTH, time_column="t").split(pd.DataFrame({"t": times}))
    assert [c.key for c in chunks] == ["2025-01", "2025-02"]


def test_size_chunks_carry_their_time_span() -> None:
    frame = pd.DataFrame({"t": pd.date_range("2025-01-01", periods=5, freq="D"),
                          "x": np.arange(5)})
    chunks = Chunker(size=3, time_column="t").split(frame)
    assert [(c.key, c.start, c.end) for c in chunks] == [
        ("[0:3]", "2025-01-01T00:00:00", "2025-01-03T00:00:00"),
        ("[3:5]", "2025-01-04T00:00:00", "2025-01-05T00:00:00")]
