"""Tests for rasad.tables._reader: reading input tables and writing normalised Parquet."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rasad.errors import InputError
from rasad.tables import _reader
from rasad.tables._reader import read_table, write_parquet


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- reading good input ----------------------------------------------------------------


def test_csv_types_and_missing_values(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "loans.csv",
        "id,income,region,member,opened\n"
        "1,4200.5,north,true,2024-01-05 10:00:00\n"
        "2,,,false,2024-02-11 08:30:00\n"
        "3,3100,south,true,\n",
    )
    table = read_table(path)
    assert table.schema == pa.schema(
        [
            ("id", pa.int64()),
            ("income", pa.float64()),
            ("region", pa.string()),
            ("member", pa.bool_()),
            ("opened", pa.timestamp("us")),
        ]
    )
    assert table.column("income").to_pylist() == [4200.5, None, 3100.0]
    # Empty cells are missing in text columns too, not empty strings.
    assert table.column("region").to_pylist() == ["north", None, "south"]


def test_times_of_day_stay_text(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path / "shifts.csv", "start,n\n10:30:00,1\n22:05:00,2\n"))
    assert table.schema.field("start").type == pa.string()
    assert table.column("start").to_pylist() == ["10:30:00", "22:05:00"]


def test_tsv_and_gzipped_csv(tmp_path: Path) -> None:
    tsv = _write(tmp_path / "a.tsv", "name\tnote\nx\thello, world\n")
    assert read_table(tsv).column("note").to_pylist() == ["hello, world"]
    gz = tmp_path / "a.csv.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as handle:
        handle.write("a,b\n1,2\n3,4\n")
    assert read_table(gz).to_pydict() == {"a": [1, 3], "b": [2, 4]}


def test_parquet_is_normalised(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    source = pa.table(
        {
            "city": pa.array(["a", "b", "a"]).dictionary_encode(),
            "big": pa.array(["x", "y", None], pa.large_string()),
            "amount": pa.array([1, 2, 3], pa.decimal128(10, 2)),
        }
    )
    pq.write_table(source.replace_schema_metadata({"owner": "someone"}), path)
    table = read_table(path)
    assert table.schema.metadata is None
    assert [str(t) for t in table.schema.types] == ["string", "string", "double"]
    assert table.column("city").to_pylist() == ["a", "b", "a"]
    assert table.column("amount").to_pylist() == [1.0, 2.0, 3.0]


def test_dataframe_drops_index_and_pandas_metadata() -> None:
    frame = pd.DataFrame(
        {"x": [1.5, np.nan], "s": ["a", None], "c": pd.Categorical(["u", "v"])},
        index=[10, 20],
    )
    table = read_table(frame)
    assert table.schema.names == ["x", "s", "c"]
    assert table.schema.metadata is None
    assert table.column("x").to_pylist() == [1.5, None]
    assert table.column("c").type == pa.string()


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the CSV reader sample and parse 64 KiB blocks, so small files span many."""
    monkeypatch.setattr(_reader, "_CSV_BLOCK_SIZE", 1 << 16)


@pytest.mark.usefixtures("small_blocks")
def test_column_all_missing_at_the_start_is_typed_from_later_rows(tmp_path: Path) -> None:
    # More rows than the reader's type sample, so the late values decide the type.
    rows = 50_000
    lines = ["a,b,c,d"] + [f"{i},,," for i in range(rows)]
    lines.append("1,2.5,2024-01-01 10:00:00,hello")
    table = read_table(_write(tmp_path / "late.csv", "\n".join(lines) + "\n"))
    assert [str(t) for t in table.schema.types] == ["int64", "double", "timestamp[us]", "string"]
    assert table.column("b")[rows].as_py() == 2.5
    assert table.column("b").null_count == rows


@pytest.mark.usefixtures("small_blocks")
def test_late_value_that_breaks_the_sampled_type_falls_back(tmp_path: Path) -> None:
    rows = 50_000
    lines = ["x,y"] + [f"{i},{i}" for i in range(rows)] + ["abc,1"]
    table = read_table(_write(tmp_path / "late.csv", "\n".join(lines) + "\n"))
    assert table.schema.field("x").type == pa.string()
    assert table.column("x")[rows].as_py() == "abc"
    assert table.num_rows == rows + 1


# --- malformed input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("empty.csv", "", "the file is empty"),
        ("blank.csv", "\n\n", "no header row"),
        ("header.csv", "a,b,c\n", "no data rows"),
        ("dup.csv", "a,b,a,b,c\n1,2,3,4,5\n", "duplicate column names 'a', 'b'"),
        ("noname.csv", "a,,c\n1,2,3\n", "column 2 has an empty name"),
        ("short.csv", "a,b,c\n1,2,3\n4,5,6\n7,8\n", "line 4 has 2 fields but the header has 3"),
        ("long.csv", "a,b\n1,2\n3,4,5\n", "line 3 has 3 fields but the header has 2"),
    ],
)
def test_malformed_csv(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = _write(tmp_path / name, text)
    with pytest.raises(InputError) as caught:
        read_table(path)
    message = str(caught.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


@pytest.mark.usefixtures("small_blocks")
def test_bad_row_far_into_the_file_reports_its_line(tmp_path: Path) -> None:
    rows = 50_000
    lines = ["x,y"] + [f"{i},{i}" for i in range(rows)] + ["1,2,3"]
    with pytest.raises(InputError, match=f"line {rows + 2} has 3 fields but the header has 2"):
        read_table(_write(tmp_path / "bad.csv", "\n".join(lines) + "\n"))


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(InputError, match=r"unknown file type; use one of \.csv, .*\.parquet"):
        read_table(_write(tmp_path / "data.json", "{}"))
    with pytest.raises(InputError, match="pass a file path or a pandas DataFrame"):
        read_table(42)  # type: ignore[arg-type]


def test_not_utf8_text_column(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("name,x\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(InputError, match="column 'name' has type binary.*save the file as UTF-8"):
        read_table(path)


def test_corrupt_and_empty_parquet(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a valid Parquet file"):
        read_table(_write(tmp_path / "fake.parquet", "hello, not parquet"))
    zero = tmp_path / "zero.pq"
    pq.write_table(pa.table({"x": pa.array([], pa.int64())}), zero)
    with pytest.raises(InputError, match="no data rows"):
        read_table(zero)


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (pa.array([[1, 2], [3]]), "column 'bad' has type list<element: int64>"),
        (pa.array([{"a": 1}, {"a": 2}]), "column 'bad' has type struct<a: int64>"),
        (pa.array([1, 2], pa.duration("s")), "column 'bad' has type duration"),
    ],
)
def test_unsupported_parquet_types(tmp_path: Path, column: pa.Array, expected: str) -> None:
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"ok": [1, 2], "bad": column}), path)
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert expected in str(caught.value)
    assert "boolean, integer, floating point" in str(caught.value)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (pd.DataFrame({"a": [1, {"k": 1}, "x"]}), "column 'a' holds values of mixed types "
         "(dict, int, str)"),
        (pd.DataFrame({"a": [1, 2], "b": [[1], [2]]}), "column 'b' has type list<item: int64>"),
        (pd.DataFrame({0: [1], "b": [2]}), "column names must be strings, got 0"),
        (pd.DataFrame({"a": [], "b": []}), "no data rows"),
        (pd.DataFrame(), "no columns"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "duplicate column names 'a'"),
        (pd.DataFrame({"": [1]}), "column 1 has an empty name"),
    ],
)
def test_malformed_dataframes(frame: pd.DataFrame, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        read_table(frame)
    assert expected in str(caught.value)
    assert str(caught.value).startswith("Cannot read the DataFrame")


# --- writing ---------------------------------------------------------------------------


def _mixed_table(rows: int = 300_000) -> pa.Table:
    rng = np.random.default_rng(7)
    return pa.table(
        {
            "x": rng.normal(size=rows),
            "n": rng.integers(0, 1000, rows),
            "s": pa.array(rng.choice(np.array(["north", "south", "east", None]), rows)),
            "t": pa.array(np.datetime64("2024-01-01") + rng.integers(0, 10**6, rows)
                          .astype("timedelta64[s]")),
            "gone": pa.nulls(rows),
        }
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_write_parquet_is_deterministic_across_chunking(tmp_path: Path) -> None:
    table = _mixed_table()
    rechunked = pa.Table.from_batches(table.to_batches(max_chunksize=777))
    assert rechunked.column("x").num_chunks > 1
    write_parquet(table, tmp_path / "a.parquet")
    write_parquet(table, tmp_path / "b.parquet")
    write_parquet(rechunked, tmp_path / "c.parquet")
    assert _digest(tmp_path / "a.parquet") == _digest(tmp_path / "b.parquet")
    assert _digest(tmp_path / "a.parquet") == _digest(tmp_path / "c.parquet")


def test_write_parquet_ignores_metadata_and_pandas_origin(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.5, 2.5], "s": ["a", "b"]})
    from_frame = read_table(frame)
    # The same values as plain Arrow data, with metadata attached.
    plain = pa.table({"x": [1.5, 2.5], "s": ["a", "b"]}).replace_schema_metadata({"k": "v"})
    write_parquet(from_frame, tmp_path / "a.parquet")
    write_parquet(plain, tmp_path / "b.parquet")
    assert _digest(tmp_path / "a.parquet") == _digest(tmp_path / "b.parquet")
    assert b"pandas" not in (tmp_path / "a.parquet").read_bytes()


def test_write_parquet_round_trips_with_zstd(tmp_path: Path) -> None:
    table = _mixed_table(1000)
    path = tmp_path / "t.parquet"
    write_parquet(table, path)
    # Parquet has no second unit, so seconds are normalised to microseconds on write.
    expected = table.set_column(3, "t", table.column("t").cast(pa.timestamp("us")))
    assert pq.read_table(path).equals(expected)
    metadata = pq.read_metadata(path)
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    assert not list(tmp_path.glob(".*.tmp")), "the temporary file is left behind"


def test_different_content_gives_different_bytes(tmp_path: Path) -> None:
    write_parquet(pa.table({"x": [1, 2]}), tmp_path / "a.parquet")
    write_parquet(pa.table({"x": [1, 3]}), tmp_path / "b.parquet")
    assert _digest(tmp_path / "a.parquet") != _digest(tmp_path / "b.parquet")


def test_write_parquet_rejects_unsupported_types(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="column 'l' has type list"):
        write_parquet(pa.table({"l": [[1]]}), tmp_path / "x.parquet")
    assert not list(tmp_path.iterdir())


# --- the column limit: checked on the header or schema alone ----------------------------


def test_a_wide_csv_is_refused_from_its_header(tmp_path: Path) -> None:
    # 100,000 columns (1.1 MB); the body would make the parser fail differently.
    path = tmp_path / "wide.csv.gz"
    header = ",".join(f"c{i}" for i in range(100_000))
    path.write_bytes(gzip.compress(header.encode() + b"\n1,2\n\xff\xfe\n"))  # ragged, not UTF-8
    with pytest.raises(InputError, match="has 100,000 columns, more than the limit of 10,000"):
        read_table(path)


def test_a_wide_parquet_file_is_refused_from_its_schema(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": list(range(1000)) for i in range(40)}), path)
    data = bytearray(path.read_bytes())
    data[8:2000] = b"\x00" * 1992  # column chunks destroyed; the footer (schema) intact
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="not a valid Parquet file"):
        read_table(path)  # under the limit: the data is read, and found broken
    monkeypatch.setenv("RASAD_MAX_COLUMNS", "39")
    with pytest.raises(InputError, match="'.*wide.parquet': it has 40 columns, more than the "
                                         "limit of 39; keep only the columns you need"):
        read_table(path)


def test_a_wide_data_frame_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASAD_MAX_COLUMNS", "3")
    assert read_table(pd.DataFrame({"a": [1], "b": [2], "c": [3]})).num_columns == 3
    with pytest.raises(InputError, match="the DataFrame: it has 4 columns, more than the limit"):
        read_table(pd.DataFrame({"a": [1], "b": [2], "c": [3], "d": [4]}))


def test_reading_a_file_does_not_import_pandas(tmp_path: Path) -> None:
    """A file read needs Arrow alone, so it can run while the caller imports pandas."""
    import subprocess
    import sys

    write_parquet(pa.table({"x": [1.0, 2.0]}), tmp_path / "x.parquet")
    _write(tmp_path / "x.csv", "x\n1\n")
    parquet, csv = str(tmp_path / "x.parquet"), str(tmp_path / "x.csv")
    script = ("import sys; from rasad.tables import read_table; "
              f"read_table({parquet!r}); read_table({csv!r}); "
              "print('pandas' in sys.modules); import pandas; "
              "print(read_table(pandas.DataFrame({'x': [1]})).num_rows)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["False", "1"]
