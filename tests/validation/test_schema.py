"""TableSchema: YAML round trip and clear errors for hand-edited schemas."""

from __future__ import annotations

import pytest

from rasad.errors import InputError, NotFoundError
from rasad.examples import generate_portfolio
from rasad.tables import ColumnKind
from rasad.validation import CheckKind, ColumnSchema, Severity, TableSchema, infer_schema
from rasad.validation.schema import widen


@pytest.fixture(scope="module")
def schema() -> TableSchema:
    return infer_schema(generate_portfolio(months=2, rows_per_month=200, seed=2),
                        source="portfolio")


def test_yaml_round_trip(schema: TableSchema) -> None:
    text = schema.to_yaml()
    assert text.startswith("# rasad table schema")
    assert TableSchema.from_yaml(text) == schema
    assert TableSchema.from_dict(schema.to_dict()) == schema


def test_read_file(tmp_path, schema: TableSchema) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(schema.to_yaml(), encoding="utf-8")
    assert TableSchema.read(path) == schema


def test_unreadable_schema_file(tmp_path) -> None:
    with pytest.raises(InputError, match="Cannot read schema file"):
        TableSchema.read(tmp_path / "absent.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="Cannot read schema file"):
        TableSchema.read(binary)
    broken = tmp_path / "broken.yaml"
    broken.write_text("columns: [unclosed", encoding="utf-8")
    with pytest.raises(InputError, match="broken.yaml.*not valid YAML"):
        TableSchema.read(broken)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("kind: numeric", "kind: numerc", "'columns[3].kind' has value 'numerc'"),
        ("dtype: float64", "dtype: float", "'columns[3].dtype' has value 'float'"),
        ("nullable: false", "nullable: maybe", "'columns[0].nullable' has value 'maybe'"),
        ("tolerance: 0.1", "tolerance: -1", "'columns[1].tolerance' has value -1"),
        ("max_duplicate_share: 0.0", "max_duplicate_share: 2",
         "'table.max_duplicate_share' has value 2"),
        ("min_rows: 1", "min_rows: many", "'table.min_rows' has value 'many'"),
        ("format: APP\\-\\d{6}", "format: APP(", "'columns[0].format' has value 'APP('"),
        ("out_of_range: warning", "out_of_range: fatal",
         "'columns[1].severity.out_of_range' has value 'fatal'"),
        ("unique: true", "uniq: true", "'columns[0].uniq' is not known"),
        ("rasad_schema: 1", "rasad_schema: 9", "'rasad_schema' has value 9"),
    ],
)
def test_hand_edit_errors_name_key_and_value(
    schema: TableSchema, old: str, new: str, message: str
) -> None:
    text = schema.to_yaml()
    assert old in text
    edited = text.replace(old, new, 1)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("[", r"\[")):
        TableSchema.from_yaml(edited)


def test_structural_errors() -> None:
    with pytest.raises(InputError, match="'columns' has value None"):
        TableSchema.from_yaml("version: 1")
    with pytest.raises(InputError, match="mapping"):
        TableSchema.from_yaml("- just a list")
    with pytest.raises(InputError, match="'columns\\[0\\].dtype' is missing"):
        TableSchema.from_yaml("columns: [{name: a, kind: numeric}]")
    with pytest.raises(InputError, match="each column name may appear once"):
        TableSchema.from_yaml(
            "columns: [{name: a, kind: numeric, dtype: int64}, {name: a, kind: text, "
            "dtype: string}]")
    with pytest.raises(InputError, match="'table.max_rows' has value 1"):
        TableSchema.from_yaml(
            "table: {min_rows: 5, max_rows: 1}\ncolumns: [{name: a, kind: numeric, dtype: int64}]")


def test_minimal_hand_written_schema() -> None:
    schema = TableSchema.from_yaml("columns:\n- {name: age, kind: numeric, dtype: int64, "
                                   "minimum: 18, maximum: 99}\n")
    column = schema.column("age")
    assert column.bounds() == (18.0, 99.0)
    assert column.severity_of(CheckKind.NULLS) is Severity.ERROR
    assert schema.min_rows is None and schema.version == 1


def test_column_lookup_and_bounds() -> None:
    column = ColumnSchema("x", ColumnKind.NUMERIC, "float64", minimum=5.0, maximum=5.0,
                          tolerance=0.2)
    assert column.bounds() == (4.0, 6.0)
    schema = TableSchema(columns=(column,))
    with pytest.raises(NotFoundError, match="columns are 'x'"):
        schema.column("y")
    assert ColumnSchema("t", ColumnKind.DATETIME, "datetime64", minimum="2025-01-01",
                        maximum="2025-02-01").bounds() == (None, None)


@pytest.mark.parametrize(("minimum", "maximum", "tolerance", "expected"), [
    (185.0, 5000.0, 0.1, (0.0, 5481.5)),       # never negative: the floor is 0
    (0.0, 0.0, 0.5, (0.0, 0.0)),               # constant zero stays zero
    (0.02, 0.97, 0.1, (0.0, 1.0)),             # shares: floor 0, ceiling 1
    (1.0, 1.0, 0.1, (0.9, 1.0)),               # constant 1 is a share
    (0.5, 1.5, 0.1, (0.4, 1.6)),               # not all shares: no ceiling at 1
    (-40.0, -1.0, 0.1, (-43.9, 0.0)),          # never positive: the ceiling is 0
    (-3.0, 7.0, 0.1, (-4.0, 8.0)),             # already crosses zero: widened freely
    (-1.0, 0.5, 1.0, (-2.5, 2.0)),             # crosses zero, not all shares
    (18.0, 70.0, 0.1, (12.8, 75.2)),           # far from the walls
    (5.0, 10.0, 0.0, (5.0, 10.0)),             # no tolerance, no widening
])
def test_widen_stops_at_zero_and_one(minimum: float, maximum: float, tolerance: float,
                                     expected: tuple[float, float]) -> None:
    assert widen(minimum, maximum, tolerance) == expected
    column = ColumnSchema("x", ColumnKind.NUMERIC, "float64", minimum=minimum,
                          maximum=maximum, tolerance=tolerance)
    assert column.bounds() == expected


def test_a_hand_written_range_crossing_zero_is_kept() -> None:
    # Allowing negatives is a matter of writing the wanted minimum.
    schema = TableSchema.from_yaml("columns:\n- {name: balance, kind: numeric, dtype: float64,"
                                   " minimum: -100, maximum: 5000, tolerance: 0.1}\n")
    assert schema.column("balance").bounds() == (-610.0, 5510.0)
    assert "never across 0" in schema.to_yaml()


def test_bad_bounds() -> None:
    with pytest.raises(InputError, match="'columns\\[0\\].minimum' has value 'low'; use a number"):
        TableSchema.from_yaml("columns: [{name: a, kind: numeric, dtype: int64, minimum: low}]")
    with pytest.raises(InputError, match="'columns\\[0\\].maximum' has value 'soon'; use an ISO"):
        TableSchema.from_yaml(
            "columns: [{name: t, kind: datetime, dtype: datetime64, maximum: soon}]")


def test_a_schema_file_with_an_alias_bomb_is_refused_before_it_expands() -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True))
    with pytest.raises(InputError, match="aliases"):
        TableSchema.from_yaml(laughs + "columns: []\n")
